// ServiceNetworking against a real API server and the simulator, with the operator as a separate process:
// attach and detach in the order AWS accepts, a VpcConnector rotation that moves the service before the old
// connector goes, failed and stuck operations, drift, a service deleted out of band, Retain, and faults.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DeleteServiceCommand } from '@aws-sdk/client-apprunner';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  ConditionType,
  GROUP,
  Plural,
  ServiceNetworkingReason,
  VERSION,
  VpcConnectorReason,
} from '../../../src/api/constants.ts';
import type { ServiceNetworking, ServiceNetworkingSpec } from '../../../src/api/servicenetworking.ts';
import type { VpcConnector } from '../../../src/api/vpcconnector.ts';
import {
  condition,
  SECURITY_GROUP,
  sleep,
  startEnv,
  startHoldingProxy,
  SUBNETS,
  waitFor,
  type CallRecord,
  type HoldingProxy,
  type Env,
  type World,
} from './fixtures.ts';

function getSn(world: World, name: string): Promise<ServiceNetworking | undefined> {
  return world.kube.getServiceNetworking(name);
}

function snCondition(o: ServiceNetworking | undefined, type: string) {
  return o?.status?.conditions?.find((c) => c.type === type);
}

async function waitForSn(
  world: World,
  name: string,
  check: (o: ServiceNetworking) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<ServiceNetworking> {
  let last: ServiceNetworking | undefined;
  return waitFor(
    async () => {
      last = await getSn(world, name);
      return last !== undefined && check(last) ? last : undefined;
    },
    `ServiceNetworking ${name}: ${what}`,
    timeoutMs,
    () => `status: ${JSON.stringify(last?.status, null, 1)}\n${world.operator.tail()}`,
  );
}

const readySn = (reason: string) => (o: ServiceNetworking) =>
  snCondition(o, ConditionType.Ready)?.status === 'True' &&
  snCondition(o, ConditionType.Ready)?.reason === reason &&
  snCondition(o, ConditionType.Ready)?.observedGeneration === o.metadata.generation;

const readyVc = (o: VpcConnector) => condition(o, ConditionType.Ready)?.status === 'True';

async function patchSnSpec(world: World, name: string, spec: Partial<ServiceNetworkingSpec>): Promise<void> {
  await world.kube.api.patchNamespacedCustomObject(
    {
      group: GROUP,
      version: VERSION,
      plural: Plural.ServiceNetworking,
      namespace: world.namespace,
      name,
      body: { spec },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

async function waitSnGone(world: World, name: string): Promise<void> {
  await waitFor(
    async () => (await getSn(world, name)) === undefined,
    `ServiceNetworking ${name} is gone`,
    30_000,
    () => world.operator.tail(),
  );
}

const byOperator = (c: CallRecord): boolean => c.caller.startsWith('apprunner-net');
const egressOf = (c: CallRecord) =>
  (
    c.params as {
      NetworkConfiguration?: { EgressConfiguration?: { EgressType?: string; VpcConnectorArn?: string } };
    }
  ).NetworkConfiguration?.EgressConfiguration;
const updates = async (world: World): Promise<CallRecord[]> =>
  (await world.calls()).filter((c) => byOperator(c) && c.operation === 'UpdateService' && c.status === 200);

async function serviceNetwork(world: World) {
  const state = await world.admin<{
    regions: Record<
      string,
      {
        services: {
          arn: string;
          status: string;
          network: { egressType: string; vpcConnectorArn?: string; isPubliclyAccessible: boolean };
        }[];
      }
    >;
  }>('GET', '/_sim/state');
  return state.regions['us-east-1']?.services.find((s) => s.arn === world.serviceArn);
}

describe('ServiceNetworking', () => {
  let env: Env;
  before(async () => {
    env = await startEnv();
  });
  after(async () => {
    await env.stop();
  });

  const single = ['--tenancy=SingleTenant'];

  test('attaches, follows a rotation (the old connector goes only after the service moved), then detaches before the connector is deleted', async () => {
    const world = await env.world({ serviceLinkedRole: true, operatorArgs: single });
    try {
      await world.kube.createConnector('egress', {
        subnets: [SUBNETS[0], SUBNETS[1]],
        securityGroups: [SECURITY_GROUP],
        updatePolicy: 'Rotate',
      });
      await world.kube.createServiceNetworking('web', {
        serviceArn: world.serviceArn,
        egress: { type: 'VPC', vpcConnectorRef: { name: 'egress' } },
        deletionPolicy: 'Detach',
      });
      const first = await world.kube.waitForConnector('egress', readyVc, 'Ready', () =>
        world.operator.tail(),
      );
      const oldArn = first.status?.vpcConnectorArn ?? '';
      const attached = await waitForSn(world, 'web', readySn(ServiceNetworkingReason.Attached), 'Attached');
      assert.equal(attached.status?.network?.vpcConnectorArn, oldArn);
      assert.equal(attached.status.lastOperation?.status, 'SUCCEEDED');
      assert.equal((await serviceNetwork(world))?.network.vpcConnectorArn, oldArn);
      await world.kube.waitForConnector(
        'egress',
        (o) => o.status?.services?.includes(world.serviceArn) === true,
        'status lists the service',
        () => world.operator.tail(),
      );

      await world.kube.patchConnectorSpec('egress', { subnets: [SUBNETS[0], SUBNETS[1], SUBNETS[2]] });
      const rotated = await world.kube.waitForConnector(
        'egress',
        (o) => o.status?.vpcConnectorArn !== oldArn && o.status?.retiring === undefined && readyVc(o),
        'Ready on the new connector',
        () => world.operator.tail(),
        60_000,
      );
      const newArn = rotated.status?.vpcConnectorArn ?? '';
      await waitForSn(
        world,
        'web',
        (o) => o.status?.network?.vpcConnectorArn === newArn && readySn(ServiceNetworkingReason.Attached)(o),
        'attached to the new connector',
      );
      const calls = (await world.calls()).filter(byOperator);
      const moved = calls.find(
        (c) => c.operation === 'UpdateService' && egressOf(c)?.VpcConnectorArn === newArn,
      );
      const deletedOld = calls.find(
        (c) =>
          c.operation === 'DeleteVpcConnector' &&
          c.status === 200 &&
          (c.params as { VpcConnectorArn?: string }).VpcConnectorArn === oldArn,
      );
      assert.ok(moved !== undefined && deletedOld !== undefined);
      assert.ok(moved.seq < deletedOld.seq, 'the service moved before the old connector was deleted');
      assert.equal((await updates(world)).length, 2, 'one operation per move');

      // Delete both at once: the connector waits for the detach.
      await world.kube.deleteConnector('egress');
      await world.kube.deleteServiceNetworking('web');
      await world.kube.waitForGone('egress', () => world.operator.tail(), 60_000);
      await waitSnGone(world, 'web');
      const after = (await world.calls()).filter(byOperator);
      const detach = after.find(
        (c) => c.operation === 'UpdateService' && egressOf(c)?.EgressType === 'DEFAULT',
      );
      const deleteNew = after.find(
        (c) =>
          c.operation === 'DeleteVpcConnector' &&
          c.status === 200 &&
          (c.params as { VpcConnectorArn?: string }).VpcConnectorArn === newArn,
      );
      assert.ok(detach !== undefined && deleteNew !== undefined);
      assert.ok(detach.seq < deleteNew.seq, 'detach precedes the delete');
      assert.equal((await serviceNetwork(world))?.network.egressType, 'DEFAULT');
      assert.ok(
        after.some((c) => c.operation === 'UntagResource' && c.status === 200),
        'the ownership tags are removed from the service',
      );
    } finally {
      await world.finish();
    }
  });

  test('a rolled-back update is Stalled with the configuration AWS kept, never Ready, and is tried again only after a spec change', async () => {
    // Frequent resyncs, so that "not tried again" is shown however often the object is looked at.
    const world = await env.world({
      serviceLinkedRole: true,
      operatorArgs: [...single, '--resync-period=2s', '--aws-read-max-age=1s'],
    });
    try {
      await world.admin('POST', '/_sim/faults', { faults: { rollback: { next: 1 } } });
      await world.kube.createServiceNetworking('web', {
        serviceArn: world.serviceArn,
        egress: { type: 'DEFAULT' },
        ingress: { isPubliclyAccessible: false },
        deletionPolicy: 'Detach',
      });
      const stalled = await waitForSn(
        world,
        'web',
        (o) => snCondition(o, ConditionType.Stalled)?.reason === ServiceNetworkingReason.RolledBack,
        'Stalled RolledBack',
      );
      assert.notEqual(snCondition(stalled, ConditionType.Ready)?.status, 'True');
      assert.equal(stalled.status?.lastOperation?.status, 'ROLLBACK_SUCCEEDED');
      assert.equal(stalled.status.network?.isPubliclyAccessible, true, 'status shows what AWS kept');
      assert.match(snCondition(stalled, ConditionType.Stalled)?.message ?? '', /ROLLBACK_SUCCEEDED/);
      // No retry storm: the same generation is not tried again (the resync runs every 2 s here).
      await sleep(4_000);
      assert.equal((await updates(world)).length, 1);
      const still = await getSn(world, 'web');
      assert.notEqual(snCondition(still, ConditionType.Ready)?.status, 'True');

      await patchSnSpec(world, 'web', { ipAddressType: 'IPV4' });
      await waitForSn(world, 'web', readySn(ServiceNetworkingReason.Detached), 'Ready after the edit');
      assert.equal((await updates(world)).length, 2);
      assert.equal((await serviceNetwork(world))?.network.isPubliclyAccessible, false);
    } finally {
      await world.finish();
    }
  });

  test('a stuck operation is waited for, with no second UpdateService while it runs', async () => {
    const world = await env.world({
      serviceLinkedRole: true,
      operatorArgs: single,
      simulator: { timings: { stuckOperationMs: 4_000 } },
    });
    try {
      await world.admin('POST', '/_sim/faults', { faults: { stuck: { next: 1 } } });
      await world.kube.createServiceNetworking('web', {
        serviceArn: world.serviceArn,
        egress: { type: 'DEFAULT' },
        ingress: { isPubliclyAccessible: false },
        deletionPolicy: 'Detach',
      });
      await waitForSn(
        world,
        'web',
        (o) =>
          snCondition(o, ConditionType.Reconciling)?.reason === ServiceNetworkingReason.OperationInProgress,
        'OperationInProgress',
      );
      await sleep(1_500);
      assert.equal((await updates(world)).length, 1);
      await waitForSn(world, 'web', readySn(ServiceNetworkingReason.Detached), 'Ready once it ends');
      assert.equal((await updates(world)).length, 1);
    } finally {
      await world.finish();
    }
  });

  test('a change made outside the operator is restored, with a DriftCorrected event', async () => {
    // Only a resync notices a change in AWS: nothing changes in Kubernetes.
    const world = await env.world({
      serviceLinkedRole: true,
      operatorArgs: [...single, '--resync-period=2s', '--aws-read-max-age=1s'],
    });
    try {
      await world.kube.createServiceNetworking('web', {
        serviceArn: world.serviceArn,
        egress: { type: 'DEFAULT' },
        ingress: { isPubliclyAccessible: false },
        deletionPolicy: 'Detach',
      });
      await waitForSn(world, 'web', readySn(ServiceNetworkingReason.Detached), 'Ready');
      await sleep(600);
      const { UpdateServiceCommand } = await import('@aws-sdk/client-apprunner');
      await world.appRunner.send(
        new UpdateServiceCommand({
          ServiceArn: world.serviceArn,
          NetworkConfiguration: { IngressConfiguration: { IsPubliclyAccessible: true } },
        }),
      );
      await waitFor(
        async () => (await serviceNetwork(world))?.network.isPubliclyAccessible === true,
        'the out-of-band change applied',
      );
      await waitFor(
        async () => (await serviceNetwork(world))?.network.isPubliclyAccessible === false,
        'the operator restored the spec',
        30_000,
        () => world.operator.tail(),
      );
      await waitFor(
        async () => (await world.kube.eventReasons('web')).includes('DriftCorrected'),
        'the event',
      );
    } finally {
      await world.finish();
    }
  });

  test('a service deleted out of band is reported, and deleting the object then needs no AWS call', async () => {
    // Only a resync notices a change in AWS: nothing changes in Kubernetes.
    const world = await env.world({
      serviceLinkedRole: true,
      operatorArgs: [...single, '--resync-period=2s', '--aws-read-max-age=1s'],
    });
    try {
      await world.kube.createServiceNetworking('web', {
        serviceArn: world.serviceArn,
        egress: { type: 'DEFAULT' },
        ingress: { isPubliclyAccessible: false },
        deletionPolicy: 'Detach',
      });
      await waitForSn(world, 'web', readySn(ServiceNetworkingReason.Detached), 'Ready');
      await world.appRunner.send(new DeleteServiceCommand({ ServiceArn: world.serviceArn }));
      const gone = await waitForSn(
        world,
        'web',
        (o) => snCondition(o, ConditionType.Stalled)?.reason === ServiceNetworkingReason.ServiceNotFound,
        'Stalled ServiceNotFound',
        60_000,
      );
      assert.equal(gone.status?.serviceStatus, 'DELETED');
      const before = (await world.calls()).length;
      await world.kube.deleteServiceNetworking('web');
      await waitSnGone(world, 'web');
      const since = (await world.calls()).slice(before).filter(byOperator);
      assert.deepEqual(
        since.map((c) => c.operation),
        [],
        'no AWS call for the deletion',
      );
    } finally {
      await world.finish();
    }
  });

  test('Retain leaves the service attached, and the VpcConnector then says which service blocks its deletion', async () => {
    const world = await env.world({ serviceLinkedRole: true, operatorArgs: single });
    try {
      await world.kube.createConnector('egress', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      await world.kube.createServiceNetworking('web', {
        serviceArn: world.serviceArn,
        egress: { type: 'VPC', vpcConnectorRef: { name: 'egress' } },
        deletionPolicy: 'Retain',
      });
      await waitForSn(world, 'web', readySn(ServiceNetworkingReason.Attached), 'Attached');
      await world.kube.deleteServiceNetworking('web');
      await waitSnGone(world, 'web');
      assert.equal((await serviceNetwork(world))?.network.egressType, 'VPC');

      await world.kube.deleteConnector('egress');
      const blocked = await world.kube.waitForConnector(
        'egress',
        (o) =>
          condition(o, ConditionType.DeletionBlocked)?.status === 'True' &&
          condition(o, ConditionType.DeletionBlocked)?.reason === VpcConnectorReason.DeletionBlocked,
        'DeletionBlocked',
        () => world.operator.tail(),
      );
      assert.match(condition(blocked, ConditionType.DeletionBlocked)?.message ?? '', /web-app/);
      await sleep(600);
      await world.moveService(undefined);
      await world.kube.waitForGone('egress', () => world.operator.tail(), 60_000);
    } finally {
      await world.finish();
    }
  });

  test('a call AWS never answers fails after the call timeout and is retried, while other objects go on', async () => {
    let proxy: HoldingProxy | undefined;
    const world = await env.world({
      serviceLinkedRole: true,
      operatorArgs: [...single, '--aws-call-timeout=500ms', '--reconcile-timeout=10s'],
      endpoint: async (url) => {
        proxy = await startHoldingProxy(url);
        proxy.holdCreates = false;
        return proxy.url;
      },
    });
    const silent = proxy;
    assert.ok(silent !== undefined);
    try {
      // The operation of the update below is never read back: its ListOperations calls hang.
      silent.silence = (operation) => operation === 'ListOperations';
      await world.kube.createServiceNetworking('web', {
        serviceArn: world.serviceArn,
        egress: { type: 'DEFAULT' },
        ingress: { isPubliclyAccessible: false },
        deletionPolicy: 'Detach',
      });
      await world.kube.createConnector('egress', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      await world.kube.waitForConnector('egress', readyVc, 'Ready while the other object hangs', () =>
        world.operator.tail(),
      );
      await waitFor(
        () => silent.silenced >= 4,
        'several attempts timed out and were retried',
        30_000,
        () => world.operator.tail(),
      );
      const sn = await getSn(world, 'web');
      assert.notEqual(
        snCondition(sn, ConditionType.Ready)?.status,
        'True',
        'not Ready without its operation',
      );

      silent.silence = undefined;
      await waitForSn(
        world,
        'web',
        readySn(ServiceNetworkingReason.Detached),
        'Ready once AWS answers',
        60_000,
      );
      assert.equal((await updates(world)).length, 1, 'the update was not repeated meanwhile');
      await world.kube.deleteServiceNetworking('web');
      await world.kube.deleteConnector('egress');
      await world.kube.waitForGone('egress', () => world.operator.tail(), 60_000);
    } finally {
      await world.finish();
      await proxy?.close();
    }
  });

  test('under throttling and 500s the operator converges, backing off rather than storming', async () => {
    /** Attaches a new connector to the service; the operator's AWS calls (all attempts) until Ready. */
    const converge = async (faults: boolean): Promise<{ calls: number; failed: number; seconds: number }> => {
      const world = await env.world({ serviceLinkedRole: true, operatorArgs: single });
      try {
        if (faults) {
          await world.admin('POST', '/_sim/faults', {
            faults: { throttling: { rate: 0.3 }, internalError: { rate: 0.15 } },
          });
        }
        const startedAt = Date.now();
        await world.kube.createConnector('egress', {
          subnets: [SUBNETS[0]],
          securityGroups: [SECURITY_GROUP],
        });
        await world.kube.createServiceNetworking('web', {
          serviceArn: world.serviceArn,
          egress: { type: 'VPC', vpcConnectorRef: { name: 'egress' } },
          deletionPolicy: 'Detach',
        });
        await waitForSn(world, 'web', readySn(ServiceNetworkingReason.Attached), 'Attached', 90_000);
        const seconds = (Date.now() - startedAt) / 1000;
        const calls = (await world.calls()).filter(byOperator);
        const sn = await getSn(world, 'web');
        assert.notEqual(
          snCondition(sn, ConditionType.Stalled)?.status,
          'True',
          'a throttle never shows as Stalled',
        );
        await world.admin('POST', '/_sim/faults', {
          faults: { throttling: { rate: 0 }, internalError: { rate: 0 } },
        });
        await world.kube.deleteServiceNetworking('web');
        await world.kube.deleteConnector('egress');
        await world.kube.waitForGone('egress', () => world.operator.tail(), 60_000);
        return { calls: calls.length, failed: calls.filter((c) => c.status !== 200).length, seconds };
      } finally {
        await world.finish();
      }
    };
    const clean = await converge(false);
    const faulty = await converge(true);
    console.log(
      `faults: converged in ${faulty.seconds.toFixed(1)} s with ${faulty.calls} AWS calls (${faulty.failed} refused); ` +
        `without faults ${clean.seconds.toFixed(1)} s, ${clean.calls} calls`,
    );
    assert.ok(faulty.failed > 0, 'faults were injected');
    // With 45% of calls refused each call takes about two tries, and the SDK retries a refused call up
    // to three times: a few times the fault-free count. A retry storm would be many times more.
    assert.ok(
      faulty.calls <= 4 * clean.calls,
      `${faulty.calls} calls under faults against ${clean.calls} without: a retry storm`,
    );
  });
});
