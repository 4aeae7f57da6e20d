// The AWS CLI against the simulator (issue 3 acceptance: "The AWS CLI … works against it for the App
// Runner and IAM operations above (--endpoint-url), including error output"). Runs only when an `aws`
// executable works on this machine (or the one named by APPRUNNER_NET_AWS_CLI); install it with
// `pip install awscli` (checked with aws-cli/1.45.11 and 1.46.3).
// The CLI runs asynchronously: the simulator lives in this process and must keep answering.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ACCOUNT,
  EPOCH,
  REGION,
  SETTLE_MS,
  SLR_ARN,
  SLR_NAME,
  SLR_SERVICE,
  WORLD,
  connectorArnPattern,
  startHarness,
  type Harness,
} from './fixtures.ts';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const home = mkdtempSync(join(tmpdir(), 'aws-cli-home-'));
// The CLI must see only what the test gives it: no profile, no instance metadata, no pager.
const cliEnv: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_'))),
  HOME: home,
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_DEFAULT_REGION: REGION,
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: join(home, 'absent-config'),
  AWS_SHARED_CREDENTIALS_FILE: join(home, 'absent-credentials'),
  AWS_PAGER: '',
};

after(() => {
  rmSync(home, { recursive: true, force: true });
});

const awsBin = process.env.APPRUNNER_NET_AWS_CLI ?? 'aws';
const version = await run(awsBin, ['--version'], cliEnv);
const skip =
  version.code === 0 ? false : 'no working `aws` executable on PATH (install with `pip install awscli`)';

async function aws(h: Harness, ...args: string[]): Promise<CliResult> {
  return run(awsBin, [...args, '--endpoint-url', h.url, '--region', REGION, '--output', 'json'], cliEnv);
}

async function awsJson(h: Harness, ...args: string[]): Promise<Record<string, unknown>> {
  const result = await aws(h, ...args);
  assert.equal(result.code, 0, `aws ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout === '' ? '{}' : result.stdout) as Record<string, unknown>;
}

/** aws-cli v1 exits 255 on a service error, v2 exits 254; both print the same error line. */
function assertServiceErrorExit(result: CliResult): void {
  assert.ok(result.code === 254 || result.code === 255, `exit code ${result.code}: ${result.stderr}`);
}

/** aws-cli v1 prints the service's epoch seconds as they came; v2 formats them as ISO 8601. */
function assertCliTime(value: unknown, epochMs: number): void {
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value) : NaN;
  assert.equal(ms, epochMs, `timestamp ${String(value)}`);
}

function errorLine(operation: string, code: string, message: string): string {
  return `An error occurred (${code}) when calling the ${operation} operation: ${message}`;
}

function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    current =
      typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[key] : undefined;
  }
  return current;
}

// The three tests each start their own simulator, so they run side by side (each CLI call costs ~1 s).
void describe('AWS CLI against the simulator', { skip, concurrency: true }, () => {
  void test(`App Runner connector and service commands work, including the in-use error (${version.stdout.trim() || version.stderr.trim()})`, async (t) => {
    const h = await startHarness(t);
    const created = await awsJson(
      h,
      'apprunner',
      'create-vpc-connector',
      '--vpc-connector-name',
      'cli-conn',
      '--subnets',
      ...WORLD.vpc1.subnets,
      '--security-groups',
      WORLD.vpc1.securityGroup,
      '--tags',
      'Key=team,Value=sre',
    );
    const arn = String(field(created, 'VpcConnector', 'VpcConnectorArn'));
    assert.match(arn, connectorArnPattern('cli-conn'));
    assert.equal(field(created, 'VpcConnector', 'Status'), 'ACTIVE');
    assertCliTime(field(created, 'VpcConnector', 'CreatedAt'), EPOCH);

    const described = await awsJson(h, 'apprunner', 'describe-vpc-connector', '--vpc-connector-arn', arn);
    assert.equal(field(described, 'VpcConnector', 'VpcConnectorRevision'), 1);

    const listed = await awsJson(h, 'apprunner', 'list-vpc-connectors', '--max-results', '10');
    assert.deepEqual(
      (field(listed, 'VpcConnectors') as unknown[]).map((c) => field(c, 'VpcConnectorName')),
      ['cli-conn'],
    );

    const tags = await awsJson(h, 'apprunner', 'list-tags-for-resource', '--resource-arn', arn);
    assert.deepEqual(field(tags, 'Tags'), [{ Key: 'team', Value: 'sre' }]);

    const services = await awsJson(h, 'apprunner', 'list-services');
    const summaries = field(services, 'ServiceSummaryList') as unknown[];
    assert.ok(summaries.length > 0);
    const serviceArn = h.serviceArn('svc-alpha');

    const updated = await awsJson(
      h,
      'apprunner',
      'update-service',
      '--service-arn',
      serviceArn,
      '--network-configuration',
      JSON.stringify({
        EgressConfiguration: { EgressType: 'VPC', VpcConnectorArn: arn },
        IngressConfiguration: {},
      }),
    );
    assert.equal(field(updated, 'Service', 'Status'), 'OPERATION_IN_PROGRESS');
    assert.match(String(field(updated, 'OperationId')), /^[0-9a-f-]{36}$/);

    const operations = await awsJson(h, 'apprunner', 'list-operations', '--service-arn', serviceArn);
    assert.equal(
      field((field(operations, 'OperationSummaryList') as unknown[])[0], 'Type'),
      'UPDATE_SERVICE',
    );

    h.clock.advance(SETTLE_MS);
    const service = await awsJson(h, 'apprunner', 'describe-service', '--service-arn', serviceArn);
    assert.equal(field(service, 'Service', 'Status'), 'RUNNING');
    assert.equal(
      field(service, 'Service', 'NetworkConfiguration', 'EgressConfiguration', 'VpcConnectorArn'),
      arn,
    );

    const inUse = await aws(h, 'apprunner', 'delete-vpc-connector', '--vpc-connector-arn', arn);
    assertServiceErrorExit(inUse);
    assert.ok(
      inUse.stderr.includes(
        errorLine(
          'DeleteVpcConnector',
          'InvalidRequestException',
          `Provided VPC connector arn is being used by other services. ARN:  ${arn}`,
        ),
      ),
      inUse.stderr,
    );

    await awsJson(
      h,
      'apprunner',
      'update-service',
      '--service-arn',
      serviceArn,
      '--network-configuration',
      JSON.stringify({ EgressConfiguration: { EgressType: 'DEFAULT' } }),
    );
    h.clock.advance(SETTLE_MS);
    const deleted = await awsJson(h, 'apprunner', 'delete-vpc-connector', '--vpc-connector-arn', arn);
    assert.equal(field(deleted, 'VpcConnector', 'Status'), 'INACTIVE');
    assertCliTime(field(deleted, 'VpcConnector', 'DeletedAt'), EPOCH + 2 * SETTLE_MS);
  });

  void test('server-side validation reaches the CLI user as InvalidRequestException', async (t) => {
    const h = await startHarness(t);
    // botocore checks only minimums client-side, so 101 goes to the server (semantics.md §12).
    const result = await aws(h, 'apprunner', 'list-vpc-connectors', '--max-results', '101');
    assertServiceErrorExit(result);
    assert.match(
      result.stderr,
      /An error occurred \(InvalidRequestException\) when calling the ListVpcConnectors operation: /,
    );
  });

  void test('IAM service-linked role commands work, including NoSuchEntity and InvalidInput errors', async (t) => {
    const h = await startHarness(t);
    const absent = await aws(h, 'iam', 'get-role', '--role-name', SLR_NAME);
    assertServiceErrorExit(absent);
    assert.ok(
      absent.stderr.includes(
        errorLine('GetRole', 'NoSuchEntity', `The role with name ${SLR_NAME} cannot be found.`),
      ),
      absent.stderr,
    );

    const created = await awsJson(h, 'iam', 'create-service-linked-role', '--aws-service-name', SLR_SERVICE);
    assert.equal(field(created, 'Role', 'Arn'), SLR_ARN);

    const role = await awsJson(h, 'iam', 'get-role', '--role-name', SLR_NAME);
    assert.equal(field(role, 'Role', 'Path'), `/aws-service-role/${SLR_SERVICE}/`);
    assert.equal(
      field(role, 'Role', 'Arn'),
      `arn:aws:iam::${ACCOUNT}:role/aws-service-role/${SLR_SERVICE}/${SLR_NAME}`,
    );
    const trust = field(role, 'Role', 'AssumeRolePolicyDocument');
    assert.match(
      JSON.stringify(trust),
      /networking\.apprunner\.amazonaws\.com/,
      'the CLI decodes the trust policy',
    );

    const duplicate = await aws(h, 'iam', 'create-service-linked-role', '--aws-service-name', SLR_SERVICE);
    assertServiceErrorExit(duplicate);
    assert.ok(
      duplicate.stderr.includes(
        errorLine(
          'CreateServiceLinkedRole',
          'InvalidInput',
          `Service role name ${SLR_NAME} has been taken in this account, please try a different suffix.`,
        ),
      ),
      duplicate.stderr,
    );

    const protectedRole = await aws(h, 'iam', 'delete-role', '--role-name', SLR_NAME);
    assertServiceErrorExit(protectedRole);
    assert.match(
      protectedRole.stderr,
      /An error occurred \(UnmodifiableEntity\) when calling the DeleteRole operation: /,
    );

    const deletion = await awsJson(h, 'iam', 'delete-service-linked-role', '--role-name', SLR_NAME);
    const taskId = String(field(deletion, 'DeletionTaskId'));
    assert.match(
      taskId,
      new RegExp(`^task/aws-service-role/networking\\.apprunner\\.amazonaws\\.com/${SLR_NAME}/`),
    );
    h.clock.advance(SETTLE_MS);
    const status = await awsJson(
      h,
      'iam',
      'get-service-linked-role-deletion-status',
      '--deletion-task-id',
      taskId,
    );
    assert.equal(field(status, 'Status'), 'SUCCEEDED');
  });
});
