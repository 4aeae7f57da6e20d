import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Informer, type InformerOptions, type WatchStarter } from '../../../src/runtime/informer.ts';
import { FakeClock, flush } from './fake-clock.ts';

/** Lets chains of several awaits (list, then watch) run to their end. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await flush();
}

interface WatchCall {
  query: Record<string, string | number | boolean | undefined>;
  emit(phase: string, obj: unknown): void;
  end(err: unknown): void;
  aborted: boolean;
}

/** Behaves like client-node's Watch: an abort ends the stream and calls `done` with an AbortError, later. */
class FakeWatch implements WatchStarter {
  calls: WatchCall[] = [];
  watch(
    _path: string,
    query: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, obj: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const controller = new AbortController();
    let ended = false;
    const end = (err: unknown): void => {
      if (ended) return;
      ended = true;
      done(err);
    };
    const call: WatchCall = {
      query,
      emit: (phase, obj) => {
        if (!ended) callback(phase, obj);
      },
      end,
      get aborted() {
        return controller.signal.aborted;
      },
    };
    controller.signal.addEventListener('abort', () => {
      setImmediate(() => {
        end(new DOMException('This operation was aborted', 'AbortError'));
      });
    });
    this.calls.push(call);
    return Promise.resolve(controller);
  }
  last(): WatchCall {
    const call = this.calls.at(-1);
    assert.ok(call, 'a watch was started');
    return call;
  }
}

interface TestObject {
  metadata: {
    name: string;
    namespace: string;
    resourceVersion: string;
    managedFields?: { manager: string; operation: string }[];
  };
}

interface TestList {
  metadata: { resourceVersion: string };
  items: TestObject[];
}

function obj(name: string, rv: string, namespace = 'ns'): TestObject {
  return { metadata: { name, namespace, resourceVersion: rv } };
}

function listOf(rv: string, ...items: TestObject[]): TestList {
  return { metadata: { resourceVersion: rv }, items };
}

interface Rig {
  clock: FakeClock;
  watch: FakeWatch;
  informer: Informer<TestObject>;
  lists: number[];
  changes: string[];
  /** What the next list calls return (the last entry repeats); an Error entry is thrown. */
  listResults: (TestList | Error)[];
}

function rig(options: Partial<InformerOptions<TestObject>> = {}): Rig {
  const clock = new FakeClock();
  const watch = new FakeWatch();
  const lists: number[] = [];
  const changes: string[] = [];
  const listResults: Rig['listResults'] = [listOf('10')];
  const informer = new Informer<TestObject>({
    path: '/api/v1/namespaces/ns/configmaps',
    list: () => {
      lists.push(clock.now());
      const next = listResults.length > 1 ? listResults.shift() : listResults[0];
      return next instanceof Error || next === undefined
        ? Promise.reject(next ?? new Error('no list result'))
        : Promise.resolve(structuredClone(next));
    },
    watch,
    clock,
    random: () => 0,
    watchTimeoutSeconds: 300,
    ...options,
  });
  informer.onChange((o, change) =>
    changes.push(`${change} ${o.metadata.name}@${o.metadata.resourceVersion}`),
  );
  return { clock, watch, informer, lists, changes, listResults };
}

void describe('Informer', () => {
  void it('lists, then watches from the list resourceVersion with bookmarks, and delivers add, update and delete', async () => {
    const r = rig();
    r.listResults[0] = listOf('10', obj('a', '5'));
    await r.informer.start();
    assert.equal(r.informer.hasSynced(), true);
    await settle();
    assert.deepEqual(r.watch.last().query, {
      resourceVersion: '10',
      allowWatchBookmarks: true,
      timeoutSeconds: 300,
      labelSelector: undefined,
      fieldSelector: undefined,
    });
    r.watch.last().emit('ADDED', obj('b', '11'));
    r.watch.last().emit('MODIFIED', obj('a', '12'));
    r.watch.last().emit('MODIFIED', obj('a', '12'));
    r.watch.last().emit('BOOKMARK', { metadata: { resourceVersion: '13' } });
    r.watch.last().emit('DELETED', obj('b', '14'));
    assert.deepEqual(r.changes, ['add a@5', 'add b@11', 'update a@12', 'delete b@14']);
    assert.equal(r.informer.get('ns', 'a')?.metadata.resourceVersion, '12');
    assert.equal(r.informer.get('ns', 'b'), undefined);
    assert.deepEqual(
      r.informer.list().map((o) => o.metadata.name),
      ['a'],
    );
    r.informer.stop();
  });

  void it('keeps objects without managedFields, listed or watched (nothing reads them; they are often most of an object)', async () => {
    const managed = (name: string, rv: string): TestObject => ({
      metadata: { ...obj(name, rv).metadata, managedFields: [{ manager: 'kubectl', operation: 'Apply' }] },
    });
    const r = rig();
    r.listResults[0] = listOf('10', managed('a', '5'));
    await r.informer.start();
    await settle();
    r.watch.last().emit('ADDED', managed('b', '11'));
    await settle();
    assert.deepEqual(
      r.informer.list().map((o) => [o.metadata.name, o.metadata.managedFields]),
      [
        ['a', undefined],
        ['b', undefined],
      ],
    );
    r.informer.stop();
  });

  void it('retries a failing list with capped, jittered exponential backoff and resolves start only after a list succeeds', async () => {
    const r = rig({ initialBackoffMs: 1_000, maxBackoffMs: 8_000 });
    const failure = Object.assign(new Error('Service Unavailable'), { code: 503 });
    r.listResults.splice(0, 1, failure, failure, failure, failure, failure, listOf('10'));
    let resolved = false;
    const started = r.informer.start().then(() => (resolved = true));
    const t0 = r.clock.now();
    await r.clock.advance(20_000);
    await started;
    assert.equal(resolved, true);
    // random() = 0 gives the lower bound of each jittered delay: half of 1, 2, 4, 8, 8 s.
    assert.deepEqual(
      r.lists.map((t) => t - t0),
      [0, 500, 1_500, 3_500, 7_500, 11_500],
    );
    assert.match(r.informer.status().lastError ?? '', /list: 503 Service Unavailable/);
    r.informer.stop();
  });

  void it('restarts a failed watch after a backoff from the last resourceVersion, without relisting', async () => {
    const r = rig();
    await r.informer.start();
    await settle();
    r.watch.last().emit('ADDED', obj('a', '11'));
    r.watch.last().end(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    await r.clock.advance(499);
    assert.equal(r.watch.calls.length, 1, 'still backing off');
    await r.clock.advance(1);
    assert.equal(r.watch.calls.length, 2);
    assert.equal(r.watch.last().query.resourceVersion, '11');
    assert.equal(r.lists.length, 1);
    r.informer.stop();
  });

  void it('relists after 410 Gone and reports what changed meanwhile, including deletions', async () => {
    const r = rig();
    r.listResults.splice(
      0,
      1,
      listOf('10', obj('a', '5'), obj('b', '6')),
      listOf('20', obj('a', '15'), obj('c', '16')),
    );
    await r.informer.start();
    await settle();
    r.watch.last().emit('ERROR', { kind: 'Status', code: 410, reason: 'Expired' });
    r.watch.last().end(null);
    await settle();
    assert.equal(r.lists.length, 2);
    assert.deepEqual(r.changes.slice(2), ['delete b@6', 'update a@15', 'add c@16']);
    assert.equal(r.watch.last().query.resourceVersion, '20');
    r.informer.stop();
  });

  void it('re-watches at once after the client inactivity timeout and counts no failure', async () => {
    const r = rig();
    await r.informer.start();
    await settle();
    r.watch.last().end(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    await settle();
    assert.equal(r.watch.calls.length, 2);
    assert.equal(r.watch.last().query.resourceVersion, '10');
    assert.equal(r.informer.status().consecutiveFailures, 0);
    r.informer.stop();
  });

  void it('backs off instead of hot-looping when watches end at once without events', async () => {
    const r = rig();
    await r.informer.start();
    await settle();
    r.watch.last().end(null);
    await settle();
    assert.equal(r.watch.calls.length, 1, 'the second watch waits for the backoff');
    assert.equal(r.informer.status().consecutiveFailures, 1);
    r.informer.stop();
  });

  void it('has the watchdog abort a watch silent for the timeout and relist, ignoring the aborted stream', async () => {
    const r = rig({ silenceTimeoutMs: 60_000 });
    await r.informer.start();
    await settle();
    const first = r.watch.last();
    await r.clock.advance(59_999);
    assert.equal(first.aborted, false);
    await r.clock.advance(15_001);
    assert.equal(first.aborted, true);
    assert.equal(r.lists.length, 2, 'relisted');
    assert.equal(r.watch.calls.length, 2, 'the late AbortError of the old watch started nothing');
    assert.equal(r.informer.status().watchdogRestarts, 1);
    assert.equal(r.informer.healthProblem(), undefined, 'the relist was a sign of life');
    r.informer.stop();
  });

  void it('has the watchdog restart a list that never answers', async () => {
    const r = rig({ silenceTimeoutMs: 60_000 });
    let calls = 0;
    const informer = new Informer<TestObject>({
      path: '/x',
      // The second list (after a 410) hangs forever; the third answers.
      list: () =>
        ++calls === 2 ? new Promise<never>(() => undefined) : Promise.resolve(listOf(String(calls))),
      watch: r.watch,
      clock: r.clock,
      silenceTimeoutMs: 60_000,
    });
    await informer.start();
    await settle();
    r.watch.last().emit('ERROR', { code: 410 });
    r.watch.last().end(null);
    await r.clock.advance(59_000);
    assert.equal(calls, 2);
    await r.clock.advance(16_000);
    assert.equal(calls, 3, 'the watchdog listed again');
    assert.equal(r.watch.calls.length, 2, 'and a watch followed');
    assert.equal(r.watch.last().query.resourceVersion, '3');
    assert.equal(informer.status().watchdogRestarts, 1);
    informer.stop();
  });

  void it('re-delivers every cached object as an update each resync period', async () => {
    const r = rig({ resyncPeriodMs: 30_000, silenceTimeoutMs: 3_600_000 });
    r.listResults[0] = listOf('10', obj('a', '5'), obj('b', '6'));
    await r.informer.start();
    await r.clock.advance(30_000);
    assert.deepEqual(r.changes, ['add a@5', 'add b@6', 'update a@5', 'update b@6']);
    r.informer.stop();
  });

  void it('reports a health problem once silent for twice the watchdog period, with the last error', async () => {
    const r = rig({ silenceTimeoutMs: 60_000, maxBackoffMs: 10_000 });
    await r.informer.start();
    r.listResults.splice(0, 1, Object.assign(new Error('Forbidden'), { code: 403 }));
    r.watch.last().emit('ERROR', { code: 410 });
    r.watch.last().end(null);
    await r.clock.advance(119_000);
    assert.equal(r.informer.healthProblem(), undefined);
    await r.clock.advance(2_000);
    assert.match(
      r.informer.healthProblem() ?? '',
      /heard nothing .* for 121 s \(last error: list: 403 Forbidden\)/,
    );
    r.informer.stop();
  });

  void it('keeps delivering to other handlers when one throws', async () => {
    const r = rig();
    r.informer.onChange(() => {
      throw new Error('handler bug');
    });
    await r.informer.start();
    await settle();
    r.watch.last().emit('ADDED', obj('a', '11'));
    r.watch.last().emit('ADDED', obj('b', '12'));
    assert.deepEqual(r.changes, ['add a@11', 'add b@12']);
    r.informer.stop();
  });

  void it('rejects start when stopped before the first list, aborts the watch on stop and leaves no timer', async () => {
    const r = rig();
    r.listResults[0] = new Error('down');
    const started = r.informer.start();
    r.informer.stop();
    await assert.rejects(started, /stopped before its first list/);

    const s = rig();
    await s.informer.start();
    await settle();
    s.informer.stop();
    assert.equal(s.watch.last().aborted, true);
    await settle();
    assert.equal(s.watch.calls.length, 1);
    assert.equal(s.clock.pending(), 0);
  });
});
