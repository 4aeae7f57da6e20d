// Finalizer patches and the status writer against a recording fake of CustomObjectsApi: what is sent, with
// which Content-Type, and how API answers map to results and typed errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ApiException, type setHeaderOptions } from '@kubernetes/client-node';

import type { CustomObjectPatcher } from '../../../src/runtime/custom-objects.ts';
import { ConflictError } from '../../../src/runtime/errors.ts';
import { addFinalizer, removeFinalizer } from '../../../src/runtime/finalizers.ts';
import { StatusWriter } from '../../../src/runtime/status.ts';
import { contentTypeSetBy } from './request-options.ts';
import { clusterScoped, namespaced } from './support.ts';

type Options = ReturnType<typeof setHeaderOptions>;

interface Call {
  method: string;
  param: { name: string; namespace?: string; body: unknown };
  contentType: string | undefined;
}

/** Records every patch; answers with `answer` (an ApiException status to throw, or the body back). */
function fakePatcher(answer: number | 'echo' = 'echo'): { client: CustomObjectPatcher; calls: Call[] } {
  const calls: Call[] = [];
  const handle = (method: string) => (param: Call['param'], options?: Options) => {
    calls.push({ method, param, contentType: contentTypeSetBy(options) });
    if (answer !== 'echo') return Promise.reject(new ApiException(answer, 'injected', {}, {}));
    return Promise.resolve({ echoed: param.body });
  };
  return {
    calls,
    client: {
      patchNamespacedCustomObject: handle('patchNamespacedCustomObject'),
      patchClusterCustomObject: handle('patchClusterCustomObject'),
      patchNamespacedCustomObjectStatus: handle('patchNamespacedCustomObjectStatus'),
      patchClusterCustomObjectStatus: handle('patchClusterCustomObjectStatus'),
    },
  };
}

interface Obj {
  metadata: { name: string; namespace?: string; resourceVersion?: string; finalizers?: string[] };
  status?: Record<string, unknown>;
}

function object(overrides: Partial<Obj['metadata']> = {}, status?: Record<string, unknown>): Obj {
  const o: Obj = { metadata: { name: 'w', namespace: 'ns', resourceVersion: '7', ...overrides } };
  if (status !== undefined) o.status = status;
  return o;
}

const f = 'test.apprunnernet.dev/cleanup';

void describe('finalizers', () => {
  const cases: { name: string; run: (c: CustomObjectPatcher) => Promise<unknown>; body: unknown }[] = [
    {
      name: 'adding to an object without finalizers creates the list, guarded by resourceVersion',
      run: (c) => addFinalizer(c, namespaced, object(), f),
      body: [
        { op: 'test', path: '/metadata/resourceVersion', value: '7' },
        { op: 'add', path: '/metadata/finalizers', value: [f] },
      ],
    },
    {
      name: 'adding beside another finalizer appends, so the other controller keeps its own',
      run: (c) => addFinalizer(c, namespaced, object({ finalizers: ['other'] }), f),
      body: [
        { op: 'test', path: '/metadata/resourceVersion', value: '7' },
        { op: 'add', path: '/metadata/finalizers/-', value: f },
      ],
    },
    {
      name: 'removing tests the entry at its index too, so a reordered list is not cut at the wrong place',
      run: (c) => removeFinalizer(c, namespaced, object({ finalizers: ['other', f] }), f),
      body: [
        { op: 'test', path: '/metadata/resourceVersion', value: '7' },
        { op: 'test', path: '/metadata/finalizers/1', value: f },
        { op: 'remove', path: '/metadata/finalizers/1' },
      ],
    },
  ];
  for (const c of cases) {
    void it(c.name, async () => {
      const { client, calls } = fakePatcher();
      await c.run(client);
      assert.equal(calls.length, 1);
      assert.equal(calls[0]?.method, 'patchNamespacedCustomObject');
      assert.equal(calls[0].contentType, 'application/json-patch+json');
      assert.deepEqual(calls[0].param.body, c.body);
    });
  }

  void it('writes nothing when the finalizer is already there (add) or already gone (remove)', async () => {
    const { client, calls } = fakePatcher();
    const has = object({ finalizers: [f] });
    const hasNot = object();
    assert.equal(await addFinalizer(client, namespaced, has, f), has);
    assert.equal(await removeFinalizer(client, namespaced, hasNot, f), hasNot);
    assert.equal(calls.length, 0);
  });

  const answers: { status: number; outcome: 'conflict' | 'gone' | 'error'; reason: string }[] = [
    { status: 409, outcome: 'conflict', reason: 'the resourceVersion precondition failed' },
    { status: 422, outcome: 'conflict', reason: 'a JSON Patch test op failed' },
    { status: 404, outcome: 'gone', reason: 'the object no longer exists' },
    { status: 500, outcome: 'error', reason: 'any other failure is not a conflict' },
  ];
  for (const a of answers) {
    void it(`maps HTTP ${a.status} to ${a.outcome}: ${a.reason}`, async () => {
      const { client } = fakePatcher(a.status);
      const attempt = addFinalizer(client, clusterScoped, object({ namespace: undefined }), f);
      if (a.outcome === 'gone') assert.equal(await attempt, undefined);
      else if (a.outcome === 'conflict') await assert.rejects(attempt, ConflictError);
      else
        await assert.rejects(
          attempt,
          (err: Error) => !(err instanceof ConflictError) && err.cause instanceof ApiException,
        );
    });
  }

  void it('refuses an object that was never read from the API server (no resourceVersion)', async () => {
    const { client } = fakePatcher();
    await assert.rejects(
      addFinalizer(client, namespaced, object({ resourceVersion: undefined }), f),
      TypeError,
    );
  });
});

void describe('StatusWriter', () => {
  const cases: {
    name: string;
    observed: Record<string, unknown> | undefined;
    next: Record<string, unknown>;
    patch: unknown;
  }[] = [
    {
      name: 'skips a status equal to the observed one, whatever the key order',
      observed: { a: 1, b: { c: [1, 2] } },
      next: { b: { c: [1, 2] }, a: 1 },
      patch: 'skipped',
    },
    {
      name: 'treats an undefined field as absent, as the API server will',
      observed: { a: 1 },
      next: { a: 1, b: undefined },
      patch: 'skipped',
    },
    {
      name: 'sends null for keys the new status drops, at every depth, because a merge patch keeps what it omits',
      observed: { phase: 'Creating', op: { id: 'x', status: 'IN_PROGRESS' }, keep: 1 },
      next: { phase: 'Ready', op: { id: 'x' }, keep: 1 },
      patch: { phase: 'Ready', op: { id: 'x', status: null }, keep: 1 },
    },
    {
      name: 'replaces lists whole (conditions), as RFC 7396 does',
      observed: { conditions: [{ type: 'Ready' }, { type: 'Reconciling' }] },
      next: { conditions: [{ type: 'Ready' }] },
      patch: { conditions: [{ type: 'Ready' }] },
    },
    {
      name: 'writes a first status onto an object that has none',
      observed: undefined,
      next: { phase: 'Creating' },
      patch: { phase: 'Creating' },
    },
  ];
  for (const c of cases) {
    void it(c.name, async () => {
      const { client, calls } = fakePatcher();
      const writer = new StatusWriter({ client, resource: namespaced });
      const result = await writer.write(object({}, c.observed), c.next);
      if (c.patch === 'skipped') {
        assert.equal(result.outcome, 'unchanged');
        assert.equal(calls.length, 0);
        assert.deepEqual(writer.counts(), { writes: 0, skipped: 1 });
        return;
      }
      assert.equal(result.outcome, 'written');
      assert.equal(calls[0]?.method, 'patchNamespacedCustomObjectStatus');
      assert.equal(calls[0].contentType, 'application/merge-patch+json');
      assert.deepEqual(calls[0].param.body, { metadata: { resourceVersion: '7' }, status: c.patch });
    });
  }

  void it('uses the cluster-scoped call for a cluster-scoped kind', async () => {
    const { client, calls } = fakePatcher();
    await new StatusWriter({ client, resource: clusterScoped }).write(object({ namespace: undefined }), {
      x: 1,
    });
    assert.equal(calls[0]?.method, 'patchClusterCustomObjectStatus');
  });

  void it('throws ConflictError on 409 and reports a missing object as gone', async () => {
    const conflict = new StatusWriter({ client: fakePatcher(409).client, resource: namespaced });
    await assert.rejects(conflict.write(object(), { x: 1 }), ConflictError);
    const gone = new StatusWriter({ client: fakePatcher(404).client, resource: namespaced });
    assert.deepEqual(await gone.write(object(), { x: 1 }), { outcome: 'gone' });
  });
});
