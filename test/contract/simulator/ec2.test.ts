// The EC2 subset: the seeded network, CreateVpcConnector's checks of subnets and security groups,
// and the ENIs App Runner manages under its service-linked role (issue 3 "EC2 subset"; the policy
// in shared/seed/).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateServiceCommand, ListVpcConnectorsCommand } from '@aws-sdk/client-apprunner';
import {
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  type NetworkInterface,
} from '@aws-sdk/client-ec2';
import {
  DEFAULT_EGRESS,
  MANAGED_TAG,
  describeService,
  listAllOperations,
  SETTLE_MS,
  WORLD,
  createConnector,
  expectAwsError,
  startHarness,
  updateNetwork,
  updateNetworkAndSettle,
  vpcEgress,
  type Harness,
  type PolicyDocument,
} from './fixtures.ts';

async function managedEnis(h: Harness): Promise<NetworkInterface[]> {
  const { NetworkInterfaces } = await h.ec2.send(new DescribeNetworkInterfacesCommand({}));
  return (NetworkInterfaces ?? []).filter((eni) => (eni.TagSet ?? []).some((tag) => tag.Key === MANAGED_TAG));
}

void describe('Seeded EC2 network', () => {
  void test('DescribeVpcs, DescribeSubnets and DescribeSecurityGroups show the seeded world', async (t) => {
    const h = await startHarness(t);
    const { Vpcs } = await h.ec2.send(new DescribeVpcsCommand({ VpcIds: [WORLD.vpc1.id] }));
    assert.deepEqual(
      Vpcs?.map((v) => [v.VpcId, v.CidrBlock]),
      [[WORLD.vpc1.id, WORLD.vpc1.cidr]],
    );
    const { Subnets } = await h.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [...WORLD.vpc1.subnets] }));
    assert.deepEqual(
      Subnets?.map((s) => [s.SubnetId, s.VpcId]).sort(),
      WORLD.vpc1.subnets.map((id) => [id, WORLD.vpc1.id]).sort(),
    );
    const { SecurityGroups } = await h.ec2.send(
      new DescribeSecurityGroupsCommand({ GroupIds: [WORLD.vpc2.securityGroup] }),
    );
    assert.deepEqual(
      SecurityGroups?.map((g) => [g.GroupId, g.VpcId]),
      [[WORLD.vpc2.securityGroup, WORLD.vpc2.id]],
    );
  });

  void test('EC2 is regional: the other region sees only its own VPC', async (t) => {
    const h = await startHarness(t);
    const eu = h.clientsFor('eu-west-1');
    const { Vpcs } = await eu.ec2.send(new DescribeVpcsCommand({}));
    assert.deepEqual(
      Vpcs?.map((v) => v.VpcId).filter((id) => Object.values(WORLD).some((w) => w.id === id)),
      [WORLD.otherRegion.id],
    );
  });

  void test('filters by vpc-id select the subnets of one VPC', async (t) => {
    const h = await startHarness(t);
    const { Subnets } = await h.ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [WORLD.vpc1.id] }] }),
    );
    assert.deepEqual(Subnets?.map((s) => s.SubnetId).sort(), [...WORLD.vpc1.subnets].sort());
  });

  const notFound = [
    {
      reason: 'an unknown subnet id',
      call: (h: Harness) =>
        h.ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-0fffffffffffffff0'] })),
      name: 'InvalidSubnetID.NotFound',
    },
    {
      reason: 'an unknown security group id',
      call: (h: Harness) =>
        h.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0fffffffffffffff0'] })),
      name: 'InvalidGroup.NotFound',
    },
    {
      reason: 'an unknown VPC id',
      call: (h: Harness) => h.ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-0fffffffffffffff0'] })),
      name: 'InvalidVpcID.NotFound',
    },
  ];
  for (const { reason, call, name } of notFound) {
    void test(`describing ${reason} answers ${name} (HTTP 400)`, async (t) => {
      const h = await startHarness(t);
      await expectAwsError(call(h), { name, status: 400 });
    });
  }
});

void describe('CreateVpcConnector checks its network', () => {
  const cases = [
    {
      reason: 'a subnet that does not exist',
      subnets: ['subnet-0fffffffffffffff0'],
      groups: [WORLD.vpc1.securityGroup],
    },
    {
      reason: 'a security group that does not exist',
      subnets: [WORLD.vpc1.subnets[0]],
      groups: ['sg-0fffffffffffffff0'],
    },
    {
      reason: 'subnets from two VPCs',
      subnets: [WORLD.vpc1.subnets[0], WORLD.vpc2.subnets[0]],
      groups: [WORLD.vpc1.securityGroup],
    },
    {
      reason: 'a subnet of another region',
      subnets: [WORLD.otherRegion.subnets[0]],
      groups: [WORLD.vpc1.securityGroup],
    },
  ];
  for (const { reason, subnets, groups } of cases) {
    void test(`rejects ${reason} with InvalidRequestException and creates nothing`, async (t) => {
      const h = await startHarness(t);
      await expectAwsError(createConnector(h.apprunner, 'bad-net', subnets, groups), {
        name: 'InvalidRequestException',
        status: 400,
      });
      const { VpcConnectors } = await h.apprunner.send(new ListVpcConnectorsCommand({}));
      assert.deepEqual(VpcConnectors, []);
    });
  }
});

void describe('App Runner manages ENIs under its service-linked role', () => {
  void test('attaching a service creates ENIs tagged AWSAppRunnerManaged in the connector subnets; detaching removes them', async (t) => {
    const h = await startHarness(t);
    assert.deepEqual(await managedEnis(h), []);
    const connector = await createConnector(h.apprunner, 'eni-conn');
    const arn = h.serviceArn('svc-alpha');
    await updateNetworkAndSettle(h, arn, vpcEgress(connector.VpcConnectorArn));

    const enis = await managedEnis(h);
    assert.ok(enis.length > 0, 'an attached service has ENIs');
    const subnetsWithEnis = new Set(enis.map((eni) => eni.SubnetId));
    assert.deepEqual(
      [...subnetsWithEnis].sort(),
      [...WORLD.vpc1.subnets].sort(),
      'one or more ENIs in every connector subnet',
    );
    for (const eni of enis) {
      assert.equal(eni.VpcId, WORLD.vpc1.id);
      assert.match(eni.NetworkInterfaceId ?? '', /^eni-[0-9a-f]+$/);
      assert.ok(
        (eni.Groups ?? []).some((g) => g.GroupId === WORLD.vpc1.securityGroup),
        'the ENI carries the connector SG',
      );
    }

    const { NetworkInterfaces: bySubnet } = await h.ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'subnet-id', Values: [WORLD.vpc1.subnets[0]] }],
      }),
    );
    assert.ok((bySubnet ?? []).length > 0, 'the subnet-id filter finds them');
    assert.ok((bySubnet ?? []).every((eni) => eni.SubnetId === WORLD.vpc1.subnets[0]));

    await updateNetworkAndSettle(h, arn, DEFAULT_EGRESS);
    assert.deepEqual(await managedEnis(h), [], 'detach deleted the ENIs');
  });

  void test('two services on one connector keep ENIs until the last one detaches', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'shared-eni');
    const alpha = h.serviceArn('svc-alpha');
    const bravo = h.serviceArn('svc-bravo');
    await updateNetworkAndSettle(h, alpha, vpcEgress(connector.VpcConnectorArn));
    await updateNetworkAndSettle(h, bravo, vpcEgress(connector.VpcConnectorArn));
    await updateNetworkAndSettle(h, alpha, DEFAULT_EGRESS);
    assert.ok((await managedEnis(h)).length > 0, 'bravo still uses the connector');
    await updateNetwork(h.apprunner, bravo, DEFAULT_EGRESS);
    h.clock.advance(SETTLE_MS);
    assert.deepEqual(await managedEnis(h), []);
  });
});

void describe('A broken SLR permissions policy shows', () => {
  // The published policy, except that CreateNetworkInterface now demands a tag key App Runner does not use.
  const broken: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeVpcs',
          'ec2:DescribeDhcpOptions',
          'ec2:DescribeSubnets',
          'ec2:DescribeSecurityGroups',
        ],
        Resource: '*',
      },
      {
        Effect: 'Allow',
        Action: 'ec2:CreateNetworkInterface',
        Resource: '*',
        Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['SomeOtherTag'] } },
      },
      {
        Effect: 'Allow',
        Action: 'ec2:CreateTags',
        Resource: 'arn:aws:ec2:*:*:network-interface/*',
        Condition: {
          StringEquals: { 'ec2:CreateAction': 'CreateNetworkInterface' },
          StringLike: { 'aws:RequestTag/AWSAppRunnerManaged': '*' },
        },
      },
      {
        Effect: 'Allow',
        Action: 'ec2:DeleteNetworkInterface',
        Resource: '*',
        Condition: { Null: { 'ec2:ResourceTag/AWSAppRunnerManaged': 'false' } },
      },
    ],
  };

  const published = JSON.parse(
    JSON.stringify(broken).replace('"SomeOtherTag"', `"${MANAGED_TAG}"`),
  ) as PolicyDocument;

  void test('an attach whose ENIs the policy denies rolls back, creates no ENI and is listed as a violation', async (t) => {
    const h = await startHarness(t, { knobs: { slrPolicy: broken } });
    const connector = await createConnector(h.apprunner, 'broken-policy');
    const arn = h.serviceArn('svc-alpha');
    const before = await describeService(h.apprunner, arn);
    await updateNetwork(h.apprunner, arn, vpcEgress(connector.VpcConnectorArn));
    h.clock.advance(SETTLE_MS);
    const [op] = await listAllOperations(h.apprunner, arn);
    assert.equal(op?.Status, 'ROLLBACK_SUCCEEDED');
    const after = await describeService(h.apprunner, arn);
    assert.equal(after.Status, 'RUNNING');
    assert.deepEqual(after.NetworkConfiguration, before.NetworkConfiguration);
    assert.deepEqual(await managedEnis(h), []);
    const violations = await h.admin.violations();
    assert.ok(violations.length >= 1, 'the denied ENI action is a violation');
    assert.match(JSON.stringify(violations), /CreateNetworkInterface/);
  });

  void test('a service created on a VPC whose ENIs are denied ends CREATE_FAILED and can be rebuilt with UpdateService', async (t) => {
    const h = await startHarness(t, { knobs: { slrPolicy: broken } });
    const connector = await createConnector(h.apprunner, 'broken-create');
    const { Service: created } = await h.apprunner.send(
      new CreateServiceCommand({
        ServiceName: 'born-broken',
        SourceConfiguration: {
          ImageRepository: {
            ImageIdentifier: 'public.ecr.aws/aws-containers/hello-app-runner:latest',
            ImageRepositoryType: 'ECR_PUBLIC',
            ImageConfiguration: { Port: '8000' },
          },
          AutoDeploymentsEnabled: false,
        },
        NetworkConfiguration: vpcEgress(connector.VpcConnectorArn),
      }),
    );
    const arn = created?.ServiceArn ?? '';
    h.clock.advance(SETTLE_MS);
    assert.equal((await describeService(h.apprunner, arn)).Status, 'CREATE_FAILED');
    const [createOp] = await listAllOperations(h.apprunner, arn);
    assert.equal(createOp?.Type, 'CREATE_SERVICE');
    assert.equal(createOp.Status, 'FAILED');

    // Since June 2023 a CREATE_FAILED service can be rebuilt with UpdateService (semantics.md §7.2).
    await h.admin.faults({ slrPolicy: published });
    await updateNetwork(h.apprunner, arn, DEFAULT_EGRESS);
    h.clock.advance(SETTLE_MS);
    assert.equal((await describeService(h.apprunner, arn)).Status, 'RUNNING');
  });

  void test('the published policy, given explicitly, lets the same attach succeed', async (t) => {
    const h = await startHarness(t, { knobs: { slrPolicy: published } });
    const connector = await createConnector(h.apprunner, 'good-policy');
    await updateNetworkAndSettle(h, h.serviceArn('svc-alpha'), vpcEgress(connector.VpcConnectorArn));
    assert.ok((await managedEnis(h)).length > 0);
    assert.deepEqual(await h.admin.violations(), []);
  });
});

void describe('EC2 wire format', () => {
  void test('errors are Response/Errors/Error XML with Code and Message and a RequestID', async (t) => {
    const h = await startHarness(t);
    const response = await fetch(`${h.url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`,
      },
      body: 'Action=DescribeSubnets&Version=2016-11-15&SubnetId.1=subnet-0fffffffffffffff0',
    });
    assert.equal(response.status, 400);
    const xml = await response.text();
    assert.match(
      xml,
      /<Response>\s*<Errors>\s*<Error>\s*<Code>InvalidSubnetID\.NotFound<\/Code>\s*<Message>[^<]*subnet-0fffffffffffffff0[^<]*<\/Message>\s*<\/Error>\s*<\/Errors>\s*<RequestID>[^<]+<\/RequestID>\s*<\/Response>/,
    );
  });
});
