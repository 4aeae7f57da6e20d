import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';

import { KubeConfig } from '@kubernetes/client-node';

import {
  customResourceInformer,
  Informer,
  type InformerOptions,
  type WatchStarter,
} from '../../../src/runtime/informer.ts';
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
    /** Absent for a cluster-scoped object. */
    namespace?: string;
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

function clusterScoped(name: string, rv: string): TestObject {
  return { metadata: { name, resourceVersion: rv } };
}

function listOf(rv: string, ...items: TestObject[]): TestList {
  return { metadata: { resourceVersion: rv }, items };
}

function nameAtVersion(o: TestObject): string {
  return `${o.metadata.name}@${o.metadata.resourceVersion}`;
}

/** A promise the test settles by hand: a list or a watch request still in flight. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A watch whose requests stay opening until the test resolves or rejects them. */
function openingWatch(): WatchStarter & { opening: ReturnType<typeof deferred<AbortController>>[] } {
  const opening: ReturnType<typeof deferred<AbortController>>[] = [];
  return {
    opening,
    watch: () => {
      const request = deferred<AbortController>();
      opening.push(request);
      return request.promise;
    },
  };
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

/**
 * A loopback API server for one custom resource collection: answers any list with one object and any watch
 * with one ADDED event, then holds the watch open. Records the paths it was asked for.
 */
async function startApiServer(): Promise<{
  kubeConfig: KubeConfig;
  requests: string[];
  close(): Promise<void>;
}> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const watching = url.searchParams.get('watch') === 'true';
    requests.push(`${watching ? 'watch' : 'list'} ${url.pathname}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    if (watching) {
      res.write(`${JSON.stringify({ type: 'ADDED', object: obj('watched', '11') })}\n`);
    } else {
      res.end(
        JSON.stringify({
          ...listOf('10', obj('listed', '5')),
          apiVersion: 'g.example/v1',
          kind: 'WidgetList',
        }),
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // A test that times out must not keep the process alive.
  server.unref();
  const { port } = server.address() as AddressInfo;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'loopback', server: `http://127.0.0.1:${String(port)}`, skipTLSVerify: true }],
    users: [{ name: 'anonymous' }],
    contexts: [{ name: 'loopback', cluster: 'loopback', user: 'anonymous' }],
    currentContext: 'loopback',
  });
  return {
    kubeConfig,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
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
    assert.equal(r.informer.status().lastError, 'watch: read ECONNRESET');
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
    assert.deepEqual(
      r.informer.list().map(nameAtVersion),
      ['a@15', 'c@16'],
      'the cache holds the relist only',
    );
    assert.equal(r.watch.last().query.resourceVersion, '20');
    assert.equal(r.informer.status().restarts, 1);
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
    assert.equal(r.informer.status().lastError, 'watch: the watch ended at once without events');
    r.informer.stop();
  });

  void it('has the watchdog abort a watch silent for the timeout and relist, ignoring the aborted stream', async () => {
    const r = rig({ silenceTimeoutMs: 60_000 });
    await r.informer.start();
    await settle();
    const first = r.watch.last();
    await r.clock.advance(59_999);
    assert.equal(first.aborted, false);
    await r.clock.advance(1);
    assert.equal(first.aborted, true, 'silent for exactly the timeout');
    await settle();
    assert.equal(r.lists.length, 2, 'relisted');
    assert.equal(r.watch.calls.length, 2, 'the late AbortError of the old watch started nothing');
    assert.equal(r.informer.status().consecutiveFailures, 0, 'nor counted as a failure');
    assert.equal(r.informer.status().watchdogRestarts, 1);
    assert.equal(r.informer.healthProblem(), undefined, 'the relist was a sign of life');
    r.informer.stop();
    assert.equal(r.watch.last().aborted, true, 'stop still aborts the new watch');
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
    await r.clock.advance(60_000);
    assert.deepEqual(r.changes, [
      'add a@5',
      'add b@6',
      'update a@5',
      'update b@6',
      'update a@5',
      'update b@6',
    ]);
    r.informer.stop();
  });

  void it('reports a health problem once silent for twice the watchdog period, with the last error', async () => {
    const r = rig({ silenceTimeoutMs: 60_000, maxBackoffMs: 10_000 });
    await r.informer.start();
    r.listResults.splice(0, 1, Object.assign(new Error('Forbidden'), { code: 403 }));
    r.watch.last().emit('ERROR', { code: 410 });
    r.watch.last().end(null);
    await r.clock.advance(120_000);
    assert.equal(r.informer.healthProblem(), undefined, 'silent for exactly twice the period');
    await r.clock.advance(1_000);
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
  void it('delivers an update only when the resourceVersion changed, whether watched or relisted', async () => {
    const r = rig();
    r.listResults.splice(
      0,
      1,
      listOf('10', obj('a', '5'), obj('b', '6')),
      listOf('20', obj('a', '7'), obj('b', '6')),
    );
    const delivered: string[] = [];
    r.informer.onChange((_o, change) => delivered.push(change));
    await r.informer.start();
    await settle();
    r.watch.last().emit('MODIFIED', obj('a', '7'));
    assert.deepEqual(r.changes.slice(2), ['update a@7'], 'a new resourceVersion is an update');
    r.watch.last().emit('MODIFIED', obj('a', '7'));
    r.watch.last().emit('ADDED', obj('a', '7'));
    assert.deepEqual(r.changes.slice(3), [], 'a repeated resourceVersion is no change');
    r.watch.last().emit('ERROR', { code: 410 });
    r.watch.last().end(null);
    await settle();
    assert.equal(r.lists.length, 2);
    assert.deepEqual(r.changes.slice(3), [], 'the relist found nothing new');
    assert.deepEqual(delivered, ['add', 'add', 'update']);
    r.informer.stop();
  });

  void it('keys objects by namespace and name, and finds a cluster-scoped one with or without an empty namespace', async () => {
    const r = rig();
    r.listResults[0] = listOf('10', obj('a', '5', 'ns1'), obj('a', '6', 'ns2'), clusterScoped('x', '7'));
    await r.informer.start();
    assert.deepEqual(r.informer.list().map(nameAtVersion), ['a@5', 'a@6', 'x@7']);
    const cases: { namespace: string | undefined; name: string; want: string | undefined; reason: string }[] =
      [
        { namespace: 'ns1', name: 'a', want: '5', reason: 'same name, first namespace' },
        { namespace: 'ns2', name: 'a', want: '6', reason: 'same name, second namespace' },
        {
          namespace: undefined,
          name: 'a',
          want: undefined,
          reason: 'a namespaced object needs its namespace',
        },
        { namespace: undefined, name: 'x', want: '7', reason: 'cluster-scoped, no namespace' },
        { namespace: '', name: 'x', want: '7', reason: 'cluster-scoped, empty namespace' },
      ];
    for (const c of cases) {
      assert.equal(r.informer.get(c.namespace, c.name)?.metadata.resourceVersion, c.want, c.reason);
    }
    r.informer.stop();
  });

  void it('relists at once when the watch request itself is answered 410 Gone', async () => {
    for (const err of [
      Object.assign(new Error('Gone'), { statusCode: 410 }),
      Object.assign(new Error('Gone'), { code: 410 }),
    ]) {
      const r = rig();
      await r.informer.start();
      await settle();
      r.watch.last().end(err);
      await settle();
      assert.equal(r.lists.length, 2, 'relisted without a backoff');
      assert.equal(r.watch.calls.length, 2);
      assert.equal(r.informer.status().consecutiveFailures, 0);
      r.informer.stop();
    }
  });

  void it('resumes from the last resourceVersion, without relisting, after an ERROR event other than 410', async () => {
    const r = rig();
    await r.informer.start();
    await settle();
    r.watch.last().emit('ADDED', obj('a', '11'));
    r.watch.last().emit('ERROR', { kind: 'Status', code: 500, reason: 'InternalError' });
    r.watch.last().end(null);
    await settle();
    assert.equal(r.lists.length, 1);
    assert.equal(r.watch.calls.length, 2);
    assert.equal(r.watch.last().query.resourceVersion, '11');
    assert.match(r.informer.status().lastError ?? '', /^watch ERROR event: .*"code":500/);
    r.informer.stop();
  });

  void it('re-watches at once from the last resourceVersion when a watch that delivered events ends cleanly', async () => {
    for (const end of [null, undefined]) {
      const r = rig();
      await r.informer.start();
      await settle();
      r.watch.last().emit('ADDED', obj('a', '11'));
      r.watch.last().end(end);
      await settle();
      assert.equal(r.watch.calls.length, 2, `ended with ${String(end)}`);
      assert.equal(r.watch.last().query.resourceVersion, '11');
      assert.equal(r.lists.length, 1);
      assert.equal(r.informer.status().consecutiveFailures, 0);
      r.informer.stop();
    }
  });

  void it('re-watches at once when a watch that stayed open for a second ends cleanly without events', async () => {
    const r = rig();
    await r.informer.start();
    await settle();
    await r.clock.advance(1_000);
    r.watch.last().end(null);
    await settle();
    assert.equal(r.watch.calls.length, 2);
    assert.equal(r.informer.status().consecutiveFailures, 0);
    r.informer.stop();
  });

  void it('keeps the last resourceVersion when an event or bookmark carries none', async () => {
    const r = rig();
    await r.informer.start();
    await settle();
    r.watch.last().emit('ADDED', obj('a', ''));
    r.watch.last().emit('BOOKMARK', { metadata: {} });
    r.watch.last().end(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    await settle();
    assert.equal(r.lists.length, 1);
    assert.equal(r.watch.last().query.resourceVersion, '10');
    r.informer.stop();
  });

  void it('counts bookmarks as signs of life, so the watchdog leaves a quiet watch alone', async () => {
    const r = rig({ silenceTimeoutMs: 60_000 });
    await r.informer.start();
    await settle();
    for (let rv = 11; rv <= 20; rv++) {
      await r.clock.advance(30_000);
      r.watch.last().emit('BOOKMARK', { metadata: { resourceVersion: String(rv) } });
    }
    await r.clock.advance(59_000);
    assert.equal(r.informer.status().watchdogRestarts, 0);
    assert.equal(r.watch.calls.length, 1);
    assert.equal(r.informer.status().lastEventAt, r.clock.now() - 59_000);
    assert.equal(r.informer.healthProblem(), undefined);
    r.informer.stop();
  });

  void it('counts a successful relist as a sign of life', async () => {
    const r = rig();
    await r.informer.start();
    await settle();
    await r.clock.advance(50_000);
    r.watch.last().emit('ERROR', { code: 410 });
    r.watch.last().end(null);
    await settle();
    assert.equal(r.lists.length, 2);
    assert.equal(r.informer.status().lastEventAt, r.clock.now());
    r.informer.stop();
  });

  void it('spreads list retries between half the backoff ceiling and the ceiling', async () => {
    const r = rig({ initialBackoffMs: 1_000, maxBackoffMs: 8_000, random: () => 0.5 });
    const failure = Object.assign(new Error('Service Unavailable'), { code: 503 });
    r.listResults.splice(0, 1, failure, failure, failure, failure, failure, listOf('10'));
    const t0 = r.clock.now();
    const started = r.informer.start();
    await r.clock.advance(20_000);
    await started;
    // Three quarters of 1, 2, 4, 8 and 8 s.
    assert.deepEqual(
      r.lists.map((t) => t - t0),
      [0, 750, 2_250, 5_250, 11_250, 17_250],
    );
    r.informer.stop();
  });

  void it('asks the server to end each watch after a random 5 to 10 minutes unless given a timeout', async () => {
    const cases = [
      { random: 0, want: 300 },
      { random: 0.5, want: 450 },
      { random: 0.999, want: 599 },
    ];
    for (const c of cases) {
      const r = rig({ watchTimeoutSeconds: undefined, random: () => c.random });
      await r.informer.start();
      await settle();
      assert.equal(r.watch.last().query.timeoutSeconds, c.want, `random() = ${String(c.random)}`);
      r.informer.stop();
    }
  });

  void it('does not let the watchdog cut a backoff short', async () => {
    const r = rig({ silenceTimeoutMs: 60_000, initialBackoffMs: 600_000, maxBackoffMs: 600_000 });
    r.listResults.splice(0, 1, new Error('Service Unavailable'), listOf('10'));
    const started = r.informer.start();
    await r.clock.advance(299_000);
    assert.equal(r.lists.length, 1, 'still backing off');
    assert.equal(r.informer.status().watchdogRestarts, 0);
    await r.clock.advance(1_000);
    await started;
    assert.equal(r.lists.length, 2);
    r.informer.stop();
  });

  void it('sets no resync timer when the resync period is 0, as the operator configures it', async () => {
    const r = rig({ resyncPeriodMs: 0 });
    r.listResults[0] = listOf('10', obj('a', '5'));
    await r.informer.start();
    await settle();
    assert.equal(r.clock.pending(), 1, 'only the watchdog');
    await r.clock.advance(3_600_000);
    assert.deepEqual(r.changes, ['add a@5']);
    r.informer.stop();
  });

  void it('ignores events an aborted watch delivers before it has ended', async () => {
    const r = rig();
    await r.informer.start();
    await settle();
    const first = r.watch.last();
    r.informer.stop();
    first.emit('ADDED', obj('a', '11'));
    assert.deepEqual(r.changes, []);
    assert.equal(r.informer.get('ns', 'a'), undefined);
  });

  void it('ignores a list that answers or fails after stop', async () => {
    for (const outcome of ['answers', 'fails'] as const) {
      const list = deferred<TestList>();
      const r = rig({ list: () => list.promise });
      const started = r.informer.start();
      r.informer.stop();
      await assert.rejects(started, /stopped before its first list/);
      if (outcome === 'answers') list.resolve(listOf('10', obj('a', '5')));
      else list.reject(new Error('Service Unavailable'));
      await settle();
      assert.equal(r.informer.hasSynced(), false, outcome);
      assert.deepEqual(r.informer.list(), []);
      assert.deepEqual(r.changes, []);
      assert.equal(r.watch.calls.length, 0);
      assert.deepEqual(r.informer.status().consecutiveFailures, 0);
      assert.equal(r.informer.status().lastError, undefined);
      assert.equal(r.clock.pending(), 0);
    }
  });

  void it('retries with a backoff when a watch cannot be opened, from the same resourceVersion', async () => {
    const w = openingWatch();
    const r = rig({ watch: w });
    await r.informer.start();
    await settle();
    w.opening[0]?.reject(new Error('exec credential plugin failed'));
    await settle();
    assert.equal(r.informer.status().lastError, 'watch: exec credential plugin failed');
    assert.equal(w.opening.length, 1, 'waits for the backoff');
    await r.clock.advance(500);
    assert.equal(w.opening.length, 2);
    assert.equal(r.lists.length, 1);
    r.informer.stop();
    w.opening[1]?.reject(new Error('exec credential plugin failed'));
    await settle();
    assert.equal(r.informer.status().consecutiveFailures, 1, 'a failure after stop is not counted');
  });

  void it('aborts every watch that finishes opening after the informer moved on', async () => {
    const w = openingWatch();
    const r = rig({ watch: w, silenceTimeoutMs: 60_000 });
    await r.informer.start();
    await r.clock.advance(60_000);
    assert.equal(r.informer.status().watchdogRestarts, 1);
    assert.equal(w.opening.length, 2, 'the watchdog gave up on the first request');
    r.informer.stop();
    const controllers = [new AbortController(), new AbortController()];
    controllers.forEach((c, i) => w.opening[i]?.resolve(c));
    await settle();
    assert.deepEqual(
      controllers.map((c) => c.signal.aborted),
      [true, true],
    );
  });

  void it('lets start be called again: while running it starts nothing new and resolves with the first list', async () => {
    const list = deferred<TestList>();
    const r = rig({ list: () => list.promise });
    let secondResolved = false;
    const first = r.informer.start();
    const second = r.informer.start().then(() => (secondResolved = true));
    await settle();
    assert.equal(secondResolved, false, 'not before the first list');
    list.resolve(listOf('10'));
    await Promise.all([first, second]);
    await settle();
    await r.informer.start();
    assert.equal(r.watch.calls.length, 1);
    r.informer.stop();
  });

  void it('starts again after stop, resuming from its cache, and ignores the stopped watch ending late', async () => {
    const r = rig();
    await r.informer.start();
    await settle();
    r.watch.last().emit('ADDED', obj('a', '11'));
    r.informer.stop();
    let restarted = false;
    void r.informer.start().then(() => (restarted = true));
    await settle();
    assert.equal(restarted, true, 'already synced');
    assert.equal(r.watch.calls.length, 2);
    assert.equal(r.watch.last().query.resourceVersion, '11');
    assert.equal(r.informer.status().consecutiveFailures, 0);
    assert.equal(r.watch.last().aborted, false);
    r.informer.stop();
  });

  void it('reports no health problem before start or once stopped, but does while the first list keeps failing', async () => {
    const r = rig({ name: 'configmaps', silenceTimeoutMs: 60_000 });
    r.listResults[0] = Object.assign(new Error('Forbidden'), { code: 403 });
    await r.clock.advance(600_000);
    assert.equal(r.informer.healthProblem(), undefined, 'not started');
    const started = r.informer.start();
    await r.clock.advance(121_000);
    assert.match(
      r.informer.healthProblem() ?? '',
      /^Informer configmaps has heard nothing .* for 121 s \(last error: list: 403 Forbidden\)/,
    );
    r.informer.stop();
    await assert.rejects(started);
    assert.equal(r.informer.healthProblem(), undefined, 'stopped');
  });

  void it('needs a kubeConfig or a watch', () => {
    assert.throws(
      () => new Informer<TestObject>({ path: '/x', list: () => Promise.resolve(listOf('1')) }),
      /needs a kubeConfig or a watch/,
    );
  });
  void it(
    'lists and watches a custom resource at its namespaced or cluster-wide path through the kubeConfig',
    { timeout: 30_000 },
    async () => {
      const cases = [
        {
          namespaced: true,
          namespace: 'ns',
          want: '/apis/g.example/v1/namespaces/ns/widgets',
          reason: 'one namespace',
        },
        {
          namespaced: true,
          namespace: undefined,
          want: '/apis/g.example/v1/widgets',
          reason: 'every namespace',
        },
        {
          namespaced: false,
          namespace: 'ns',
          want: '/apis/g.example/v1/widgets',
          reason: 'cluster-scoped kind',
        },
      ];
      for (const c of cases) {
        const api = await startApiServer();
        try {
          const informer = customResourceInformer<TestObject>(
            api.kubeConfig,
            { group: 'g.example', version: 'v1', plural: 'widgets', namespaced: c.namespaced },
            { clock: new FakeClock(), ...(c.namespace === undefined ? {} : { namespace: c.namespace }) },
          );
          const seen: string[] = [];
          informer.onChange((o) => seen.push(o.metadata.name));
          void informer.start().catch(() => undefined);
          // Real sockets: poll until the watched object arrived or a list or watch failed (for at most
          // 10 s, so that a broken informer fails the test instead of holding the process open).
          for (
            let polls = 0;
            polls < 2_000 && !seen.includes('watched') && informer.status().consecutiveFailures === 0;
            polls++
          ) {
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          informer.stop();
          assert.equal(informer.status().lastError, undefined, c.reason);
          assert.deepEqual(api.requests, [`list ${c.want}`, `watch ${c.want}`], c.reason);
          assert.deepEqual(informer.list().map(nameAtVersion), ['listed@5', 'watched@11'], c.reason);
        } finally {
          await api.close();
        }
      }
    },
  );

  void it('names a custom resource informer after its plural and group', async () => {
    const api = await startApiServer();
    try {
      const informer = customResourceInformer<TestObject>(
        api.kubeConfig,
        { group: 'g.example', version: 'v1', plural: 'widgets', namespaced: true },
        { clock: new FakeClock() },
      );
      const started = informer.start();
      informer.stop();
      await assert.rejects(started, /^Error: Informer widgets\.g\.example was stopped/);
    } finally {
      await api.close();
    }
  });
});
