import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Controller, metadataKey, watch } from '../../../src/runtime/controller.ts';
import type { ControllerOptions } from '../../../src/runtime/controller.ts';
import {
  ConflictError,
  RequeueAfterError,
  TerminalError,
  ThrottledError,
  TransientError,
} from '../../../src/runtime/errors.ts';
import { createRuntimeMetrics } from '../../../src/runtime/metrics.ts';
import type { RuntimeMetrics } from '../../../src/runtime/metrics.ts';
import type {
  InformerSource,
  ObjectKey,
  ReconcileContext,
  ReconcileFn,
  ReconcileResult,
} from '../../../src/runtime/types.ts';
import { keyToString } from '../../../src/runtime/types.ts';
import { FakeClock, flush } from './fake-clock.ts';
import { captureLogger, fakeSource, metricValue, obj } from './support.ts';
import type { FakeObject } from './support.ts';

const base = 1_000;

interface Harness {
  clock: FakeClock;
  metrics: RuntimeMetrics;
  controller: Controller<FakeObject>;
  calls: string[];
  stop: AbortController;
  running: Promise<void>;
}

/** Builds a controller over `objects` with a fake clock and a 1 s..5 min backoff, and starts it. */
function start(
  objects: FakeObject[],
  reconcile: ReconcileFn,
  options: Partial<ControllerOptions<FakeObject>> = {},
): Harness & { source: ReturnType<typeof fakeSource<FakeObject>> } {
  const clock = new FakeClock();
  const metrics = createRuntimeMetrics();
  const source = fakeSource(objects);
  source.synced = true;
  const calls: string[] = [];
  const controller = new Controller<FakeObject>({
    name: 'widget',
    source: source.source,
    reconcile: (key, ctx) => {
      calls.push(keyToString(key));
      return reconcile(key, ctx);
    },
    clock,
    metrics,
    queue: { baseDelayMs: base, maxDelayMs: 300_000, qps: Infinity },
    ...options,
  });
  const stop = new AbortController();
  const running = controller.run(stop.signal);
  return { clock, metrics, controller, calls, stop, running, source };
}

async function finish(h: Harness): Promise<void> {
  h.stop.abort();
  await h.running;
}

/** A reconcile whose calls stay in flight until the test releases them. */
function gated(): {
  reconcile: ReconcileFn;
  release(key: string, outcome?: ReconcileResult | Error): void;
  inFlight: Map<string, { ctx: ReconcileContext }>;
  maxConcurrent: () => number;
} {
  const pending = new Map<
    string,
    { ctx: ReconcileContext; settle: (outcome: ReconcileResult | Error) => void }
  >();
  let max = 0;
  return {
    inFlight: pending,
    maxConcurrent: () => max,
    reconcile: (key: ObjectKey, ctx: ReconcileContext) => {
      const k = keyToString(key);
      assert.equal(pending.has(k), false, `key ${k} reconciled twice at once`);
      return new Promise<ReconcileResult>((resolve, reject) => {
        pending.set(k, {
          ctx,
          settle: (outcome) => {
            pending.delete(k);
            if (outcome instanceof Error) reject(outcome);
            else resolve(outcome);
          },
        });
        max = Math.max(max, pending.size);
      });
    },
    release: (key, outcome = {}) => {
      const entry = pending.get(key);
      assert.ok(entry, `no reconcile of ${key} in flight`);
      entry.settle(outcome);
    },
  };
}

void describe('Controller', { timeout: 10_000 }, () => {
  void describe('maps each reconcile outcome to the queue and the metrics', () => {
    interface Case {
      reason: string;
      outcome: () => ReconcileResult | Error;
      result: 'success' | 'error' | 'requeue' | 'requeue_after';
      /** When the key comes back, or undefined when it must not. */
      retryAfterMs: number | undefined;
      errors: number;
      terminal?: number;
      panics?: number;
    }
    const cases: Case[] = [
      {
        reason: 'a converged object waits for the next change',
        outcome: () => ({}),
        result: 'success',
        retryAfterMs: undefined,
        errors: 0,
      },
      {
        reason: 'a returned delay requeues after it without an error',
        outcome: () => ({ requeueAfterMs: 30_000 }),
        result: 'requeue_after',
        retryAfterMs: 30_000,
        errors: 0,
      },
      {
        reason: 'a RequeueAfterError is an expected wait, not an error',
        outcome: () => new RequeueAfterError(15_000, 'ConnectorPending'),
        result: 'requeue_after',
        retryAfterMs: 15_000,
        errors: 0,
      },
      {
        reason: 'a transient error retries after the base backoff',
        outcome: () => new TransientError('Could not describe the service'),
        result: 'error',
        retryAfterMs: base,
        errors: 1,
      },
      {
        reason: 'an untyped error retries after the base backoff',
        outcome: () => new Error('socket hang up'),
        result: 'error',
        retryAfterMs: base,
        errors: 1,
      },
      {
        reason: 'a throttle waits for the Retry-After the server sent',
        outcome: () => new ThrottledError('Rate exceeded', { retryAfterMs: 20_000 }),
        result: 'error',
        retryAfterMs: 20_000,
        errors: 1,
      },
      {
        reason: 'a write conflict retries soon and counts as a requeue, not an error',
        outcome: () => new ConflictError('the object has been modified'),
        result: 'requeue',
        retryAfterMs: base,
        errors: 0,
      },
      {
        reason: 'a terminal error is counted and never retried',
        outcome: () => new TerminalError('InvalidRequestException'),
        result: 'error',
        retryAfterMs: undefined,
        errors: 1,
        terminal: 1,
      },
      {
        reason: 'a TypeError is a panic: counted, retried, and the controller survives',
        outcome: () => new TypeError('x is undefined'),
        result: 'error',
        retryAfterMs: base,
        errors: 1,
        panics: 1,
      },
    ];
    for (const c of cases) {
      void it(`should handle the outcome as expected: ${c.reason}`, async () => {
        let first = true;
        const h = start([obj('ns', 'a')], () => {
          const outcome = first ? c.outcome() : {};
          first = false;
          return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
        });
        await flush();
        assert.deepEqual(h.calls, ['ns/a']);
        const labels = { controller: 'widget' };
        assert.equal(
          await metricValue(h.metrics.registry, 'controller_runtime_reconcile_total', {
            ...labels,
            result: c.result,
          }),
          1,
        );
        assert.equal(
          await metricValue(h.metrics.registry, 'controller_runtime_reconcile_errors_total', labels),
          c.errors,
        );
        assert.equal(
          await metricValue(h.metrics.registry, 'controller_runtime_terminal_reconcile_errors_total', labels),
          c.terminal ?? 0,
        );
        assert.equal(
          await metricValue(h.metrics.registry, 'controller_runtime_reconcile_panics_total', labels),
          c.panics ?? 0,
        );
        if (c.retryAfterMs === undefined) {
          await h.clock.advance(3_600_000);
          assert.deepEqual(h.calls, ['ns/a'], 'the key was not reconciled again');
        } else {
          await h.clock.advance(c.retryAfterMs - 1);
          assert.deepEqual(h.calls, ['ns/a'], 'the key did not come back early');
          await h.clock.advance(1);
          assert.deepEqual(h.calls, ['ns/a', 'ns/a'], 'the key came back on time');
        }
        await finish(h);
      });
    }
  });

  void it('should treat a reconcile that throws synchronously as an error, not a crash', async () => {
    const h = start([obj('ns', 'a')], () => {
      throw new Error('thrown before any await');
    });
    await flush();
    assert.equal(
      await metricValue(h.metrics.registry, 'controller_runtime_reconcile_errors_total', {
        controller: 'widget',
      }),
      1,
    );
    await h.clock.advance(base);
    assert.equal(h.calls.length, 2, 'the worker survived and retried');
    await finish(h);
  });

  void it('should double the backoff on each consecutive failure and reset it after a success', async () => {
    let failures = 3;
    const h = start([obj('ns', 'a')], () => {
      if (failures-- > 0) return Promise.reject(new TransientError('still failing'));
      return Promise.resolve({});
    });
    await flush();
    const times: number[] = [];
    const t0 = h.clock.now();
    for (let i = 0; i < 3; i++) {
      const before = h.calls.length;
      for (let waited = 0; h.calls.length === before && waited < 60_000; waited += 500)
        await h.clock.advance(500);
      times.push(h.clock.now() - t0);
    }
    assert.deepEqual(times, [1_000, 3_000, 7_000], 'retries after 1 s, 2 s and 4 s');
    assert.equal(h.controller.queue.numRequeues('ns/a'), 0, 'the success forgot the backoff');
    await finish(h);
  });

  void it('should reset the backoff when a failing key settles into an expected wait', async () => {
    const outcomes: (ReconcileResult | Error)[] = [new TransientError('one'), new TransientError('two')];
    const h = start([obj('ns', 'a')], () => {
      const outcome = outcomes.shift() ?? { requeueAfterMs: 60_000 };
      return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
    });
    await h.clock.advance(3_000);
    assert.equal(h.calls.length, 3);
    assert.equal(h.controller.queue.numRequeues('ns/a'), 0, 'a wait is not a failure');
    await finish(h);
  });

  void it('should enqueue keys, not events: changes to one object while it waits give one reconcile', async () => {
    const g = gated();
    const h = start([obj('ns', 'busy')], g.reconcile, { concurrency: 1 });
    await flush();
    const a = obj('ns', 'a');
    h.source.emit(a, 'add');
    h.source.emit(a, 'update');
    h.source.emit(a, 'update');
    assert.equal(h.controller.queue.len(), 1, 'three events, one queued key');
    g.release('ns/busy');
    await flush();
    g.release('ns/a');
    await flush();
    assert.deepEqual(h.calls, ['ns/busy', 'ns/a'], 'the three events gave one reconcile of the key');
    await finish(h);
  });

  void it('should never reconcile one key in two workers, and reconcile it again after a change during processing', async () => {
    const g = gated();
    const h = start([obj('ns', 'a')], g.reconcile, { concurrency: 4 });
    await flush();
    assert.deepEqual(h.calls, ['ns/a']);
    h.source.emit(obj('ns', 'a'), 'update');
    h.source.emit(obj('ns', 'a'), 'delete');
    await flush();
    assert.deepEqual(h.calls, ['ns/a'], 'the change waits while the key is processed');
    g.release('ns/a');
    await flush();
    assert.deepEqual(h.calls, ['ns/a', 'ns/a'], 'the change is reconciled after the first pass');
    g.release('ns/a');
    await flush();
    assert.equal(g.maxConcurrent(), 1);
    await finish(h);
  });

  void it('should run different keys in parallel, up to the configured concurrency', async () => {
    const g = gated();
    const objects = ['a', 'b', 'c', 'd', 'e'].map((n) => obj('ns', n));
    const h = start(objects, g.reconcile, { concurrency: 3 });
    await flush();
    assert.equal(g.inFlight.size, 3);
    assert.equal(
      await metricValue(h.metrics.registry, 'controller_runtime_active_workers', { controller: 'widget' }),
      3,
    );
    assert.equal(
      await metricValue(h.metrics.registry, 'controller_runtime_max_concurrent_reconciles', {
        controller: 'widget',
      }),
      3,
    );
    g.release('ns/a');
    await flush();
    assert.deepEqual(h.calls, ['ns/a', 'ns/b', 'ns/c', 'ns/d']);
    for (const key of ['ns/b', 'ns/c', 'ns/d']) g.release(key);
    await flush();
    g.release('ns/e');
    await flush();
    assert.equal(g.maxConcurrent(), 3);
    assert.equal(
      await metricValue(h.metrics.registry, 'controller_runtime_active_workers', { controller: 'widget' }),
      0,
    );
    await finish(h);
  });

  void it('should re-enqueue every key at each resync period', async () => {
    const h = start([obj('ns', 'a'), obj(undefined, 'cluster-scoped')], () => Promise.resolve({}), {
      resyncPeriodMs: 60_000,
    });
    await flush();
    assert.deepEqual(h.calls.sort(), ['cluster-scoped', 'ns/a']);
    h.source.set([obj('ns', 'a'), obj(undefined, 'cluster-scoped'), obj('ns', 'new')]);
    await h.clock.advance(59_999);
    assert.equal(h.calls.length, 2);
    await h.clock.advance(1);
    assert.deepEqual(h.calls.slice(2).sort(), ['cluster-scoped', 'ns/a', 'ns/new']);
    await h.clock.advance(60_000);
    assert.equal(h.calls.length, 8, 'the resync repeats');
    await finish(h);
  });

  void it('should put a resync behind changes: an edit during a resync is reconciled before the re-checks', async () => {
    const g = gated();
    const h = start([obj('ns', 'a'), obj('ns', 'b'), obj('ns', 'c')], g.reconcile, {
      resyncPeriodMs: 60_000,
      concurrency: 1,
    });
    for (const key of ['ns/a', 'ns/b', 'ns/c']) {
      await flush();
      g.release(key);
    }
    await flush();
    await h.clock.advance(60_000);
    // The resync queued every key; the worker holds the first. The edit of c arrives meanwhile.
    assert.deepEqual(h.calls.slice(3), ['ns/a']);
    h.source.emit(obj('ns', 'c'), 'update');
    for (const key of ['ns/a', 'ns/c', 'ns/b']) {
      g.release(key);
      await flush();
    }
    assert.deepEqual(h.calls.slice(3), ['ns/a', 'ns/c', 'ns/b']);
    await finish(h);
  });

  void it('should enqueue the primary keys a secondary watch maps a change to', async () => {
    const clock = new FakeClock();
    const primary = fakeSource<FakeObject>([]);
    const secondary = fakeSource<FakeObject & { ref: string[] }>([]);
    const calls: string[] = [];
    const controller = new Controller<FakeObject>({
      name: 'widget',
      source: primary.source,
      watches: [
        watch(secondary.source, (o) => o.ref.map((name) => ({ namespace: o.metadata.namespace, name }))),
      ],
      reconcile: (key) => {
        calls.push(keyToString(key));
        return Promise.resolve({});
      },
      clock,
    });
    assert.equal(controller.sources().length, 2);
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    secondary.emit({ metadata: { namespace: 'ns', name: 'user' }, ref: ['x', 'y'] }, 'update');
    await flush();
    assert.deepEqual(calls.sort(), ['ns/x', 'ns/y']);
    stop.abort();
    await running;
  });

  void it('should ignore changes while not running, so a standby replica queues nothing', async () => {
    const clock = new FakeClock();
    const source = fakeSource<FakeObject>([]);
    const controller = new Controller<FakeObject>({
      name: 'widget',
      source: source.source,
      reconcile: () => Promise.resolve({}),
      clock,
    });
    source.emit(obj('ns', 'a'), 'add');
    assert.equal(controller.queue.len(), 0);
    const stop = new AbortController();
    stop.abort();
    await controller.run(stop.signal);
    await assert.rejects(controller.run(new AbortController().signal), /already started/);
  });

  void it('should stop taking work when its signal fires and let in-flight reconciles finish', async () => {
    const g = gated();
    const h = start([obj('ns', 'a'), obj('ns', 'b')], g.reconcile, { concurrency: 1 });
    await flush();
    assert.deepEqual(h.calls, ['ns/a']);
    h.stop.abort();
    let stopped = false;
    void h.running.then(() => (stopped = true));
    await flush();
    assert.equal(stopped, false, 'run waits for the in-flight reconcile');
    assert.equal(
      g.inFlight.get('ns/a')?.ctx.signal.aborted,
      false,
      'the in-flight reconcile may finish its work',
    );
    g.release('ns/a', { requeueAfterMs: 1_000 });
    await h.running;
    await h.clock.advance(60_000);
    assert.deepEqual(h.calls, ['ns/a'], 'neither the queued key nor the requeue was taken after stop');
  });

  void it('should abort in-flight reconciles that outlast the drain timeout, and return', async () => {
    const g = gated();
    const { log, lines } = captureLogger();
    const h = start([obj('ns', 'a')], g.reconcile, { drainTimeoutMs: 5_000, log });
    await flush();
    h.stop.abort();
    await h.clock.advance(4_999);
    assert.equal(g.inFlight.get('ns/a')?.ctx.signal.aborted, false);
    await h.clock.advance(1);
    await h.running;
    const signal = g.inFlight.get('ns/a')?.ctx.signal;
    assert.equal(signal?.aborted, true);
    assert.match(String(signal.reason), /Drain timeout expired/, 'the reconcile learns why it was aborted');
    assert.ok(lines.some((l) => l.level === 'error' && String(l.msg).includes('drain timeout')));
    g.release('ns/a');
  });

  void it('should abort a reconcile that exceeds the reconcile timeout and count it', async () => {
    let reason: unknown;
    const h = start(
      [obj('ns', 'a')],
      (_key, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            reason = ctx.signal.reason;
            reject(new TransientError('Aborted', { cause: ctx.signal.reason }));
          });
        }),
      { reconcileTimeoutMs: 10_000 },
    );
    await h.clock.advance(10_000);
    assert.equal(
      await metricValue(h.metrics.registry, 'controller_runtime_reconcile_timeouts_total', {
        controller: 'widget',
      }),
      1,
    );
    assert.equal(
      await metricValue(h.metrics.registry, 'controller_runtime_reconcile_total', {
        controller: 'widget',
        result: 'error',
      }),
      1,
    );
    assert.match(String(reason), /Reconcile timed out after 10000 ms/);
    await finish(h);
  });

  void it('should log each reconcile with the controller, the object key and a reconcile id', async () => {
    const { log, lines } = captureLogger();
    const h = start(
      [obj('ns', 'a')],
      (_key, ctx) => {
        ctx.log.info('Created widget', { widgetId: 'w-1' });
        return Promise.reject(new TransientError('Could not observe', { cause: new Error('timeout') }));
      },
      { log },
    );
    await flush();
    const created = lines.find((l) => l.msg === 'Created widget');
    assert.ok(created);
    assert.equal(created.controller, 'widget');
    assert.equal(created.namespace, 'ns');
    assert.equal(created.name, 'a');
    assert.equal(created.widgetId, 'w-1');
    assert.match(String(created.reconcileID), /^[0-9a-f-]{36}$/);
    const failed = lines.find((l) => l.level === 'error');
    assert.ok(failed);
    assert.equal(failed.error, 'Could not observe: timeout');
    assert.equal(failed.reconcileID, created.reconcileID);
    assert.equal(failed.retryInMs, base);
    await finish(h);
  });

  void it('should clear the timeout of a reconcile that finishes in time, so it neither fires nor counts later', async () => {
    let signal: AbortSignal | undefined;
    const h = start(
      [obj('ns', 'a')],
      (_key, ctx) => {
        signal = ctx.signal;
        return Promise.resolve({});
      },
      { reconcileTimeoutMs: 10_000, resyncPeriodMs: 0 },
    );
    await flush();
    assert.equal(h.clock.pending(), 0, 'no timer is left behind');
    await h.clock.advance(10_000);
    assert.equal(signal?.aborted, false, 'the finished reconcile is not aborted afterwards');
    assert.equal(
      await metricValue(h.metrics.registry, 'controller_runtime_reconcile_timeouts_total', {
        controller: 'widget',
      }),
      0,
    );
    await finish(h);
  });

  void it('should record how long each reconcile took, in seconds of the controller clock', async () => {
    const g = gated();
    const h = start([obj('ns', 'a')], g.reconcile);
    await flush();
    await h.clock.advance(2_500);
    g.release('ns/a');
    await flush();
    const labels = { controller: 'widget' };
    assert.equal(
      await metricValue(h.metrics.registry, 'controller_runtime_reconcile_time_seconds_sum', labels),
      2.5,
    );
    assert.equal(
      await metricValue(h.metrics.registry, 'controller_runtime_reconcile_time_seconds_count', labels),
      1,
    );
    await finish(h);
  });

  void it('should forget the backoff of a key whose reconcile fails with a terminal error', async () => {
    const outcomes: Error[] = [
      new TransientError('one'),
      new TransientError('two'),
      new TerminalError('invalid'),
    ];
    const h = start([obj('ns', 'a')], () => Promise.reject(outcomes.shift() ?? new Error('unexpected pass')));
    await flush();
    await h.clock.advance(base);
    assert.equal(h.controller.queue.numRequeues('ns/a'), 2, 'two failures so far');
    await h.clock.advance(2 * base);
    assert.equal(h.calls.length, 3);
    assert.equal(
      h.controller.queue.numRequeues('ns/a'),
      0,
      'the next change of the object starts again from the base delay',
    );
    await finish(h);
  });

  void it('should report the keys in flight, and no longer a key whose reconcile finished', async () => {
    const g = gated();
    const h = start([obj('ns', 'a'), obj('ns', 'b')], g.reconcile, { concurrency: 2 });
    await flush();
    assert.deepEqual(h.controller.inFlightKeys().sort(), ['ns/a', 'ns/b']);
    g.release('ns/a');
    await flush();
    assert.deepEqual(h.controller.inFlightKeys(), ['ns/b']);
    g.release('ns/b');
    await flush();
    assert.deepEqual(h.controller.inFlightKeys(), []);
    await finish(h);
  });

  void it('should ignore an object whose key cannot be read, and keep delivering changes', async () => {
    const h = start([], () => Promise.resolve({}), {
      keyOf: (o) => (o.metadata.name === 'unnamed' ? undefined : metadataKey(o)),
    });
    await flush();
    assert.doesNotThrow(() => {
      h.source.emit(obj('ns', 'unnamed'), 'add');
    });
    h.source.emit(obj('ns', 'a'), 'add');
    await flush();
    assert.deepEqual(h.calls, ['ns/a']);
    await finish(h);
  });

  void it('should log a secondary watch whose mapping throws, and not break the informer that delivers the change', async () => {
    const primary = fakeSource<FakeObject>([]);
    const secondary = fakeSource<FakeObject>([]);
    const { log, lines } = captureLogger();
    const calls: string[] = [];
    const controller = new Controller<FakeObject>({
      name: 'widget',
      source: primary.source,
      watches: [
        watch(secondary.source, (o) => {
          if (o.metadata.name === 'broken') throw new Error('mapping bug');
          return [{ namespace: 'ns', name: o.metadata.name }];
        }),
      ],
      reconcile: (key) => {
        calls.push(keyToString(key));
        return Promise.resolve({});
      },
      clock: new FakeClock(),
      log,
    });
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    assert.doesNotThrow(() => {
      secondary.emit(obj('ns', 'broken'), 'update');
    });
    const failed = lines.find((l) => l.level === 'error');
    assert.ok(failed, 'the mapping failure is logged');
    assert.match(String(failed.error), /mapping bug/);
    secondary.emit(obj('ns', 'fine'), 'update');
    await flush();
    assert.deepEqual(calls, ['ns/fine'], 'the watch still maps later changes');
    stop.abort();
    await running;
  });

  void describe('reports its informers as one', () => {
    /** A source without the optional health probe. */
    const bare: InformerSource<FakeObject> = {
      start: () => Promise.resolve(),
      stop: () => undefined,
      hasSynced: () => true,
      list: () => [],
      get: () => undefined,
      onChange: () => undefined,
    };
    function controllerOver(primary: InformerSource<FakeObject>, secondary: InformerSource<FakeObject>) {
      return new Controller<FakeObject>({
        name: 'widget',
        source: primary,
        watches: [watch(secondary, () => [])],
        reconcile: () => Promise.resolve({}),
        clock: new FakeClock(),
      });
    }

    void it('should list the watched informers with its own, so the manager starts each', () => {
      const primary = fakeSource<FakeObject>([]);
      const secondary = fakeSource<FakeObject>([]);
      const controller = controllerOver(primary.source, secondary.source);
      assert.deepEqual(controller.sources(), [primary.source, secondary.source]);
    });

    void it('should have synced only once every informer, the watched ones included, has synced', () => {
      const primary = fakeSource<FakeObject>([]);
      const secondary = fakeSource<FakeObject>([]);
      const controller = controllerOver(primary.source, secondary.source);
      primary.synced = true;
      assert.equal(controller.hasSynced(), false, 'the watched informer has not synced yet');
      secondary.synced = true;
      assert.equal(controller.hasSynced(), true);
    });

    const cases: { reason: string; primary?: string; secondary?: string; want: string | undefined }[] = [
      { reason: 'no informer is wedged', want: undefined },
      { reason: 'a wedged watched informer counts', secondary: 'watch B failed', want: 'watch B failed' },
      {
        reason: 'the first wedged informer is named',
        primary: 'watch A failed',
        secondary: 'watch B failed',
        want: 'watch A failed',
      },
    ];
    for (const c of cases) {
      void it(`should report the health problem of its informers: ${c.reason}`, () => {
        const primary = fakeSource<FakeObject>([]);
        const secondary = fakeSource<FakeObject>([]);
        primary.problem = c.primary;
        secondary.problem = c.secondary;
        assert.equal(controllerOver(primary.source, secondary.source).healthProblem(), c.want);
      });
    }

    void it('should treat an informer without a health probe as healthy', () => {
      const secondary = fakeSource<FakeObject>([]);
      secondary.problem = 'watch B failed';
      assert.equal(controllerOver(bare, secondary.source).healthProblem(), 'watch B failed');
    });
  });

  void describe('leaves nothing running once stopped', () => {
    void it('should shut its queue down when started with a signal that already fired', async () => {
      const source = fakeSource<FakeObject>([obj('ns', 'a')]);
      const controller = new Controller<FakeObject>({
        name: 'widget',
        source: source.source,
        reconcile: () => Promise.resolve({}),
        clock: new FakeClock(),
      });
      const stop = new AbortController();
      stop.abort();
      await controller.run(stop.signal);
      assert.equal(controller.queue.isShuttingDown(), true);
    });

    void it('should cancel the resync and drain timers when it stops, so no timer keeps the process alive', async () => {
      const h = start([obj('ns', 'a')], () => Promise.resolve({}), { resyncPeriodMs: 60_000 });
      await flush();
      assert.equal(h.clock.pending(), 1, 'the resync is scheduled');
      await finish(h);
      assert.equal(h.clock.pending(), 0);
    });

    void it('should schedule no resync when the period is 0', async () => {
      const h = start([obj('ns', 'a')], () => Promise.resolve({}), { resyncPeriodMs: 0 });
      await flush();
      assert.equal(h.clock.pending(), 0);
      await finish(h);
    });

    void it('should report a clean stop, not a drain timeout, when in-flight reconciles finish in time', async () => {
      const g = gated();
      const { log, lines } = captureLogger();
      const h = start([obj('ns', 'a')], g.reconcile, { log });
      await flush();
      h.stop.abort();
      await flush();
      g.release('ns/a');
      await h.running;
      assert.deepEqual(
        lines.filter((l) => l.level === 'error'),
        [],
      );
      assert.ok(lines.some((l) => l.level === 'info' && l.msg === 'Stopped workers'));
    });
  });

  void describe('refuses a concurrency that is not a positive integer', () => {
    for (const concurrency of [0, -1, 1.5, Number.NaN]) {
      void it(`should refuse concurrency ${concurrency}`, () => {
        assert.throws(
          () =>
            new Controller<FakeObject>({
              name: 'widget',
              source: fakeSource<FakeObject>([]).source,
              reconcile: () => Promise.resolve({}),
              concurrency,
            }),
          (err) =>
            err instanceof RangeError &&
            err.message === `Controller widget: concurrency must be a positive integer, got ${concurrency}`,
        );
      });
    }
  });

  void describe('logs each failed reconcile at the level it deserves', () => {
    const cases: { reason: string; outcome: () => Error; level: 'error' | 'debug'; stack: boolean }[] = [
      {
        reason: 'a panic is an error, with its stack',
        outcome: () => new TypeError('x is undefined'),
        level: 'error',
        stack: true,
      },
      {
        reason: 'a transient failure is an error',
        outcome: () => new TransientError('down'),
        level: 'error',
        stack: false,
      },
      {
        reason: 'a lost write conflict is routine',
        outcome: () => new ConflictError('the object has been modified'),
        level: 'debug',
        stack: false,
      },
    ];
    for (const c of cases) {
      void it(`should log the failure as expected: ${c.reason}`, async () => {
        const { log, lines } = captureLogger();
        const h = start([obj('ns', 'a')], () => Promise.reject(c.outcome()), { log });
        await flush();
        const failed = lines.filter((l) => l.retryInMs !== undefined);
        assert.equal(failed.length, 1);
        assert.equal(failed[0]?.level, c.level);
        assert.equal(failed[0].stack !== undefined, c.stack);
        await finish(h);
      });
    }
  });

  void describe('reads the key of an object from its metadata', () => {
    const cases: { reason: string; object: unknown; want: ObjectKey | undefined }[] = [
      { reason: 'a namespaced object', object: obj('ns', 'a'), want: { namespace: 'ns', name: 'a' } },
      {
        reason: 'a cluster-scoped object has no namespace',
        object: obj(undefined, 'a'),
        want: { name: 'a' },
      },
      {
        reason: 'an empty namespace is cluster-scoped',
        object: { metadata: { namespace: '', name: 'a' } },
        want: { name: 'a' },
      },
      {
        reason: 'a namespace that is not a string is ignored',
        object: { metadata: { namespace: 7, name: 'a' } },
        want: { name: 'a' },
      },
      { reason: 'no object has no key', object: undefined, want: undefined },
      { reason: 'an object without metadata has no key', object: {}, want: undefined },
      {
        reason: 'an object without a name has no key',
        object: { metadata: { namespace: 'ns' } },
        want: undefined,
      },
      {
        reason: 'an empty name is no name',
        object: { metadata: { namespace: 'ns', name: '' } },
        want: undefined,
      },
      {
        reason: 'a name that is not a string is no name',
        object: { metadata: { name: 7 } },
        want: undefined,
      },
    ];
    for (const c of cases) {
      void it(`should read the key as expected: ${c.reason}`, () => {
        assert.deepStrictEqual(metadataKey(c.object), c.want);
      });
    }
  });
});
