// Deletion fenced by the finalizer: blocked while a ServiceNetworking references the object and while AWS
// shows a service using the connector, with both blockers named; unblocked when they go.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConditionType, VpcConnectorReason } from '../../../src/api/constants.ts';
import { condition, SECURITY_GROUP, startEnv, SUBNETS, type Env } from './fixtures.ts';

describe('deleting a VpcConnector', () => {
  let env: Env;
  before(async () => {
    env = await startEnv();
  });
  after(async () => {
    await env.stop();
  });

  test('deletion waits for the referencing ServiceNetworking and for the service AWS shows using the connector', async () => {
    const world = await env.world({ serviceLinkedRole: true });
    try {
      await world.kube.createConnector('shared', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      const ready = await world.kube.waitForConnector(
        'shared',
        (o) => condition(o, ConditionType.Ready)?.status === 'True',
        'Ready',
        () => world.operator.tail(),
      );
      const arn = ready.status?.vpcConnectorArn ?? '';
      await world.kube.createServiceNetworking('web', {
        serviceArn: world.serviceArn,
        egress: { type: 'VPC', vpcConnectorRef: { name: 'shared' } },
        deletionPolicy: 'Detach',
      });
      await world.moveService(arn);

      await world.kube.deleteConnector('shared');
      const both = await world.kube.waitForConnector(
        'shared',
        (o) => condition(o, ConditionType.DeletionBlocked)?.status === 'True',
        'DeletionBlocked',
        () => world.operator.tail(),
      );
      const blocked = condition(both, ConditionType.DeletionBlocked);
      assert.equal(blocked?.reason, VpcConnectorReason.DeletionBlocked);
      assert.match(blocked.message, new RegExp(`ServiceNetworking ${world.namespace}/web`));
      assert.ok(blocked.message.includes(world.serviceArn), blocked.message);
      assert.ok((await world.kube.eventReasons('shared')).includes('DeletionBlocked'));

      // The reference goes; AWS still shows the service on the connector.
      await world.kube.deleteServiceNetworking('web');
      const awsOnly = await world.kube.waitForConnector(
        'shared',
        (o) => !(condition(o, ConditionType.DeletionBlocked)?.message ?? '').includes('ServiceNetworking'),
        'blocked by AWS only',
        () => world.operator.tail(),
      );
      const stillBlocked = condition(awsOnly, ConditionType.DeletionBlocked);
      assert.equal(stillBlocked?.status, 'True');
      assert.ok(stillBlocked.message.includes(world.serviceArn));
      assert.equal((await world.connectors())[0]?.status, 'ACTIVE');
      assert.ok(!(await world.operatorMutations()).some((c) => c.operation === 'DeleteVpcConnector'));

      await world.moveService(undefined);
      await world.kube.waitForGone('shared', () => world.operator.tail());
      assert.deepEqual(
        (await world.connectors()).map((c) => c.status),
        ['INACTIVE'],
      );
      assert.deepEqual(
        (await world.operatorMutations())
          .filter((c) => c.operation === 'DeleteVpcConnector')
          .map((c) => c.status),
        [200],
        'one DeleteVpcConnector, after the service left',
      );
    } finally {
      await world.finish();
    }
  });
});
