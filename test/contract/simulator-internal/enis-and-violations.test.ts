// The simulated App Runner's own EC2 actions (ENIs authorised by the SLR policy) and the invariant
// violations the simulator records (DESIGN.md §4), seen through the real SDK clients.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DeleteVpcConnectorCommand,
  DescribeServiceCommand,
  ListOperationsCommand,
} from '@aws-sdk/client-apprunner';
import { DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import { DeleteServiceLinkedRoleCommand } from '@aws-sdk/client-iam';
import { SETTLE, serviceArn, startSim, violations } from './support.ts';

const managedEnis = { Filters: [{ Name: 'tag-key', Values: ['AWSAppRunnerManaged'] }] };

void describe('ENIs of attached services', () => {
  void test('attaching creates one tagged ENI per connector subnet and detaching deletes them', async (t) => {
    const sim = await startSim(t);
    const svc = serviceArn(sim, 'svc-one');
    const connector = await sim.connector('eni-conn');
    await sim.attach(svc, connector);
    sim.clock.now += SETTLE;
    const { NetworkInterfaces: enis = [] } = await sim.ec2.send(
      new DescribeNetworkInterfacesCommand(managedEnis),
    );
    assert.deepEqual(enis.map((e) => e.SubnetId).sort(), [
      'subnet-00000000000000011',
      'subnet-00000000000000012',
    ]);
    for (const eni of enis) {
      assert.deepEqual(
        eni.Groups?.map((g) => g.GroupId),
        ['sg-00000000000000021'],
      );
      assert.deepEqual(eni.TagSet, [{ Key: 'AWSAppRunnerManaged', Value: 'true' }]);
      assert.equal(eni.VpcId, 'vpc-00000000000000001');
      assert.match(eni.NetworkInterfaceId ?? '', /^eni-[0-9a-f]{17}$/);
    }
    await sim.attach(svc, undefined);
    sim.clock.now += SETTLE;
    const after = await sim.ec2.send(new DescribeNetworkInterfacesCommand(managedEnis));
    assert.deepEqual(after.NetworkInterfaces, []);
  });

  void test('a SLR policy that forbids CreateNetworkInterface rolls the update back and records a violation', async (t) => {
    const sim = await startSim(t, {
      config: {
        slrPolicy: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }],
        },
      },
    });
    const svc = serviceArn(sim, 'svc-one');
    const connector = await sim.connector('broken-slr');
    await sim.attach(svc, connector);
    sim.clock.now += SETTLE;
    const { OperationSummaryList: ops = [] } = await sim.apprunner.send(
      new ListOperationsCommand({ ServiceArn: svc }),
    );
    assert.equal(ops[0]?.Status, 'ROLLBACK_SUCCEEDED');
    const { Service } = await sim.apprunner.send(new DescribeServiceCommand({ ServiceArn: svc }));
    assert.equal(Service?.Status, 'RUNNING');
    assert.equal(Service.NetworkConfiguration?.EgressConfiguration?.EgressType, 'DEFAULT');
    const found = (await violations(sim)).filter((v) => v.invariant.startsWith('SLR policy'));
    assert.equal(found.length, 1);
    assert.match(found[0]?.detail ?? '', /ec2:CreateNetworkInterface/);
    assert.deepEqual((await sim.ec2.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces, []);
  });
});

void describe('Violations', () => {
  void test('DeleteVpcConnector on a connector in use is refused and recorded', async (t) => {
    const sim = await startSim(t);
    const connector = await sim.connector('in-use');
    await sim.attach(serviceArn(sim, 'svc-one'), connector);
    await assert.rejects(sim.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector })), {
      name: 'InvalidRequestException',
    });
    const [v] = await violations(sim);
    assert.match(v?.invariant ?? '', /^I1: DeleteVpcConnector/);
    assert.equal(v?.resource, connector);
  });

  void test('DeleteServiceLinkedRole while a connector exists is recorded', async (t) => {
    const sim = await startSim(t);
    await sim.connector('keeps-role');
    await sim.iam.send(
      new DeleteServiceLinkedRoleCommand({ RoleName: 'AWSServiceRoleForAppRunnerNetworking' }),
    );
    const [v] = await violations(sim);
    assert.match(v?.invariant ?? '', /^I1: DeleteServiceLinkedRole/);
  });

  void test('UpdateService on a busy service is refused and recorded', async (t) => {
    const sim = await startSim(t);
    const svc = serviceArn(sim, 'svc-one');
    await sim.attach(svc, undefined);
    await assert.rejects(sim.attach(svc, undefined), { name: 'InvalidStateException' });
    const [v] = await violations(sim);
    assert.match(v?.invariant ?? '', /^I4/);
    assert.equal(v?.resource, svc);
  });

  void test('two callers told apart by their user-agent app id mutating one service within the window are recorded', async (t) => {
    const sim = await startSim(t, { config: { behaviour: { concurrentCallerWindowMs: 60_000 } } });
    const svc = serviceArn(sim, 'svc-one');
    const a = sim.clients({ accessKeyId: 'AKIDSAME', userAgentAppId: 'replica-a' });
    const b = sim.clients({ accessKeyId: 'AKIDSAME', userAgentAppId: 'replica-b' });
    await sim.attach(svc, undefined, a.apprunner);
    sim.clock.now += SETTLE;
    await sim.attach(svc, undefined, b.apprunner);
    const [v] = await violations(sim);
    assert.match(v?.invariant ?? '', /^I7/);
    assert.equal(v?.caller, 'AKIDSAME app/replica-b');
    assert.match(v.detail, /AKIDSAME app\/replica-a/);
  });

  void test('one caller mutating repeatedly is not a violation', async (t) => {
    const sim = await startSim(t);
    const svc = serviceArn(sim, 'svc-one');
    await sim.attach(svc, undefined);
    sim.clock.now += SETTLE;
    await sim.attach(svc, undefined);
    assert.deepEqual(await violations(sim), []);
  });
});

void describe('ENIs across a rolled-back detach', () => {
  void test('a detach that rolls back keeps the ENIs of the connector the service is back on', async (t) => {
    const sim = await startSim(t);
    const svc = serviceArn(sim, 'svc-one');
    const connector = await sim.connector('stays');
    await sim.attach(svc, connector);
    sim.clock.now += SETTLE;
    await sim.admin('POST', 'faults', { faults: { rollback: { next: 1 } } });
    await sim.attach(svc, undefined);
    sim.clock.now += SETTLE;
    const { OperationSummaryList: ops = [] } = await sim.apprunner.send(
      new ListOperationsCommand({ ServiceArn: svc }),
    );
    assert.equal(ops[0]?.Status, 'ROLLBACK_SUCCEEDED');
    const { NetworkInterfaces: enis = [] } = await sim.ec2.send(
      new DescribeNetworkInterfacesCommand(managedEnis),
    );
    assert.equal(enis.length, 2);
    await assert.rejects(sim.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector })), {
      name: 'InvalidRequestException',
    });
  });
});
