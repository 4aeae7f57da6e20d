// Proves the harness gives a real, RBAC-enforcing API server and that the client library is used the
// way the operator will use it (patch content types, informers, impersonation).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  makeInformer,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { startTestCluster, type TestCluster } from '../../harness/cluster.ts';
import { eventually, startProxy } from '../../harness/network.ts';

const group = 'smoke.apprunnernet.dev';
const version = 'v1';
const plural = 'widgets';

const widgetCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural, singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: version,
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: { size: { type: 'integer' }, max: { type: 'integer' } },
                'x-kubernetes-validations': [
                  { rule: 'self.size <= self.max', message: 'size must not exceed max' },
                ],
              },
              status: {
                type: 'object',
                properties: { phase: { type: 'string' }, observed: { type: 'integer' } },
              },
            },
          },
        },
      },
    ],
  },
};

interface Widget extends KubernetesObject {
  spec?: { size: number; max: number };
  status?: { phase?: string; observed?: number };
}

function widget(namespace: string, name: string, size = 1): Widget {
  return {
    apiVersion: `${group}/${version}`,
    kind: 'Widget',
    metadata: { name, namespace },
    spec: { size, max: 10 },
  };
}

describe('the test control plane', () => {
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

  test('rejects an object that breaks a CEL validation rule with the rule message', async () => {
    const namespace = await cluster.newNamespace('cel');
    const body = { ...widget(namespace, 'too-big'), spec: { size: 11, max: 10 } };
    await assert.rejects(
      custom.createNamespacedCustomObject({ group, version, namespace, plural, body }),
      (err: { code?: number; body?: string }) =>
        err.code === 422 && String(err.body).includes('size must not exceed max'),
    );
  });

  test('a finalizer keeps an object after delete until the finalizer is removed', async () => {
    const namespace = await cluster.newNamespace('fin');
    const body = {
      ...widget(namespace, 'held'),
      metadata: { name: 'held', namespace, finalizers: ['smoke/hold'] },
    };
    await custom.createNamespacedCustomObject({ group, version, namespace, plural, body });
    await custom.deleteNamespacedCustomObject({ group, version, namespace, plural, name: 'held' });
    const held = (await custom.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      name: 'held',
    })) as Widget;
    assert.ok(held.metadata?.deletionTimestamp, 'deletionTimestamp is set while the finalizer remains');
    await custom.patchNamespacedCustomObject(
      {
        group,
        version,
        namespace,
        plural,
        name: 'held',
        body: [{ op: 'remove', path: '/metadata/finalizers' }],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    await assert.rejects(
      custom.getNamespacedCustomObject({ group, version, namespace, plural, name: 'held' }),
      (err: { code?: number }) => err.code === 404,
    );
  });

  test('the status subresource takes a JSON merge patch and a server-side apply, and spec stays put', async () => {
    const namespace = await cluster.newNamespace('status');
    await custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      body: widget(namespace, 'w', 3),
    });
    await custom.patchNamespacedCustomObjectStatus(
      {
        group,
        version,
        namespace,
        plural,
        name: 'w',
        body: { status: { phase: 'Merged' }, spec: { size: 9 } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    let current = (await custom.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      name: 'w',
    })) as Widget;
    assert.equal(current.status?.phase, 'Merged');
    assert.equal(current.spec?.size, 3, 'a status patch must not change spec');

    await custom.patchNamespacedCustomObjectStatus(
      {
        group,
        version,
        namespace,
        plural,
        name: 'w',
        fieldManager: 'apprunner-net-smoke',
        force: true,
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'Widget',
          metadata: { name: 'w', namespace },
          status: { phase: 'Applied', observed: 1 },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    current = (await custom.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      name: 'w',
    })) as Widget;
    assert.deepEqual(current.status, { phase: 'Applied', observed: 1 });
    const managers = current.metadata?.managedFields?.map((f) => f.manager) ?? [];
    assert.ok(managers.includes('apprunner-net-smoke'), `field managers: ${managers.join(', ')}`);
  });

  test('an informer sees add, update and delete, and keeps watching after its connection is cut', async () => {
    const namespace = await cluster.newNamespace('informer');
    const proxy = await startProxy(cluster.kubeConfig);
    const viaProxy = proxy.kubeConfig(cluster.kubeConfig);
    const api = viaProxy.makeApiClient(CustomObjectsApi);
    const informer = makeInformer<Widget>(
      viaProxy,
      `/apis/${group}/${version}/namespaces/${namespace}/${plural}`,
      () => api.listNamespacedCustomObject({ group, version, namespace, plural }) as never,
    );
    const seen: string[] = [];
    let stopped = false;
    informer.on('add', (o) => seen.push(`add:${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update:${o.metadata?.name}:${o.spec?.size}`));
    informer.on('delete', (o) => seen.push(`delete:${o.metadata?.name}`));
    // client-node stops an informer on any error other than 410: the operator restarts it with backoff.
    informer.on('error', () => {
      if (!stopped) setTimeout(() => void informer.start().catch(() => undefined), 200);
    });
    await informer.start();
    try {
      await custom.createNamespacedCustomObject({
        group,
        version,
        namespace,
        plural,
        body: widget(namespace, 'a', 1),
      });
      await eventually(() => seen.includes('add:a'), 'add');
      await custom.patchNamespacedCustomObject(
        { group, version, namespace, plural, name: 'a', body: { spec: { size: 2 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await eventually(() => seen.includes('update:a:2'), 'update');

      assert.ok(proxy.cutAll() > 0, 'the proxy cut at least one live connection');
      await custom.createNamespacedCustomObject({
        group,
        version,
        namespace,
        plural,
        body: widget(namespace, 'b', 1),
      });
      await eventually(() => seen.includes('add:b'), 'add after the watch was cut', 30_000);
      await custom.deleteNamespacedCustomObject({ group, version, namespace, plural, name: 'a' });
      await eventually(() => seen.includes('delete:a'), 'delete');
    } finally {
      stopped = true;
      await informer.stop();
      await proxy.close();
    }
  });

  test('a ServiceAccount without a RoleBinding is denied (403) and with one is allowed', async () => {
    const namespace = await cluster.newNamespace('rbac');
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'operator' } } });
    const asOperator = new KubeConfig();
    const user = cluster.kubeConfig.getCurrentUser();
    asOperator.loadFromOptions({
      clusters: cluster.kubeConfig.clusters,
      users: [
        {
          name: 'impersonated',
          token: user?.token,
          impersonateUser: `system:serviceaccount:${namespace}:operator`,
        },
      ],
      contexts: [
        {
          name: 'impersonated',
          cluster: cluster.kubeConfig.getCurrentCluster()?.name ?? '',
          user: 'impersonated',
        },
      ],
      currentContext: 'impersonated',
    });
    const operatorApi = asOperator.makeApiClient(CustomObjectsApi);
    const list = () => operatorApi.listNamespacedCustomObject({ group, version, namespace, plural });
    await assert.rejects(list(), (err: { code?: number }) => err.code === 403);

    const rbac = cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'widgets-reader' },
        rules: [{ apiGroups: [group], resources: [plural], verbs: ['list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'operator-reads-widgets' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'widgets-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace }],
      },
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await list();
        break;
      } catch (err) {
        // The authorizer's RBAC cache picks up a new binding within moments.
        if ((err as { code?: number }).code !== 403 || Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });
});
