// Deletion fenced by the finalizer: blocked while a ServiceNetworking references the object and while AWS
// shows a service using the connector, with both blockers named; unblocked when they go. And blocked, with
// AWS's words and a backoff, while AWS still refuses the delete for a while after the last service left.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConditionType, FINALIZER, VpcConnectorReason } from '../../../src/api/constants.ts';
import { Requeue } from '../../../src/controllers/vpcconnector/machine.ts';
import {
  condition,
  REGION,
  SECURITY_GROUP,
  startEnv,
  SUBNETS,
  type CallRecord,
  waitFor,
  type Env,
} from './fixtures.ts';

/**
 * How long the simulator keeps refusing DeleteVpcConnector after the last service left the connector: long
 * enough that a first pass delayed by a loaded machine still meets a refusal.
 */
const LINGER_MS = 12_000;

describe('deleting a VpcConnector', () => {
  let env: Env;
  before(async () => {
    env = await startEnv();
  });
  after(async () => {
    await env.stop();
  });

  test('deletion waits for the referencing ServiceNetworking and for the service AWS shows using the connector', async () => {
    // The test moves services itself, standing in for the ServiceNetworking controller: every pass reads AWS.
    const world = await env.world({ serviceLinkedRole: true, operatorArgs: ['--aws-read-max-age=0'] });
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
      // The Warning is written once, beside the status (not after it): wait for it rather than race it.
      await waitFor(
        async () => (await world.kube.eventReasons('shared')).includes('DeletionBlocked'),
        'a DeletionBlocked Event',
      );

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

      // Nothing in Kubernetes changes when the service leaves: the blocked pass looks again on its own.
      await world.moveService(undefined);
      await world.kube.waitForGone('shared', () => world.operator.tail(), Requeue.deletionBlocked + 15_000);
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

  test('a delete AWS refuses for a while after the last service left is retried with backoff, AWS quoted, until it passes', async (t) => {
    const world = await env.world({
      serviceLinkedRole: true,
      simulator: { consistency: { connectorReleaseLingerMs: LINGER_MS } },
      operatorArgs: ['--aws-read-max-age=0'],
    });
    try {
      await world.kube.createConnector('lingering', {
        subnets: [SUBNETS[0]],
        securityGroups: [SECURITY_GROUP],
      });
      const ready = await world.kube.waitForConnector(
        'lingering',
        (o) => condition(o, ConditionType.Ready)?.status === 'True',
        'Ready',
        () => world.operator.tail(),
      );
      const arn = ready.status?.vpcConnectorArn ?? '';
      // The user points the service at the connector and back to DEFAULT; both operations finish.
      await world.moveService(arn);
      await world.moveService(undefined);
      const detachedAt = Date.now();
      const state = await world.admin<{
        regions: Record<string, { services: { arn: string; network: { egressType: string } }[] }>;
      }>('GET', '/_sim/state');
      assert.ok(
        state.regions[REGION]?.services.every((s) => s.network.egressType === 'DEFAULT'),
        'no service shows the connector any more',
      );
      const since = (await world.calls()).at(-1)?.seq ?? 0;

      await world.kube.deleteConnector('lingering');
      const blocked = await world.kube.waitForConnector(
        'lingering',
        (o) => condition(o, ConditionType.DeletionBlocked)?.reason === VpcConnectorReason.ConnectorInUse,
        'DeletionBlocked by AWS',
        () => world.operator.tail(),
        LINGER_MS,
      );
      // Seen while AWS still refused (the condition quotes the refusal below); how soon, on a loaded machine,
      // is not the point: the linger is long enough for a slow first pass.
      const seenBlockedAt = Date.now();
      assert.ok(blocked.metadata.finalizers?.includes(FINALIZER));
      assert.ok(blocked.metadata.deletionTimestamp !== undefined);
      const reported = condition(blocked, ConditionType.DeletionBlocked);
      assert.equal(reported?.status, 'True');
      assert.match(reported.message, /in use/);
      assert.ok(
        reported.message.includes('Provided VPC connector arn is being used by other services'),
        reported.message,
      );

      await world.kube.waitForGone('lingering', () => world.operator.tail(), LINGER_MS + 10_000);
      const goneAt = Date.now();
      assert.deepEqual(
        (await world.connectors()).map((c) => c.status),
        ['INACTIVE'],
      );

      const deletes = (await world.calls()).filter(
        (c) => c.seq > since && c.operation === 'DeleteVpcConnector',
      );
      const refused = deletes.filter((c) => c.status !== 200);
      const accepted = deletes.filter((c) => c.status === 200);
      const times = deletes.map((c) => Date.parse((c as CallRecord & { time: string }).time));
      const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
      t.diagnostic(
        JSON.stringify({
          detachToBlockedSeenMs: seenBlockedAt - detachedAt,
          detachToGoneMs: goneAt - detachedAt,
          attempts: deletes.length,
          refused: refused.length,
          gapsMs: gaps,
        }),
      );
      assert.ok(refused.length >= 1, 'AWS refused at least once');
      assert.ok(
        refused.every((c) => c.errorCode === 'InvalidRequestException'),
        JSON.stringify(refused),
      );
      assert.ok(refused.length <= 10, `${refused.length} refused attempts in ${LINGER_MS} ms: a storm`);
      assert.equal(accepted.length, 1, 'one accepted DeleteVpcConnector');
      assert.equal(deletes.at(-1)?.status, 200, 'the accepted one is the last');
      // A refusal that repeats leaves status as the first one wrote it: a write per refusal would wake the
      // watch, and the pass it causes resets the key's backoff (the retries then run at the AWS rate limit).
      const logs = world.operator.logs;
      const firstRefusal = logs.findIndex(
        (l) => l.msg === 'AWS refused to delete a connector in use; retrying with backoff',
      );
      const acceptedAt = logs.findIndex((l) => l.msg === 'Requested deletion of the connector');
      const writesWhileBlocked = logs
        .slice(firstRefusal, acceptedAt)
        .filter((l) => l.msg === 'Wrote status' && l.name === 'lingering').length;
      assert.ok(firstRefusal >= 0 && acceptedAt > firstRefusal, world.operator.tail());
      assert.equal(writesWhileBlocked, 1, 'one status write for all the refusals');

      const { violations } = await world.admin<{ violations: unknown[] }>('GET', '/_sim/violations');
      assert.deepEqual(violations, []);
    } finally {
      await world.finish();
    }
  });
});
