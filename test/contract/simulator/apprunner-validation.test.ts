// App Runner wire protocol and server-side validation (semantics.md §3.1, §4, §12, §14 items 1–3).
// botocore and the JS SDK validate little client-side, so every constraint of §4 must be enforced
// by the server: each case below is one constraint, broken once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateServiceCommand,
  CreateVpcConnectorCommand,
  DescribeVpcConnectorCommand,
  ListOperationsCommand,
  ListServicesCommand,
  ListVpcConnectorsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateServiceCommand,
  type AppRunnerClient,
  type EgressType,
  type IpAddressType,
} from '@aws-sdk/client-apprunner';
import {
  ACCOUNT,
  EPOCH,
  REGION,
  WORLD,
  createConnector,
  expectAwsError,
  rawAppRunner,
  startHarness,
} from './fixtures.ts';

const connector = (name: string, extra: Partial<{ Tags: { Key: string; Value: string }[] }> = {}) =>
  new CreateVpcConnectorCommand({
    VpcConnectorName: name,
    Subnets: [...WORLD.vpc1.subnets],
    SecurityGroups: [WORLD.vpc1.securityGroup],
    ...extra,
  });

const image = {
  ImageRepository: {
    ImageIdentifier: 'public.ecr.aws/aws-containers/hello-app-runner:latest',
    ImageRepositoryType: 'ECR_PUBLIC' as const,
    ImageConfiguration: { Port: '8000' },
  },
  AutoDeploymentsEnabled: false,
};

interface InvalidCase {
  reason: string;
  call: (apprunner: AppRunnerClient, serviceArn: string) => Promise<unknown>;
}

const invalidCases: InvalidCase[] = [
  {
    reason: 'a connector name of 3 characters is below the minimum of 4',
    call: (c) => c.send(connector('abc')),
  },
  {
    reason: 'a connector name of 41 characters is above the maximum of 40',
    call: (c) => c.send(connector('a'.repeat(41))),
  },
  { reason: 'a connector name must start with a letter or digit', call: (c) => c.send(connector('-abcd')) },
  { reason: 'a connector name cannot contain a dot', call: (c) => c.send(connector('abc.d')) },
  { reason: 'a connector name cannot contain a space', call: (c) => c.send(connector('ab cd')) },
  {
    reason: 'the name pattern is anchored at the end (a bad last character)',
    call: (c) => c.send(connector('abcd!')),
  },
  {
    reason: 'the name pattern is anchored at the start (a bad first character)',
    call: (c) => c.send(connector('!abcd')),
  },
  {
    reason: 'a tag key starting with aws: is reserved',
    call: (c) => c.send(connector('tag-aws', { Tags: [{ Key: 'aws:owner', Value: 'x' }] })),
  },
  {
    reason: 'an empty tag key is below the minimum of 1',
    call: (c) => c.send(connector('tag-empty', { Tags: [{ Key: '', Value: 'x' }] })),
  },
  {
    reason: 'a tag key of 129 characters is above the maximum of 128',
    call: (c) => c.send(connector('tag-long', { Tags: [{ Key: 'k'.repeat(129), Value: 'x' }] })),
  },
  {
    reason: 'a tag value of 257 characters is above the maximum of 256',
    call: (c) => c.send(connector('tag-value', { Tags: [{ Key: 'k', Value: 'v'.repeat(257) }] })),
  },
  {
    reason: 'ListVpcConnectors MaxResults 0 is below the minimum of 1',
    call: (c) => c.send(new ListVpcConnectorsCommand({ MaxResults: 0 })),
  },
  {
    reason: 'ListVpcConnectors MaxResults 101 is above the maximum of 100',
    call: (c) => c.send(new ListVpcConnectorsCommand({ MaxResults: 101 })),
  },
  {
    reason: 'ListVpcConnectors NextToken has a minimum length of 1',
    call: (c) => c.send(new ListVpcConnectorsCommand({ NextToken: '' })),
  },
  {
    reason: 'ListVpcConnectors NextToken has a maximum length of 1024',
    call: (c) => c.send(new ListVpcConnectorsCommand({ NextToken: 'x'.repeat(1025) })),
  },
  {
    reason: 'ListServices MaxResults 0 is below the minimum of 1',
    call: (c) => c.send(new ListServicesCommand({ MaxResults: 0 })),
  },
  {
    reason: 'ListServices MaxResults 21 is above the maximum of 20',
    call: (c) => c.send(new ListServicesCommand({ MaxResults: 21 })),
  },
  {
    reason: 'ListOperations MaxResults 0 is below the minimum of 1',
    call: (c, arn) => c.send(new ListOperationsCommand({ ServiceArn: arn, MaxResults: 0 })),
  },
  {
    reason: 'ListOperations MaxResults 21 is above the maximum of 20',
    call: (c, arn) => c.send(new ListOperationsCommand({ ServiceArn: arn, MaxResults: 21 })),
  },
  {
    reason: 'a connector ARN must match the AppRunnerResourceArn pattern',
    call: (c) => c.send(new DescribeVpcConnectorCommand({ VpcConnectorArn: 'not-an-arn' })),
  },
  {
    reason: 'the account field of an ARN must be 12 digits',
    call: (c) =>
      c.send(
        new DescribeVpcConnectorCommand({
          VpcConnectorArn: `arn:aws:apprunner:${REGION}:12345:vpcconnector/abcd/1/0123456789abcdef0123456789abcdef`,
        }),
      ),
  },
  {
    reason: 'an ARN longer than 1011 characters is above the maximum',
    call: (c) =>
      c.send(
        new DescribeVpcConnectorCommand({
          VpcConnectorArn: `arn:aws:apprunner:${REGION}:${ACCOUNT}:vpcconnector/${'a'.repeat(1000)}/1/0123456789abcdef0123456789abcdef`,
        }),
      ),
  },
  {
    reason: 'EgressType must be DEFAULT or VPC',
    call: (c, arn) =>
      c.send(
        new UpdateServiceCommand({
          ServiceArn: arn,
          // A value outside the enum, as a client built from a newer or broken model could send.
          NetworkConfiguration: { EgressConfiguration: { EgressType: 'PRIVATE' as EgressType } },
        }),
      ),
  },
  {
    reason: 'IpAddressType must be IPV4 or DUAL_STACK',
    call: (c, arn) =>
      c.send(
        new UpdateServiceCommand({
          ServiceArn: arn,
          NetworkConfiguration: { IpAddressType: 'IPV6' as IpAddressType },
        }),
      ),
  },
  {
    reason: 'TagResource refuses an aws: key',
    call: (c, arn) =>
      c.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'aws:cloudformation', Value: 'x' }] })),
  },
  {
    reason: 'UntagResource refuses an aws: key',
    call: (c, arn) => c.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['aws:cloudformation'] })),
  },
  {
    reason: 'a service name of 3 characters is below the minimum of 4',
    call: (c) => c.send(new CreateServiceCommand({ ServiceName: 'abc', SourceConfiguration: image })),
  },
  {
    reason: 'a service name must start with a letter or digit',
    call: (c) => c.send(new CreateServiceCommand({ ServiceName: '_abcd', SourceConfiguration: image })),
  },
];

void describe('Server-side validation answers InvalidRequestException (HTTP 400)', () => {
  for (const { reason, call } of invalidCases) {
    void test(`rejects the request because ${reason}`, async (t) => {
      const h = await startHarness(t);
      await expectAwsError(call(h.apprunner, h.serviceArn('svc-alpha')), {
        name: 'InvalidRequestException',
        status: 400,
      });
    });
  }

  const requiredCases = [
    {
      reason: 'CreateVpcConnector without VpcConnectorName',
      operation: 'CreateVpcConnector',
      input: { Subnets: [WORLD.vpc1.subnets[0]] },
    },
    {
      reason: 'CreateVpcConnector without Subnets',
      operation: 'CreateVpcConnector',
      input: { VpcConnectorName: 'no-subnets' },
    },
    { reason: 'DescribeVpcConnector without VpcConnectorArn', operation: 'DescribeVpcConnector', input: {} },
    { reason: 'DeleteVpcConnector without VpcConnectorArn', operation: 'DeleteVpcConnector', input: {} },
    { reason: 'UpdateService without ServiceArn', operation: 'UpdateService', input: {} },
    { reason: 'ListOperations without ServiceArn', operation: 'ListOperations', input: {} },
    {
      reason: 'TagResource without Tags',
      operation: 'TagResource',
      input: {
        ResourceArn: `arn:aws:apprunner:${REGION}:${ACCOUNT}:service/abcd/0123456789abcdef0123456789abcdef`,
      },
    },
  ] as const;
  for (const { reason, operation, input } of requiredCases) {
    void test(`rejects ${reason} (a required member is missing)`, async (t) => {
      const h = await startHarness(t);
      const response = await rawAppRunner(h.url, operation, input);
      assert.equal(response.status, 400);
      assert.equal(response.body.__type, 'InvalidRequestException');
      assert.equal(typeof response.body.Message, 'string');
    });
  }

  void test('names at the boundaries (4 and 40 characters) are accepted', async (t) => {
    const h = await startHarness(t);
    await createConnector(h.apprunner, 'a1_-');
    await createConnector(h.apprunner, `Z${'9'.repeat(39)}`);
  });

  void test('ListVpcConnectors accepts MaxResults 1 and 100, ListServices and ListOperations accept 20', async (t) => {
    const h = await startHarness(t);
    await h.apprunner.send(new ListVpcConnectorsCommand({ MaxResults: 1 }));
    await h.apprunner.send(new ListVpcConnectorsCommand({ MaxResults: 100 }));
    await h.apprunner.send(new ListServicesCommand({ MaxResults: 20 }));
    await h.apprunner.send(
      new ListOperationsCommand({ ServiceArn: h.serviceArn('svc-alpha'), MaxResults: 20 }),
    );
  });
});

void describe('awsJson1_0 wire format', () => {
  void test('errors carry a bare __type, a Message member and a request id header', async (t) => {
    const h = await startHarness(t);
    const response = await rawAppRunner(h.url, 'ListVpcConnectors', { MaxResults: 0 });
    assert.equal(response.status, 400);
    assert.equal(response.body.__type, 'InvalidRequestException');
    assert.equal(typeof response.body.Message, 'string');
    assert.ok((response.headers.get('x-amzn-requestid') ?? '') !== '', 'x-amzn-requestid is set');
  });

  void test('successful responses are JSON with epoch-second numbers for timestamps', async (t) => {
    const h = await startHarness(t);
    const response = await rawAppRunner(h.url, 'CreateVpcConnector', {
      VpcConnectorName: 'wire-format',
      Subnets: [...WORLD.vpc1.subnets],
      SecurityGroups: [WORLD.vpc1.securityGroup],
    });
    assert.equal(response.status, 200);
    assert.ok((response.headers.get('x-amzn-requestid') ?? '') !== '');
    const connectorBody = response.body.VpcConnector as Record<string, unknown>;
    assert.equal(typeof connectorBody.CreatedAt, 'number');
    assert.equal(connectorBody.CreatedAt, EPOCH / 1000);
    assert.equal(connectorBody.VpcConnectorRevision, 1);
  });

  void test('TagResource answers an empty JSON object', async (t) => {
    const h = await startHarness(t);
    const response = await rawAppRunner(h.url, 'TagResource', {
      ResourceArn: h.serviceArn('svc-alpha'),
      Tags: [{ Key: 'a', Value: 'b' }],
    });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, {});
  });

  void test('an unknown operation is an error, not a crash', async (t) => {
    const h = await startHarness(t);
    const response = await rawAppRunner(h.url, 'NoSuchOperation', {});
    assert.ok(response.status >= 400 && response.status < 500, `got ${response.status}`);
    assert.equal(typeof response.body.__type, 'string');
  });

  void test('the SDK sees the request id in $metadata', async (t) => {
    const h = await startHarness(t);
    const page = await h.apprunner.send(new ListServicesCommand({}));
    assert.ok((page.$metadata.requestId ?? '') !== '');
  });
});
