import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { Controller } from '../../../src/runtime/controller.ts';
import { startHealthServer } from '../../../src/runtime/health.ts';
import { Manager } from '../../../src/runtime/manager.ts';
import type { ManagedController, ManagerOptions, ProcessHooks } from '../../../src/runtime/manager.ts';
import { createRuntimeMetrics } from '../../../src/runtime/metrics.ts';
import type {
  InformerSource,
  Leadership,
  ReconcileContext,
  ReconcileResult,
} from '../../../src/runtime/types.ts';
import { keyToString } from '../../../src/runtime/types.ts';
import { FakeClock, flush } from './fake-clock.ts';
import { captureLogger, fakeSource, metricValue, obj } from './support.ts';
import type { FakeObject } from './support.ts';

/** `process` as the manager sees it: signals are emitted by the test, exit codes are recorded. */
function fakeProcess(): ProcessHooks & {
  emit(signal: 'SIGTERM' | 'SIGINT'): void;
  handlers(signal: 'SIGTERM' | 'SIGINT'): number;
  codes: number[];
} {
  const emitter = new EventEmitter();
  const codes: number[] = [];
  return {
    codes,
    on: (signal, handler) => emitter.on(signal, handler),
    off: (signal, handler) => emitter.off(signal, handler),
    emit: (signal) => emitter.emit(signal),
    handlers: (signal) => emitter.listenerCount(signal),
    exit: (code) => {
      codes.push(code);
    },
  };
}

/** A lease the test hands out and takes away. */
function fakeLeadership(): Leadership & { elect(): void; lose(): void; stops: number; campaigning: boolean } {
  let onStartedLeading: ((signal: AbortSignal) => void) | undefined;
  let lease: AbortController | undefined;
  let endRun: () => void = () => undefined;
  const fake = {
    stops: 0,
    campaigning: false,
    run: (callback: (signal: AbortSignal) => void) => {
      onStartedLeading = callback;
      fake.campaigning = true;
      return new Promise<void>((resolve) => {
        endRun = resolve;
      });
    },
    isLeader: () => lease !== undefined && !lease.signal.aborted,
    stop: () => {
      fake.stops++;
      lease?.abort();
      endRun();
      return Promise.resolve();
    },
    elect: () => {
      lease = new AbortController();
      assert.ok(onStartedLeading, 'the manager campaigns');
      onStartedLeading(lease.signal);
    },
    lose: () => {
      lease?.abort();
    },
  };
  return fake;
}

/**
 * A controller as the manager sees it, over one informer whose start the test decides; its run lasts until
 * the manager aborts it.
 */
function literalController(start: () => Promise<void> = () => Promise.resolve()) {
  const state = { runs: 0, synced: false, stops: 0 };
  const source: InformerSource<unknown> = {
    start: async () => {
      await start();
      state.synced = true;
    },
    stop: () => {
      state.stops++;
    },
    hasSynced: () => state.synced,
    list: () => [],
    get: () => undefined,
    onChange: () => undefined,
  };
  const controller: ManagedController = {
    name: 'widget',
    sources: () => [source],
    hasSynced: () => state.synced,
    healthProblem: () => undefined,
    run: (signal) => {
      state.runs++;
      return new Promise((resolve) => {
        signal.addEventListener('abort', () => {
          resolve();
        });
      });
    },
    abortInFlight: () => undefined,
  };
  return { controller, state };
}

/** A controller over two objects whose reconciles stay in flight until released. */
function gatedSetup(overrides: Partial<ManagerOptions> = {}) {
  const clock = new FakeClock();
  const metrics = createRuntimeMetrics();
  const source = fakeSource([obj('ns', 'a'), obj('ns', 'b')]);
  const calls: string[] = [];
  const inFlight = new Map<string, { ctx: ReconcileContext; release: () => void }>();
  const controller = new Controller<FakeObject>({
    name: 'widget',
    source: source.source,
    clock,
    metrics,
    drainTimeoutMs: 30_000,
    reconcile: (key, ctx) => {
      const k = keyToString(key);
      calls.push(k);
      return new Promise<ReconcileResult>((resolve) => {
        inFlight.set(k, {
          ctx,
          release: () => {
            inFlight.delete(k);
            resolve({ requeueAfterMs: 1_000 });
          },
        });
      });
    },
  });
  const proc = fakeProcess();
  const { log, lines } = captureLogger();
  const manager = new Manager({ controllers: [controller], metrics, log, process: proc, ...overrides });
  return { clock, metrics, source, calls, inFlight, controller, proc, manager, lines };
}

void describe('Manager', { timeout: 10_000 }, () => {
  void it('should drain on SIGTERM: stop taking work, finish in-flight reconciles, then exit 0', async () => {
    const s = gatedSetup();
    const exited = s.manager.run();
    await flush();
    assert.deepEqual(s.calls, ['ns/a'], 'one worker took the first key');
    s.proc.emit('SIGTERM');
    await flush();
    assert.deepEqual(s.proc.codes, [], 'the manager waits for the in-flight reconcile');
    assert.equal(s.inFlight.get('ns/a')?.ctx.signal.aborted, false, 'the reconcile is allowed to finish');
    const shutdown = s.manager.readyChecks().find((c) => c.name === 'shutdown');
    assert.match(shutdown?.check() ?? '', /shutting down/, 'readiness fails during shutdown');
    s.inFlight.get('ns/a')?.release();
    assert.equal(await exited, 0);
    assert.deepEqual(s.proc.codes, [0]);
    await s.clock.advance(60_000);
    assert.deepEqual(s.calls, ['ns/a'], 'the queued key and the requeue were never taken');
    assert.equal(s.source.stopped(), 1, 'the informer was stopped');
    assert.equal(
      s.proc.handlers('SIGTERM') + s.proc.handlers('SIGINT'),
      0,
      'the signal handlers were removed',
    );
  });

  void it('should exit 1 at once on a second signal during shutdown', async () => {
    const s = gatedSetup();
    const exited = s.manager.run();
    await flush();
    s.proc.emit('SIGTERM');
    await flush();
    s.proc.emit('SIGINT');
    assert.equal(await exited, 1);
    assert.deepEqual(s.proc.codes, [1]);
    s.inFlight.get('ns/a')?.release();
    await s.clock.advance(30_000);
    assert.deepEqual(s.proc.codes, [1], 'the orderly shutdown finishing later does not exit again');
  });

  void it('should bound the drain: a reconcile that never finishes is aborted and the process still exits', async () => {
    const s = gatedSetup();
    const exited = s.manager.run();
    await flush();
    s.proc.emit('SIGTERM');
    await s.clock.advance(30_000);
    assert.equal(await exited, 0);
    assert.equal(s.inFlight.get('ns/a')?.ctx.signal.aborted, true);
  });

  void it('should run informers but no workers on a standby replica, and report it ready', async () => {
    const leadership = fakeLeadership();
    const s = gatedSetup({ leadership });
    void s.manager.run();
    await flush();
    assert.equal(s.source.started(), 1, 'informers run on every replica');
    assert.equal(leadership.campaigning, true);
    assert.deepEqual(s.calls, [], 'no reconcile without the lease');
    for (const check of s.manager.readyChecks())
      assert.equal(check.check(), undefined, `${check.name} passes`);
    s.source.emit(obj('ns', 'c'), 'add');
    assert.equal(s.controller.queue.len(), 0, 'a standby queues nothing');
    assert.equal(
      await metricValue(s.metrics.registry, 'leader_election_master_status', { name: 'apprunner-net' }),
      0,
    );
    leadership.elect();
    await flush();
    assert.deepEqual(s.calls, ['ns/a'], 'the leader reconciles');
    assert.equal(
      await metricValue(s.metrics.registry, 'leader_election_master_status', { name: 'apprunner-net' }),
      1,
    );
    s.proc.emit('SIGTERM');
    await flush();
    s.inFlight.get('ns/a')?.release();
    await flush();
    assert.deepEqual(s.proc.codes, [0]);
  });

  void it('should stop workers, abort in-flight reconciles and exit non-zero when leadership is lost', async () => {
    const leadership = fakeLeadership();
    const s = gatedSetup({ leadership, probes: { host: '127.0.0.1', port: 0 } });
    const exited = s.manager.run();
    await flush();
    const [port] = s.manager.ports();
    assert.ok(port !== undefined);
    leadership.elect();
    await flush();
    assert.deepEqual(s.calls, ['ns/a']);
    const ctx = s.inFlight.get('ns/a')?.ctx;
    leadership.lose();
    assert.equal(await exited, 1);
    assert.deepEqual(s.proc.codes, [1]);
    assert.equal(ctx?.signal.aborted, true, 'the in-flight reconcile was told to stop mutating');
    s.inFlight.get('ns/a')?.release();
    await s.clock.advance(60_000);
    assert.deepEqual(s.calls, ['ns/a'], 'no reconcile started after the loss');
    assert.equal(
      await metricValue(s.metrics.registry, 'leader_election_master_status', { name: 'apprunner-net' }),
      0,
    );
    assert.ok(s.lines.some((l) => l.level === 'error' && String(l.msg).startsWith('Lost leadership')));
    await flush();
    assert.equal(leadership.stops, 1, 'the campaign was stopped, so nothing is left running if exit returns');
    assert.equal(s.source.stopped(), 1, 'the informer was stopped');
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'the probes server was closed');
  });

  void it('should release the lease on SIGTERM without mistaking the release for a loss', async () => {
    const leadership = fakeLeadership();
    const s = gatedSetup({ leadership });
    const exited = s.manager.run();
    await flush();
    leadership.elect();
    await flush();
    s.proc.emit('SIGTERM');
    await flush();
    assert.equal(leadership.stops, 0, 'the lease is held until in-flight work is done');
    s.inFlight.get('ns/a')?.release();
    assert.equal(await exited, 0);
    assert.equal(leadership.stops, 1, 'the lease was released');
    assert.deepEqual(s.proc.codes, [0]);
    assert.ok(s.lines.some((l) => l.msg === 'Stopped leader election'));
    assert.deepEqual(
      s.lines.filter((l) => l.level === 'error'),
      [],
    );
  });

  void it('should exit 1 when leader election fails', async () => {
    const s = gatedSetup({
      leadership: {
        run: () => Promise.reject(new Error('leases.coordination.k8s.io is forbidden')),
        isLeader: () => false,
        stop: () => Promise.resolve(),
      },
    });
    assert.equal(await s.manager.run(), 1);
  });

  void it('should serve probes and metrics while running and close the server on exit', async () => {
    const s = gatedSetup({ probes: { host: '127.0.0.1', port: 0 } });
    s.source.synced = false;
    const exited = s.manager.run();
    await flush();
    const [port, ...others] = s.manager.ports();
    assert.ok(port !== undefined);
    assert.deepEqual(others, [], 'one server serves both probes and metrics');
    const url = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    assert.match(
      await (await fetch(`${url}/metrics`)).text(),
      /workqueue_adds_total\{name="widget",controller="widget"\}/,
    );
    s.proc.emit('SIGTERM');
    assert.equal((await fetch(`${url}/readyz`)).status, 500, 'not ready while shutting down');
    s.inFlight.get('ns/a')?.release();
    assert.equal(await exited, 0);
    await assert.rejects(fetch(`${url}/healthz`), 'the server is closed');
  });

  void it('should name its checks, fail liveness on a wedged informer and readiness until the caches have synced', () => {
    const s = gatedSetup();
    assert.deepEqual(
      s.manager.healthChecks().map((c) => c.name),
      ['ping', 'informers-widget'],
    );
    assert.deepEqual(
      s.manager.readyChecks().map((c) => c.name),
      ['ping', 'shutdown', 'informers-synced-widget'],
    );
    const liveness = s.manager.healthChecks().find((c) => c.name === 'informers-widget');
    const synced = s.manager.readyChecks().find((c) => c.name === 'informers-synced-widget');
    assert.ok(liveness !== undefined && synced !== undefined);
    assert.equal(liveness.check(), undefined);
    s.source.problem = 'no watch event for 10m';
    assert.equal(liveness.check(), 'no watch event for 10m');
    assert.equal(synced.check(), 'the caches of controller widget have not synced yet');
    s.source.synced = true;
    assert.equal(synced.check(), undefined);
  });

  void it('should exit 1 when the informers cannot start', async () => {
    const { controller, state } = literalController(() =>
      Promise.reject(new Error('widgets.test.apprunnernet.dev is forbidden')),
    );
    const proc = fakeProcess();
    const { log, lines } = captureLogger();
    const manager = new Manager({
      controllers: [controller],
      metrics: createRuntimeMetrics(),
      log,
      process: proc,
    });
    assert.equal(await manager.run(), 1);
    assert.deepEqual(proc.codes, [1]);
    assert.equal(state.runs, 0, 'nothing was reconciled');
    assert.ok(
      lines.some(
        (l) =>
          l.msg === 'Could not start informers; exiting' &&
          l.error === 'widgets.test.apprunnernet.dev is forbidden',
      ),
    );
  });

  void it('should not start reconciling when SIGTERM arrives while the caches are syncing', async () => {
    const sync = Promise.withResolvers<undefined>();
    const { controller, state } = literalController(() => sync.promise);
    const proc = fakeProcess();
    const manager = new Manager({
      controllers: [controller],
      metrics: createRuntimeMetrics(),
      process: proc,
    });
    const exited = manager.run();
    await flush();
    proc.emit('SIGTERM');
    await flush();
    assert.deepEqual(proc.codes, [0], 'the shutdown does not wait for the caches');
    sync.resolve(undefined);
    assert.equal(await exited, 0);
    await flush();
    assert.equal(state.runs, 0, 'no controller ran after the shutdown');
  });

  void it('should exit 1 when leader election ends although nobody asked it to stop', async () => {
    const s = gatedSetup({
      leadership: { run: () => Promise.resolve(), isLeader: () => false, stop: () => Promise.resolve() },
    });
    assert.equal(await s.manager.run(), 1);
    assert.deepEqual(s.proc.codes, [1]);
  });

  void it('should treat a lease already lost when leadership is reported as a loss, and reconcile nothing', async () => {
    const lost = new AbortController();
    lost.abort();
    const s = gatedSetup({
      leadership: {
        run: (onStartedLeading) => {
          onStartedLeading(lost.signal);
          return new Promise(() => undefined);
        },
        isLeader: () => false,
        stop: () => Promise.resolve(),
      },
    });
    assert.equal(await s.manager.run(), 1);
    assert.deepEqual(s.proc.codes, [1]);
    await flush();
    assert.deepEqual(s.calls, []);
  });

  void it('should not start reconciling when it wins the lease during a shutdown', async () => {
    const leadership = fakeLeadership();
    const s = gatedSetup({ leadership });
    const exited = s.manager.run();
    await flush();
    s.proc.emit('SIGTERM');
    leadership.elect();
    assert.equal(await exited, 0);
    await flush();
    assert.deepEqual(s.calls, []);
    assert.equal(
      await metricValue(s.metrics.registry, 'leader_election_master_status', { name: 'apprunner-net' }),
      0,
    );
  });

  void it('should shut down once when stop() is called again during a shutdown', async () => {
    const leadership = fakeLeadership();
    const s = gatedSetup({ leadership });
    const exited = s.manager.run();
    await flush();
    leadership.elect();
    await flush();
    const first = s.manager.stop();
    const second = s.manager.stop();
    s.inFlight.get('ns/a')?.release();
    await Promise.all([first, second]);
    assert.equal(await exited, 0);
    assert.deepEqual(s.proc.codes, [0]);
    assert.equal(leadership.stops, 1, 'the lease was released once');
  });

  void it('should still exit 0 on SIGTERM when releasing the lease fails, and log why', async () => {
    const s = gatedSetup({
      leadership: {
        run: () => new Promise(() => undefined),
        isLeader: () => false,
        stop: () => Promise.reject(new Error('leases.coordination.k8s.io "apprunner-net" is forbidden')),
      },
    });
    const exited = s.manager.run();
    await flush();
    s.proc.emit('SIGTERM');
    assert.equal(await exited, 0);
    assert.deepEqual(
      s.lines
        .filter((l) => l.level === 'error')
        .map((l) => ({ msg: l.msg, error: l.error, reason: l.reason })),
      [
        {
          msg: 'Could not stop leader election',
          error: 'leases.coordination.k8s.io "apprunner-net" is forbidden',
          reason: undefined,
        },
      ],
    );
  });

  void it('should give up releasing a lease after 5 s by default and still exit 0', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { controller } = literalController();
    const proc = fakeProcess();
    const { log, lines } = captureLogger();
    const manager = new Manager({
      controllers: [controller],
      metrics: createRuntimeMetrics(),
      log,
      process: proc,
      leadership: {
        run: () => new Promise(() => undefined),
        isLeader: () => false,
        stop: () => new Promise(() => undefined),
      },
    });
    void manager.run();
    await flush();
    proc.emit('SIGTERM');
    await flush();
    t.mock.timers.tick(4_999);
    await flush();
    assert.deepEqual(proc.codes, [], 'the release is waited for up to the bound');
    t.mock.timers.tick(1);
    await flush();
    assert.deepEqual(proc.codes, [0]);
    assert.ok(lines.some((l) => l.msg === 'Could not stop leader election' && l.reason === 'TimedOut'));
  });

  void it('should serve metrics on their own server, and not on the probes server, when given one', async () => {
    const s = gatedSetup({
      probes: { host: '127.0.0.1', port: 0 },
      metricsServer: { host: '127.0.0.1', port: 0 },
    });
    const exited = s.manager.run();
    await flush();
    const [probes, metrics, ...others] = s.manager.ports();
    assert.ok(probes !== undefined && metrics !== undefined);
    assert.deepEqual(others, []);
    assert.equal((await fetch(`http://127.0.0.1:${probes}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${probes}/metrics`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${metrics}/metrics`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${metrics}/healthz`)).status, 404);
    s.proc.emit('SIGTERM');
    s.inFlight.get('ns/a')?.release();
    assert.equal(await exited, 0);
  });

  void it('should open only the servers it was asked for', async () => {
    const none = gatedSetup();
    const noneExited = none.manager.run();
    await flush();
    assert.deepEqual(none.manager.ports(), []);
    none.proc.emit('SIGTERM');
    none.inFlight.get('ns/a')?.release();
    assert.equal(await noneExited, 0);

    const metricsOnly = gatedSetup({ metricsServer: { host: '127.0.0.1', port: 0 } });
    const metricsExited = metricsOnly.manager.run();
    await flush();
    const [port, ...others] = metricsOnly.manager.ports();
    assert.deepEqual(others, []);
    assert.equal((await fetch(`http://127.0.0.1:${String(port)}/metrics`)).status, 200);
    metricsOnly.proc.emit('SIGTERM');
    metricsOnly.inFlight.get('ns/a')?.release();
    assert.equal(await metricsExited, 0);
  });

  void it('should close the probes server and reject when the metrics server cannot start', async () => {
    const taken = await startHealthServer({ host: '127.0.0.1', port: 0 });
    try {
      const s = gatedSetup({
        probes: { host: '127.0.0.1', port: 0 },
        metricsServer: { host: '127.0.0.1', port: taken.port },
      });
      await assert.rejects(s.manager.run(), /EADDRINUSE/);
      assert.deepEqual(s.manager.ports(), [], 'the probes server that did start was closed');
      assert.equal(s.source.started(), 0, 'nothing else started');
    } finally {
      await taken.close();
    }
  });
});
