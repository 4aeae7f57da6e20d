// The App Runner networking service-linked role: ensured before the first create, and deleted with the
// last connector only when the operator runs with --service-linked-role-deletion=WhenUnused, with a failed
// deletion task's reason surfaced in status.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConditionType, VpcConnectorReason } from '../../../src/api/constants.ts';
import { condition, SECURITY_GROUP, startEnv, SUBNETS, type Env, type World } from './fixtures.ts';

interface IamState {
  iam: { roles: { name: string }[]; deletionTasks: { status?: string }[] };
}

const roleExists = async (world: World): Promise<boolean> =>
  (await world.admin<IamState>('GET', '/_sim/state')).iam.roles.some(
    (r) => r.name === 'AWSServiceRoleForAppRunnerNetworking',
  );

describe('the service-linked role', () => {
  let env: Env;
  before(async () => {
    env = await startEnv();
  });
  after(async () => {
    await env.stop();
  });

  test('with the default Never the role stays after the last connector is deleted', async () => {
    const world = await env.world();
    try {
      await world.kube.createConnector('only', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      const ready = await world.kube.waitForConnector(
        'only',
        (o) => condition(o, ConditionType.Ready)?.status === 'True',
        'Ready',
        () => world.operator.tail(),
      );
      assert.equal(condition(ready, ConditionType.ServiceLinkedRoleReady)?.status, 'True');
      assert.ok((await world.kube.eventReasons('only')).includes('ServiceLinkedRoleCreated'));
      await world.kube.deleteConnector('only');
      await world.kube.waitForGone('only', () => world.operator.tail());
      assert.ok(await roleExists(world));
      assert.ok(!(await world.operatorMutations()).some((c) => c.operation === 'DeleteServiceLinkedRole'));
    } finally {
      await world.finish();
    }
  });

  test('WhenUnused deletes the role with the last connector, after a first deletion task that FAILED is reported', async () => {
    const world = await env.world({
      operatorArgs: ['--service-linked-role-deletion=WhenUnused'],
      serviceLinkedRole: true,
      simulator: { faults: { slrDeletionFailure: true } },
    });
    try {
      await world.kube.createConnector('last', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      await world.kube.waitForConnector(
        'last',
        (o) => condition(o, ConditionType.Ready)?.status === 'True',
        'Ready',
        () => world.operator.tail(),
      );
      await world.kube.deleteConnector('last');
      const failed = await world.kube.waitForConnector(
        'last',
        (o) =>
          condition(o, ConditionType.DeletionBlocked)?.reason ===
          VpcConnectorReason.ServiceLinkedRoleDeletionFailed,
        'the failed role deletion is reported',
        () => world.operator.tail(),
      );
      const blocked = condition(failed, ConditionType.DeletionBlocked);
      assert.equal(blocked?.status, 'True');
      assert.match(blocked.message, /Deleting the service-linked role failed: "[^"]+"/);
      assert.match(failed.status?.serviceLinkedRoleDeletion?.taskId ?? '', /^task\/aws-service-role\//);
      assert.equal((await world.connectors())[0]?.status, 'INACTIVE', 'the connector went first');
      assert.ok(await roleExists(world));
      assert.ok((await world.kube.eventReasons('last')).includes('ServiceLinkedRoleDeletionFailed'));
      // The operator retries minutes later (ROLE_DELETION_RETRY_MS); the object keeps its finalizer meanwhile.
      assert.ok(failed.metadata.finalizers?.includes('apprunnernet.dev/finalizer'));
    } finally {
      await world.finish();
    }
  });

  test('WhenUnused deletes the role once no connector is left, then lets the object go', async () => {
    const world = await env.world({ operatorArgs: ['--service-linked-role-deletion=WhenUnused'] });
    try {
      await world.kube.createConnector('a', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      await world.kube.createConnector('b', { subnets: [SUBNETS[1]], securityGroups: [SECURITY_GROUP] });
      for (const name of ['a', 'b']) {
        await world.kube.waitForConnector(
          name,
          (o) => condition(o, ConditionType.Ready)?.status === 'True',
          'Ready',
          () => world.operator.tail(),
        );
      }
      // With b's connector left, deleting a must not touch the role.
      await world.kube.deleteConnector('a');
      await world.kube.waitForGone('a', () => world.operator.tail());
      assert.ok(await roleExists(world));
      assert.ok(!(await world.operatorMutations()).some((c) => c.operation === 'DeleteServiceLinkedRole'));

      await world.kube.deleteConnector('b');
      await world.kube.waitForGone('b', () => world.operator.tail());
      assert.equal(await roleExists(world), false);
      const deletes = (await world.operatorMutations()).filter(
        (c) => c.operation === 'DeleteServiceLinkedRole',
      );
      assert.equal(deletes.length, 1);
      assert.ok((await world.kube.eventReasons('b')).includes('ServiceLinkedRoleDeletionStarted'));
    } finally {
      await world.finish();
    }
  });

  test('WhenUnused keeps the role while a connector exists in another region, and deletes it after the last', async () => {
    const world = await env.world({ operatorArgs: ['--service-linked-role-deletion=WhenUnused'] });
    try {
      const awaySubnet = 'subnet-0e1b2c3d4e5f60001';
      const awayGroup = 'sg-0e1b2c3d4e5f60001';
      await world.admin('POST', '/_sim/seed', {
        regions: {
          'eu-west-1': {
            vpcs: [
              {
                vpcId: 'vpc-0e1b2c3d4e5f60001',
                subnets: [{ subnetId: awaySubnet }],
                securityGroups: [{ groupId: awayGroup, groupName: 'app' }],
              },
            ],
          },
        },
      });
      await world.kube.createConnector('home', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      await world.kube.createConnector('away', {
        region: 'eu-west-1',
        subnets: [awaySubnet],
        securityGroups: [awayGroup],
      });
      for (const name of ['home', 'away']) {
        await world.kube.waitForConnector(
          name,
          (o) => condition(o, ConditionType.Ready)?.status === 'True',
          'Ready',
          () => world.operator.tail(),
        );
      }
      // us-east-1 is left without a connector; eu-west-1 still has one, so the role must stay.
      await world.kube.deleteConnector('home');
      await world.kube.waitForGone('home', () => world.operator.tail());
      assert.ok(await roleExists(world), 'the role stays while eu-west-1 has a connector');
      assert.ok(!(await world.operatorMutations()).some((c) => c.operation === 'DeleteServiceLinkedRole'));

      await world.kube.deleteConnector('away');
      await world.kube.waitForGone('away', () => world.operator.tail(), 40_000);
      assert.equal(await roleExists(world), false, 'the role goes with the last connector of any region');
    } finally {
      await world.finish();
    }
  });
});
