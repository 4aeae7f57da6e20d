// The deploy test runs the operator from the rendered manifests' settings: the chart is rendered with
// `helm template`, its objects are applied for real with `kubectl apply --server-side` (CRDs, ServiceAccount,
// RBAC), and the operator process gets exactly the rendered container's args and environment (the Downward
// API fields resolved as the kubelet would) and a token of the rendered ServiceAccount. It must take the
// lease, answer its probes, reconcile a VpcConnector to Ready under the shipped IAM policy, and exit 0 on
// SIGTERM. The only local substitutions: free loopback ports for the probes and metrics (checked against the
// ports the manifest declares), and a kubeconfig instead of the in-cluster service account mount.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoordinationV1Api, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import { ConditionType } from '../../../src/api/constants.ts';
import type { PolicyDocument } from '../../../src/simulator/index.ts';
import { kubeconfigYaml } from '../../harness/control-plane.ts';
import { matchingKubectl, runKubectl } from '../../harness/kubectl.ts';
import {
  condition,
  freePort,
  kubeClient,
  SECURITY_GROUP,
  startEnv,
  SUBNETS,
  type Env,
} from '../operator/fixtures.ts';
import {
  argsWithPorts,
  containerEnv,
  deployDir,
  find,
  helmBinary,
  helmTemplate,
  httpGet,
  operatorContainer,
  podSpec,
  root,
  startProcess,
  type RunningProcess,
} from './support.ts';

describe('the operator run with the rendered Deployment settings', () => {
  let env: Env;
  let dir: string;
  before(async () => {
    env = await startEnv();
    dir = mkdtempSync(join(tmpdir(), 'apprunner-net-rendered-'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await env.stop();
  });

  test('it takes the lease, is ready, and reconciles a VpcConnector to Ready as the rendered ServiceAccount', async (t) => {
    const kubectl = await matchingKubectl(env.cluster);
    if (typeof kubectl !== 'string') {
      t.skip(kubectl.skip);
      return;
    }
    const helm = helmBinary();
    if (typeof helm !== 'string') {
      t.skip(helm.skip);
      return;
    }
    const policy = JSON.parse(readFileSync(join(deployDir, 'iam-policy.json'), 'utf8')) as PolicyDocument;
    const world = await env.world({ deferOperator: true, simulator: { callerPolicy: policy } });
    let operator: RunningProcess | undefined;
    try {
      // The operator's own namespace; a unique release name keeps cluster-scoped names apart on a shared cluster.
      const namespace = await env.cluster.newNamespace('system');
      const release = `it-${randomBytes(3).toString('hex')}`;
      const fullname = `${release}-apprunner-net`;
      const objects = helmTemplate(
        helm,
        { region: 'us-east-1', clusterName: world.clusterName, awsEndpointUrl: world.sim.url },
        { releaseName: release, namespace },
      );
      // Everything but the Deployment: on a real cluster its pods would run a second operator from the image.
      const manifest = join(dir, 'rendered.json');
      writeFileSync(
        manifest,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'List',
          items: objects.filter((o) => o.kind !== 'Deployment'),
        }),
      );
      const applied = await runKubectl(kubectl, env.cluster.kubeconfigPath, [
        'apply',
        '--server-side',
        '-f',
        manifest,
      ]);
      assert.equal(applied.code, 0, applied.out);
      t.after(async () => {
        await runKubectl(kubectl, env.cluster.kubeconfigPath, [
          'delete',
          '--ignore-not-found',
          `clusterrole/${fullname}`,
          `clusterrolebinding/${fullname}`,
        ]);
      });
      const established = await runKubectl(kubectl, env.cluster.kubeconfigPath, [
        'wait',
        '--for=condition=Established',
        '--timeout=30s',
        'crd/vpcconnectors.apprunnernet.dev',
        'crd/servicenetworkings.apprunnernet.dev',
      ]);
      assert.equal(established.code, 0, established.out);

      const deployment = find(objects, 'Deployment') as V1Deployment;
      const container = operatorContainer(deployment);
      const serviceAccount = podSpec(deployment).serviceAccountName ?? 'default';
      const token = await env.cluster.kubeConfig
        .makeApiClient(CoreV1Api)
        .createNamespacedServiceAccountToken({
          name: serviceAccount,
          namespace,
          body: { spec: { audiences: [], expirationSeconds: 3600 } },
        });
      const server = env.cluster.kubeConfig.getCurrentCluster();
      const kubeconfigPath = join(dir, 'kubeconfig');
      writeFileSync(
        kubeconfigPath,
        kubeconfigYaml(server?.server ?? '', server?.caData ?? '', token.status?.token ?? ''),
        { mode: 0o600 },
      );

      const podName = `${fullname}-7d9f8b6c5d-x2x4z`;
      const rendered = containerEnv(container.env, { name: podName, namespace });
      assert.equal(
        rendered.APPRUNNER_NET_AWS_ENDPOINT_URL,
        world.sim.url,
        'the endpoint came from the values',
      );
      const ports = { health: await freePort(), metrics: await freePort() };
      const args = argsWithPorts(container, ports);
      assert.ok(args.includes('--leader-elect'));
      operator = startProcess(
        join(root, 'node_modules', '.bin', 'node'),
        [join(root, 'bin', 'apprunner-net.js'), ...args],
        {
          cwd: root,
          // Nothing of the machine's environment but PATH and HOME: no AWS credentials or profile.
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            ...rendered,
            KUBECONFIG: kubeconfigPath,
            APPRUNNER_NET_BIND_ADDRESS: '127.0.0.1',
          },
        },
      );
      const running = operator;
      await running.waitForLog((l) => l.msg === 'Became leader; started reconciling', 'leadership');
      const lease = await env.cluster.kubeConfig
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ name: 'apprunner-net', namespace });
      assert.ok(lease.spec?.holderIdentity?.startsWith(`${podName}_`), 'the lease names the pod (POD_NAME)');
      const started = running.logs.find((l) => l.msg === 'Starting operator');
      assert.equal(started?.clusterName, world.clusterName);
      assert.equal(started.tenancy, 'Namespaced');
      assert.equal(started.serviceLinkedRoleDeletion, 'Never');
      assert.equal(started.namespace, '(all)');

      for (const path of ['/healthz', '/readyz']) {
        assert.deepEqual(await httpGet(ports.health, path), { status: 200, body: 'ok' }, path);
      }
      const metrics = await httpGet(ports.metrics, '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /^process_cpu_seconds_total /m);

      // A team's connector in another namespace: the rendered ClusterRole covers every namespace.
      const team = kubeClient(env.cluster.kubeConfig, world.namespace);
      await team.createConnector('web', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      await team.waitForConnector(
        'web',
        (o) => condition(o, ConditionType.Ready)?.status === 'True',
        'Ready',
        () => running.tail(),
        30_000,
      );
      await team.deleteConnector('web');
      await team.waitForGone('web', () => running.tail(), 30_000);

      const denied = (await world.calls()).filter((c) => /AccessDenied|Unauthorized/.test(c.errorCode ?? ''));
      assert.deepEqual(denied, [], 'no AWS call was denied by deploy/iam-policy.json');
      const forbidden = running.logs.filter((l) => /HTTP-Code: 403|[Ff]orbidden/.test(JSON.stringify(l)));
      assert.deepEqual(forbidden, [], 'no Kubernetes request was forbidden by the rendered RBAC');

      const stopping = Date.now();
      running.child.kill('SIGTERM');
      const exit = await running.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, running.tail());
      assert.ok(Date.now() - stopping < 10_000, 'SIGTERM ends it promptly');
    } finally {
      await operator?.kill();
      await world.finish();
    }
  });
});
