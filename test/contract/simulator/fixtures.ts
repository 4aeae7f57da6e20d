// Builders for the simulator contract tests. Everything that depends on the simulator's own choices
// (config field names, seed document shape, admin API payloads) lives here, so the tests themselves
// read as AWS behaviour and only this file adapts when those choices move.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppRunnerClient,
  CreateServiceCommand,
  CreateVpcConnectorCommand,
  DescribeServiceCommand,
  ListOperationsCommand,
  UpdateServiceCommand,
  type NetworkConfiguration,
  type OperationSummary,
  type Service,
  type VpcConnector,
} from '@aws-sdk/client-apprunner';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { startSimulator, type SeedDocument, type SimulatorConfig } from '../../../src/simulator/index.ts';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const OTHER_REGION = 'eu-west-1';
export const SLR_NAME = 'AWSServiceRoleForAppRunnerNetworking';
export const SLR_SERVICE = 'networking.apprunner.amazonaws.com';
export const SLR_ARN = `arn:aws:iam::${ACCOUNT}:role/aws-service-role/${SLR_SERVICE}/${SLR_NAME}`;
export const MANAGED_TAG = 'AWSAppRunnerManaged';

/** 1 January 2026, a whole second, so epoch-second timestamps compare exactly. */
export const EPOCH = Date.UTC(2026, 0, 1, 0, 0, 0);

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const HEX32 = /^[0-9a-f]{32}$/;

/** Durations the tests configure; every wait in the suite is a jump of the fake clock past one of them. */
export const TIMINGS = {
  /** Any App Runner service operation (create, update, pause, resume, delete). */
  operationMs: 20_000,
  /** One-time extra delay for the first association of a subnet + security-group combination. */
  firstAssociationMs: 180_000,
  /** INACTIVE connectors stay describable this long, then are purged. */
  inactiveRetentionMs: 600_000,
  /** ROLLBACK_IN_PROGRESS lasts this long after a failed update. */
  rollbackMs: 10_000,
  /** DELETED services stay describable this long. */
  deletedServiceRetentionMs: 600_000,
  /** Each step of an SLR deletion task (NOT_STARTED -> IN_PROGRESS -> terminal). */
  slrDeletionStepMs: 5_000,
} as const;

/** Longest time any configured operation can take: jumping past it settles everything. */
export const SETTLE_MS = TIMINGS.operationMs + TIMINGS.firstAssociationMs + TIMINGS.rollbackMs + 1_000;

export interface FakeClock {
  now(): number;
  advance(ms: number): void;
}

export function fakeClock(start: number = EPOCH): FakeClock {
  let current = start;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
  };
}

export const STATIC_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

export interface Clients {
  apprunner: AppRunnerClient;
  iam: IAMClient;
  ec2: EC2Client;
}

export function makeClients(url: string, region: string = REGION, accessKeyId = 'test'): Clients {
  const common = {
    endpoint: url,
    credentials: { accessKeyId, secretAccessKey: 'test' },
    // One attempt: an error must reach the test as the simulator sent it, not hidden by SDK retries.
    maxAttempts: 1,
  };
  return {
    apprunner: new AppRunnerClient({ region, ...common }),
    iam: new IAMClient({ region, ...common }),
    ec2: new EC2Client({ region, ...common }),
  };
}

function destroyClients(clients: Clients): void {
  clients.apprunner.destroy();
  clients.iam.destroy();
  clients.ec2.destroy();
}

/** The EC2 world every seeded simulator starts with. */
export const WORLD = {
  vpc1: {
    id: 'vpc-0a000000000000001',
    cidr: '10.1.0.0/16',
    subnets: ['subnet-0a000000000000011', 'subnet-0a000000000000012'] as const,
    securityGroup: 'sg-0a000000000000021',
  },
  vpc2: {
    id: 'vpc-0b000000000000001',
    cidr: '10.2.0.0/16',
    subnets: ['subnet-0b000000000000011'] as const,
    securityGroup: 'sg-0b000000000000021',
  },
  /** A VPC in the other region, so connectors can exist in two regions. */
  otherRegion: {
    id: 'vpc-0c000000000000001',
    cidr: '10.3.0.0/16',
    subnets: ['subnet-0c000000000000011'] as const,
    securityGroup: 'sg-0c000000000000021',
  },
} as const;

/** Names of the RUNNING image-based services a seeded simulator starts with. */
export const SEEDED_SERVICES = ['svc-alpha', 'svc-bravo', 'svc-charlie'] as const;

export function standardSeed(): SeedDocument {
  return {
    regions: {
      [REGION]: {
        vpcs: [
          {
            vpcId: WORLD.vpc1.id,
            cidrBlock: WORLD.vpc1.cidr,
            subnets: [
              { subnetId: WORLD.vpc1.subnets[0], cidrBlock: '10.1.1.0/24', availabilityZone: 'us-east-1a' },
              { subnetId: WORLD.vpc1.subnets[1], cidrBlock: '10.1.2.0/24', availabilityZone: 'us-east-1b' },
            ],
            securityGroups: [{ groupId: WORLD.vpc1.securityGroup, groupName: 'app' }],
          },
          {
            vpcId: WORLD.vpc2.id,
            cidrBlock: WORLD.vpc2.cidr,
            subnets: [
              { subnetId: WORLD.vpc2.subnets[0], cidrBlock: '10.2.1.0/24', availabilityZone: 'us-east-1a' },
            ],
            securityGroups: [{ groupId: WORLD.vpc2.securityGroup, groupName: 'other' }],
          },
        ],
        services: SEEDED_SERVICES.map((serviceName) => ({ serviceName })),
      },
      [OTHER_REGION]: {
        vpcs: [
          {
            vpcId: WORLD.otherRegion.id,
            cidrBlock: WORLD.otherRegion.cidr,
            subnets: [
              {
                subnetId: WORLD.otherRegion.subnets[0],
                cidrBlock: '10.3.1.0/24',
                availabilityZone: 'eu-west-1a',
              },
            ],
            securityGroups: [{ groupId: WORLD.otherRegion.securityGroup, groupName: 'eu' }],
          },
        ],
      },
    },
  };
}

/** Fault and knob settings, in the tests' own words; `toConfig` maps them onto the simulator's config. */
export interface Knobs {
  /**
   * AWS at its least convenient: every knob below that is also set applies on top of it. A harness with a
   * profile keeps the profile's own operation timings (SETTLE_MS still settles everything).
   */
  profile?: 'pessimistic' | 'default';
  /** DeleteVpcConnector answers INACTIVE but Describe/List show ACTIVE this long (asynchronous delete). */
  connectorDeleteDelayMs?: number;
  /** A new connector answers ResourceNotFoundException to DescribeVpcConnector this long. */
  connectorDescribeDelayMs?: number;
  /** ListTagsForResource shows the tags from before a create or tag change this long. */
  tagReadDelayMs?: number;
  /** The first page of ListServices is empty but carries a NextToken. */
  emptyFirstPage?: boolean;
  /** Fraction of ListServices pages that are empty (still with a NextToken) while services remain. */
  emptyPageRate?: number;
  /** Availability Zones (names or ids) App Runner refuses a connector's subnets in, per region. */
  unsupportedZones?: Record<string, string[]>;
  /** Such a refusal fails the service operation (AWS's documented way) or answers InvalidRequestException. */
  unsupportedZoneRefusal?: 'fail-operation' | 'invalid-request';
  /** Connector references linger this long after a detach or delete finishes. */
  inUseLingerMs?: number;
  /** Every ListServices page is cut short (still with a NextToken). */
  shortPages?: boolean;
  /** Every call is throttled. */
  throttleAll?: boolean;
  /** Fraction of calls answered with an internal error. */
  internalErrorRate?: number;
  /** ACTIVE connectors allowed per region. */
  connectorQuota?: number;
  /** CreateVpcConnector fails with AccessDenied when it would have to create the SLR. */
  denySlrCreation?: boolean;
  /**
   * The next N service updates fail and roll back; `rollbackFails` makes the rollback fail too, and
   * `failsWithoutRollback` makes them end FAILED with no rollback phase.
   */
  rollbackNextUpdates?: number;
  rollbackFails?: boolean;
  failsWithoutRollback?: boolean;
  /** The next N service operations never finish. */
  stuckNextOperations?: number;
  /** SLR deletion tasks fail even with no connector left. */
  slrDeletionFails?: boolean;
  /** Identity policy evaluated for every call. */
  callerPolicy?: PolicyDocument;
  /** After the SLR is created, GetRole answers NoSuchEntity this long. */
  slrReadDelayMs?: number;
  /** A new connector is missing from ListVpcConnectors this long. */
  connectorListDelayMs?: number;
  /** Added before every answer (real time, not the fake clock). */
  latencyMs?: number;
  /** Token bucket for read calls. */
  readBucket?: { ratePerSecond: number; burst: number };
  /** Exactly the next N calls answer an internal error. */
  internalErrorNext?: number;
  /** Replaces App Runner's SLR permissions policy. */
  slrPolicy?: PolicyDocument;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: {
    Effect: 'Allow' | 'Deny';
    Action: string | string[];
    Resource: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
  }[];
}

/** The timings every harness runs with: PENDING then IN_PROGRESS adds up to TIMINGS.operationMs. */
const timingConfig: SimulatorConfig = {
  timings: {
    operationPendingMs: 2_000,
    operationDurationMs: TIMINGS.operationMs - 2_000,
    firstAssociationDelayMs: TIMINGS.firstAssociationMs,
    rollbackDurationMs: TIMINGS.rollbackMs,
    inactiveConnectorRetentionMs: TIMINGS.inactiveRetentionMs,
    deletedServiceRetentionMs: TIMINGS.deletedServiceRetentionMs,
    slrDeletionNotStartedMs: TIMINGS.slrDeletionStepMs,
    slrDeletionInProgressMs: TIMINGS.slrDeletionStepMs,
  },
};

/** Only the knobs that are set, so the admin API can merge them into a running simulator. */
export function toConfig(knobs: Knobs): SimulatorConfig {
  const config: SimulatorConfig = {};
  const faults: NonNullable<SimulatorConfig['faults']> = {};
  const behaviour: NonNullable<SimulatorConfig['behaviour']> = {};
  const consistency: NonNullable<SimulatorConfig['consistency']> = {};
  if (knobs.inUseLingerMs !== undefined) consistency.connectorReleaseLingerMs = knobs.inUseLingerMs;
  if (knobs.slrReadDelayMs !== undefined) consistency.slrReadDelayMs = knobs.slrReadDelayMs;
  if (knobs.connectorListDelayMs !== undefined) consistency.connectorListDelayMs = knobs.connectorListDelayMs;
  if (knobs.connectorDeleteDelayMs !== undefined)
    consistency.connectorDeleteDelayMs = knobs.connectorDeleteDelayMs;
  if (knobs.connectorDescribeDelayMs !== undefined)
    consistency.connectorDescribeDelayMs = knobs.connectorDescribeDelayMs;
  if (knobs.tagReadDelayMs !== undefined) consistency.tagReadDelayMs = knobs.tagReadDelayMs;
  if (knobs.profile !== undefined) config.profile = knobs.profile;
  if (Object.keys(consistency).length > 0) config.consistency = consistency;
  if (knobs.latencyMs !== undefined) faults.latency = { fixedMs: knobs.latencyMs };
  if (knobs.readBucket !== undefined) faults.throttling = { read: knobs.readBucket };
  const pagination: NonNullable<SimulatorConfig['pagination']> = {};
  if (knobs.shortPages !== undefined) pagination.shortPageRate = knobs.shortPages ? 1 : 0;
  if (knobs.emptyFirstPage !== undefined) pagination.emptyFirstPage = knobs.emptyFirstPage;
  if (knobs.emptyPageRate !== undefined) pagination.emptyPageRate = knobs.emptyPageRate;
  if (Object.keys(pagination).length > 0)
    config.pagination = { ...pagination, shortPageOperations: ['ListServices'] };
  if (knobs.unsupportedZones !== undefined) behaviour.unsupportedAvailabilityZones = knobs.unsupportedZones;
  if (knobs.unsupportedZoneRefusal !== undefined)
    behaviour.unsupportedAvailabilityZoneFailure = knobs.unsupportedZoneRefusal;
  if (knobs.throttleAll !== undefined) faults.throttling = { rate: knobs.throttleAll ? 1 : 0 };
  if (knobs.internalErrorRate !== undefined) faults.internalError = { rate: knobs.internalErrorRate };
  if (knobs.internalErrorNext !== undefined) faults.internalError = { next: knobs.internalErrorNext };
  if (knobs.slrPolicy !== undefined) config.slrPolicy = knobs.slrPolicy;
  if (knobs.denySlrCreation !== undefined) faults.accessDeniedOnSlrCreation = knobs.denySlrCreation;
  if (knobs.rollbackNextUpdates !== undefined) {
    faults.rollback = {
      next: knobs.rollbackNextUpdates,
      outcome:
        knobs.failsWithoutRollback === true
          ? 'FAILED'
          : knobs.rollbackFails === true
            ? 'ROLLBACK_FAILED'
            : 'ROLLBACK_SUCCEEDED',
    };
  }
  if (knobs.stuckNextOperations !== undefined) faults.stuck = { next: knobs.stuckNextOperations };
  if (knobs.slrDeletionFails !== undefined) faults.slrDeletionFailure = knobs.slrDeletionFails;
  if (knobs.connectorQuota !== undefined) behaviour.connectorQuota = knobs.connectorQuota;
  if (knobs.callerPolicy !== undefined) config.callerPolicy = knobs.callerPolicy;
  if (Object.keys(faults).length > 0) config.faults = faults;
  if (Object.keys(behaviour).length > 0) config.behaviour = behaviour;
  return config;
}

export interface Admin {
  calls(): Promise<AuditEntry[]>;
  state(): Promise<unknown>;
  /** The effective configuration (GET /_sim/config). */
  config(): Promise<Record<string, unknown>>;
  faults(knobs: Knobs): Promise<void>;
  reset(): Promise<void>;
  seed(seed: SeedDocument): Promise<void>;
  violations(): Promise<Violation[]>;
}

export interface AuditEntry {
  operation: string;
  region?: string;
  status?: number;
  error?: string;
  raw: Record<string, unknown>;
}

export interface Violation {
  invariant: string;
  operation?: string;
  resource?: string;
  raw: Record<string, unknown>;
}

async function adminRequest(
  url: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<unknown> {
  const response = await fetch(`${url}/_sim/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `admin ${method} /_sim/${path} answered ${response.status}: ${text}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

function asRecord(value: unknown): Record<string, unknown> {
  assert.ok(typeof value === 'object' && value !== null, 'expected a JSON object');
  return value as Record<string, unknown>;
}

function listFrom(value: unknown, key: string): Record<string, unknown>[] {
  const list = Array.isArray(value) ? (value as unknown[]) : asRecord(value)[key];
  assert.ok(Array.isArray(list), `expected a list under "${key}"`);
  return list.map(asRecord);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function makeAdmin(url: string): Admin {
  return {
    calls: async () =>
      listFrom(await adminRequest(url, 'GET', 'calls'), 'calls').map((raw) => ({
        operation: str(raw.operation) ?? '',
        region: str(raw.region),
        status: typeof raw.status === 'number' ? raw.status : undefined,
        error: str(raw.errorCode),
        raw,
      })),
    state: async () => adminRequest(url, 'GET', 'state'),
    config: async () => asRecord(asRecord(await adminRequest(url, 'GET', 'config')).config),
    faults: async (knobs) => {
      await adminRequest(url, 'POST', 'faults', toConfig(knobs));
    },
    reset: async () => {
      await adminRequest(url, 'POST', 'reset');
    },
    seed: async (seed) => {
      await adminRequest(url, 'POST', 'seed', seed);
    },
    violations: async () =>
      listFrom(await adminRequest(url, 'GET', 'violations'), 'violations').map((raw) => ({
        invariant: str(raw.invariant) ?? '',
        operation: str(raw.operation),
        resource: str(raw.resource),
        raw,
      })),
  };
}

export interface HarnessOptions {
  knobs?: Knobs;
  /** Start from an empty world instead of the standard seed. */
  empty?: boolean;
  stateFile?: string;
  clock?: FakeClock;
}

export interface Harness extends Clients {
  url: string;
  clock: FakeClock;
  admin: Admin;
  /** Clients signing for another region (IAM is global: any region reaches the same roles). */
  clientsFor(region: string, accessKeyId?: string): Clients;
  /** ARN of a seeded service by name. */
  serviceArn(name: (typeof SEEDED_SERVICES)[number]): string;
  close(): Promise<void>;
}

/** Harnesses not yet closed, by state file, so a state directory is removed only after they flushed. */
const openByStateFile = new Map<string, Set<Harness>>();

/** A state file in a fresh directory, removed when the test ends (after every harness using it closed). */
export function tempStateFile(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'sim-state-'));
  const file = join(dir, 'world.json');
  t.after(async () => {
    await Promise.all([...(openByStateFile.get(file) ?? [])].map((h) => h.close()));
    rmSync(dir, { recursive: true, force: true });
  });
  return file;
}

/** Starts a simulator on a random loopback port with a fake clock; closes it when the test ends. */
export async function startHarness(
  t: TestContext | undefined,
  options: HarnessOptions = {},
): Promise<Harness> {
  const clock = options.clock ?? fakeClock();
  const sim = await startSimulator({
    port: 0,
    host: '127.0.0.1',
    accountId: ACCOUNT,
    config: {
      ...(options.knobs?.profile === undefined ? timingConfig : {}),
      ...toConfig(options.knobs ?? {}),
    },
    ...(options.empty === true ? {} : { seed: standardSeed() }),
    ...(options.stateFile === undefined ? {} : { stateFile: options.stateFile }),
    clock: () => clock.now(),
  });
  const extra: Clients[] = [];
  const main = makeClients(sim.url);
  const serviceArns = new Map<string, string>();
  const admin = makeAdmin(sim.url);
  let closed = false;
  const harness: Harness = {
    ...main,
    url: sim.url,
    clock,
    admin,
    clientsFor: (region, accessKeyId) => {
      const clients = makeClients(sim.url, region, accessKeyId);
      extra.push(clients);
      return clients;
    },
    serviceArn: (name) => {
      const arn = serviceArns.get(name);
      assert.ok(arn !== undefined, `seeded service ${name} not found`);
      return arn;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (options.stateFile !== undefined) openByStateFile.get(options.stateFile)?.delete(harness);
      destroyClients(main);
      extra.forEach(destroyClients);
      await sim.close();
    },
  };
  if (options.stateFile !== undefined) {
    const open = openByStateFile.get(options.stateFile) ?? new Set<Harness>();
    open.add(harness);
    openByStateFile.set(options.stateFile, open);
  }
  t?.after(() => harness.close());
  // Discovered through the admin API, which no fault or caller policy affects.
  if (options.empty !== true) {
    const regions = asRecord(asRecord(await admin.state()).regions);
    for (const service of listFrom(regions[REGION], 'services')) {
      const name = str(service.name);
      const arn = str(service.arn);
      if (name !== undefined && arn !== undefined) serviceArns.set(name, arn);
    }
  }
  return harness;
}

export interface ExpectedAwsError {
  name: string;
  status: number;
  message?: string | RegExp;
}

/** Asserts that a call fails with exactly this AWS error (SDK error name, HTTP status, message). */
export async function expectAwsError(call: Promise<unknown>, expected: ExpectedAwsError): Promise<Error> {
  try {
    await call;
  } catch (caught: unknown) {
    assert.ok(caught instanceof Error, 'expected an Error');
    const metadata = (caught as { $metadata?: { httpStatusCode?: number } }).$metadata;
    assert.equal(caught.name, expected.name, `error name (message: ${caught.message})`);
    assert.equal(metadata?.httpStatusCode, expected.status, `HTTP status of ${caught.name}`);
    if (typeof expected.message === 'string') assert.equal(caught.message, expected.message);
    else if (expected.message !== undefined) assert.match(caught.message, expected.message);
    return caught;
  }
  assert.fail(`expected ${expected.name} (${expected.status}), but the call succeeded`);
}

export function connectorArnPattern(name: string, region: string = REGION, revision = 1): RegExp {
  return new RegExp(`^arn:aws:apprunner:${region}:${ACCOUNT}:vpcconnector/${name}/${revision}/[0-9a-f]{32}$`);
}

export async function createConnector(
  apprunner: AppRunnerClient,
  name: string,
  subnets: readonly string[] = WORLD.vpc1.subnets,
  securityGroups: readonly string[] = [WORLD.vpc1.securityGroup],
): Promise<VpcConnector & { VpcConnectorArn: string }> {
  const { VpcConnector: connector } = await apprunner.send(
    new CreateVpcConnectorCommand({
      VpcConnectorName: name,
      Subnets: [...subnets],
      SecurityGroups: [...securityGroups],
    }),
  );
  const arn = connector?.VpcConnectorArn;
  assert.ok(connector !== undefined && arn !== undefined, 'CreateVpcConnector returned no ARN');
  return { ...connector, VpcConnectorArn: arn };
}

export async function describeService(apprunner: AppRunnerClient, serviceArn: string): Promise<Service> {
  const { Service: service } = await apprunner.send(new DescribeServiceCommand({ ServiceArn: serviceArn }));
  assert.ok(service !== undefined, 'DescribeService returned no Service');
  return service;
}

export async function listAllOperations(
  apprunner: AppRunnerClient,
  serviceArn: string,
): Promise<OperationSummary[]> {
  const all: OperationSummary[] = [];
  let nextToken: string | undefined;
  do {
    const page = await apprunner.send(
      new ListOperationsCommand({ ServiceArn: serviceArn, MaxResults: 20, NextToken: nextToken }),
    );
    all.push(...(page.OperationSummaryList ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return all;
}

export function vpcEgress(connectorArn: string): NetworkConfiguration {
  return { EgressConfiguration: { EgressType: 'VPC', VpcConnectorArn: connectorArn } };
}

export const DEFAULT_EGRESS: NetworkConfiguration = { EgressConfiguration: { EgressType: 'DEFAULT' } };

/** Starts an UpdateService of the network configuration; returns the response. */
export async function updateNetwork(
  apprunner: AppRunnerClient,
  serviceArn: string,
  network: NetworkConfiguration,
): Promise<{ service: Service; operationId: string }> {
  const response = await apprunner.send(
    new UpdateServiceCommand({ ServiceArn: serviceArn, NetworkConfiguration: network }),
  );
  assert.ok(
    response.Service !== undefined && response.OperationId !== undefined,
    'UpdateService answer incomplete',
  );
  return { service: response.Service, operationId: response.OperationId };
}

/** Starts an update and jumps the clock past every configured delay; asserts the service is RUNNING again. */
export async function updateNetworkAndSettle(
  harness: Harness,
  serviceArn: string,
  network: NetworkConfiguration,
): Promise<Service> {
  await updateNetwork(harness.apprunner, serviceArn, network);
  harness.clock.advance(SETTLE_MS);
  const service = await describeService(harness.apprunner, serviceArn);
  assert.equal(service.Status, 'RUNNING', 'service settled after the update');
  return service;
}

/** Creates an image-based service through the API and waits (fake clock) until it is RUNNING. */
export async function createRunningService(harness: Harness, name: string): Promise<Service> {
  const { Service: created } = await harness.apprunner.send(
    new CreateServiceCommand({
      ServiceName: name,
      SourceConfiguration: {
        ImageRepository: {
          ImageIdentifier: 'public.ecr.aws/aws-containers/hello-app-runner:latest',
          ImageRepositoryType: 'ECR_PUBLIC',
          ImageConfiguration: { Port: '8000' },
        },
        AutoDeploymentsEnabled: false,
      },
    }),
  );
  harness.clock.advance(SETTLE_MS);
  assert.ok(created?.ServiceArn !== undefined, 'CreateService returned no ARN');
  const service = await describeService(harness.apprunner, created.ServiceArn);
  assert.equal(service.Status, 'RUNNING');
  return service;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** An awsJson1_0 request without the SDK, to see the wire format itself (types, headers, numbers). */
export async function rawAppRunner(
  url: string,
  operation: string,
  input: Record<string, unknown>,
  region: string = REGION,
): Promise<RawResponse> {
  const response = await fetch(`${url}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AppRunner.${operation}`,
      'x-amz-date': '20260101T000000Z',
      authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${region}/apprunner/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`,
    },
    body: JSON.stringify(input),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: asRecord(JSON.parse(text)) };
}
