// Change after creation: a connector deleted out of band is recreated, and an edit of an immutable field
// under updatePolicy Rotate replaces the connector without taking it from a service that still uses it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConditionType, VpcConnectorReason } from '../../../src/api/constants.ts';
import type { VpcConnector } from '../../../src/api/vpcconnector.ts';
import { condition, SECURITY_GROUP, sleep, startEnv, SUBNETS, type Env } from './fixtures.ts';

const readyWith = (reason: string) => (o: VpcConnector) =>
  condition(o, ConditionType.Ready)?.status === 'True' &&
  condition(o, ConditionType.Ready)?.reason === reason;

describe('changes to a managed VpcConnector', () => {
  let env: Env;
  before(async () => {
    env = await startEnv();
  });
  after(async () => {
    await env.stop();
  });

  test('a connector deleted outside the operator is created again, with a Recreated event', async () => {
    // Only a resync notices a deletion in AWS: nothing changes in Kubernetes.
    const world = await env.world({
      serviceLinkedRole: true,
      operatorArgs: ['--resync-period=2s', '--aws-read-max-age=1s'],
    });
    try {
      await world.kube.createConnector('drifty', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      const first = await world.kube.waitForConnector(
        'drifty',
        readyWith(VpcConnectorReason.Available),
        'Ready',
        () => world.operator.tail(),
      );
      const gone = first.status?.vpcConnectorArn ?? '';
      // Let the operator's own write age past the simulator's two-callers window.
      await sleep(600);
      await world.deleteConnector(gone);

      const again = await world.kube.waitForConnector(
        'drifty',
        (o) => o.status?.vpcConnectorArn !== gone && readyWith(VpcConnectorReason.Available)(o),
        'Ready with a new connector',
        () => world.operator.tail(),
      );
      assert.equal(again.status?.vpcConnectorName, first.status?.vpcConnectorName);
      assert.equal(again.status?.vpcConnectorRevision, 2, 'App Runner gives a reused name the next revision');
      assert.ok((await world.kube.eventReasons('drifty')).includes('Recreated'));
      const active = (await world.connectors()).filter((c) => c.status === 'ACTIVE');
      assert.deepEqual(
        active.map((c) => c.arn),
        [again.status.vpcConnectorArn],
      );

      await world.kube.deleteConnector('drifty');
      await world.kube.waitForGone('drifty', () => world.operator.tail());
    } finally {
      await world.finish();
    }
  });

  test('editing subnets under Rotate creates a new connector, waits for the service to move, then deletes the old one', async () => {
    // The test moves services itself, standing in for the ServiceNetworking controller: every pass reads AWS.
    const world = await env.world({ serviceLinkedRole: true, operatorArgs: ['--aws-read-max-age=0'] });
    try {
      await world.kube.createConnector('egress', {
        subnets: [SUBNETS[0], SUBNETS[1]],
        securityGroups: [SECURITY_GROUP],
        updatePolicy: 'Rotate',
      });
      const first = await world.kube.waitForConnector(
        'egress',
        readyWith(VpcConnectorReason.Available),
        'Ready',
        () => world.operator.tail(),
      );
      const oldArn = first.status?.vpcConnectorArn ?? '';
      await world.kube.createServiceNetworking('web', {
        serviceArn: world.serviceArn,
        egress: { type: 'VPC', vpcConnectorRef: { name: 'egress' } },
        deletionPolicy: 'Detach',
      });
      // No ServiceNetworking controller runs here: the test moves the service the way it would.
      await world.moveService(oldArn);
      await world.kube.waitForConnector(
        'egress',
        (o) => o.status?.services?.includes(world.serviceArn) === true,
        'status lists the service',
        () => world.operator.tail(),
      );

      await world.kube.patchConnectorSpec('egress', { subnets: [SUBNETS[0], SUBNETS[1], SUBNETS[2]] });
      const rotating = await world.kube.waitForConnector(
        'egress',
        (o) =>
          o.status?.retiring?.arn === oldArn &&
          condition(o, ConditionType.Ready)?.reason === VpcConnectorReason.WaitingForServicesToMove,
        'waiting for the service to move',
        () => world.operator.tail(),
      );
      const newArn = rotating.status?.vpcConnectorArn ?? '';
      assert.notEqual(newArn, oldArn);
      assert.match(
        rotating.status?.vpcConnectorName ?? '',
        /-g2$/,
        'the replacement is named after the generation',
      );
      assert.equal(condition(rotating, ConditionType.Reconciling)?.status, 'True');
      const during = await world.connectors();
      assert.equal(
        during.find((c) => c.arn === oldArn)?.status,
        'ACTIVE',
        'the old connector stays while used',
      );
      assert.deepEqual(
        during
          .find((c) => c.arn === newArn)
          ?.subnets.slice()
          .sort(),
        [...SUBNETS].sort(),
      );

      await world.moveService(newArn);
      const done = await world.kube.waitForConnector(
        'egress',
        (o) => o.status?.retiring === undefined && readyWith(VpcConnectorReason.Available)(o),
        'Ready after the rotation',
        () => world.operator.tail(),
      );
      assert.equal(done.status?.vpcConnectorArn, newArn);
      assert.deepEqual(done.status.services, [world.serviceArn]);
      const afterwards = await world.connectors();
      assert.equal(afterwards.find((c) => c.arn === oldArn)?.status, 'INACTIVE');
      const reasons = await world.kube.eventReasons('egress');
      assert.ok(
        reasons.includes('RotationStarted') && reasons.includes('RotationFinished'),
        reasons.join(','),
      );

      await world.moveService(undefined);
      await world.kube.deleteServiceNetworking('web');
      await world.kube.deleteConnector('egress');
      await world.kube.waitForGone('egress', () => world.operator.tail());
      assert.deepEqual(
        (await world.connectors()).map((c) => c.status),
        ['INACTIVE', 'INACTIVE'],
      );
    } finally {
      await world.finish();
    }
  });
});
