// SLR deletion tasks across regions, the in-use linger, runtime fault knobs, caller policy on the SLR
// side effect, the state file and the raw wire formats, seen through the SDKs and plain HTTP.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteVpcConnectorCommand,
  ListVpcConnectorsCommand,
  CreateVpcConnectorCommand,
} from '@aws-sdk/client-apprunner';
import {
  DeleteServiceLinkedRoleCommand,
  GetRoleCommand,
  GetServiceLinkedRoleDeletionStatusCommand,
} from '@aws-sdk/client-iam';
import { SETTLE, serviceArn, startSim } from './support.ts';

const SLR = 'AWSServiceRoleForAppRunnerNetworking';

void describe('SLR deletion tasks', () => {
  void test('a task fails with the connectors of every region, keeps its id while incomplete, and a later one succeeds', async (t) => {
    const sim = await startSim(t);
    const here = await sim.connector('role-user');
    const eu = sim.clients({ region: 'eu-west-1' });
    const { VpcConnector: there } = await eu.apprunner.send(
      new CreateVpcConnectorCommand({
        VpcConnectorName: 'role-user-eu',
        Subnets: ['subnet-00000000000000031'],
      }),
    );
    const { DeletionTaskId: first } = await sim.iam.send(
      new DeleteServiceLinkedRoleCommand({ RoleName: SLR }),
    );
    const { DeletionTaskId: again } = await sim.iam.send(
      new DeleteServiceLinkedRoleCommand({ RoleName: SLR }),
    );
    assert.equal(again, first, 'same task while it is incomplete');
    assert.match(
      first ?? '',
      /^task\/aws-service-role\/networking\.apprunner\.amazonaws\.com\/AWSServiceRoleForAppRunnerNetworking\/[0-9a-f-]{36}$/,
    );
    const status = (id: string | undefined) =>
      sim.iam.send(new GetServiceLinkedRoleDeletionStatusCommand({ DeletionTaskId: id }));
    assert.equal((await status(first)).Status, 'NOT_STARTED');
    sim.clock.now += 1000;
    assert.equal((await status(first)).Status, 'IN_PROGRESS');
    sim.clock.now += 1000;
    const failed = await status(first);
    assert.equal(failed.Status, 'FAILED');
    assert.deepEqual(
      failed.Reason?.RoleUsageList?.map((u) => [u.Region, u.Resources]),
      [
        ['us-east-1', [here]],
        ['eu-west-1', [there?.VpcConnectorArn]],
      ],
    );
    await sim.iam.send(new GetRoleCommand({ RoleName: SLR }));

    await sim.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: here }));
    await eu.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: there?.VpcConnectorArn }));
    const { DeletionTaskId: second } = await sim.iam.send(
      new DeleteServiceLinkedRoleCommand({ RoleName: SLR }),
    );
    assert.notEqual(second, first, 'a new task after a terminal one');
    sim.clock.now += 2000;
    assert.equal((await status(second)).Status, 'SUCCEEDED');
    await assert.rejects(sim.iam.send(new GetRoleCommand({ RoleName: SLR })), {
      name: 'NoSuchEntityException',
    });
  });
});

void describe('Connector in-use linger', () => {
  void test('a detached connector stays in use for the linger time after the detach finished', async (t) => {
    const sim = await startSim(t, { config: { consistency: { connectorReleaseLingerMs: 30_000 } } });
    const svc = serviceArn(sim, 'svc-one');
    const connector = await sim.connector('linger');
    await sim.attach(svc, connector);
    sim.clock.now += SETTLE;
    await sim.attach(svc, undefined);
    sim.clock.now += 5000; // the detach finished (1 s + 4 s), the linger has just begun
    await assert.rejects(sim.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector })), {
      name: 'InvalidRequestException',
      message: `Provided VPC connector arn is being used by other services. ARN:  ${connector}`,
    });
    sim.clock.now += 30_000;
    const { VpcConnector } = await sim.apprunner.send(
      new DeleteVpcConnectorCommand({ VpcConnectorArn: connector }),
    );
    assert.equal(VpcConnector?.Status, 'INACTIVE');
  });
});

void describe('Fault knobs at runtime', () => {
  void test('a read bucket throttles reads beyond its burst, refills with the clock, and leaves mutations alone', async (t) => {
    const sim = await startSim(t);
    await sim.admin('POST', 'faults', { faults: { throttling: { read: { ratePerSecond: 1, burst: 2 } } } });
    const list = () => sim.apprunner.send(new ListVpcConnectorsCommand({}));
    await list();
    await list();
    await assert.rejects(list(), { name: 'ThrottlingException' });
    await sim.connector('mutations-pass');
    sim.clock.now += 1000;
    await list();
  });

  void test('internalError.next fails exactly the next N matching calls', async (t) => {
    const sim = await startSim(t);
    await sim.admin('POST', 'faults', { faults: { internalError: { next: 2, operations: ['GetRole'] } } });
    await sim.connector('creates-role');
    const get = () => sim.iam.send(new GetRoleCommand({ RoleName: SLR }));
    await assert.rejects(get(), { name: 'ServiceFailureException' });
    await assert.rejects(get(), { name: 'ServiceFailureException' });
    await get();
  });

  void test('added latency delays the answer in real time', async (t) => {
    const sim = await startSim(t);
    await sim.admin('POST', 'faults', { faults: { latency: { fixedMs: 120 } } });
    const started = performance.now();
    await sim.apprunner.send(new ListVpcConnectorsCommand({}));
    assert.ok(performance.now() - started >= 110);
  });

  void test('an invalid knob is refused with a sentence and leaves the config as it was', async (t) => {
    const sim = await startSim(t);
    await assert.rejects(
      sim.admin('POST', 'faults', { faults: { throttling: { rate: 2 } } }),
      /faults\.throttling\.rate must be a number in \[0, 1\]/,
    );
    const { config } = (await sim.admin('GET', 'config')) as {
      config: { faults: { throttling: { rate: number } } };
    };
    assert.equal(config.faults.throttling.rate, 0);
  });
});

void describe('Caller policy and the SLR side effect', () => {
  const base = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow' as const,
        Action: ['apprunner:*', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups'],
        Resource: '*',
      },
    ],
  };

  void test('CreateVpcConnector needs ec2:DescribeSubnets and ec2:DescribeSecurityGroups from the caller', async (t) => {
    const sim = await startSim(t, {
      config: {
        callerPolicy: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'apprunner:*', Resource: '*' }],
        },
      },
    });
    await assert.rejects(sim.connector('needs-ec2'), {
      name: 'AccessDeniedException',
      message: /not authorized to perform: ec2:DescribeSubnets/,
    });
  });

  void test('CreateVpcConnector is denied when the policy lacks iam:CreateServiceLinkedRole and the role is absent', async (t) => {
    const sim = await startSim(t, { config: { callerPolicy: base } });
    await assert.rejects(sim.connector('needs-slr'), {
      name: 'AccessDeniedException',
      message: /iam:CreateServiceLinkedRole/,
    });
  });

  void test('CreateVpcConnector succeeds when the policy grants iam:CreateServiceLinkedRole for the networking principal', async (t) => {
    const sim = await startSim(t, {
      config: {
        callerPolicy: {
          ...base,
          Statement: [
            ...base.Statement,
            {
              Effect: 'Allow',
              Action: 'iam:CreateServiceLinkedRole',
              Resource: `arn:aws:iam::*:role/aws-service-role/networking.apprunner.amazonaws.com/${SLR}`,
              Condition: { StringLike: { 'iam:AWSServiceName': 'networking.apprunner.amazonaws.com' } },
            },
          ],
        },
      },
    });
    assert.match(await sim.connector('has-slr-permission'), /vpcconnector\/has-slr-permission\/1\//);
  });
});

void describe('State file and audit log', () => {
  void test('the state file holds the world and its violations after close', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-internal-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const stateFile = join(dir, 'world.json');
    const sim = await startSim(t, { stateFile });
    const connector = await sim.connector('saved');
    await sim.attach(serviceArn(sim, 'svc-one'), connector);
    await assert.rejects(sim.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector })));
    await sim.close();
    const world = JSON.parse(readFileSync(stateFile, 'utf8')) as {
      regions: Record<string, { connectors: { arn: string }[] }>;
      violations: unknown[];
    };
    assert.deepEqual(
      world.regions['us-east-1']?.connectors.map((c) => c.arn),
      [connector],
    );
    assert.equal(world.violations.length, 1);
  });

  void test('the audit log records caller, region, service, key parameters and outcome in order', async (t) => {
    const sim = await startSim(t);
    const eu = sim.clients({ region: 'eu-west-1', accessKeyId: 'AKIDEU', userAgentAppId: 'op-1' });
    await eu.apprunner.send(new ListVpcConnectorsCommand({ MaxResults: 5 }));
    await assert.rejects(sim.iam.send(new GetRoleCommand({ RoleName: SLR })));
    const { calls } = (await sim.admin('GET', 'calls')) as { calls: Record<string, unknown>[] };
    assert.deepEqual(
      calls.map((c) => [c.seq, c.caller, c.region, c.service, c.operation, c.params, c.status, c.errorCode]),
      [
        [
          1,
          'AKIDEU app/op-1',
          'eu-west-1',
          'apprunner',
          'ListVpcConnectors',
          { MaxResults: 5 },
          200,
          undefined,
        ],
        [2, 'AKIDTEST', 'us-east-1', 'iam', 'GetRole', { RoleName: SLR }, 404, 'NoSuchEntity'],
      ],
    );
  });
});

void describe('Wire formats', () => {
  const auth = (service: string) =>
    `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=00`;

  void test('EC2 errors use Response/Errors/Error with the real code and a RequestID', async (t) => {
    const sim = await startSim(t);
    const res = await fetch(sim.url, {
      method: 'POST',
      headers: { authorization: auth('ec2'), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=DescribeSubnets&Version=2016-11-15&SubnetId.1=subnet-0nope',
    });
    assert.equal(res.status, 400);
    assert.match(
      await res.text(),
      /<Response><Errors><Error><Code>InvalidSubnetID\.NotFound<\/Code><Message>The subnet ID 'subnet-0nope' does not exist<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/,
    );
  });

  void test('IAM errors use ErrorResponse with Type, Code and Message, routed by the Version when unsigned', async (t) => {
    const sim = await startSim(t);
    const res = await fetch(sim.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetRole&Version=2010-05-08&RoleName=nobody',
    });
    assert.equal(res.status, 404);
    assert.match(res.headers.get('x-amzn-requestid') ?? '', /^[0-9a-f-]{36}$/);
    assert.match(
      await res.text(),
      /^<ErrorResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/"><Error><Type>Sender<\/Type><Code>NoSuchEntity<\/Code><Message>The role with name nobody cannot be found\.<\/Message><\/Error><RequestId>/,
    );
  });

  void test('an unknown App Runner operation answers UnknownOperationException', async (t) => {
    const sim = await startSim(t);
    const res = await fetch(sim.url, {
      method: 'POST',
      headers: {
        authorization: auth('apprunner'),
        'x-amz-target': 'AppRunner.StartDeployment',
        'content-type': 'application/x-amz-json-1.0',
      },
      body: '{}',
    });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), {
      __type: 'UnknownOperationException',
      Message: 'Unknown operation StartDeployment',
    });
  });
});

void describe('Config checks', () => {
  void test('a misspelt knob is refused by name instead of being ignored', async (t) => {
    const sim = await startSim(t);
    await assert.rejects(
      sim.admin('POST', 'faults', { faults: { throttling: { readBucket: { ratePerSecond: 1, burst: 1 } } } }),
      /unknown config key faults\.throttling\.readBucket/,
    );
  });

  void test('an update failure outcome that is not an operation status is refused', async (t) => {
    const sim = await startSim(t);
    await assert.rejects(
      sim.admin('POST', 'faults', { faults: { rollback: { next: 1, outcome: 'ROLLED_BACK' } } }),
      /faults\.rollback\.outcome must be one of ROLLBACK_SUCCEEDED, ROLLBACK_FAILED, FAILED/,
    );
  });
});
