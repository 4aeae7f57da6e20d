// The simulator's own admin surface: the audit log, the invariant violations it sees (DESIGN.md §4),
// reset and seed, and the state file across a restart (issue 3 "Admin API").
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DeleteVpcConnectorCommand,
  DescribeVpcConnectorCommand,
  ListServicesCommand,
  ListVpcConnectorsCommand,
  TagResourceCommand,
} from '@aws-sdk/client-apprunner';
import { DeleteServiceLinkedRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import { DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import {
  DEFAULT_EGRESS,
  REGION,
  SLR_NAME,
  createConnector,
  describeService,
  expectAwsError,
  fakeClock,
  startHarness,
  tempStateFile,
  updateNetwork,
  updateNetworkAndSettle,
  vpcEgress,
} from './fixtures.ts';

void describe('Audit log', () => {
  void test('GET /_sim/calls lists every call in order with its region and outcome', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'audited');
    await expectAwsError(h.apprunner.send(new ListVpcConnectorsCommand({ MaxResults: 0 })), {
      name: 'InvalidRequestException',
      status: 400,
    });
    await h.apprunner.send(new DescribeVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn }));
    await h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME }));
    await h.ec2.send(new DescribeSubnetsCommand({}));

    const calls = await h.admin.calls();
    const ours = calls.filter((c) =>
      [
        'CreateVpcConnector',
        'ListVpcConnectors',
        'DescribeVpcConnector',
        'GetRole',
        'DescribeSubnets',
      ].includes(c.operation),
    );
    const fromFirstCreate = ours.slice(ours.findIndex((c) => c.operation === 'CreateVpcConnector'));
    assert.deepEqual(
      fromFirstCreate.map((c) => c.operation),
      ['CreateVpcConnector', 'ListVpcConnectors', 'DescribeVpcConnector', 'GetRole', 'DescribeSubnets'],
    );
    const [create, badList] = fromFirstCreate;
    assert.equal(create?.region, REGION);
    assert.match(String(create.raw.caller), /test/, 'the caller is the access key id');
    assert.ok(!Number.isNaN(Date.parse(String(create.raw.time))), 'each entry has a time');
    assert.equal(create.status, 200);
    assert.equal(badList?.status, 400);
    assert.equal(badList.error, 'InvalidRequestException');
    assert.match(JSON.stringify(create.raw), /audited/, 'key parameters (the connector name) are recorded');
  });

  void test('an UpdateService entry carries the request as sent, so an attach can be told from a detach', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'attach-detach');
    const arn = h.serviceArn('svc-alpha');
    await updateNetworkAndSettle(h, arn, vpcEgress(connector.VpcConnectorArn));
    await updateNetworkAndSettle(h, arn, DEFAULT_EGRESS);
    const updates = (await h.admin.calls()).filter((c) => c.operation === 'UpdateService');
    assert.deepEqual(
      updates.map((c) => [c.status, c.raw.params]),
      [
        [200, { ServiceArn: arn, NetworkConfiguration: vpcEgress(connector.VpcConnectorArn) }],
        [200, { ServiceArn: arn, NetworkConfiguration: DEFAULT_EGRESS }],
      ],
    );
  });
});

void describe('Violations', () => {
  void test('a clean run lists no violation', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'clean');
    const arn = h.serviceArn('svc-alpha');
    await updateNetworkAndSettle(h, arn, vpcEgress(connector.VpcConnectorArn));
    await updateNetworkAndSettle(h, arn, DEFAULT_EGRESS);
    await h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn }));
    assert.deepEqual(await h.admin.violations(), []);
  });

  void test('DeleteVpcConnector while in use is listed as a violation', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'violated');
    await updateNetworkAndSettle(h, h.serviceArn('svc-alpha'), vpcEgress(connector.VpcConnectorArn));
    await expectAwsError(
      h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn })),
      {
        name: 'InvalidRequestException',
        status: 400,
      },
    );
    const violations = await h.admin.violations();
    assert.equal(violations.length, 1, JSON.stringify(violations));
    assert.equal(violations[0]?.operation, 'DeleteVpcConnector');
    assert.match(
      JSON.stringify(violations[0].raw),
      new RegExp(connector.VpcConnectorArn.replaceAll('/', '\\/')),
    );
  });

  void test('DeleteServiceLinkedRole while a connector exists is listed as a violation', async (t) => {
    const h = await startHarness(t);
    await createConnector(h.apprunner, 'holds-role');
    await h.iam.send(new DeleteServiceLinkedRoleCommand({ RoleName: SLR_NAME }));
    const violations = await h.admin.violations();
    assert.equal(violations.length, 1, JSON.stringify(violations));
    assert.equal(violations[0]?.operation, 'DeleteServiceLinkedRole');
  });

  void test('UpdateService on a busy service is listed as a violation', async (t) => {
    const h = await startHarness(t);
    const arn = h.serviceArn('svc-alpha');
    await updateNetwork(h.apprunner, arn, { IngressConfiguration: { IsPubliclyAccessible: false } });
    await expectAwsError(updateNetwork(h.apprunner, arn, DEFAULT_EGRESS), {
      name: 'InvalidStateException',
      status: 400,
    });
    const violations = await h.admin.violations();
    assert.equal(violations.length, 1, JSON.stringify(violations));
    assert.equal(violations[0]?.operation, 'UpdateService');
    assert.match(JSON.stringify(violations[0].raw), new RegExp(arn.replaceAll('/', '\\/')));
  });

  void test('two callers mutating one resource within a short window are listed as a violation', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'contested');
    const replicaA = h.clientsFor(REGION, 'AKIDREPLICAA');
    const replicaB = h.clientsFor(REGION, 'AKIDREPLICAB');
    const tag = (value: string) =>
      new TagResourceCommand({
        ResourceArn: connector.VpcConnectorArn,
        Tags: [{ Key: 'owner', Value: value }],
      });
    await replicaA.apprunner.send(tag('a'));
    await replicaB.apprunner.send(tag('b'));
    const violations = await h.admin.violations();
    assert.ok(violations.length >= 1, 'the second caller is reported');
    assert.match(JSON.stringify(violations), /AKIDREPLICAB/);
  });
});

void describe('Reset and seed', () => {
  void test('POST /_sim/reset drops what the calls created and POST /_sim/seed adds a network and services', async (t) => {
    const h = await startHarness(t);
    await createConnector(h.apprunner, 'before-reset');
    await h.admin.reset();
    assert.deepEqual((await h.apprunner.send(new ListVpcConnectorsCommand({}))).VpcConnectors ?? [], []);
    await expectAwsError(h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME })), {
      name: 'NoSuchEntityException',
      status: 404,
    });
    await h.admin.seed({
      regions: {
        [REGION]: {
          vpcs: [
            {
              vpcId: 'vpc-0d000000000000001',
              cidrBlock: '10.4.0.0/16',
              subnets: [{ subnetId: 'subnet-0d000000000000011', cidrBlock: '10.4.1.0/24' }],
              securityGroups: [{ groupId: 'sg-0d000000000000021', groupName: 'late' }],
            },
          ],
          services: [{ serviceName: 'seeded-late' }],
        },
      },
    });
    const { Subnets } = await h.ec2.send(
      new DescribeSubnetsCommand({ SubnetIds: ['subnet-0d000000000000011'] }),
    );
    assert.equal(Subnets?.[0]?.VpcId, 'vpc-0d000000000000001');
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await h.apprunner.send(new ListServicesCommand({ NextToken: nextToken }));
      names.push(...(page.ServiceSummaryList ?? []).map((s) => s.ServiceName ?? ''));
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    assert.ok(names.includes('seeded-late'), `seeded service listed (got ${names.join(', ')})`);
    await createConnector(h.apprunner, 'after-seed', ['subnet-0d000000000000011'], ['sg-0d000000000000021']);
  });
});

void describe('State file', () => {
  void test('a simulator restarted on the same state file keeps connectors, services, operations and the SLR', async (t) => {
    const stateFile = tempStateFile(t);
    const clock = fakeClock();

    const first = await startHarness(t, { stateFile, clock });
    const connector = await createConnector(first.apprunner, 'persisted');
    const serviceArn = first.serviceArn('svc-alpha');
    await updateNetworkAndSettle(first, serviceArn, vpcEgress(connector.VpcConnectorArn));
    await first.close();

    const second = await startHarness(t, { stateFile, clock, empty: true });
    const { VpcConnector: again } = await second.apprunner.send(
      new DescribeVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn }),
    );
    assert.equal(again?.Status, 'ACTIVE');
    const service = await describeService(second.apprunner, serviceArn);
    assert.equal(
      service.NetworkConfiguration?.EgressConfiguration?.VpcConnectorArn,
      connector.VpcConnectorArn,
    );
    await second.iam.send(new GetRoleCommand({ RoleName: SLR_NAME }));
    await expectAwsError(
      second.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn })),
      {
        name: 'InvalidRequestException',
        status: 400,
      },
    );
  });

  void test('an operation in progress at shutdown finishes after the restart', async (t) => {
    const stateFile = tempStateFile(t);
    const clock = fakeClock();
    const first = await startHarness(t, { stateFile, clock });
    const serviceArn = first.serviceArn('svc-alpha');
    await updateNetwork(first.apprunner, serviceArn, {
      IngressConfiguration: { IsPubliclyAccessible: false },
    });
    await first.close();
    const second = await startHarness(t, { stateFile, clock, empty: true });
    assert.equal((await describeService(second.apprunner, serviceArn)).Status, 'OPERATION_IN_PROGRESS');
    clock.advance(10 * 60_000);
    assert.equal((await describeService(second.apprunner, serviceArn)).Status, 'RUNNING');
  });
});
