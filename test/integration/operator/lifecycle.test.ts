// Create, adopt, a name owned by someone else, Observe and Retain: the operator as a separate process against
// a real API server and the simulator.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConditionType, OwnershipTag, VpcConnectorReason } from '../../../src/api/constants.ts';
import { defaultConnectorName } from '../../../src/api/naming.ts';
import { CREATE_REFUSAL_CONFIRM_MS } from '../../../src/controllers/vpcconnector/machine.ts';
import { condition, freePort, SECURITY_GROUP, startEnv, SUBNETS, type Env } from './fixtures.ts';

const isReady = (reason: string) => (o: Parameters<typeof condition>[0]) =>
  condition(o, ConditionType.Ready)?.status === 'True' &&
  condition(o, ConditionType.Ready)?.reason === reason;

describe('the VpcConnector lifecycle', () => {
  let env: Env;
  before(async () => {
    env = await startEnv();
  });
  after(async () => {
    await env.stop();
  });

  test('a new VpcConnector gets the role ensured, a tagged connector created, and Ready=True with ARN, revision and AWS status', async () => {
    const [healthPort, metricsPort] = [await freePort(), await freePort()];
    const world = await env.world({
      // Frequent resyncs, so that the steady state below is shown to cost no write however often it is read.
      operatorArgs: [
        '--health-port',
        String(healthPort),
        '--metrics-port',
        String(metricsPort),
        '--resync-period=2s',
        '--aws-read-max-age=1s',
      ],
    });
    try {
      await world.kube.createConnector('db', {
        subnets: [SUBNETS[0], SUBNETS[1]],
        securityGroups: [SECURITY_GROUP],
      });
      const ready = await world.kube.waitForConnector(
        'db',
        isReady(VpcConnectorReason.Available),
        'Ready',
        () => world.operator.tail(),
      );
      const status = ready.status ?? {};
      const name = defaultConnectorName(world.namespace, 'db');
      assert.equal(status.vpcConnectorName, name);
      assert.match(status.vpcConnectorArn ?? '', new RegExp(`:vpcconnector/${name}/1/[0-9a-f]{32}$`));
      assert.equal(status.vpcConnectorRevision, 1);
      assert.equal(status.awsStatus, 'ACTIVE');
      assert.equal(status.observedGeneration, ready.metadata.generation);
      assert.equal(condition(ready, ConditionType.ServiceLinkedRoleReady)?.status, 'True');
      assert.ok(ready.metadata.finalizers?.includes('apprunnernet.dev/finalizer'));

      const [connector, ...others] = await world.connectors();
      assert.equal(others.length, 0, 'exactly one connector');
      assert.deepEqual(
        Object.fromEntries((connector?.tags ?? []).map((t) => [t.Key, t.Value])),
        world.ownershipTags('db'),
      );
      const mutations = (await world.operatorMutations()).map((c) => c.operation);
      assert.deepEqual(mutations, ['CreateServiceLinkedRole', 'CreateVpcConnector']);
      assert.ok((await world.kube.eventReasons('db')).includes('Created'));
      assert.equal((await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status, 200);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.match(
        metrics,
        /controller_runtime_reconcile_total\{controller="vpcconnector",result="success"\} [1-9]/,
      );
      assert.match(
        metrics,
        /apprunner_net_aws_api_calls_total\{service="apprunner",operation="CreateVpcConnector",outcome="success"\} 1/,
      );

      // Steady state: nothing changes, so nothing is written, whatever the resyncs.
      const before = await world.kube.getConnector('db');
      const callsBefore = (await world.calls()).length;
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const afterwards = await world.kube.getConnector('db');
      assert.equal(afterwards?.metadata.resourceVersion, before?.metadata.resourceVersion);
      const reads = (await world.calls()).slice(callsBefore);
      assert.ok(reads.length > 0, 'resyncs read AWS');
      assert.deepEqual(
        reads.filter((c) => !/^(Describe|List|Get)/.test(c.operation)),
        [],
        'steady state makes no AWS writes',
      );

      await world.kube.deleteConnector('db');
      await world.kube.waitForGone('db', () => world.operator.tail());
      assert.deepEqual(
        (await world.connectors()).map((c) => c.status),
        ['INACTIVE'],
        'the connector is deleted with the object',
      );
    } finally {
      await world.finish();
    }
  });

  test('a connector found by name with this object’s ownership tags is adopted, not created again', async () => {
    const world = await env.world({ deferOperator: true, serviceLinkedRole: true });
    try {
      const name = defaultConnectorName(world.namespace, 'adopted');
      const arn = await world.createConnector(name, world.ownershipTags('adopted'));
      await world.startOperator();
      await world.kube.createConnector('adopted', {
        subnets: [SUBNETS[0]],
        securityGroups: [SECURITY_GROUP],
      });
      const ready = await world.kube.waitForConnector(
        'adopted',
        isReady(VpcConnectorReason.Available),
        'Ready',
        () => world.operator.tail(),
      );
      assert.equal(ready.status?.vpcConnectorArn, arn);
      assert.deepEqual(await world.operatorMutations(), [], 'adoption makes no AWS write');
      assert.ok((await world.kube.eventReasons('adopted')).includes('Adopted'));
    } finally {
      await world.finish();
    }
  });

  test('a name taken by a connector of another owner is Stalled with NameConflict and never touched', async () => {
    const world = await env.world({ deferOperator: true, serviceLinkedRole: true });
    try {
      const name = defaultConnectorName(world.namespace, 'taken');
      const foreignTags = { ...world.ownershipTags('taken'), [OwnershipTag.cluster]: 'another-cluster' };
      const arn = await world.createConnector(name, foreignTags);
      await world.startOperator();
      await world.kube.createConnector('taken', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      const stalled = await world.kube.waitForConnector(
        'taken',
        (o) => condition(o, ConditionType.Stalled)?.status === 'True',
        'Stalled',
        () => world.operator.tail(),
      );
      const reason = condition(stalled, ConditionType.Stalled);
      assert.equal(reason?.reason, VpcConnectorReason.NameConflict);
      assert.match(reason.message, /another-cluster/);
      assert.match(reason.message, new RegExp(arn.replaceAll('/', '\\/')));
      assert.equal(stalled.status?.vpcConnectorArn, undefined);
      assert.deepEqual(await world.operatorMutations(), [], 'no AWS write on a conflict');
      assert.ok((await world.kube.eventReasons('taken')).includes('NameConflict'));

      // Deleting the object leaves the other owner's connector alone.
      await world.kube.deleteConnector('taken');
      await world.kube.waitForGone('taken', () => world.operator.tail());
      assert.deepEqual(await world.operatorMutations(), []);
      assert.deepEqual(
        (await world.connectors()).map((c) => c.status),
        ['ACTIVE'],
      );
    } finally {
      await world.finish();
    }
  });

  test('managementPolicy Observe reports an existing connector read-only and leaves it on delete', async () => {
    const world = await env.world({ deferOperator: true, serviceLinkedRole: true });
    try {
      const arn = await world.createConnector('shared-egress', {});
      await world.startOperator();
      await world.kube.createConnector('observed', {
        managementPolicy: 'Observe',
        vpcConnectorName: 'shared-egress',
      });
      const ready = await world.kube.waitForConnector(
        'observed',
        isReady(VpcConnectorReason.Observed),
        'Ready',
        () => world.operator.tail(),
      );
      assert.equal(ready.status?.vpcConnectorArn, arn);
      assert.equal(ready.status.awsStatus, 'ACTIVE');
      assert.equal(ready.metadata.finalizers, undefined, 'Observe never adds a finalizer');
      await world.kube.deleteConnector('observed');
      await world.kube.waitForGone('observed', () => world.operator.tail());
      assert.deepEqual(await world.operatorMutations(), [], 'Observe makes no AWS write');
      assert.deepEqual(
        (await world.connectors()).map((c) => c.status),
        ['ACTIVE'],
      );
    } finally {
      await world.finish();
    }
  });

  test('a spec AWS refuses is Stalled with AWS’s message, without retries, until the spec is fixed', async () => {
    const world = await env.world({ serviceLinkedRole: true });
    try {
      const missing = 'subnet-0fffffffffffffff0';
      await world.kube.createConnector('typo', { subnets: [missing], securityGroups: [SECURITY_GROUP] });
      // AWS's refusal is reported once name lookups for CREATE_REFUSAL_CONFIRM_MS found nothing by that name.
      const stalled = await world.kube.waitForConnector(
        'typo',
        (o) => condition(o, ConditionType.Stalled)?.status === 'True',
        'Stalled',
        () => world.operator.tail(),
        CREATE_REFUSAL_CONFIRM_MS + 30_000,
      );
      const reason = condition(stalled, ConditionType.Stalled);
      assert.equal(reason?.reason, VpcConnectorReason.InvalidInput);
      assert.ok(reason.message.includes(`"The subnet ID '${missing}' does not exist."`), reason.message);
      // Resyncs every 2 s look again but do not call AWS's create again for this generation.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const creates = (await world.calls()).filter((c) => c.operation === 'CreateVpcConnector');
      assert.equal(creates.length, 1, 'no retry storm');

      await world.kube.patchConnectorSpec('typo', { subnets: [SUBNETS[0]] });
      const ready = await world.kube.waitForConnector(
        'typo',
        isReady(VpcConnectorReason.Available),
        'Ready after the fix',
        () => world.operator.tail(),
      );
      assert.equal(condition(ready, ConditionType.Stalled), undefined);
      assert.equal(ready.status?.observedGeneration, 2);
      await world.kube.deleteConnector('typo');
      await world.kube.waitForGone('typo', () => world.operator.tail());
    } finally {
      await world.finish();
    }
  });

  test('deletionPolicy Retain leaves the connector in AWS when the object goes', async () => {
    const world = await env.world({ serviceLinkedRole: true });
    try {
      await world.kube.createConnector('kept', {
        subnets: [SUBNETS[0]],
        securityGroups: [SECURITY_GROUP],
        deletionPolicy: 'Retain',
      });
      const ready = await world.kube.waitForConnector(
        'kept',
        isReady(VpcConnectorReason.Available),
        'Ready',
        () => world.operator.tail(),
      );
      await world.kube.deleteConnector('kept');
      await world.kube.waitForGone('kept', () => world.operator.tail());
      const connectors = await world.connectors();
      assert.deepEqual(
        connectors.map((c) => [c.arn, c.status]),
        [[ready.status?.vpcConnectorArn, 'ACTIVE']],
      );
      assert.ok(!(await world.operatorMutations()).some((c) => c.operation === 'DeleteVpcConnector'));
      assert.ok((await world.kube.eventReasons('kept')).includes('Retained'));
    } finally {
      await world.finish();
    }
  });
});
