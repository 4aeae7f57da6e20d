// The operator against the simulator's pessimistic profile, AWS at its least convenient: describe, list and
// tag reads lag a create, a delete is answered while the connector still reads ACTIVE, ListServices pages
// come back empty with a NextToken, the "in use" reference lingers after a detach, operations are slow.
// The paths that must hold: a connector not readable yet is never recreated, tags not visible yet are no
// conflict, a lost create answer is adopted, a delete is not repeated into a storm, and the teardown
// keeps its order.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConditionType } from '../../../src/api/constants.ts';
import {
  condition,
  SECURITY_GROUP,
  startEnv,
  startHoldingProxy,
  SUBNETS,
  waitFor,
  type CallRecord,
  type Env,
  type HoldingProxy,
} from './fixtures.ts';

const pessimistic = { profile: 'pessimistic' as const };
const SLOW = 90_000;
const byOperator = (c: CallRecord): boolean => c.caller.startsWith('apprunner-net');

describe('against the pessimistic simulator profile', () => {
  let env: Env;
  before(async () => {
    env = await startEnv();
  });
  after(async () => {
    await env.stop();
  });

  test('attach, then delete both at once: one create, no recreate, detach before the delete, no violation', async () => {
    const world = await env.world({
      serviceLinkedRole: true,
      simulator: pessimistic,
      operatorArgs: ['--tenancy=SingleTenant'],
    });
    try {
      await world.kube.createConnector('egress', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      await world.kube.createServiceNetworking('web', {
        serviceArn: world.serviceArn,
        egress: { type: 'VPC', vpcConnectorRef: { name: 'egress' } },
        deletionPolicy: 'Detach',
      });
      const ready = await world.kube.waitForConnector(
        'egress',
        (o) => condition(o, ConditionType.Ready)?.status === 'True',
        'Ready although reads lag the create',
        () => world.operator.tail(),
        SLOW,
      );
      await waitFor(
        async () =>
          (await world.kube.getServiceNetworking('web'))?.status?.conditions?.find((c) => c.type === 'Ready')
            ?.status === 'True',
        'the service attached',
        SLOW,
        () => world.operator.tail(),
      );
      const calls = (await world.calls()).filter(byOperator);
      assert.equal(
        calls.filter((c) => c.operation === 'CreateVpcConnector').length,
        1,
        'a connector not readable yet is neither recreated nor created twice',
      );
      assert.equal(ready.status?.vpcConnectorArn, (await world.connectors())[0]?.arn);

      await world.kube.deleteConnector('egress');
      await world.kube.deleteServiceNetworking('web');
      await world.kube.waitForGone('egress', () => world.operator.tail(), SLOW);
      const all = (await world.calls()).filter(byOperator);
      const detach = all.find(
        (c) =>
          c.operation === 'UpdateService' &&
          c.status === 200 &&
          (c.params as { NetworkConfiguration?: { EgressConfiguration?: { EgressType?: string } } })
            .NetworkConfiguration?.EgressConfiguration?.EgressType === 'DEFAULT',
      );
      const deletes = all.filter((c) => c.operation === 'DeleteVpcConnector');
      const accepted = deletes.filter((c) => c.status === 200);
      assert.ok(detach !== undefined && accepted[0] !== undefined);
      assert.ok(detach.seq < accepted[0].seq, 'detach precedes the delete');
      // The linger refuses a few deletes and the asynchronous delete reads ACTIVE for a while: retries back
      // off, they do not storm.
      assert.ok(deletes.length <= 8, `${deletes.length} DeleteVpcConnector calls`);
      assert.deepEqual(
        (await world.connectors()).map((c) => c.status),
        ['INACTIVE'],
      );
    } finally {
      await world.finish();
    }
  });

  test('an object deleted moments after its connector was created does not leave the connector behind', async () => {
    const world = await env.world({ serviceLinkedRole: true, simulator: pessimistic });
    try {
      await world.kube.createConnector('brief', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      await world.kube.waitForConnector(
        'brief',
        (o) => o.status?.vpcConnectorArn !== undefined,
        'the connector recorded',
        () => world.operator.tail(),
        SLOW,
      );
      // Within the read lag: DescribeVpcConnector does not find it yet.
      await world.kube.deleteConnector('brief');
      await world.kube.waitForGone('brief', () => world.operator.tail(), SLOW);
      const deletes = (await world.calls()).filter(
        (c) => byOperator(c) && c.operation === 'DeleteVpcConnector' && c.status === 200,
      );
      assert.equal(deletes.length, 1, 'deleted once, not leaked');
      await waitFor(
        async () => (await world.connectors()).every((c) => c.status === 'INACTIVE'),
        'the deletion shows',
      );
    } finally {
      await world.finish();
    }
  });

  test('a lost create answer, then a restart while the name lookup shows the connector without tags: adopted, not a conflict', async () => {
    let proxy: HoldingProxy | undefined;
    const world = await env.world({
      serviceLinkedRole: true,
      simulator: pessimistic,
      endpoint: async (url) => {
        proxy = await startHoldingProxy(url);
        return proxy.url;
      },
    });
    try {
      await world.kube.createConnector('lost', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      await waitFor(
        async () =>
          (await world.calls()).some((c) => c.operation === 'CreateVpcConnector' && c.status === 200),
        'AWS performed the create',
        SLOW,
      );
      await world.operator.kill();
      if (proxy !== undefined) proxy.holdCreates = false;
      await world.startOperator();
      const adopted = await world.kube.waitForConnector(
        'lost',
        (o) => condition(o, ConditionType.Ready)?.status === 'True',
        'Ready on the adopted connector',
        () => world.operator.tail(),
        SLOW,
      );
      assert.notEqual(condition(adopted, ConditionType.Stalled)?.reason, 'NameConflict');
      const connectors = await world.connectors();
      assert.deepEqual(
        connectors.map((c) => c.arn),
        [adopted.status?.vpcConnectorArn],
        'exactly one connector, the one AWS created before the crash',
      );
      assert.ok((await world.kube.eventReasons('lost')).includes('Adopted'));
      await world.kube.deleteConnector('lost');
      await world.kube.waitForGone('lost', () => world.operator.tail(), SLOW);
    } finally {
      await world.finish();
      await proxy?.close();
    }
  });
});
