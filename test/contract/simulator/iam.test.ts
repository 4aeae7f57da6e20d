// The networking service-linked role through IAM's awsQuery protocol (semantics.md §3.2, §8, §9,
// §14 items 12–13).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DeleteVpcConnectorCommand } from '@aws-sdk/client-apprunner';
import {
  CreateServiceLinkedRoleCommand,
  DeleteRoleCommand,
  DeleteServiceLinkedRoleCommand,
  GetRoleCommand,
  GetServiceLinkedRoleDeletionStatusCommand,
} from '@aws-sdk/client-iam';
import {
  ACCOUNT,
  EPOCH,
  OTHER_REGION,
  REGION,
  SLR_ARN,
  SLR_NAME,
  SLR_SERVICE,
  TIMINGS,
  WORLD,
  createConnector,
  expectAwsError,
  startHarness,
  type Harness,
} from './fixtures.ts';

const TASK_ID = new RegExp(
  `^task/aws-service-role/networking\\.apprunner\\.amazonaws\\.com/${SLR_NAME}/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`,
);

const noRole = `The role with name ${SLR_NAME} cannot be found.`;

async function statusOf(h: Harness, taskId: string): Promise<string | undefined> {
  return (await h.iam.send(new GetServiceLinkedRoleDeletionStatusCommand({ DeletionTaskId: taskId }))).Status;
}

async function deleteRole(h: Harness): Promise<string> {
  const { DeletionTaskId: taskId } = await h.iam.send(
    new DeleteServiceLinkedRoleCommand({ RoleName: SLR_NAME }),
  );
  assert.ok(taskId !== undefined, 'DeleteServiceLinkedRole returned no DeletionTaskId');
  return taskId;
}

async function createRole(h: Harness): Promise<void> {
  await h.iam.send(new CreateServiceLinkedRoleCommand({ AWSServiceName: SLR_SERVICE }));
}

void describe('The networking SLR', () => {
  void test('GetRole of the absent role answers NoSuchEntity (404) with the exact text', async (t) => {
    const h = await startHarness(t);
    await expectAwsError(h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME })), {
      name: 'NoSuchEntityException',
      status: 404,
      message: noRole,
    });
  });

  void test('CreateVpcConnector creates the role with the documented path, trust, ARN and session duration', async (t) => {
    const h = await startHarness(t);
    await createConnector(h.apprunner, 'makes-role');
    const { Role: role } = await h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME }));
    assert.ok(role !== undefined);
    assert.equal(role.RoleName, SLR_NAME);
    assert.equal(role.Path, `/aws-service-role/${SLR_SERVICE}/`);
    assert.equal(role.Arn, SLR_ARN);
    assert.equal(role.MaxSessionDuration, 3600);
    assert.ok((role.RoleId ?? '').length >= 16, 'RoleId has at least 16 characters');
    assert.equal(role.CreateDate?.getTime(), EPOCH, 'CreateDate is ISO-8601 from the injected clock');
    const trust = JSON.parse(decodeURIComponent(role.AssumeRolePolicyDocument ?? '')) as {
      Statement: { Effect: string; Principal: { Service: string | string[] }; Action: string | string[] }[];
    };
    const principals = trust.Statement.flatMap((s) => [s.Principal.Service].flat());
    assert.deepEqual(principals, [SLR_SERVICE]);
    assert.deepEqual([trust.Statement[0]?.Action].flat(), ['sts:AssumeRole']);
  });

  void test('the role is global: a connector created in another region makes it visible to IAM', async (t) => {
    const h = await startHarness(t);
    const eu = h.clientsFor(OTHER_REGION);
    await createConnector(eu.apprunner, 'eu-makes-role', WORLD.otherRegion.subnets, [
      WORLD.otherRegion.securityGroup,
    ]);
    for (const iam of [eu.iam, h.iam]) {
      const { Role: role } = await iam.send(new GetRoleCommand({ RoleName: SLR_NAME }));
      assert.equal(role?.Arn, SLR_ARN);
    }
  });

  void test('CreateServiceLinkedRole creates the role, and a second call answers InvalidInput (400) with the exact text', async (t) => {
    const h = await startHarness(t);
    const { Role: role } = await h.iam.send(
      new CreateServiceLinkedRoleCommand({ AWSServiceName: SLR_SERVICE }),
    );
    assert.equal(role?.RoleName, SLR_NAME);
    assert.equal(role.Arn, SLR_ARN);
    await expectAwsError(h.iam.send(new CreateServiceLinkedRoleCommand({ AWSServiceName: SLR_SERVICE })), {
      name: 'InvalidInputException',
      status: 400,
      message: `Service role name ${SLR_NAME} has been taken in this account, please try a different suffix.`,
    });
  });

  void test('DeleteRole on the SLR answers UnmodifiableEntity (400) with the exact text', async (t) => {
    const h = await startHarness(t);
    await createRole(h);
    await expectAwsError(h.iam.send(new DeleteRoleCommand({ RoleName: SLR_NAME })), {
      name: 'UnmodifiableEntityException',
      status: 400,
      message: `Cannot perform the operation on the protected role '${SLR_NAME}' - this role is only modifiable by AWS`,
    });
    await h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME }));
  });

  void test('DeleteServiceLinkedRole of the absent role answers NoSuchEntity (404)', async (t) => {
    const h = await startHarness(t);
    await expectAwsError(h.iam.send(new DeleteServiceLinkedRoleCommand({ RoleName: SLR_NAME })), {
      name: 'NoSuchEntityException',
      status: 404,
    });
  });
});

void describe('SLR deletion tasks', () => {
  void test('a deletion with no connector goes NOT_STARTED -> IN_PROGRESS -> SUCCEEDED and the role is gone', async (t) => {
    const h = await startHarness(t);
    await createRole(h);
    const taskId = await deleteRole(h);
    assert.match(taskId, TASK_ID);
    const seen = [await statusOf(h, taskId)];
    for (let i = 0; i < 6; i++) {
      h.clock.advance(TIMINGS.slrDeletionStepMs / 2);
      seen.push(await statusOf(h, taskId));
    }
    const distinct = seen.filter((s, i) => s !== seen[i - 1]);
    assert.deepEqual(distinct, ['NOT_STARTED', 'IN_PROGRESS', 'SUCCEEDED']);
    await expectAwsError(h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME })), {
      name: 'NoSuchEntityException',
      status: 404,
      message: noRole,
    });
  });

  void test('a second DeleteServiceLinkedRole while the task is incomplete returns the same task id', async (t) => {
    const h = await startHarness(t);
    await createRole(h);
    const first = await h.iam.send(new DeleteServiceLinkedRoleCommand({ RoleName: SLR_NAME }));
    h.clock.advance(1);
    const second = await h.iam.send(new DeleteServiceLinkedRoleCommand({ RoleName: SLR_NAME }));
    assert.equal(second.DeletionTaskId, first.DeletionTaskId);
  });

  void test('while connectors exist in any region the task FAILS with a Reason and a RoleUsageList per region', async (t) => {
    const h = await startHarness(t);
    const home = await createConnector(h.apprunner, 'keeps-role');
    const eu = h.clientsFor(OTHER_REGION);
    const away = await createConnector(eu.apprunner, 'keeps-role-eu', WORLD.otherRegion.subnets, [
      WORLD.otherRegion.securityGroup,
    ]);
    const taskId = await deleteRole(h);
    h.clock.advance(TIMINGS.slrDeletionStepMs * 4);
    const status = await h.iam.send(
      new GetServiceLinkedRoleDeletionStatusCommand({ DeletionTaskId: taskId }),
    );
    assert.equal(status.Status, 'FAILED');
    assert.ok((status.Reason?.Reason ?? '') !== '', 'a failure has a reason');
    const usage = Object.fromEntries(
      (status.Reason?.RoleUsageList ?? []).map((u) => [u.Region ?? '', [...(u.Resources ?? [])].sort()]),
    );
    assert.deepEqual(usage, {
      [REGION]: [home.VpcConnectorArn],
      [OTHER_REGION]: [away.VpcConnectorArn],
    });
    await h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME }));

    const retry = await h.iam.send(new DeleteServiceLinkedRoleCommand({ RoleName: SLR_NAME }));
    assert.notEqual(retry.DeletionTaskId, taskId, 'a new task after a terminal FAILED');
  });

  void test('after the connectors are deleted a new deletion task succeeds', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'short-lived');
    await h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn }));
    const taskId = await deleteRole(h);
    h.clock.advance(TIMINGS.slrDeletionStepMs * 4);
    assert.equal(await statusOf(h, taskId), 'SUCCEEDED');
  });

  void test('the SLR deletion fault makes a task FAIL even with no connector', async (t) => {
    const h = await startHarness(t);
    await createRole(h);
    await h.admin.faults({ slrDeletionFails: true });
    const taskId = await deleteRole(h);
    h.clock.advance(TIMINGS.slrDeletionStepMs * 4);
    assert.equal(await statusOf(h, taskId), 'FAILED');
  });

  void test('the status of an unknown task id answers NoSuchEntity (404) and of a malformed id InvalidInput (400)', async (t) => {
    const h = await startHarness(t);
    await expectAwsError(
      h.iam.send(
        new GetServiceLinkedRoleDeletionStatusCommand({
          DeletionTaskId: `task/aws-service-role/${SLR_SERVICE}/${SLR_NAME}/00000000-0000-4000-8000-000000000000`,
        }),
      ),
      { name: 'NoSuchEntityException', status: 404 },
    );
    await expectAwsError(
      h.iam.send(new GetServiceLinkedRoleDeletionStatusCommand({ DeletionTaskId: 'garbage' })),
      {
        name: 'InvalidInputException',
        status: 400,
      },
    );
  });

  void test('the recreated role after a deletion comes back with CreateVpcConnector', async (t) => {
    const h = await startHarness(t);
    await createRole(h);
    const taskId = await deleteRole(h);
    h.clock.advance(TIMINGS.slrDeletionStepMs * 4);
    assert.equal(await statusOf(h, taskId), 'SUCCEEDED');
    await createConnector(h.apprunner, 'recreates-role');
    const { Role: role } = await h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME }));
    assert.equal(role?.Arn, `arn:aws:iam::${ACCOUNT}:role/aws-service-role/${SLR_SERVICE}/${SLR_NAME}`);
  });
});

void describe('IAM wire format', () => {
  void test('errors are ErrorResponse XML with Type, Code and Message and a RequestId', async (t) => {
    const h = await startHarness(t);
    const response = await fetch(`${h.url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`,
      },
      body: `Action=GetRole&Version=2010-05-08&RoleName=${SLR_NAME}`,
    });
    assert.equal(response.status, 404);
    const xml = await response.text();
    assert.match(xml, /<ErrorResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/">/);
    assert.match(
      xml,
      /<Error>\s*<Type>Sender<\/Type>\s*<Code>NoSuchEntity<\/Code>\s*<Message>The role with name AWSServiceRoleForAppRunnerNetworking cannot be found\.<\/Message>\s*<\/Error>/,
    );
    assert.match(xml, /<RequestId>[^<]+<\/RequestId>/);
  });
});
