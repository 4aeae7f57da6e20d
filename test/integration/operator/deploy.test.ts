// The permissions shipped in deploy/ are enough: the operator runs as the ServiceAccount bound to the shipped
// ClusterRole (with a real token, under RBAC) and with leader election on, against a simulator that authorises
// every AWS call against deploy/iam-policy.json; a full lifecycle (role, create, delete, role deletion) sees
// neither a 403 from Kubernetes nor an AccessDenied from AWS.
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
  type KubernetesObject,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { ConditionType } from '../../../src/api/constants.ts';
import type { PolicyDocument } from '../../../src/simulator/index.ts';
import { kubeconfigYaml } from '../../harness/control-plane.ts';
import { condition, SECURITY_GROUP, startEnv, SUBNETS, type Env } from './fixtures.ts';

const deploy = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'deploy');

/** The objects of a shipped manifest, moved from apprunner-net-system into `namespace`. */
function manifest(file: string, namespace: string): KubernetesObject[] {
  const text = readFileSync(join(deploy, file), 'utf8').replaceAll('apprunner-net-system', namespace);
  return parseAllDocuments(text).map((doc) => doc.toJS() as KubernetesObject);
}

describe('the shipped deployment permissions', () => {
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
      await world.kube.deleteConnector('permitted');
      await world.kube.waitForGone('permitted', () => world.operator.tail());

      const calls = await world.calls();
      const denied = calls.filter((c) => /AccessDenied|Unauthorized/.test(c.errorCode ?? ''));
      assert.deepEqual(denied, [], 'no AWS call was denied by the shipped policy');
      for (const op of [
        'CreateServiceLinkedRole',
        'CreateVpcConnector',
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
});
