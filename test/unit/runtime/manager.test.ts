import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { Controller } from '../../../src/runtime/controller.ts';
import { Manager } from '../../../src/runtime/manager.ts';
import type { ManagerOptions, ProcessHooks } from '../../../src/runtime/manager.ts';
import { createRuntimeMetrics } from '../../../src/runtime/metrics.ts';
import type { Leadership, ReconcileContext, ReconcileResult } from '../../../src/runtime/types.ts';
import { keyToString } from '../../../src/runtime/types.ts';
import { FakeClock, flush } from './fake-clock.ts';
import { captureLogger, fakeSource, metricValue, obj } from './support.ts';
import type { FakeObject } from './support.ts';

/** `process` as the manager sees it: signals are emitted by the test, exit codes are recorded. */
function fakeProcess(): ProcessHooks & { emit(signal: 'SIGTERM' | 'SIGINT'): void; codes: number[] } {
  const emitter = new EventEmitter();
  const codes: number[] = [];
  return {
    codes,
    on: (signal, handler) => emitter.on(signal, handler),
    off: (signal, handler) => emitter.off(signal, handler),
    emit: (signal) => emitter.emit(signal),
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
    const s = gatedSetup({ leadership });
    const exited = s.manager.run();
    await flush();
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
    const [port] = s.manager.ports();
    assert.ok(port !== undefined);
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
});
