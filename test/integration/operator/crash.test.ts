// A crash between the create request and its answer (invariant 3): AWS creates the connector, the answer
// never arrives, the operator is SIGKILLed; after a restart it adopts the connector by name instead of
// creating a second one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConditionType, VpcConnectorReason } from '../../../src/api/constants.ts';
import {
  condition,
  SECURITY_GROUP,
  startEnv,
  startHoldingProxy,
  SUBNETS,
  waitFor,
  type Env,
  type HoldingProxy,
} from './fixtures.ts';

describe('crash safety', () => {
  let env: Env;
  before(async () => {
    env = await startEnv();
  });
  after(async () => {
    await env.stop();
  });

  test('a SIGKILL after AWS created the connector but before the answer arrived leaves exactly one connector', async () => {
    let proxy: HoldingProxy | undefined;
    const world = await env.world({
      serviceLinkedRole: true,
      // ListVpcConnectors lags behind the create: the restarted operator's first lookup misses the connector.
      simulator: { consistency: { connectorListDelayMs: 3_000 } },
      endpoint: async (url) => {
        proxy = await startHoldingProxy(url);
        return proxy.url;
      },
    });
    try {
      await world.kube.createConnector('crashy', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      // The intent is in status before the create is sent.
      const intent = await world.kube.waitForConnector(
        'crashy',
        (o) => o.status?.createIntent !== undefined,
        'create intent recorded',
        () => world.operator.tail(),
      );
      await waitFor(
        async () =>
          (await world.calls()).some((c) => c.operation === 'CreateVpcConnector' && c.status === 200),
        'AWS performed the create',
      );
      await world.operator.kill();
      const [created, ...others] = await world.connectors();
      assert.equal(others.length, 0);
      const stale = await world.kube.getConnector('crashy');
      assert.equal(stale?.status?.vpcConnectorArn, undefined, 'the answer was lost: status has no ARN');
      assert.equal(stale?.status?.createIntent?.name, intent.status?.createIntent?.name);

      if (proxy !== undefined) proxy.holdCreates = false;
      await world.startOperator();
      const ready = await world.kube.waitForConnector(
        'crashy',
        (o) => condition(o, ConditionType.Ready)?.status === 'True',
        'Ready after the restart',
        () => world.operator.tail(),
      );
      assert.equal(ready.status?.vpcConnectorArn, created?.arn);
      assert.equal(ready.status?.createIntent, undefined);
      assert.equal(condition(ready, ConditionType.Ready)?.reason, VpcConnectorReason.Available);
      const active = (await world.connectors()).filter((c) => c.status === 'ACTIVE');
      assert.equal(active.length, 1, 'exactly one connector');
      const creates = (await world.calls()).filter((c) => c.operation === 'CreateVpcConnector');
      assert.equal(
        creates.filter((c) => c.status === 200).length,
        1,
        'no second connector after the restart',
      );
      assert.equal(condition(ready, ConditionType.Stalled), undefined);
      assert.ok((await world.kube.eventReasons('crashy')).includes('Adopted'));

      await world.kube.deleteConnector('crashy');
      await world.kube.waitForGone('crashy', () => world.operator.tail());
    } finally {
      await world.finish();
      await proxy?.close();
    }
  });

  test('a SIGKILL after the intent is recorded but before AWS saw the create leads to one create after the restart', async () => {
    let proxy: HoldingProxy | undefined;
    const world = await env.world({
      serviceLinkedRole: true,
      endpoint: async (url) => {
        proxy = await startHoldingProxy(url);
        proxy.forwardHeld = false;
        return proxy.url;
      },
    });
    try {
      await world.kube.createConnector('early', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      await world.kube.waitForConnector(
        'early',
        (o) => o.status?.createIntent !== undefined,
        'create intent recorded',
        () => world.operator.tail(),
      );
      await waitFor(() => (proxy?.held ?? 0) > 0, 'the create is on its way');
      await world.operator.kill();
      assert.deepEqual(await world.connectors(), [], 'AWS never saw the create');

      if (proxy !== undefined) proxy.holdCreates = false;
      await world.startOperator();
      const ready = await world.kube.waitForConnector(
        'early',
        (o) => condition(o, ConditionType.Ready)?.status === 'True',
        'Ready after the restart',
        () => world.operator.tail(),
      );
      const connectors = await world.connectors();
      assert.deepEqual(
        connectors.map((c) => c.arn),
        [ready.status?.vpcConnectorArn],
        'exactly one connector',
      );
      await world.kube.deleteConnector('early');
      await world.kube.waitForGone('early', () => world.operator.tail());
    } finally {
      await world.finish();
      await proxy?.close();
    }
  });
});
