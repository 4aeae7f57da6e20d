// Injected faults and caller permissions (semantics.md §6, §8.1, §10, §14 item 7; issue 3 "Faults
// and knobs" and "Caller permissions"). Every client here makes one attempt, so what the SDK
// reports is what the simulator answered.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DescribeVpcConnectorCommand,
  ListServicesCommand,
  ListVpcConnectorsCommand,
} from '@aws-sdk/client-apprunner';
import { CreateServiceLinkedRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import { DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import { AppRunnerClient } from '@aws-sdk/client-apprunner';
import {
  REGION,
  SLR_NAME,
  SLR_SERVICE,
  STATIC_CREDENTIALS,
  createConnector,
  expectAwsError,
  startHarness,
  type Harness,
  type PolicyDocument,
} from './fixtures.ts';

void describe('Throttling', () => {
  void test('App Runner answers ThrottlingException with HTTP 400', async (t) => {
    const h = await startHarness(t, { knobs: { throttleAll: true } });
    await expectAwsError(h.apprunner.send(new ListServicesCommand({})), {
      name: 'ThrottlingException',
      status: 400,
    });
  });

  void test('IAM answers Throttling with HTTP 400', async (t) => {
    const h = await startHarness(t, { knobs: { throttleAll: true } });
    await expectAwsError(h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME })), {
      name: 'Throttling',
      status: 400,
    });
  });

  void test('EC2 answers RequestLimitExceeded', async (t) => {
    const h = await startHarness(t, { knobs: { throttleAll: true } });
    await expectAwsError(h.ec2.send(new DescribeSubnetsCommand({})), {
      name: 'RequestLimitExceeded',
      status: 503,
    });
  });

  void test('throttling set at runtime through the admin API applies to the next call and can be lifted', async (t) => {
    const h = await startHarness(t);
    await h.apprunner.send(new ListServicesCommand({}));
    await h.admin.faults({ throttleAll: true });
    await expectAwsError(h.apprunner.send(new ListServicesCommand({})), {
      name: 'ThrottlingException',
      status: 400,
    });
    await h.admin.faults({ throttleAll: false });
    await h.apprunner.send(new ListServicesCommand({}));
  });

  void test('an SDK client with its default retries sees a throttle it cannot get past as ThrottlingException', async (t) => {
    const h = await startHarness(t, { knobs: { throttleAll: true } });
    const retrying = new AppRunnerClient({
      region: REGION,
      endpoint: h.url,
      credentials: STATIC_CREDENTIALS,
      maxAttempts: 2,
      retryMode: 'standard',
    });
    t.after(() => {
      retrying.destroy();
    });
    const error = await expectAwsError(retrying.send(new ListServicesCommand({})), {
      name: 'ThrottlingException',
      status: 400,
    });
    assert.equal(
      (error as unknown as { $metadata: { attempts?: number } }).$metadata.attempts,
      2,
      'the SDK retried the throttle',
    );
  });
});

void describe('Server errors and quotas', () => {
  const internalErrors = [
    {
      reason: 'App Runner models it as InternalServiceErrorException',
      name: 'InternalServiceErrorException',
      call: (h: Harness) => h.apprunner.send(new ListVpcConnectorsCommand({})),
    },
    {
      reason: 'IAM answers the code ServiceFailure (SDK name ServiceFailureException)',
      name: 'ServiceFailureException',
      call: (h: Harness) => h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME })),
    },
    {
      reason: 'EC2 answers InternalError',
      name: 'InternalError',
      call: (h: Harness) => h.ec2.send(new DescribeSubnetsCommand({})),
    },
  ];
  for (const { reason, name, call } of internalErrors) {
    void test(`an internal error answers HTTP 500 as a server fault: ${reason}`, async (t) => {
      const h = await startHarness(t, { knobs: { internalErrorRate: 1 } });
      const error = await expectAwsError(call(h), { name, status: 500 });
      assert.equal((error as { $fault?: string }).$fault, 'server');
    });
  }

  void test('an SDK client with retries gets past a single internal error (5xx is transient)', async (t) => {
    const h = await startHarness(t, { knobs: { internalErrorNext: 1 } });
    const retrying = new AppRunnerClient({
      region: REGION,
      endpoint: h.url,
      credentials: STATIC_CREDENTIALS,
      maxAttempts: 3,
      retryMode: 'standard',
    });
    t.after(() => {
      retrying.destroy();
    });
    const page = await retrying.send(new ListVpcConnectorsCommand({}));
    assert.equal(page.$metadata.attempts, 2, 'the first attempt failed, the retry succeeded');
  });

  void test('the connector quota answers ServiceQuotaExceededException with HTTP 402 and creates nothing', async (t) => {
    const h = await startHarness(t, { knobs: { connectorQuota: 2 } });
    await createConnector(h.apprunner, 'quota-one');
    await createConnector(h.apprunner, 'quota-two');
    await expectAwsError(createConnector(h.apprunner, 'quota-three'), {
      name: 'ServiceQuotaExceededException',
      status: 402,
    });
    const { VpcConnectors } = await h.apprunner.send(new ListVpcConnectorsCommand({}));
    assert.deepEqual((VpcConnectors ?? []).map((c) => c.VpcConnectorName).sort(), ['quota-one', 'quota-two']);
  });

  void test('a quota error is final: an SDK client with retries does not retry it', async (t) => {
    const h = await startHarness(t, { knobs: { connectorQuota: 0 } });
    const retrying = new AppRunnerClient({
      region: REGION,
      endpoint: h.url,
      credentials: STATIC_CREDENTIALS,
      maxAttempts: 3,
      retryMode: 'standard',
    });
    t.after(() => {
      retrying.destroy();
    });
    const error = await expectAwsError(createConnector(retrying, 'over-quota'), {
      name: 'ServiceQuotaExceededException',
      status: 402,
    });
    assert.equal((error as unknown as { $metadata: { attempts?: number } }).$metadata.attempts, 1);
  });
});

void describe('AccessDenied on SLR creation', () => {
  void test('CreateVpcConnector answers AccessDeniedException (400), creates no connector and no role', async (t) => {
    const h = await startHarness(t, { knobs: { denySlrCreation: true } });
    await expectAwsError(createConnector(h.apprunner, 'no-slr'), {
      name: 'AccessDeniedException',
      status: 400,
    });
    const { VpcConnectors } = await h.apprunner.send(new ListVpcConnectorsCommand({}));
    assert.deepEqual(VpcConnectors, []);
    await expectAwsError(h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME })), {
      name: 'NoSuchEntityException',
      status: 404,
    });
  });

  void test('once the role exists, the fault no longer matters to CreateVpcConnector', async (t) => {
    const h = await startHarness(t, { knobs: { denySlrCreation: true } });
    await h.iam.send(new CreateServiceLinkedRoleCommand({ AWSServiceName: SLR_SERVICE }));
    const connector = await createConnector(h.apprunner, 'has-slr');
    assert.equal(connector.Status, 'ACTIVE');
  });
});

void describe('Caller identity policy', () => {
  const readOnly: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['apprunner:Describe*', 'apprunner:List*'], Resource: '*' }],
  };

  void test('a call the policy does not allow answers AccessDeniedException (400) and changes nothing', async (t) => {
    const h = await startHarness(t, { knobs: { callerPolicy: readOnly } });
    await expectAwsError(createConnector(h.apprunner, 'denied'), {
      name: 'AccessDeniedException',
      status: 400,
    });
    const { VpcConnectors } = await h.apprunner.send(new ListVpcConnectorsCommand({}));
    assert.deepEqual(VpcConnectors, []);
  });

  void test('IAM calls outside the policy answer AccessDenied (403)', async (t) => {
    const h = await startHarness(t, { knobs: { callerPolicy: readOnly } });
    await expectAwsError(h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME })), {
      name: 'AccessDenied',
      status: 403,
    });
  });

  void test('EC2 calls outside the policy answer UnauthorizedOperation (403)', async (t) => {
    const h = await startHarness(t, { knobs: { callerPolicy: readOnly } });
    await expectAwsError(h.ec2.send(new DescribeSubnetsCommand({})), {
      name: 'UnauthorizedOperation',
      status: 403,
    });
  });

  void test('an explicit Deny wins over an Allow with a wildcard', async (t) => {
    const policy: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'apprunner:*', Resource: '*' },
        { Effect: 'Deny', Action: 'apprunner:DescribeVpcConnector', Resource: '*' },
      ],
    };
    const h = await startHarness(t, { knobs: { callerPolicy: policy } });
    await h.apprunner.send(new ListServicesCommand({}));
    await expectAwsError(
      h.apprunner.send(
        new DescribeVpcConnectorCommand({
          VpcConnectorArn:
            'arn:aws:apprunner:us-east-1:123456789012:vpcconnector/abcd/1/0123456789abcdef0123456789abcdef',
        }),
      ),
      { name: 'AccessDeniedException', status: 400 },
    );
  });

  const slrCases = [
    { reason: 'the iam:AWSServiceName condition matches', pattern: 'networking.apprunner.*', allowed: true },
    {
      reason: 'the iam:AWSServiceName condition names another service',
      pattern: 'elasticbeanstalk.amazonaws.com',
      allowed: false,
    },
  ];
  for (const { reason, pattern, allowed } of slrCases) {
    void test(`CreateServiceLinkedRole is ${allowed ? 'allowed' : 'denied'} when ${reason}`, async (t) => {
      const policy: PolicyDocument = {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'iam:CreateServiceLinkedRole',
            Resource: `arn:aws:iam::*:role/aws-service-role/${SLR_SERVICE}/${SLR_NAME}`,
            Condition: { StringLike: { 'iam:AWSServiceName': pattern } },
          },
        ],
      };
      const h = await startHarness(t, { knobs: { callerPolicy: policy } });
      const call = h.iam.send(new CreateServiceLinkedRoleCommand({ AWSServiceName: SLR_SERVICE }));
      if (allowed) await call;
      else await expectAwsError(call, { name: 'AccessDenied', status: 403 });
    });
  }

  void test('resource wildcards restrict a call to matching ARNs', async (t) => {
    const policy: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'apprunner:ListVpcConnectors', Resource: '*' },
        {
          Effect: 'Allow',
          Action: 'apprunner:DescribeVpcConnector',
          Resource: 'arn:aws:apprunner:*:*:vpcconnector/team-a-*',
        },
      ],
    };
    const h = await startHarness(t, { knobs: { callerPolicy: policy } });
    const arn = (name: string): string =>
      `arn:aws:apprunner:us-east-1:123456789012:vpcconnector/${name}/1/0123456789abcdef0123456789abcdef`;
    // Allowed, so the request reaches the service and finds nothing there.
    await expectAwsError(
      h.apprunner.send(new DescribeVpcConnectorCommand({ VpcConnectorArn: arn('team-a-conn') })),
      {
        name: 'ResourceNotFoundException',
        status: 400,
      },
    );
    await expectAwsError(
      h.apprunner.send(new DescribeVpcConnectorCommand({ VpcConnectorArn: arn('team-b-conn') })),
      {
        name: 'AccessDeniedException',
        status: 400,
      },
    );
  });
});

void describe('Throttling by token bucket', () => {
  void test('reads beyond the burst are throttled until the bucket refills, and mutations have their own bucket', async (t) => {
    const h = await startHarness(t, { knobs: { readBucket: { ratePerSecond: 1, burst: 2 } } });
    await h.apprunner.send(new ListServicesCommand({}));
    await h.apprunner.send(new ListServicesCommand({}));
    await expectAwsError(h.apprunner.send(new ListServicesCommand({})), {
      name: 'ThrottlingException',
      status: 400,
    });
    await createConnector(h.apprunner, 'mutations-unaffected');
    h.clock.advance(1_000);
    await h.apprunner.send(new ListServicesCommand({}));
  });
});

void describe('Added latency', () => {
  void test('every answer is delayed by the configured latency', async (t) => {
    const h = await startHarness(t, { knobs: { latencyMs: 150 } });
    const started = performance.now();
    await h.apprunner.send(new ListServicesCommand({}));
    assert.ok(performance.now() - started >= 140, 'the call took at least the added latency');
  });
});

void describe('Eventual consistency windows', () => {
  void test('right after CreateVpcConnector creates the SLR, GetRole answers NoSuchEntity until the window passes', async (t) => {
    const h = await startHarness(t, { knobs: { slrReadDelayMs: 30_000 } });
    await createConnector(h.apprunner, 'slow-role');
    await expectAwsError(h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME })), {
      name: 'NoSuchEntityException',
      status: 404,
      message: `The role with name ${SLR_NAME} cannot be found.`,
    });
    h.clock.advance(30_001);
    await h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME }));
  });

  void test('a new connector is describable at once but missing from ListVpcConnectors until the window passes', async (t) => {
    const h = await startHarness(t, { knobs: { connectorListDelayMs: 10_000 } });
    const connector = await createConnector(h.apprunner, 'slow-list');
    await h.apprunner.send(new DescribeVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn }));
    assert.deepEqual((await h.apprunner.send(new ListVpcConnectorsCommand({}))).VpcConnectors ?? [], []);
    h.clock.advance(10_001);
    const { VpcConnectors } = await h.apprunner.send(new ListVpcConnectorsCommand({}));
    assert.deepEqual(
      (VpcConnectors ?? []).map((c) => c.VpcConnectorArn),
      [connector.VpcConnectorArn],
    );
  });
});
