// The runtime's writes against a real API server: finalizers guarded by resourceVersion, the status
// writer (skips unchanged status, conflicts on a stale read), and Events with series aggregation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CustomObjectsApi, EventsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

import { markReady, markReconciling } from '../../../src/runtime/conditions.ts';
import { ConflictError } from '../../../src/runtime/errors.ts';
import { KubernetesEventRecorder } from '../../../src/runtime/events.ts';
import { addFinalizer, hasFinalizer, removeFinalizer } from '../../../src/runtime/finalizers.ts';
import { StatusWriter } from '../../../src/runtime/status.ts';
import { startTestCluster, type TestCluster } from '../../harness/cluster.ts';
import { type Widget, widget, widgetCrd, widgets } from './fixtures.ts';

const { group, version, plural } = widgets;
const finalizer = 'test.apprunnernet.dev/cleanup';

let cluster: TestCluster;
let custom: CustomObjectsApi;

before(async () => {
  cluster = await startTestCluster();
  await cluster.installCrds([widgetCrd]);
  custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
});

after(async () => {
  await cluster.stop();
});

async function createWidget(namespace: string, name: string): Promise<Widget> {
  return (await custom.createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural,
    body: widget(namespace, name),
  })) as Widget;
}

async function read(namespace: string, name: string): Promise<Widget> {
  return (await custom.getNamespacedCustomObject({ group, version, namespace, plural, name })) as Widget;
}

async function resize(namespace: string, name: string, size: number): Promise<void> {
  await custom.patchNamespacedCustomObject(
    { group, version, namespace, plural, name, body: { spec: { size } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

void describe('finalizers', () => {
  void it('adds once, is idempotent, and removes it so that a deleted object goes away', async () => {
    const namespace = await cluster.newNamespace('fin');
    const created = await createWidget(namespace, 'a');
    const added = await addFinalizer(custom, widgets, created, finalizer);
    assert.ok(added && hasFinalizer(added, finalizer));
    const again = await addFinalizer(custom, widgets, added, finalizer);
    assert.equal(again, added, 'no write when the finalizer is already there');
    assert.equal((await read(namespace, 'a')).metadata?.resourceVersion, added.metadata?.resourceVersion);

    await custom.deleteNamespacedCustomObject({ group, version, namespace, plural, name: 'a' });
    const terminating = await read(namespace, 'a');
    assert.ok(hasFinalizer(terminating, finalizer), 'the finalizer holds the object');
    const removed = await removeFinalizer(custom, widgets, terminating, finalizer);
    assert.ok(removed === undefined || !hasFinalizer(removed, finalizer));
    await assert.rejects(read(namespace, 'a'), (err: { code?: number }) => err.code === 404);
    assert.equal(
      await removeFinalizer(custom, widgets, terminating, finalizer),
      undefined,
      'gone counts as done',
    );
  });

  void it('refuses to add or remove with a stale resourceVersion (ConflictError)', async () => {
    const namespace = await cluster.newNamespace('fin-stale');
    const stale = await createWidget(namespace, 'a');
    await resize(namespace, 'a', 2);
    await assert.rejects(addFinalizer(custom, widgets, stale, finalizer), ConflictError);
    assert.equal(hasFinalizer(await read(namespace, 'a'), finalizer), false);

    const withFinalizer = await addFinalizer(custom, widgets, await read(namespace, 'a'), finalizer);
    assert.ok(withFinalizer);
    await resize(namespace, 'a', 3);
    await assert.rejects(removeFinalizer(custom, widgets, withFinalizer, finalizer), ConflictError);
    assert.equal(
      hasFinalizer(await read(namespace, 'a'), finalizer),
      true,
      'a decision on a stale read did not land',
    );
    await removeFinalizer(custom, widgets, await read(namespace, 'a'), finalizer);
    assert.equal(hasFinalizer(await read(namespace, 'a'), finalizer), false);
  });

  void it('keeps finalizers other controllers put there', async () => {
    const namespace = await cluster.newNamespace('fin-other');
    const created = await createWidget(namespace, 'a');
    const theirs = await addFinalizer(custom, widgets, created, 'example.com/theirs');
    assert.ok(theirs);
    const ours = await addFinalizer(custom, widgets, theirs, finalizer);
    assert.deepEqual(ours?.metadata?.finalizers, ['example.com/theirs', finalizer]);
    assert.ok(ours);
    const back = await removeFinalizer(custom, widgets, ours, finalizer);
    assert.deepEqual(back?.metadata?.finalizers, ['example.com/theirs']);
  });
});

void describe('StatusWriter', () => {
  void it('writes once and then skips every pass whose status is unchanged', async (t) => {
    const namespace = await cluster.newNamespace('status');
    let observed = await createWidget(namespace, 'a');
    const writer = new StatusWriter({ client: custom, resource: widgets });
    const now = new Date('2026-11-27T12:00:00Z');
    for (let pass = 0; pass < 10; pass++) {
      // Each pass computes its status afresh from the last observed object, as a reconcile does.
      const status = {
        observedGeneration: 1,
        phase: 'Creating',
        conditions: markReconciling(
          observed.status?.conditions,
          { reason: 'Creating', message: 'Creating.', observedGeneration: 1 },
          new Date(now.getTime() + pass * 1_000),
        ),
      };
      const result = await writer.write(observed, status);
      if (result.outcome === 'written') observed = result.object;
    }
    t.diagnostic(`10 passes: ${JSON.stringify(writer.counts())}`);
    assert.deepEqual(writer.counts(), { writes: 1, skipped: 9 });
    assert.equal((await read(namespace, 'a')).metadata?.resourceVersion, observed.metadata?.resourceVersion);
  });

  void it('removes keys the new status drops and replaces the conditions list', async () => {
    const namespace = await cluster.newNamespace('status-drop');
    const created = await createWidget(namespace, 'a');
    const writer = new StatusWriter({ client: custom, resource: widgets });
    const now = new Date();
    const first = await writer.write(created, {
      phase: 'Creating',
      lastOperation: { id: 'op-1', status: 'IN_PROGRESS' },
      conditions: markReconciling([], { reason: 'Creating', message: 'Creating.' }, now),
    });
    assert.ok(first.outcome === 'written');
    const second = await writer.write(await read(namespace, 'a'), {
      phase: 'Ready',
      conditions: markReady(
        first.object.status?.conditions,
        { reason: 'Available', message: 'Available.' },
        now,
      ),
    });
    assert.equal(second.outcome, 'written');
    const status = (await read(namespace, 'a')).status;
    assert.equal(status?.lastOperation, undefined, 'a dropped key is removed, not kept by the merge');
    assert.deepEqual(
      (status?.conditions ?? []).map((c) => c.type),
      ['Ready'],
    );
  });

  void it('fails with ConflictError when the status was computed from a stale read', async () => {
    const namespace = await cluster.newNamespace('status-stale');
    const stale = await createWidget(namespace, 'a');
    await resize(namespace, 'a', 9);
    const writer = new StatusWriter({ client: custom, resource: widgets });
    await assert.rejects(writer.write(stale, { phase: 'Ready' }), ConflictError);
    assert.equal((await read(namespace, 'a')).status, undefined);
    const gone = await writer.write(
      { ...stale, metadata: { ...stale.metadata, name: 'nope' } },
      { phase: 'Ready' },
    );
    assert.equal(gone.outcome, 'gone');
  });
});

void describe('KubernetesEventRecorder', () => {
  void it('creates Events and aggregates repeats into series.count on the real API server', async () => {
    const namespace = await cluster.newNamespace('events');
    const created = await createWidget(namespace, 'a');
    const events = cluster.kubeConfig.makeApiClient(EventsV1Api);
    const recorder = new KubernetesEventRecorder({
      client: events,
      reportingController: 'test.apprunnernet.dev/runtime',
      reportingInstance: 'runtime-test-0',
    });
    const regarding = {
      apiVersion: `${group}/${version}`,
      kind: 'Widget',
      namespace,
      name: 'a',
      uid: created.metadata?.uid,
    };
    for (let i = 0; i < 3; i++) {
      recorder.record({
        regarding,
        type: 'Warning',
        reason: 'DeletionBlocked',
        action: 'Delete',
        note: 'Blocked by b.',
      });
      await recorder.flush();
    }
    recorder.record({ regarding, type: 'Normal', reason: 'Created', action: 'Create', note: 'Created it.' });
    await recorder.flush();

    const list = await events.listNamespacedEvent({ namespace });
    const byReason = new Map(list.items.map((e) => [e.reason, e]));
    assert.equal(list.items.length, 2);
    assert.equal(byReason.get('DeletionBlocked')?.series?.count, 3);
    assert.equal(byReason.get('Created')?.series, undefined);
    assert.equal(byReason.get('Created')?.regarding?.uid, created.metadata?.uid);
    assert.equal(byReason.get('Created')?.reportingController, 'test.apprunnernet.dev/runtime');
  });
});
