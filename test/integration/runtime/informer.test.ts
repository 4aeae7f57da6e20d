// The hardened informer against a real API server, including the failures client-node leaves to its
// users: a watch the server ends, a connection reset mid-stream, and a half-open connection.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

import {
  customResourceInformer,
  type Informer,
  type InformerOptions,
} from '../../../src/runtime/informer.ts';
import { startTestCluster, type TestCluster } from '../../harness/cluster.ts';
import { eventually, startProxy, type Widget, widget, widgetCrd, widgets } from './fixtures.ts';

const { group, version, plural } = widgets;

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

function widgetInformer(
  kubeConfig: KubeConfig,
  namespace: string,
  options: Partial<InformerOptions<Widget>> = {},
): { informer: Informer<Widget>; seen: string[] } {
  const informer = customResourceInformer<Widget>(kubeConfig, widgets, {
    namespace,
    initialBackoffMs: 100,
    maxBackoffMs: 1_000,
    ...options,
  });
  const seen: string[] = [];
  informer.onChange((o, change) => seen.push(`${change}:${o.metadata?.name ?? ''}:${String(o.spec?.size)}`));
  return { informer, seen };
}

async function create(namespace: string, name: string, size = 1): Promise<void> {
  await custom.createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural,
    body: widget(namespace, name, size),
  });
}

async function resize(namespace: string, name: string, size: number): Promise<void> {
  await custom.patchNamespacedCustomObject(
    { group, version, namespace, plural, name, body: { spec: { size } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

void describe('Informer against a real API server', () => {
  void it('fills its cache from the first list and then sees add, update and delete', async () => {
    const namespace = await cluster.newNamespace('inf');
    await create(namespace, 'before');
    const { informer, seen } = widgetInformer(cluster.kubeConfig, namespace);
    try {
      await informer.start();
      assert.equal(informer.hasSynced(), true);
      assert.deepEqual(seen, ['add:before:1']);
      await create(namespace, 'a');
      await eventually(() => seen.includes('add:a:1'), 'add');
      await resize(namespace, 'a', 2);
      await eventually(() => seen.includes('update:a:2'), 'update');
      assert.equal(informer.get(namespace, 'a')?.spec?.size, 2);
      await custom.deleteNamespacedCustomObject({ group, version, namespace, plural, name: 'a' });
      await eventually(() => seen.includes('delete:a:2'), 'delete');
      assert.deepEqual(
        informer.list().map((o) => o.metadata?.name),
        ['before'],
      );
    } finally {
      informer.stop();
    }
  });

  void it('keeps following changes across watches the server ends every second (timeoutSeconds)', async () => {
    const namespace = await cluster.newNamespace('inf-timeout');
    const { informer, seen } = widgetInformer(cluster.kubeConfig, namespace, { watchTimeoutSeconds: 1 });
    try {
      await informer.start();
      for (let i = 1; i <= 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        await create(namespace, `w${i}`);
        await eventually(() => seen.includes(`add:w${i}:1`), `add w${i} after ${i} server-side timeouts`);
      }
      assert.ok(informer.status().restarts >= 3, `restarts: ${informer.status().restarts}`);
      assert.equal(informer.status().consecutiveFailures, 0);
    } finally {
      informer.stop();
    }
  });

  void it('survives its connection being reset mid-stream and misses nothing that happened meanwhile', async () => {
    const namespace = await cluster.newNamespace('inf-cut');
    const proxy = await startProxy(cluster.kubeConfig);
    const { informer, seen } = widgetInformer(proxy.kubeConfig(cluster.kubeConfig), namespace);
    try {
      await informer.start();
      await create(namespace, 'a');
      await eventually(() => seen.includes('add:a:1'), 'add before the cut');
      assert.ok(proxy.cutAll() > 0, 'there was a live connection to cut');
      await create(namespace, 'b');
      await resize(namespace, 'a', 5);
      await eventually(
        () => seen.includes('add:b:1') && seen.includes('update:a:5'),
        'changes made across the cut',
      );
      assert.ok(informer.status().restarts >= 1);
    } finally {
      informer.stop();
      await proxy.close();
    }
  });

  void it('has the watchdog restart a half-open watch (bytes stop, socket stays open) and relist', async () => {
    const namespace = await cluster.newNamespace('inf-frozen');
    const proxy = await startProxy(cluster.kubeConfig);
    const { informer, seen } = widgetInformer(proxy.kubeConfig(cluster.kubeConfig), namespace, {
      silenceTimeoutMs: 2_000,
    });
    try {
      await informer.start();
      await create(namespace, 'a');
      await eventually(() => seen.includes('add:a:1'), 'add before the freeze');
      assert.ok(proxy.freezeAll() > 0, 'there was a live connection to freeze');
      await create(namespace, 'b');
      // Well before client-node's own 30 s inactivity timeout could notice.
      await eventually(() => seen.includes('add:b:1'), 'the change made while the watch was frozen', 10_000);
      assert.ok(
        informer.status().watchdogRestarts >= 1,
        `watchdog restarts: ${informer.status().watchdogRestarts}`,
      );
      assert.equal(informer.healthProblem(), undefined);
    } finally {
      informer.stop();
      await proxy.close();
    }
  });

  void it('relists a quiet resource when the watchdog period passes, without inventing changes', async () => {
    const namespace = await cluster.newNamespace('inf-quiet');
    await create(namespace, 'a');
    const { informer, seen } = widgetInformer(cluster.kubeConfig, namespace, { silenceTimeoutMs: 1_000 });
    try {
      await informer.start();
      await eventually(() => informer.status().watchdogRestarts >= 2, 'two watchdog relists', 10_000);
      assert.deepEqual(seen, ['add:a:1'], 'an unchanged object is not re-delivered by a relist');
    } finally {
      informer.stop();
    }
  });

  void it('re-delivers every cached object as an update each resync period', async () => {
    const namespace = await cluster.newNamespace('inf-resync');
    await create(namespace, 'a');
    await create(namespace, 'b');
    const { informer, seen } = widgetInformer(cluster.kubeConfig, namespace, { resyncPeriodMs: 500 });
    try {
      await informer.start();
      await eventually(
        () => seen.filter((s) => s.startsWith('update:')).length >= 4,
        'two resyncs of two objects',
        5_000,
      );
    } finally {
      informer.stop();
    }
  });

  void it('reports a wedged informer through healthProblem while the API server is unreachable, and recovers', async () => {
    const namespace = await cluster.newNamespace('inf-down');
    const proxy = await startProxy(cluster.kubeConfig);
    const { informer, seen } = widgetInformer(proxy.kubeConfig(cluster.kubeConfig), namespace, {
      silenceTimeoutMs: 500,
    });
    try {
      await informer.start();
      proxy.blackhole(true);
      proxy.cutAll();
      await eventually(() => informer.healthProblem() !== undefined, 'a health problem', 10_000);
      proxy.blackhole(false);
      await create(namespace, 'back');
      await eventually(() => seen.includes('add:back:1'), 'recovery after the outage', 15_000);
      await eventually(() => informer.healthProblem() === undefined, 'healthy again', 5_000);
    } finally {
      informer.stop();
      await proxy.close();
    }
  });
});
