// The permissions shipped in deploy/ are enough: the operator runs as the ServiceAccount bound to the shipped
// ClusterRole (with a real token, under RBAC) and with leader election on, against a simulator that authorises
// every AWS call against deploy/iam-policy.json; a full lifecycle (role, create, attach to a granted service,
// detach, delete, role deletion) sees
// neither a 403 from Kubernetes nor an AccessDenied from AWS. And the Deployment's two replicas: only the
// lease holder reconciles (invariant 7).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CoordinationV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import {
  ALLOWED_SERVICES_ANNOTATION,
  ConditionType,
  GROUP,
  Plural,
  VERSION,
} from '../../../src/api/constants.ts';
import type { ServiceNetworking } from '../../../src/api/servicenetworking.ts';
import type { PolicyDocument } from '../../../src/simulator/index.ts';
import { kubeconfigYaml } from '../../harness/control-plane.ts';
import {
  condition,
  SECURITY_GROUP,
  startEnv,
  startOperator,
  SUBNETS,
  waitFor,
  type Env,
} from './fixtures.ts';

const deploy = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'deploy');

/** The objects of a shipped manifest, moved from apprunner-net-system into `namespace`. */
function manifest(file: string, namespace: string): KubernetesObject[] {
  const text = readFileSync(join(deploy, file), 'utf8').replaceAll('apprunner-net-system', namespace);
  return parseAllDocuments(text).map((doc) => doc.toJS() as KubernetesObject);
}

describe('the shipped deployment: permissions and replicas', () => {
  let env: Env;
  let dir: string;
  before(async () => {
    env = await startEnv();
    dir = mkdtempSync(join(tmpdir(), 'apprunner-net-deploy-'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await env.stop();
  });

  test('the operator works as the shipped ServiceAccount and ClusterRole, under the shipped IAM policy', async () => {
    const namespace = await env.cluster.newNamespace('system');
    const api = KubernetesObjectApi.makeApiClient(env.cluster.kubeConfig);
    for (const object of manifest('rbac.yaml', namespace)) await api.create(object);
    // The Deployment and its PodDisruptionBudget pass the API server's validation (nothing runs them here).
    for (const object of manifest('deployment.yaml', namespace)) await api.create(object, undefined, 'All');
    const core = env.cluster.kubeConfig.makeApiClient(CoreV1Api);
    const token = await core.createNamespacedServiceAccountToken({
      name: 'apprunner-net',
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const cluster = env.cluster.kubeConfig.getCurrentCluster();
    const caData = cluster?.caData ?? '';
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(cluster?.server ?? '', caData, token.status?.token ?? ''), {
      mode: 0o600,
    });
    const policy = JSON.parse(readFileSync(join(deploy, 'iam-policy.json'), 'utf8')) as PolicyDocument;

    const world = await env.world({
      kubeconfigPath,
      clusterWide: true,
      simulator: { callerPolicy: policy },
      operatorArgs: [
        '--leader-elect',
        '--leader-elect-namespace',
        namespace,
        '--service-linked-role-deletion=WhenUnused',
      ],
    });
    try {
      const lease = await env.cluster.kubeConfig
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ name: 'apprunner-net', namespace });
      assert.ok(lease.spec?.holderIdentity, 'the operator holds the lease');

      await world.kube.createConnector('permitted', {
        subnets: [SUBNETS[0]],
        securityGroups: [SECURITY_GROUP],
      });
      const ready = await world.kube.waitForConnector(
        'permitted',
        (o) => condition(o, ConditionType.Ready)?.status === 'True',
        'Ready',
        () => world.operator.tail(),
      );
      assert.equal(condition(ready, ConditionType.ServiceLinkedRoleReady)?.status, 'True');
      assert.ok((await world.kube.eventReasons('permitted')).includes('Created'), 'Events are allowed');

      // A cluster admin grants the namespace the service; the operator reads the grant from the Namespace.
      await core.patchNamespace(
        {
          name: world.namespace,
          body: { metadata: { annotations: { [ALLOWED_SERVICES_ANNOTATION]: 'web-app' } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await world.kube.createServiceNetworking('attach', {
        serviceArn: world.serviceArn,
        egress: { type: 'VPC', vpcConnectorRef: { name: 'permitted' } },
        deletionPolicy: 'Detach',
      });
      await waitFor(
        async () => {
          const sn = (await world.kube.api.getNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            plural: Plural.ServiceNetworking,
            namespace: world.namespace,
            name: 'attach',
          })) as ServiceNetworking;
          return sn.status?.conditions?.find((c) => c.type === ConditionType.Ready)?.status === 'True';
        },
        'the ServiceNetworking is Ready',
        30_000,
        () => world.operator.tail(),
      );
      await world.kube.deleteServiceNetworking('attach');
      await world.kube.deleteConnector('permitted');
      await world.kube.waitForGone('permitted', () => world.operator.tail(), 60_000);

      const calls = await world.calls();
      const denied = calls.filter((c) => /AccessDenied|Unauthorized/.test(c.errorCode ?? ''));
      assert.deepEqual(denied, [], 'no AWS call was denied by the shipped policy');
      for (const op of [
        'CreateServiceLinkedRole',
        'CreateVpcConnector',
        'TagResource',
        'UpdateService',
        'ListOperations',
        'UntagResource',
        'DeleteVpcConnector',
        'DeleteServiceLinkedRole',
      ]) {
        assert.ok(
          calls.some((c) => c.operation === op && c.status === 200),
          `${op} succeeded under the policy`,
        );
      }
      const forbidden = world.operator.logs.filter(
        (l) => l.level === 'error' && /HTTP-Code: 403|[Ff]orbidden/.test(JSON.stringify(l)),
      );
      assert.deepEqual(forbidden, [], 'no Kubernetes request was forbidden');
    } finally {
      await world.finish();
    }
  });

  test('with two replicas only the lease holder reconciles, and SIGTERM hands the lease over at once', async () => {
    const world = await env.world({ serviceLinkedRole: true, operatorArgs: ['--leader-elect'] });
    const standby = startOperator({
      kubeconfigPath: env.cluster.kubeconfigPath,
      endpoint: world.sim.url,
      namespace: world.namespace,
      clusterName: world.clusterName,
      args: ['--leader-elect'],
    });
    try {
      await standby.waitForLog((l) => l.msg === 'Started campaigning for leadership', 'campaigning');
      await world.kube.createConnector('ha', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      await world.kube.waitForConnector(
        'ha',
        (o) => condition(o, ConditionType.Ready)?.status === 'True',
        'Ready',
        () => world.operator.tail(),
      );
      assert.ok(!standby.logs.some((l) => l.msg === 'Decided'), 'the standby reconciles nothing');

      // A graceful stop releases the lease: the standby takes over without waiting out the lease duration.
      const stopped = await world.operator.stop();
      assert.equal(stopped.code, 0);
      const started = Date.now();
      await standby.waitForLog((l) => l.msg === 'Became leader; started reconciling', 'take-over', 10_000);
      assert.ok(Date.now() - started < 10_000);
      await world.kube.deleteConnector('ha');
      await world.kube.waitForGone('ha', () => standby.tail());
      assert.deepEqual(
        (await world.connectors()).map((c) => c.status),
        ['INACTIVE'],
      );
      assert.equal((await standby.stop()).code, 0);
    } finally {
      await standby.kill();
      await world.finish();
    }
  });
});
