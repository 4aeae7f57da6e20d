// The managed pass itself (src/runtime/managed.ts) with a literal fake kind: the stale-cache guard after the
// process's own write, an object gone from the cache, the finalizer changes a decision asks for, the requeue
// after a progress action, and how a failure's report, its requeue and the count of failed passes work.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Condition } from '../../../src/runtime/conditions.ts';
import type { CustomObjectPatcher, CustomResourceType } from '../../../src/runtime/custom-objects.ts';
import type { EventInput } from '../../../src/runtime/events.ts';
import { ApiException } from '@kubernetes/client-node';
import { discardLogger } from '../../../src/runtime/logging.ts';
import {
  PROGRESS_REQUEUE_MS,
  STALE_CACHE_REQUEUE_MS,
  createManagedReconciler,
  type FailureReport,
  type ManagedKind,
} from '../../../src/runtime/managed.ts';
import type { Decision } from '../../../src/runtime/statechart.ts';
import { StatusWriter } from '../../../src/runtime/status.ts';
import type { ReconcileFn } from '../../../src/runtime/types.ts';
import { fakeSource } from './support.ts';

/** One pass against in-memory fakes: milliseconds; the bound only keeps a broken case from hanging. */
const PASS = { timeout: 10_000 };
const NOW = new Date('2026-11-27T12:00:00Z');
const FINALIZER = 'test.apprunnernet.dev/cleanup';
const resource: CustomResourceType = {
  group: 'test.apprunnernet.dev',
  version: 'v1',
  plural: 'widgets',
  namespaced: true,
};

interface Widget {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation: number;
    resourceVersion: string;
    finalizers?: string[];
  };
  status?: { conditions?: readonly Condition[]; note?: string };
}

/** Widget ns/w at `resourceVersion`; `finalizers: null` leaves the field out, as on a new object. */
const widget = (resourceVersion = '10', finalizers: string[] | null = [FINALIZER]): Widget => {
  const w: Widget = {
    apiVersion: 'test.apprunnernet.dev/v1',
    kind: 'Widget',
    metadata: { name: 'w', namespace: 'ns', uid: 'uid-w', generation: 4, resourceVersion },
  };
  if (finalizers !== null) w.metadata.finalizers = finalizers;
  return w;
};

type Params = { note: { text: string }; idle: Record<string, never> };
type WidgetDecision = Decision<'s', Params>;

const decision = (overrides: Partial<WidgetDecision> = {}): WidgetDecision => ({
  state: 's',
  actions: [{ type: 'note', params: { text: 'hello' } }],
  conditions: { kstatus: { kind: 'Ready', reason: 'Fine', message: 'All fine.' }, domain: [] },
  ...overrides,
});

interface World {
  reconcile: ReconcileFn;
  cache: ReturnType<typeof fakeSource<Widget>>;
  statusPatches: unknown[];
  finalizerPatches: unknown[];
  events: EventInput[];
  reads: number;
  /** The signal each read was given. */
  readSignals: (AbortSignal | undefined)[];
  acted: string[];
  attempts: number[];
  /** What the next pass decides, or throws in `act`. */
  next: { decision: WidgetDecision; actError?: Error; report?: FailureReport };
  /** The object is deleted before the next finalizer patch reaches the API server (HTTP 404). */
  goneBeforeFinalizerPatch: boolean;
}

/** A world over `initial` at {@link NOW}, or with the reconciler's own clock. */
function world(initial: Widget, clock: 'fixed' | 'system' = 'fixed'): World {
  const cache = fakeSource<Widget>([initial]);
  const w: World = {
    reconcile: () => Promise.resolve({}),
    cache,
    statusPatches: [],
    finalizerPatches: [],
    events: [],
    reads: 0,
    readSignals: [],
    acted: [],
    attempts: [],
    next: { decision: decision() },
    goneBeforeFinalizerPatch: false,
  };
  const answer = (): Promise<unknown> => {
    const current = cache.source.list()[0] ?? initial;
    return Promise.resolve({ ...current, metadata: { ...current.metadata, resourceVersion: '11' } });
  };
  const client: CustomObjectPatcher = {
    patchNamespacedCustomObjectStatus: ({ body }: { body: unknown }) => {
      w.statusPatches.push(body);
      return answer();
    },
    patchNamespacedCustomObject: ({ body }: { body: unknown }) => {
      w.finalizerPatches.push(body);
      if (w.goneBeforeFinalizerPatch) return Promise.reject(new ApiException(404, 'Not Found', {}, {}));
      return answer();
    },
    patchClusterCustomObject: () => Promise.reject(new Error('cluster-scoped')),
    patchClusterCustomObjectStatus: () => Promise.reject(new Error('cluster-scoped')),
  };
  const kind: ManagedKind<Widget, string, string, string, 's', Params> = {
    kind: 'Widget',
    resource,
    finalizer: FINALIZER,
    cache: cache.source,
    readPlan: (o) => `plan for ${o.metadata.name}`,
    read: (plan, _object, options) => {
      w.reads++;
      w.readSignals.push(options.signal);
      return Promise.resolve(`${plan}: read`);
    },
    observe: (_o, reads, now) => `${reads} at ${now.toISOString()}`,
    decide: () => w.next.decision,
    act: (action, pass) => {
      w.acted.push(`${action.type} on rv ${pass.object.metadata.resourceVersion}`);
      if (w.next.actError !== undefined) return Promise.reject(w.next.actError);
      if (action.type === 'note') (pass.status as { note?: string }).note = action.params.text;
      return Promise.resolve();
    },
    progressActions: new Set(['idle']),
    reportFailure: (_err, _pass, _decision, attempts) => {
      w.attempts.push(attempts);
      return w.next.report;
    },
  };
  w.reconcile = createManagedReconciler(kind, {
    client,
    statusWriter: new StatusWriter({ client, resource }),
    events: { record: (e) => w.events.push(e), flush: () => Promise.resolve() },
    ...(clock === 'fixed' ? { now: () => NOW } : {}),
  });
  return w;
}

/** Widget `name` in namespace `namespace`, otherwise as {@link widget}. */
const widgetIn = (namespace: string, resourceVersion = '10'): Widget => {
  const w = widget(resourceVersion);
  return { ...w, metadata: { ...w.metadata, namespace, uid: `uid-${namespace}` } };
};

/** The cache catches up: it shows the status the last patch wrote, at `resourceVersion`. */
function showWrittenStatus(
  w: World,
  resourceVersion: string,
  finalizers: string[] | null = [FINALIZER],
): void {
  const last = w.statusPatches.at(-1) as { status: Widget['status'] } | undefined;
  assert.ok(last, 'a status patch was written');
  w.cache.set([{ ...widget(resourceVersion, finalizers), status: last.status }]);
}

const run = (w: World) =>
  w.reconcile({ namespace: 'ns', name: 'w' }, { signal: new AbortController().signal, log: discardLogger });

void describe('the managed pass', () => {
  void it(
    'writes status once with the generation, then waits for the cache to show that write',
    PASS,
    async () => {
      const w = world(widget('10'));
      assert.deepEqual(await run(w), {});
      assert.equal(w.statusPatches.length, 1);
      assert.partialDeepStrictEqual(w.statusPatches[0], {
        status: {
          note: 'hello',
          observedGeneration: 4,
          conditions: [{ type: 'Ready', status: 'True', reason: 'Fine' }],
        },
      });

      // The cache still shows resourceVersion 10, which this process's write replaced: do not decide on it.
      assert.deepEqual(await run(w), { requeueAfterMs: STALE_CACHE_REQUEUE_MS });
      assert.equal(w.reads, 1, 'no read on a stale cache');
      assert.equal(w.acted.length, 1, 'no action on a stale cache');

      w.cache.set([widget('11')]);
      await run(w);
      assert.equal(w.reads, 2, 'the pass runs once the cache shows the write');
    },
  );

  void it(
    'does nothing for an object gone from the cache, and forgets its stale version and failures',
    PASS,
    async () => {
      const w = world(widget('10'));
      await run(w);
      w.cache.set([]);
      assert.deepEqual(await run(w), {});
      assert.equal(w.reads, 1);
      // Back with the same resourceVersion (a re-created object's list): not taken for the stale one.
      w.cache.set([widget('10')]);
      await run(w);
      assert.equal(w.reads, 2);
    },
  );

  void it('adds the finalizer before the action, which sees the patched object', PASS, async () => {
    const w = world(widget('10', null));
    w.next = { decision: decision({ finalizer: 'add', actions: [{ type: 'idle', params: {} }] }) };
    assert.deepEqual(await run(w), {}, 'the finalizer patch itself triggers the next pass');
    assert.deepEqual(w.finalizerPatches, [
      [
        { op: 'test', path: '/metadata/resourceVersion', value: '10' },
        { op: 'add', path: '/metadata/finalizers', value: [FINALIZER] },
      ],
    ]);
    assert.deepEqual(w.acted, ['idle on rv 11']);
    assert.deepEqual(await run(w), { requeueAfterMs: STALE_CACHE_REQUEUE_MS });
  });

  void it(
    'removes the finalizer after the action and writes no status for a released object',
    PASS,
    async () => {
      const w = world(widget('10'));
      w.next = { decision: decision({ finalizer: 'remove' }) };
      await run(w);
      assert.equal(w.finalizerPatches.length, 1);
      assert.equal(w.statusPatches.length, 0);
    },
  );

  void it(
    'looks again soon after a progress action that wrote nothing, and not after one that wrote',
    PASS,
    async () => {
      const w = world(widget('10'));
      w.next = { decision: decision({ actions: [{ type: 'idle', params: {} }] }) };
      assert.deepEqual(await run(w), {}, 'the status write of the first pass triggers the next one');
      w.cache.set([{ ...widget('11'), status: (w.statusPatches[0] as { status: Widget['status'] }).status }]);
      assert.deepEqual(await run(w), { requeueAfterMs: PROGRESS_REQUEUE_MS }, 'nothing changed: look again');
      w.next = { decision: decision() };
      w.cache.set([{ ...widget('12'), status: (w.statusPatches[0] as { status: Widget['status'] }).status }]);
      assert.deepEqual(await run(w), {}, 'not a progress action');
    },
  );

  void it('keeps the decision’s own requeue', PASS, async () => {
    const w = world(widget('10'));
    w.next = { decision: decision({ requeueAfterMs: 7_000, actions: [{ type: 'idle', params: {} }] }) };
    assert.deepEqual(await run(w), { requeueAfterMs: 7_000 });
  });

  void it('hands an unreported failure to the queue and writes nothing', PASS, async () => {
    const w = world(widget('10'));
    const boom = new Error('boom');
    w.next = { decision: decision(), actError: boom };
    await assert.rejects(run(w), (err) => err === boom);
    assert.equal(w.statusPatches.length, 0);
    assert.deepEqual(w.attempts, [1]);
  });

  void it(
    'shows a reported failure in status, with its Event, and requeues as the report says',
    PASS,
    async () => {
      const w = world(widget('10'));
      w.next = {
        decision: decision(),
        actError: new Error('refused'),
        report: {
          kind: 'Stalled',
          reason: 'Refused',
          message: 'AWS refused.',
          requeueAfterMs: 60_000,
          event: { reason: 'Refused', action: 'Note' },
          log: 'refused',
        },
      };
      assert.deepEqual(await run(w), { requeueAfterMs: 60_000 });
      assert.partialDeepStrictEqual(w.statusPatches[0], {
        status: {
          conditions: [{ type: 'Stalled', status: 'True', reason: 'Refused', message: 'AWS refused.' }],
        },
      });
      assert.partialDeepStrictEqual(w.events, [
        {
          type: 'Warning',
          reason: 'Refused',
          action: 'Note',
          note: 'AWS refused.',
          regarding: { name: 'w', namespace: 'ns', uid: 'uid-w' },
        },
      ]);
    },
  );

  void it(
    'writes a reported failure without a requeue of its own, then hands the error to the queue',
    PASS,
    async () => {
      const w = world(widget('10'));
      const err = new Error('unknown');
      w.next = {
        decision: decision(),
        actError: err,
        report: { kind: 'Reconciling', reason: 'Retrying', message: 'Retrying.', log: 'retrying' },
      };
      await assert.rejects(run(w), (e) => e === err);
      assert.partialDeepStrictEqual(w.statusPatches[0], {
        status: { conditions: [{ type: 'Reconciling', status: 'True', reason: 'Retrying' }] },
      });
    },
  );

  void it('counts failed passes in a row per key, and starts again after a success', PASS, async () => {
    const w = world(widget('10'));
    w.next = { decision: decision(), actError: new Error('x') };
    for (let i = 0; i < 3; i++) await assert.rejects(run(w));
    w.next = { decision: decision() };
    await run(w);
    w.cache.set([widget('11')]);
    w.next = { decision: decision(), actError: new Error('y') };
    await assert.rejects(run(w));
    assert.deepEqual(w.attempts, [1, 2, 3, 1]);
  });

  void it(
    'keeps the stale-cache guard of each object apart, also for objects of one name in two namespaces',
    PASS,
    async () => {
      const w = world(widget('10'));
      w.cache.set([widget('10'), widgetIn('other', '10')]);
      await run(w);
      assert.equal(w.statusPatches.length, 1, 'ns/w was written, replacing its resourceVersion 10');
      await w.reconcile(
        { namespace: 'other', name: 'w' },
        { signal: new AbortController().signal, log: discardLogger },
      );
      assert.equal(w.reads, 2, 'other/w at its own resourceVersion 10 is not stale');
    },
  );

  void it('counts failed passes afresh for an object that left the cache and came back', PASS, async () => {
    const w = world(widget('10'));
    w.next = { decision: decision(), actError: new Error('x') };
    await assert.rejects(run(w));
    await assert.rejects(run(w));
    w.cache.set([]);
    await run(w);
    w.cache.set([widget('10')]);
    await assert.rejects(run(w));
    assert.deepEqual(w.attempts, [1, 2, 1]);
  });

  void it('writes only the decided conditions for an object that had none', PASS, async () => {
    const w = world(widget('10'));
    await run(w);
    const written = w.statusPatches[0] as { status: { conditions: Condition[] } };
    assert.deepEqual(
      written.status.conditions.map((c) => c.type),
      ['Ready'],
    );
  });

  void it(
    'gives the reads the signal of the reconcile, so a timeout or a stop cancels them',
    PASS,
    async () => {
      const w = world(widget('10'));
      const abort = new AbortController();
      await w.reconcile({ namespace: 'ns', name: 'w' }, { signal: abort.signal, log: discardLogger });
      assert.deepEqual(w.readSignals, [abort.signal]);
    },
  );

  void it('uses the system clock when given none', PASS, async () => {
    const w = world(widget('10'), 'system');
    const before = Date.now();
    await run(w);
    const written = w.statusPatches[0] as { status: { conditions: Condition[] } };
    const at = Date.parse(written.status.conditions[0]?.lastTransitionTime ?? '');
    assert.ok(at >= before - 1_000, `lastTransitionTime ${String(at)} is now`);
  });

  void it(
    'acts on the cached object when the object is deleted before the finalizer lands',
    PASS,
    async () => {
      const w = world(widget('10', null));
      w.goneBeforeFinalizerPatch = true;
      w.next = { decision: decision({ finalizer: 'add', actions: [{ type: 'idle', params: {} }] }) };
      await run(w);
      assert.deepEqual(w.acted, ['idle on rv 10']);
    },
  );

  void it(
    'waits for the cache to show an added finalizer, even when status did not change',
    PASS,
    async () => {
      const w = world(widget('10', null));
      await run(w);
      showWrittenStatus(w, '11', null);
      w.next = { decision: decision({ finalizer: 'add', actions: [{ type: 'idle', params: {} }] }) };
      assert.deepEqual(await run(w), {}, 'the finalizer patch itself triggers the next pass');
      assert.equal(w.statusPatches.length, 1, 'status was unchanged');
      assert.deepEqual(await run(w), { requeueAfterMs: STALE_CACHE_REQUEUE_MS });
    },
  );

  void it('waits for the cache to show a removed finalizer before deciding again', PASS, async () => {
    const w = world(widget('10'));
    w.next = { decision: decision({ finalizer: 'remove' }) };
    await run(w);
    assert.deepEqual(await run(w), { requeueAfterMs: STALE_CACHE_REQUEUE_MS });
    assert.equal(w.acted.length, 1, 'no second action on the object it released');
  });

  void it('decides again on an unchanged cache after a pass that wrote nothing', PASS, async () => {
    const w = world(widget('10'));
    await run(w);
    showWrittenStatus(w, '11');
    assert.deepEqual(await run(w), {});
    assert.equal(w.statusPatches.length, 1, 'the second pass wrote nothing');
    await run(w);
    assert.equal(w.reads, 3, 'the third pass was not taken for a stale cache');
  });

  void describe('after a pass that wrote nothing', () => {
    const cases: { reason: string; decision: WidgetDecision; want: { requeueAfterMs?: number } }[] = [
      {
        reason: 'the decision’s own requeue wins over the progress requeue',
        decision: decision({ requeueAfterMs: 7_000, actions: [{ type: 'idle', params: {} }] }),
        want: { requeueAfterMs: 7_000 },
      },
      {
        reason: 'one progress action among others is enough to look again soon',
        decision: decision({
          actions: [
            { type: 'note', params: { text: 'hello' } },
            { type: 'idle', params: {} },
          ],
        }),
        want: { requeueAfterMs: PROGRESS_REQUEUE_MS },
      },
    ];
    for (const c of cases) {
      void it(`requeues as expected: ${c.reason}`, PASS, async () => {
        const w = world(widget('10'));
        await run(w);
        showWrittenStatus(w, '11');
        w.next = { decision: c.decision };
        assert.deepEqual(await run(w), c.want);
        assert.equal(w.statusPatches.length, 1, 'the pass wrote nothing');
      });
    }
  });

  void it(
    'shows a reported failure’s domain conditions on an object that has no status yet',
    PASS,
    async () => {
      const w = world(widget('10'));
      w.next = {
        decision: decision(),
        actError: new Error('refused'),
        report: {
          kind: 'Reconciling',
          reason: 'Retrying',
          message: 'Retrying.',
          requeueAfterMs: 1_000,
          domain: [{ type: 'Synced', status: 'False', reason: 'Refused', message: 'AWS refused.' }],
          log: 'refused',
        },
      };
      assert.deepEqual(await run(w), { requeueAfterMs: 1_000 });
      assert.partialDeepStrictEqual(w.statusPatches[0], {
        status: { conditions: [{ type: 'Synced', status: 'False', reason: 'Refused' }] },
      });
    },
  );
});
