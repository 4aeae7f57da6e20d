// End to end, as a user runs it: the shipped examples applied with the real kubectl to a real API server,
// the operator as a separate process watching every namespace, the simulator seeded with the examples'
// seed. Checks the cross-kind deletion order from the simulator's audit log (every detach before its
// connector's delete, the role last), a SIGKILL in the middle of the teardown, and one test per tenancy
// attack (no UpdateService may reach the simulator).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { API_VERSION, ConditionType, ServiceNetworkingReason } from '../../../src/api/constants.ts';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/index.ts';
import type { SeedDocument } from '../../../src/simulator/seed.ts';
import { startTestCluster, type TestCluster } from '../../harness/cluster.ts';
import { matchingKubectl, runKubectl } from '../../harness/kubectl.ts';
import { crds } from '../../../src/api/crds.ts';
import {
  condition,
  fastSimulator,
  getServiceNetworking,
  startOperator,
  waitFor,
  type CallRecord,
  type OperatorProcess,
} from './fixtures.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const examples = join(root, 'examples');
const seed = parse(readFileSync(join(examples, 'simulator', 'seed.yaml'), 'utf8')) as SeedDocument;
const NS = 'team-a';
/**
 * What `kubectl delete` is given: every object of both kinds at once. Not the Namespace: the test's control
 * plane is an API server without kube-controller-manager, so nothing would ever finish a namespace's deletion.
 */
const kindFiles = ['-f', join(examples, 'vpcconnector.yaml'), '-f', join(examples, 'servicenetworking.yaml')];
const CLUSTER = 'examples';

interface Sim {
  sim: RunningSimulator;
  admin<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
  calls(): Promise<CallRecord[]>;
}

async function simulator(): Promise<Sim> {
  const sim = await startSimulator({ config: fastSimulator, seed });
  const admin = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${sim.url}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`simulator ${method} ${path}: HTTP ${response.status} ${text}`);
    return JSON.parse(text) as T;
  };
  return {
    sim,
    admin,
    calls: async () => (await admin<{ calls: CallRecord[] }>('GET', '/_sim/calls')).calls,
  };
}

const isOperator = (c: CallRecord): boolean => c.caller.startsWith('apprunner-net');

interface NetworkParams {
  ServiceArn?: string;
  NetworkConfiguration?: { EgressConfiguration?: { EgressType?: string; VpcConnectorArn?: string } };
}

/**
 * For each DeleteVpcConnector that succeeded, every UpdateService that moved a service off that connector
 * came before it, and the role's deletion came after every connector's deletion.
 */
function assertTeardownOrder(calls: readonly CallRecord[]): void {
  const ok = calls.filter((c) => isOperator(c) && c.status === 200);
  const attachedTo = new Map<string, string>();
  const leftAt = new Map<string, number>();
  for (const c of ok.filter((x) => x.operation === 'UpdateService')) {
    const p = c.params as NetworkParams;
    const service = p.ServiceArn ?? '';
    const before = attachedTo.get(service);
    const egress = p.NetworkConfiguration?.EgressConfiguration;
    const now = egress?.EgressType === 'VPC' ? (egress.VpcConnectorArn ?? '') : '';
    if (before !== undefined && before !== '' && before !== now) leftAt.set(`${service} ${before}`, c.seq);
    attachedTo.set(service, now);
  }
  const deletes = ok.filter((c) => c.operation === 'DeleteVpcConnector');
  assert.ok(deletes.length >= 2, 'both connectors were deleted');
  for (const d of deletes) {
    const arn = (d.params as { VpcConnectorArn?: string }).VpcConnectorArn ?? '';
    for (const [service, connector] of attachedTo) {
      assert.notEqual(connector, arn, `${service} still uses ${arn} at the end`);
    }
    for (const [key, seq] of leftAt) {
      if (key.endsWith(` ${arn}`))
        assert.ok(seq < d.seq, `detach ${key} (#${seq}) precedes delete #${d.seq}`);
    }
  }
  // One process asks once for every VpcConnector that sees no connector left (they share the request); a
  // restarted one may ask again, and AWS returns the same task while it runs.
  const roleDeletes = ok.filter((c) => c.operation === 'DeleteServiceLinkedRole');
  assert.ok(roleDeletes.length >= 1, 'the role is deleted');
  const lastConnectorDelete = Math.max(...deletes.map((d) => d.seq));
  for (const r of roleDeletes) assert.ok(r.seq > lastConnectorDelete, 'the role goes after every connector');
}

describe('the examples, end to end with kubectl', { concurrency: false }, () => {
  let cluster: TestCluster;
  let kubectl: string | { skip: string };
  before(async () => {
    cluster = await startTestCluster();
    await cluster.installCrds(crds);
    kubectl = await matchingKubectl(cluster);
  });
  after(async () => {
    await cluster.stop();
  });

  const launch = (sim: Sim, args: readonly string[] = [], namespace?: string): OperatorProcess =>
    startOperator({
      kubeconfigPath: cluster.kubeconfigPath,
      endpoint: sim.sim.url,
      namespace,
      clusterName: CLUSTER,
      args: ['--service-linked-role-deletion=WhenUnused', ...args],
    });

  /** `kubectl wait --for=condition=Ready` on every object of both kinds in the examples' namespace. */
  const waitAllReady = async (k: string, operator: OperatorProcess, timeout: string): Promise<void> => {
    for (const kind of ['vpcconnector', 'servicenetworking']) {
      const waited = await runKubectl(k, cluster.kubeconfigPath, [
        'wait',
        '-n',
        NS,
        '--for=condition=Ready',
        kind,
        '--all',
        `--timeout=${timeout}`,
      ]);
      assert.equal(waited.code, 0, `${waited.out}\n${operator.tail()}`);
    }
  };

  const applyAndWait = async (k: string, operator: OperatorProcess, s: Sim): Promise<void> => {
    const applied = await runKubectl(k, cluster.kubeconfigPath, ['apply', '-f', examples]);
    assert.equal(applied.code, 0, applied.out);
    const startedAt = Date.now();
    await waitAllReady(k, operator, '120s');
    const calls = (await s.calls()).filter(isOperator);
    console.log(
      `examples: Ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s with ${calls.length} AWS calls`,
    );
  };

  test('apply, wait Ready, rotate the shared connector, delete everything at once: detach before delete, the role last', async (t) => {
    if (typeof kubectl !== 'string') {
      t.skip(kubectl.skip);
      return;
    }
    const s = await simulator();
    const operator = launch(s);
    try {
      await operator.waitForLog((l) => l.msg === 'Started workers', 'workers started', 30_000);
      await applyAndWait(kubectl, operator, s);

      // What AWS now shows: web and api share one connector, internal is private on the other.
      const state = await s.admin<{
        regions: Record<
          string,
          {
            services: {
              name: string;
              network: { egressType: string; vpcConnectorArn?: string; isPubliclyAccessible: boolean };
            }[];
          }
        >;
      }>('GET', '/_sim/state');
      const services = state.regions['us-east-1']?.services ?? [];
      const net = (name: string) => services.find((x) => x.name === name)?.network;
      assert.equal(net('team-a-web')?.egressType, 'VPC');
      assert.equal(net('team-a-web')?.vpcConnectorArn, net('team-a-api')?.vpcConnectorArn);
      assert.notEqual(net('team-a-internal')?.vpcConnectorArn, net('team-a-web')?.vpcConnectorArn);
      assert.equal(net('team-a-internal')?.isPubliclyAccessible, false);
      assert.equal(net('team-a-web')?.isPubliclyAccessible, true, 'ingress absent in spec is left as it was');

      // Rotate the shared connector: both services move, one UpdateService each, and only then the old
      // connector is deleted.
      const oldShared = net('team-a-web')?.vpcConnectorArn ?? '';
      const rotateFrom = (await s.calls()).length;
      const patched = await runKubectl(kubectl, cluster.kubeconfigPath, [
        'patch',
        '-n',
        NS,
        'vpcc',
        'shared',
        '--type=merge',
        '-p',
        '{"spec":{"subnets":["subnet-0a000000000000011"]}}',
      ]);
      assert.equal(patched.code, 0, patched.out);
      await waitFor(
        async () => {
          const during = (await s.calls()).slice(rotateFrom);
          return during.some(
            (c) =>
              isOperator(c) &&
              c.operation === 'DeleteVpcConnector' &&
              c.status === 200 &&
              (c.params as { VpcConnectorArn?: string }).VpcConnectorArn === oldShared,
          );
        },
        'the old shared connector is deleted',
        90_000,
        () => operator.tail(),
      );
      const rotation = (await s.calls()).slice(rotateFrom).filter((c) => isOperator(c) && c.status === 200);
      const moves = rotation.filter((c) => c.operation === 'UpdateService');
      assert.deepEqual(
        moves.map((c) => (c.params as NetworkParams).ServiceArn?.split('/')[1]).sort(),
        ['team-a-api', 'team-a-web'],
        'one operation per service on the rotated connector',
      );
      const deletedOld = rotation.find((c) => c.operation === 'DeleteVpcConnector');
      assert.ok(
        moves.every((m) => m.seq < (deletedOld?.seq ?? 0)),
        'both moved before the old connector went',
      );
      await waitAllReady(kubectl, operator, '60s');

      const before = (await s.calls()).length;
      const startedAt = Date.now();
      const deleted = await runKubectl(kubectl, cluster.kubeconfigPath, [
        'delete',
        ...kindFiles,
        '--timeout=180s',
      ]);
      assert.equal(deleted.code, 0, `${deleted.out}\n${operator.tail()}`);
      const teardown = (await s.calls()).slice(before).filter(isOperator);
      console.log(
        `examples: gone in ${((Date.now() - startedAt) / 1000).toFixed(1)} s with ${teardown.length} AWS calls`,
      );

      assertTeardownOrder(await s.calls());
      const { violations } = await s.admin<{ violations: unknown[] }>('GET', '/_sim/violations');
      assert.deepEqual(violations, []);
    } finally {
      await operator.stop();
      await s.sim.close();
    }
  });

  test('a SIGKILL in the middle of the teardown: the restarted operator finishes it in the same order', async (t) => {
    if (typeof kubectl !== 'string') {
      t.skip(kubectl.skip);
      return;
    }
    const s = await simulator();
    let operator = launch(s);
    try {
      await operator.waitForLog((l) => l.msg === 'Started workers', 'workers started', 30_000);
      await applyAndWait(kubectl, operator, s);
      const deleting = runKubectl(kubectl, cluster.kubeconfigPath, [
        'delete',
        ...kindFiles,
        '--timeout=240s',
      ]);
      // Kill as soon as the first detach reached AWS, before the connectors could go.
      await waitFor(
        async () =>
          (await s.calls()).some(
            (c) =>
              isOperator(c) &&
              c.operation === 'UpdateService' &&
              (c.params as NetworkParams).NetworkConfiguration?.EgressConfiguration?.EgressType === 'DEFAULT',
          ),
        'the first detach',
        60_000,
      );
      await operator.kill();
      operator = launch(s);
      const deleted = await deleting;
      assert.equal(deleted.code, 0, `${deleted.out}\n${operator.tail()}`);
      assertTeardownOrder(await s.calls());
      const { violations } = await s.admin<{ violations: unknown[] }>('GET', '/_sim/violations');
      assert.deepEqual(violations, []);
    } finally {
      await operator.stop();
      await s.sim.close();
    }
  });

  test('tenancy: an ungranted service, a second object and a second cluster on one service, a foreign account', async (t) => {
    if (typeof kubectl !== 'string') {
      t.skip(kubectl.skip);
      return;
    }
    const s = await simulator();
    const operator = launch(s, ['--aws-account-id=123456789012'], 'tenant');
    const web = seedArn(await s.admin('GET', '/_sim/state'), 'team-a-web');
    const api = seedArn(await s.admin('GET', '/_sim/state'), 'team-a-api');
    const internal = seedArn(await s.admin('GET', '/_sim/state'), 'team-a-internal');
    try {
      await operator.waitForLog((l) => l.msg === 'Started workers', 'workers started', 30_000);
      const manifest = [
        {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: {
            name: 'tenant',
            annotations: { 'apprunnernet.dev/allowed-services': 'team-a-web,team-a-api' },
          },
        },
        sn('tenant', 'first', web),
        sn('tenant', 'second', web),
        sn('tenant', 'ungranted', internal),
        sn('tenant', 'foreign', api.replace(':123456789012:', ':999999999999:')),
      ];
      const applied = await applyJson(kubectl, cluster.kubeconfigPath, manifest);
      assert.equal(applied.code, 0, applied.out);
      const stalledWith = async (name: string, reason: string): Promise<string> =>
        waitFor(
          async () => {
            const got = await getServiceNetworking(cluster.kubeConfig, 'tenant', name);
            const c = got === undefined ? undefined : condition(got as never, ConditionType.Stalled);
            return c?.status === 'True' && c.reason === reason ? c.message : undefined;
          },
          `${name} Stalled ${reason}`,
          60_000,
          () => operator.tail(),
        );
      await waitFor(
        async () => {
          const got = await getServiceNetworking(cluster.kubeConfig, 'tenant', 'first');
          return got === undefined
            ? undefined
            : condition(got as never, ConditionType.Ready)?.status === 'True';
        },
        'first Ready',
        60_000,
        () => operator.tail(),
      );
      assert.match(await stalledWith('second', ServiceNetworkingReason.Conflict), /tenant\/first/);
      assert.match(await stalledWith('ungranted', ServiceNetworkingReason.NotPermitted), /not granted/);
      assert.match(await stalledWith('foreign', ServiceNetworkingReason.NotPermitted), /999999999999/);

      // A second cluster (another operator, another cluster name, its own namespace) claims the same service.
      const updatesBefore = (await s.calls()).filter((c) => c.operation === 'UpdateService').length;
      const second = startOperator({
        kubeconfigPath: cluster.kubeconfigPath,
        endpoint: s.sim.url,
        namespace: 'other-cluster',
        clusterName: 'another-cluster',
        args: ['--tenancy=SingleTenant'],
      });
      try {
        const appliedOther = await applyJson(kubectl, cluster.kubeconfigPath, [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other-cluster' } },
          sn('other-cluster', 'intruder', web),
        ]);
        assert.equal(appliedOther.code, 0, appliedOther.out);
        await waitFor(
          async () => {
            const got = await getServiceNetworking(cluster.kubeConfig, 'other-cluster', 'intruder');
            const c = got === undefined ? undefined : condition(got as never, ConditionType.Stalled);
            return c?.reason === ServiceNetworkingReason.Conflict ? c.message : undefined;
          },
          'intruder Stalled Conflict',
          60_000,
          () => second.tail(),
        );
      } finally {
        await second.stop();
      }
      const updates = (await s.calls()).filter((c) => c.operation === 'UpdateService');
      assert.equal(updates.length, updatesBefore, 'no UpdateService for any refused claimant');
      assert.ok(
        updates.every((c) => (c.params as NetworkParams).ServiceArn === web),
        'only the granted, first claimant updated its service',
      );
    } finally {
      await operator.stop();
      await s.sim.close();
    }
  });
});

function sn(namespace: string, name: string, serviceArn: string): Record<string, unknown> {
  return {
    apiVersion: API_VERSION,
    kind: 'ServiceNetworking',
    metadata: { name, namespace },
    spec: { serviceArn, egress: { type: 'DEFAULT' }, ingress: { isPubliclyAccessible: false } },
  };
}

function seedArn(state: unknown, name: string): string {
  const services =
    (state as { regions: Record<string, { services: { name: string; arn: string }[] }> }).regions['us-east-1']
      ?.services ?? [];
  const arn = services.find((x) => x.name === name)?.arn;
  assert.ok(arn !== undefined, `service ${name} is seeded`);
  return arn;
}

async function applyJson(
  kubectl: string,
  kubeconfig: string,
  objects: readonly unknown[],
): Promise<{ code: number | null; out: string }> {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const file = join(mkdtempSync(join(tmpdir(), 'apprunner-net-')), 'objects.json');
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  return runKubectl(kubectl, kubeconfig, ['apply', '-f', file]);
}
