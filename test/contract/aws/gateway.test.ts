// The SDK gateway against the project's AWS simulator, over HTTP through the real SDK clients: every verb,
// the error classes a controller relies on, pagination, and the client-side rate limiter.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import {
  DeleteServiceCommand,
  DescribeServiceCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-apprunner';
import { Registry } from 'prom-client';
import {
  AwsAccessDeniedError,
  AwsInvalidInputError,
  AwsInvalidStateError,
  AwsNotFoundError,
  AwsQuotaExceededError,
  AwsThrottledError,
  AwsTransientError,
  ConnectorInUseError,
  ConnectorNameTakenError,
  ServiceBusyError,
} from '../../../src/aws/errors.ts';
import type { ConnectorObservation, DesiredNetwork } from '../../../src/aws/gateway.ts';
import { RateLimiterPool } from '../../../src/aws/rate-limiter.ts';
import { createSdkGateway } from '../../../src/aws/sdk-gateway.ts';
import type { SdkGateway, SdkGatewayOptions } from '../../../src/aws/sdk-gateway.ts';
import type { SimulatorConfig, UpdateFailureOutcome } from '../../../src/simulator/index.ts';
import { FakeClock } from '../../unit/runtime/fake-clock.ts';
import {
  ACCOUNT,
  OTHER_REGION,
  REGION,
  SETTLE_MS,
  SLR_ARN,
  STATIC_CREDENTIALS,
  TIMINGS,
  WORLD,
  startHarness,
} from '../simulator/fixtures.ts';
import type { AuditEntry, Harness, HarnessOptions } from '../simulator/fixtures.ts';

/** Far above anything a test sends: only the rate-limiter tests want the limiter to bite. */
const unlimited = { ratePerSecond: 10_000, burst: 10_000 };

const owner = { 'apprunnernet.dev/cluster': 'contract', 'apprunnernet.dev/namespace': 'ns' } as const;

interface Setup {
  h: Harness;
  gw: SdkGateway;
  registry: Registry;
}

/** A simulator with the standard seed, and a gateway pointed at it. Both are closed when the test ends. */
async function setup(
  t: TestContext,
  options: { harness?: HarnessOptions; gateway?: Partial<SdkGatewayOptions> } = {},
): Promise<Setup> {
  const h = await startHarness(t, options.harness);
  const registry = new Registry();
  const gw = gatewayFor(t, h, { registry, ...options.gateway });
  return { h, gw, registry };
}

function gatewayFor(t: TestContext, h: Harness, options: Partial<SdkGatewayOptions> = {}): SdkGateway {
  const gw = createSdkGateway({
    endpoint: h.url,
    credentials: STATIC_CREDENTIALS,
    defaultRegion: REGION,
    limits: { appRunner: unlimited, iam: unlimited },
    // One attempt unless a test says otherwise: a fault must reach the gateway's mapping as sent.
    maxAttempts: 1,
    userAgentAppId: 'gateway-contract',
    ...options,
  });
  t.after(() => {
    gw.destroy();
  });
  return gw;
}

/** Merges a raw simulator config (knobs the shared fixtures do not name) into the running simulator. */
async function configure(h: Harness, config: SimulatorConfig): Promise<void> {
  const response = await fetch(`${h.url}/_sim/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(config),
  });
  assert.ok(response.ok, `POST /_sim/faults answered ${response.status}: ${await response.text()}`);
}

/** Adds services to the running simulator's region through the seed API; returns their ARNs. */
async function seedServices(h: Harness, names: readonly string[], region = REGION): Promise<string[]> {
  const response = await fetch(`${h.url}/_sim/seed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      regions: { [region]: { services: names.map((serviceName) => ({ serviceName })) } },
    }),
  });
  assert.ok(response.ok, `POST /_sim/seed answered ${response.status}`);
  const result = (await response.json()) as { services: { name: string; arn: string }[] };
  return result.services.map((s) => s.arn);
}

async function callsOf(h: Harness, operation: string): Promise<AuditEntry[]> {
  return (await h.admin.calls()).filter((c) => c.operation === operation);
}

/** Polls (real time) until `check` holds: HTTP round trips need the event loop, not a fake clock. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric !== undefined, `metric ${name} is registered`);
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return match?.value ?? 0;
}

async function createOne(gw: SdkGateway, name: string, region = REGION): Promise<ConnectorObservation> {
  const subnets = region === REGION ? WORLD.vpc1.subnets : WORLD.otherRegion.subnets;
  const groups = region === REGION ? [WORLD.vpc1.securityGroup] : [WORLD.otherRegion.securityGroup];
  return gw.appRunner.createConnector(region, {
    name,
    subnets,
    securityGroups: groups,
    tags: { ...owner, 'apprunnernet.dev/name': name },
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  return assert.fail('expected the call to fail');
}

void describe('SDK gateway against the simulator: VPC connectors', () => {
  void test('creates a connector ACTIVE at revision 1 and reports the tags it was created with', async (t) => {
    const { gw } = await setup(t);
    const created = await createOne(gw, 'gw-create');
    assert.equal(created.status, 'ACTIVE');
    assert.equal(created.revision, 1);
    assert.equal(created.name, 'gw-create');
    assert.match(
      created.arn,
      new RegExp(`^arn:aws:apprunner:${REGION}:${ACCOUNT}:vpcconnector/gw-create/1/`),
    );
    assert.deepEqual([...created.subnets].sort(), [...WORLD.vpc1.subnets].sort());
    assert.deepEqual(created.securityGroups, [WORLD.vpc1.securityGroup]);
    assert.deepEqual(created.tags, { ...owner, 'apprunnernet.dev/name': 'gw-create' });
    assert.ok(created.createdAt instanceof Date);
  });

  void test('finds a connector by name with its tags, and finds nothing for an unknown name', async (t) => {
    const { gw } = await setup(t);
    const created = await createOne(gw, 'gw-find');
    await createOne(gw, 'gw-other');
    const found = await gw.appRunner.findConnectorByName(REGION, 'gw-find');
    assert.equal(found?.arn, created.arn);
    assert.deepEqual(found.tags, created.tags);
    assert.equal(await gw.appRunner.findConnectorByName(REGION, 'gw-missing'), undefined);
    assert.equal(
      await gw.appRunner.findConnectorByName(OTHER_REGION, 'gw-find'),
      undefined,
      'connectors are regional',
    );
  });

  void test('describes a connector by ARN with its tags', async (t) => {
    const { gw } = await setup(t);
    const created = await createOne(gw, 'gw-describe');
    const described = await gw.appRunner.describeConnector(created.arn);
    assert.deepEqual(described, created);
  });

  void test('deletes a connector, then reports it INACTIVE, then gone; a second delete is not an error', async (t) => {
    const { h, gw } = await setup(t);
    const created = await createOne(gw, 'gw-delete');
    const deleted = await gw.appRunner.deleteConnector(created.arn);
    assert.equal(deleted?.status, 'INACTIVE');
    assert.ok(deleted.deletedAt instanceof Date);
    const inactive = await gw.appRunner.describeConnector(created.arn);
    assert.equal(inactive?.status, 'INACTIVE');
    assert.equal(inactive.tags, undefined, 'tags are read for ACTIVE connectors only');
    assert.equal(await gw.appRunner.deleteConnector(created.arn), undefined);
    // The simulator lists INACTIVE connectors until they are purged; the gateway never returns them.
    assert.deepEqual(await gw.appRunner.listConnectors(REGION), []);
    assert.equal(await gw.appRunner.findConnectorByName(REGION, 'gw-delete'), undefined);
    h.clock.advance(TIMINGS.inactiveRetentionMs + 1000);
    assert.equal(await gw.appRunner.describeConnector(created.arn), undefined);
    assert.equal(await gw.appRunner.deleteConnector(created.arn), undefined);
    assert.deepEqual(await h.admin.violations(), []);
  });

  void test('lists every ACTIVE connector across pages, short pages included', async (t) => {
    const { h, gw } = await setup(t, { harness: { knobs: { connectorQuota: 200 } } });
    await configure(h, {
      pagination: {
        shortPageRate: 1,
        shortPageOperations: ['ListVpcConnectors', 'ListServices', 'ListOperations'],
      },
    });
    const names = Array.from({ length: 105 }, (_, i) => `gw-page-${String(i).padStart(3, '0')}`);
    for (const name of names) {
      await gw.appRunner.createConnector(REGION, {
        name,
        subnets: WORLD.vpc1.subnets,
        securityGroups: [WORLD.vpc1.securityGroup],
        tags: {},
      });
    }
    const before = (await callsOf(h, 'ListVpcConnectors')).length;
    const listed = await gw.appRunner.listConnectors(REGION);
    const pages = (await callsOf(h, 'ListVpcConnectors')).length - before;
    assert.deepEqual(listed.map((c) => c.name).sort(), names);
    assert.ok(pages >= 2, `read ${pages} pages`);
    const last = names.at(-1) ?? '';
    const found = await gw.appRunner.findConnectorByName(REGION, last);
    assert.equal(found?.name, last);
    assert.deepEqual(found.tags, {});
  });

  void test('refuses to delete a connector a service uses (ConnectorInUseError, AWS text kept), then deletes it once detached', async (t) => {
    const { h, gw } = await setup(t);
    const connector = await createOne(gw, 'gw-in-use');
    const serviceArn = h.serviceArn('svc-alpha');
    await gw.appRunner.updateServiceNetwork(serviceArn, {
      egressType: 'VPC',
      vpcConnectorArn: connector.arn,
      isPubliclyAccessible: true,
      ipAddressType: 'IPV4',
    });
    h.clock.advance(SETTLE_MS);
    const err = await rejection(gw.appRunner.deleteConnector(connector.arn));
    assert.ok(err instanceof ConnectorInUseError, `got ${String(err)}`);
    assert.equal(err.aws.code, 'InvalidRequestException');
    assert.equal(
      err.aws.message,
      `Provided VPC connector arn is being used by other services. ARN:  ${connector.arn}`,
    );
    assert.equal((await gw.appRunner.describeConnector(connector.arn))?.status, 'ACTIVE');
    await gw.appRunner.updateServiceNetwork(serviceArn, {
      egressType: 'DEFAULT',
      isPubliclyAccessible: true,
      ipAddressType: 'IPV4',
    });
    h.clock.advance(SETTLE_MS);
    assert.equal((await gw.appRunner.deleteConnector(connector.arn))?.status, 'INACTIVE');
  });

  void test('maps a full connector quota to AwsQuotaExceededError', async (t) => {
    const { gw } = await setup(t, { harness: { knobs: { connectorQuota: 1 } } });
    await createOne(gw, 'gw-quota-1');
    const err = await rejection(createOne(gw, 'gw-quota-2'));
    assert.ok(err instanceof AwsQuotaExceededError, `got ${String(err)}`);
    assert.equal(err.aws.code, 'ServiceQuotaExceededException');
    assert.equal(err.aws.httpStatus, 402);
  });

  void test('maps a name AWS rejects to AwsInvalidInputError with the AWS message verbatim', async (t) => {
    const { gw } = await setup(t);
    const err = await rejection(
      gw.appRunner.createConnector(REGION, {
        name: 'x!',
        subnets: WORLD.vpc1.subnets,
        securityGroups: [],
        tags: {},
      }),
    );
    assert.ok(err instanceof AwsInvalidInputError, `got ${String(err)}`);
    assert.equal(err.aws.code, 'InvalidRequestException');
    assert.equal(err.aws.httpStatus, 400);
    assert.ok(err.aws.message.length > 0);
    assert.ok(err.message.includes(`"${err.aws.message}"`), 'the error message quotes AWS');
  });

  void test('maps a create with the name of an ACTIVE connector to ConnectorNameTakenError, a short requeue rather than a terminal error', async (t) => {
    const { h, gw } = await setup(t);
    const first = await createOne(gw, 'gw-taken');
    const err = await rejection(createOne(gw, 'gw-taken'));
    assert.ok(err instanceof ConnectorNameTakenError, `got ${String(err)}`);
    assert.ok(!(err instanceof AwsInvalidInputError));
    assert.equal(err.aws.code, 'InvalidRequestException');
    assert.equal(err.aws.operation, 'CreateVpcConnector');
    assert.match(err.aws.message, /already exists/);
    assert.ok(err.message.includes(`"${err.aws.message}"`), 'the error message quotes AWS');
    assert.equal(err.delayMs, 2_000);
    assert.equal(err.reason, 'NameTaken');
    assert.deepEqual(
      (await gw.appRunner.listConnectors(REGION)).map((c) => c.arn),
      [first.arn],
      'nothing was created',
    );
    assert.deepEqual(
      (await callsOf(h, 'CreateVpcConnector')).map((c) => [c.status, c.error]),
      [
        [200, undefined],
        [400, 'InvalidRequestException'],
      ],
    );
  });

  void test('maps a refused SLR creation during CreateVpcConnector to AwsAccessDeniedError', async (t) => {
    const { gw } = await setup(t, { harness: { knobs: { denySlrCreation: true } } });
    const err = await rejection(createOne(gw, 'gw-denied'));
    assert.ok(err instanceof AwsAccessDeniedError, `got ${String(err)}`);
    assert.equal(err.aws.code, 'AccessDeniedException');
  });
});

void describe('SDK gateway against the simulator: services and operations', () => {
  void test('describes a seeded service with its region and network configuration', async (t) => {
    const { h, gw } = await setup(t);
    const arn = h.serviceArn('svc-alpha');
    const service = await gw.appRunner.describeService(arn);
    assert.deepEqual(
      { ...service, updatedAt: undefined },
      {
        arn,
        name: 'svc-alpha',
        region: REGION,
        status: 'RUNNING',
        network: { egressType: 'DEFAULT', isPubliclyAccessible: true, ipAddressType: 'IPV4' },
        updatedAt: undefined,
      },
    );
  });

  void test('reads a service answered without IngressConfiguration or IpAddressType as public and IPV4', async (t) => {
    const { h, gw } = await setup(t);
    const arn = h.serviceArn('svc-alpha');
    const raw = await h.apprunner.send(new DescribeServiceCommand({ ServiceArn: arn }));
    assert.deepEqual(
      raw.Service?.NetworkConfiguration,
      { EgressConfiguration: { EgressType: 'DEFAULT' } },
      'the simulator leaves out what was never set',
    );
    const public_ = { egressType: 'DEFAULT', isPubliclyAccessible: true, ipAddressType: 'IPV4' };
    assert.deepEqual((await gw.appRunner.describeService(arn))?.network, public_);
    const listed = (await gw.appRunner.listServices(REGION)).find((s) => s.arn === arn);
    assert.deepEqual(listed?.network, public_);
  });

  void test('reads an IngressConfiguration without IsPubliclyAccessible as private', async (t) => {
    const { h, gw } = await setup(t);
    const arn = h.serviceArn('svc-bravo');
    // What a Go client sends for a private service: the zero value is left out (semantics §5.8).
    await h.apprunner.send(
      new UpdateServiceCommand({ ServiceArn: arn, NetworkConfiguration: { IngressConfiguration: {} } }),
    );
    h.clock.advance(SETTLE_MS);
    const service = await gw.appRunner.describeService(arn);
    assert.equal(service?.network.isPubliclyAccessible, false);
    assert.equal(service.network.ipAddressType, 'IPV4');
  });

  void test('reports an unknown service and a DELETED one as absent', async (t) => {
    const { h, gw } = await setup(t);
    const unknown = `arn:aws:apprunner:${REGION}:${ACCOUNT}:service/nope/0123456789abcdef0123456789abcdef`;
    assert.equal(await gw.appRunner.describeService(unknown), undefined);
    const arn = h.serviceArn('svc-charlie');
    await h.apprunner.send(new DeleteServiceCommand({ ServiceArn: arn }));
    h.clock.advance(SETTLE_MS);
    assert.equal(await gw.appRunner.describeService(arn), undefined);
    h.clock.advance(TIMINGS.deletedServiceRetentionMs + 1000);
    assert.equal(await gw.appRunner.describeService(arn), undefined);
  });

  void test('lists and describes every service across short pages', async (t) => {
    const { h, gw } = await setup(t, { harness: { knobs: { shortPages: true } } });
    const added = await seedServices(
      h,
      Array.from({ length: 40 }, (_, i) => `svc-extra-${String(i).padStart(2, '0')}`),
    );
    const before = (await callsOf(h, 'ListServices')).length;
    const services = await gw.appRunner.listServices(REGION);
    const pages = (await callsOf(h, 'ListServices')).length - before;
    assert.equal(services.length, 43);
    assert.deepEqual(
      services.map((s) => s.arn).sort(),
      [h.serviceArn('svc-alpha'), h.serviceArn('svc-bravo'), h.serviceArn('svc-charlie'), ...added].sort(),
    );
    assert.ok(pages >= 3, `read ${pages} pages for 43 services`);
    assert.ok(services.every((s) => s.network.egressType === 'DEFAULT' && s.status === 'RUNNING'));
    assert.deepEqual(await gw.appRunner.listServices(OTHER_REGION), []);
  });

  void test('summarises every service across short pages without describing one, and tells a change by status and UpdatedAt', async (t) => {
    const { h, gw } = await setup(t, { harness: { knobs: { shortPages: true } } });
    await seedServices(
      h,
      Array.from({ length: 25 }, (_, i) => `svc-more-${String(i).padStart(2, '0')}`),
    );
    const describesBefore = (await callsOf(h, 'DescribeService')).length;
    const summaries = await gw.appRunner.listServiceSummaries(REGION);
    assert.equal(summaries.length, 28);
    assert.equal(new Set(summaries.map((s) => s.arn)).size, 28, 'no service twice across pages');
    assert.equal((await callsOf(h, 'DescribeService')).length, describesBefore, 'no describe');
    const arn = h.serviceArn('svc-bravo');
    const before = summaries.find((s) => s.arn === arn);
    assert.equal(before?.status, 'RUNNING');
    assert.ok(before.updatedAt instanceof Date);

    h.clock.advance(1_000);
    await h.apprunner.send(
      new UpdateServiceCommand({ ServiceArn: arn, NetworkConfiguration: { IngressConfiguration: {} } }),
    );
    const during = (await gw.appRunner.listServiceSummaries(REGION)).find((s) => s.arn === arn);
    assert.equal(during?.status, 'OPERATION_IN_PROGRESS');
    assert.notEqual(during.updatedAt?.getTime(), before.updatedAt.getTime());
    await h.apprunner.send(new DeleteServiceCommand({ ServiceArn: h.serviceArn('svc-charlie') }));
    h.clock.advance(SETTLE_MS);
    const after = await gw.appRunner.listServiceSummaries(REGION);
    assert.equal(after.find((s) => s.arn === arn)?.status, 'RUNNING');
    assert.ok(!after.some((s) => s.arn === h.serviceArn('svc-charlie')), 'a DELETED service is left out');
  });

  void test('attaches a connector with all three parts of the network configuration and returns the operation', async (t) => {
    const { h, gw } = await setup(t);
    const connector = await createOne(gw, 'gw-attach');
    const arn = h.serviceArn('svc-bravo');
    const { service, operationId } = await gw.appRunner.updateServiceNetwork(arn, {
      egressType: 'VPC',
      vpcConnectorArn: connector.arn,
      isPubliclyAccessible: false,
      ipAddressType: 'DUAL_STACK',
    });
    assert.equal(service.status, 'OPERATION_IN_PROGRESS');
    assert.deepEqual(service.network, {
      egressType: 'VPC',
      vpcConnectorArn: connector.arn,
      isPubliclyAccessible: false,
      ipAddressType: 'DUAL_STACK',
    });
    const [sent] = (await callsOf(h, 'UpdateService')).map((c) => c.raw.params);
    assert.deepEqual((sent as Record<string, unknown>).NetworkConfiguration, {
      EgressConfiguration: { EgressType: 'VPC', VpcConnectorArn: connector.arn },
      IngressConfiguration: { IsPubliclyAccessible: false },
      IpAddressType: 'DUAL_STACK',
    });
    const [running] = await gw.appRunner.listOperations(arn);
    assert.equal(running?.id, operationId);
    assert.equal(running.type, 'UPDATE_SERVICE');
    assert.ok(running.status === 'PENDING' || running.status === 'IN_PROGRESS');
    h.clock.advance(SETTLE_MS);
    const [done] = await gw.appRunner.listOperations(arn, 1);
    assert.equal(done?.status, 'SUCCEEDED');
    assert.ok(done.endedAt instanceof Date);
    const settled = await gw.appRunner.describeService(arn);
    assert.equal(settled?.status, 'RUNNING');
    assert.deepEqual(settled.network, service.network);
    assert.deepEqual(await h.admin.violations(), []);
  });

  void test('detaches with all three parts too, keeping a never-configured service public', async (t) => {
    const { h, gw } = await setup(t);
    const connector = await createOne(gw, 'gw-detach');
    const arn = h.serviceArn('svc-charlie');
    const current = await gw.appRunner.describeService(arn);
    assert.ok(current !== undefined);
    await gw.appRunner.updateServiceNetwork(arn, {
      ...current.network,
      egressType: 'VPC',
      vpcConnectorArn: connector.arn,
    });
    h.clock.advance(SETTLE_MS);
    await gw.appRunner.updateServiceNetwork(arn, { ...current.network, egressType: 'DEFAULT' });
    h.clock.advance(SETTLE_MS);
    const sent = (await callsOf(h, 'UpdateService')).map(
      (c) => (c.raw.params as Record<string, unknown>).NetworkConfiguration,
    );
    assert.deepEqual(sent, [
      {
        EgressConfiguration: { EgressType: 'VPC', VpcConnectorArn: connector.arn },
        IngressConfiguration: { IsPubliclyAccessible: true },
        IpAddressType: 'IPV4',
      },
      {
        EgressConfiguration: { EgressType: 'DEFAULT' },
        IngressConfiguration: { IsPubliclyAccessible: true },
        IpAddressType: 'IPV4',
      },
    ]);
    const raw = await h.apprunner.send(new DescribeServiceCommand({ ServiceArn: arn }));
    assert.deepEqual(raw.Service?.NetworkConfiguration, {
      EgressConfiguration: { EgressType: 'DEFAULT' },
      IngressConfiguration: { IsPubliclyAccessible: true },
      IpAddressType: 'IPV4',
    });
    assert.ok((raw.Service.ServiceUrl ?? '') !== '', 'still public');
  });

  void test('maps VPC egress through an unknown or INACTIVE connector to AwsInvalidInputError and starts nothing', async (t) => {
    const { h, gw } = await setup(t);
    const arn = h.serviceArn('svc-alpha');
    const deleted = await createOne(gw, 'gw-inactive');
    await gw.appRunner.deleteConnector(deleted.arn);
    const unknown = `arn:aws:apprunner:${REGION}:${ACCOUNT}:vpcconnector/ghost/1/0123456789abcdef0123456789abcdef`;
    for (const vpcConnectorArn of [unknown, deleted.arn]) {
      const err = await rejection(
        gw.appRunner.updateServiceNetwork(arn, {
          egressType: 'VPC',
          vpcConnectorArn,
          isPubliclyAccessible: true,
          ipAddressType: 'IPV4',
        }),
      );
      assert.ok(err instanceof AwsInvalidInputError, `got ${String(err)}`);
      assert.equal(err.aws.code, 'InvalidRequestException');
      assert.ok(err.aws.message.includes(vpcConnectorArn), err.aws.message);
    }
    assert.equal((await gw.appRunner.describeService(arn))?.status, 'RUNNING');
    assert.deepEqual(
      (await gw.appRunner.listOperations(arn)).map((o) => o.type),
      ['CREATE_SERVICE'],
    );
  });

  void test('maps UpdateService during an operation to ServiceBusyError', async (t) => {
    const { h, gw } = await setup(t);
    const arn = h.serviceArn('svc-alpha');
    const network = { egressType: 'DEFAULT', isPubliclyAccessible: false, ipAddressType: 'IPV4' } as const;
    await gw.appRunner.updateServiceNetwork(arn, network);
    const err = await rejection(gw.appRunner.updateServiceNetwork(arn, network));
    assert.ok(err instanceof ServiceBusyError, `got ${String(err)}`);
    assert.equal(err.aws.code, 'InvalidStateException');
  });

  void test('lists operations newest first, across pages, up to the limit', async (t) => {
    const { h, gw } = await setup(t);
    await configure(h, { pagination: { shortPageRate: 1, shortPageOperations: ['ListOperations'] } });
    const arn = h.serviceArn('svc-alpha');
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) {
      const { operationId } = await gw.appRunner.updateServiceNetwork(arn, {
        egressType: 'DEFAULT',
        isPubliclyAccessible: i % 2 === 0,
        ipAddressType: 'IPV4',
      });
      ids.push(operationId);
      h.clock.advance(SETTLE_MS);
    }
    const newestFirst = [...ids].reverse();
    assert.deepEqual(
      (await gw.appRunner.listOperations(arn, 3)).map((o) => o.id),
      newestFirst.slice(0, 3),
    );
    const all = await gw.appRunner.listOperations(arn, 100);
    assert.equal(all.length, 25, '24 updates and the seed CREATE_SERVICE');
    assert.deepEqual(
      all.slice(0, 24).map((o) => o.id),
      newestFirst,
    );
    assert.equal(all.at(-1)?.type, 'CREATE_SERVICE');
    assert.equal((await gw.appRunner.listOperations(arn)).length, 20, 'the default limit is 20');
  });

  void test('tags, lists and untags a service; tagging a DELETED one is AwsInvalidStateError', async (t) => {
    const { h, gw } = await setup(t);
    const arn = h.serviceArn('svc-bravo');
    assert.deepEqual(await gw.appRunner.listTags(arn), {});
    await gw.appRunner.tagResource(arn, { 'apprunnernet.dev/owner': 'contract/ns/web', team: 'payments' });
    await gw.appRunner.tagResource(arn, { team: 'platform' });
    assert.deepEqual(await gw.appRunner.listTags(arn), {
      'apprunnernet.dev/owner': 'contract/ns/web',
      team: 'platform',
    });
    await gw.appRunner.untagResource(arn, ['apprunnernet.dev/owner', 'absent-key']);
    assert.deepEqual(await gw.appRunner.listTags(arn), { team: 'platform' });
    await h.apprunner.send(new DeleteServiceCommand({ ServiceArn: arn }));
    h.clock.advance(SETTLE_MS);
    const err = await rejection(gw.appRunner.tagResource(arn, { a: 'b' }));
    assert.ok(err instanceof AwsInvalidStateError, `got ${String(err)}`);
  });

  void test('tags, lists and untags a resource; tagging a vanished one is AwsNotFoundError', async (t) => {
    const { gw } = await setup(t);
    const connector = await createOne(gw, 'gw-tags');
    await gw.appRunner.tagResource(connector.arn, { team: 'payments', 'apprunnernet.dev/name': 'renamed' });
    assert.deepEqual(await gw.appRunner.listTags(connector.arn), {
      ...owner,
      'apprunnernet.dev/name': 'renamed',
      team: 'payments',
    });
    await gw.appRunner.untagResource(connector.arn, ['team']);
    assert.deepEqual(await gw.appRunner.listTags(connector.arn), {
      ...owner,
      'apprunnernet.dev/name': 'renamed',
    });
    const gone = `arn:aws:apprunner:${REGION}:${ACCOUNT}:vpcconnector/ghost/1/0123456789abcdef0123456789abcdef`;
    const err = await rejection(gw.appRunner.tagResource(gone, { a: 'b' }));
    assert.ok(err instanceof AwsNotFoundError, `got ${String(err)}`);
  });
});

void describe('SDK gateway against the simulator: failed, rolled-back and stuck updates', () => {
  const attach = (connectorArn: string): DesiredNetwork => ({
    egressType: 'VPC',
    vpcConnectorArn: connectorArn,
    isPubliclyAccessible: true,
    ipAddressType: 'IPV4',
  });

  const failures: { outcome: UpdateFailureOutcome; reason: string }[] = [
    { outcome: 'ROLLBACK_SUCCEEDED', reason: 'App Runner rolled the update back' },
    { outcome: 'ROLLBACK_FAILED', reason: 'the rollback itself failed' },
    { outcome: 'FAILED', reason: 'the update failed without a rollback phase' },
  ];
  for (const { outcome, reason } of failures) {
    void test(`reports ${outcome} when ${reason}, with the service RUNNING on its old network`, async (t) => {
      const { h, gw } = await setup(t);
      const connector = await createOne(gw, 'gw-rollback');
      const arn = h.serviceArn('svc-alpha');
      const before = await gw.appRunner.describeService(arn);
      await configure(h, { faults: { rollback: { next: 1, outcome } } });
      const { operationId } = await gw.appRunner.updateServiceNetwork(arn, attach(connector.arn));
      h.clock.advance(SETTLE_MS);
      const [op] = await gw.appRunner.listOperations(arn, 1);
      assert.equal(op?.id, operationId);
      assert.equal(op.type, 'UPDATE_SERVICE');
      assert.equal(op.status, outcome);
      assert.ok(op.endedAt instanceof Date);
      const after = await gw.appRunner.describeService(arn);
      assert.equal(after?.status, 'RUNNING', 'the service looks healthy: only the operation tells');
      assert.deepEqual(after.network, before?.network);
      assert.equal((await gw.appRunner.deleteConnector(connector.arn))?.status, 'INACTIVE', 'released');
    });
  }

  void test('a stuck update keeps the service busy until timings.stuckOperationMs, refusing updates meanwhile', async (t) => {
    const { h, gw } = await setup(t);
    const arn = h.serviceArn('svc-alpha');
    await configure(h, { faults: { stuck: { next: 1 } }, timings: { stuckOperationMs: 3_600_000 } });
    const network = { egressType: 'DEFAULT', isPubliclyAccessible: false, ipAddressType: 'IPV4' } as const;
    const { operationId } = await gw.appRunner.updateServiceNetwork(arn, network);
    h.clock.advance(SETTLE_MS * 10);
    assert.equal((await gw.appRunner.describeService(arn))?.status, 'OPERATION_IN_PROGRESS');
    assert.equal((await gw.appRunner.listOperations(arn, 1))[0]?.status, 'IN_PROGRESS');
    const err = await rejection(gw.appRunner.updateServiceNetwork(arn, network));
    assert.ok(err instanceof ServiceBusyError, `got ${String(err)}`);
    h.clock.advance(3_600_000);
    const [op] = await gw.appRunner.listOperations(arn, 1);
    assert.deepEqual([op?.id, op?.status], [operationId, 'SUCCEEDED']);
    assert.equal((await gw.appRunner.describeService(arn))?.status, 'RUNNING');
  });

  void test('maps a throttled and a failing (500) UpdateService to AwsThrottledError and AwsTransientError', async (t) => {
    const { h, gw } = await setup(t);
    const arn = h.serviceArn('svc-alpha');
    const network = { egressType: 'DEFAULT', isPubliclyAccessible: true, ipAddressType: 'IPV4' } as const;
    await configure(h, {
      faults: {
        throttling: { next: 1, operations: ['UpdateService'] },
        internalError: { next: 1, operations: ['UpdateService'] },
      },
    });
    const throttled = await rejection(gw.appRunner.updateServiceNetwork(arn, network));
    assert.ok(throttled instanceof AwsThrottledError, `got ${String(throttled)}`);
    const failed = await rejection(gw.appRunner.updateServiceNetwork(arn, network));
    assert.ok(failed instanceof AwsTransientError, `got ${String(failed)}`);
    assert.equal(failed.aws.code, 'InternalServiceErrorException');
    assert.equal(failed.aws.httpStatus, 500);
    const { service } = await gw.appRunner.updateServiceNetwork(arn, network);
    assert.equal(service.status, 'OPERATION_IN_PROGRESS', 'the faults were used up');
  });
});

void describe('SDK gateway against the simulator: the service-linked role', () => {
  void test('reports the role absent, creates it, and treats "has been taken" as success', async (t) => {
    const { h, gw } = await setup(t);
    assert.deepEqual(await gw.serviceLinkedRole.getRole(), { exists: false });
    assert.deepEqual(await gw.serviceLinkedRole.ensureRole(), { exists: true, arn: SLR_ARN });
    assert.deepEqual(await gw.serviceLinkedRole.ensureRole(), { exists: true, arn: SLR_ARN });
    const creates = await callsOf(h, 'CreateServiceLinkedRole');
    assert.deepEqual(
      creates.map((c) => [c.status, c.error]),
      [
        [200, undefined],
        [400, 'InvalidInput'],
      ],
    );
    assert.deepEqual(await gw.serviceLinkedRole.getRole(), { exists: true, arn: SLR_ARN });
  });

  void test('trusts "has been taken" while IAM still answers NoSuchEntity to GetRole', async (t) => {
    const { h, gw } = await setup(t);
    await configure(h, { consistency: { slrReadDelayMs: 60_000 } });
    await gw.serviceLinkedRole.ensureRole();
    const fresh = gatewayFor(t, h);
    assert.deepEqual(await fresh.serviceLinkedRole.getRole(), { exists: false }, 'IAM has not caught up');
    assert.deepEqual(await fresh.serviceLinkedRole.ensureRole(), { exists: true });
    const withAccount = gatewayFor(t, h, { accountId: ACCOUNT });
    assert.deepEqual(await withAccount.serviceLinkedRole.ensureRole(), { exists: true, arn: SLR_ARN });
  });

  void test('reports a FAILED deletion with the reason and the connectors that use the role, then deletes it', async (t) => {
    const { h, gw } = await setup(t);
    const connector = await createOne(gw, 'gw-slr', OTHER_REGION);
    assert.equal((await gw.serviceLinkedRole.getRole()).exists, true, 'CreateVpcConnector created the role');
    const first = await gw.serviceLinkedRole.deleteRole();
    assert.ok(first !== undefined);
    assert.equal(
      (await gw.serviceLinkedRole.deleteRole())?.taskId,
      first.taskId,
      'same task while incomplete',
    );
    assert.equal((await gw.serviceLinkedRole.getDeletionStatus(first.taskId)).status, 'NOT_STARTED');
    h.clock.advance(TIMINGS.slrDeletionStepMs);
    assert.equal((await gw.serviceLinkedRole.getDeletionStatus(first.taskId)).status, 'IN_PROGRESS');
    h.clock.advance(TIMINGS.slrDeletionStepMs);
    const failed = await gw.serviceLinkedRole.getDeletionStatus(first.taskId);
    assert.equal(failed.status, 'FAILED');
    assert.ok(failed.reason !== undefined && failed.reason.length > 0);
    assert.deepEqual(failed.usage, [{ region: OTHER_REGION, resources: [connector.arn] }]);
    assert.equal((await gw.serviceLinkedRole.getRole()).exists, true);

    await gw.appRunner.deleteConnector(connector.arn);
    const second = await gw.serviceLinkedRole.deleteRole();
    assert.ok(second !== undefined && second.taskId !== first.taskId, 'a new task after a FAILED one');
    h.clock.advance(2 * TIMINGS.slrDeletionStepMs);
    assert.deepEqual(await gw.serviceLinkedRole.getDeletionStatus(second.taskId), {
      taskId: second.taskId,
      status: 'SUCCEEDED',
      usage: [],
    });
    assert.deepEqual(await gw.serviceLinkedRole.getRole(), { exists: false });
    assert.equal(await gw.serviceLinkedRole.deleteRole(), undefined, 'nothing to delete');
  });
});

void describe('SDK gateway against the simulator: throttling, retries and the rate limiter', () => {
  void test('maps throttling to AwsThrottledError and counts it by code', async (t) => {
    const { h, gw, registry } = await setup(t);
    await configure(h, { faults: { throttling: { rate: 1 } } });
    const err = await rejection(gw.appRunner.listConnectors(REGION));
    assert.ok(err instanceof AwsThrottledError, `got ${String(err)}`);
    assert.equal(err.aws.code, 'ThrottlingException');
    const iamErr = await rejection(gw.serviceLinkedRole.getRole());
    assert.ok(iamErr instanceof AwsThrottledError, `got ${String(iamErr)}`);
    assert.equal(
      await metricValue(registry, 'apprunner_net_aws_api_calls_total', {
        service: 'apprunner',
        operation: 'ListVpcConnectors',
        outcome: 'ThrottlingException',
      }),
      1,
    );
  });

  void test('retries a 500 inside the SDK, and every attempt takes a rate-limiter token', async (t) => {
    const { h, gw, registry } = await setup(t, { gateway: { maxAttempts: 3 } });
    await configure(h, { faults: { internalError: { next: 2, operations: ['ListVpcConnectors'] } } });
    assert.deepEqual(await gw.appRunner.listConnectors(REGION), []);
    const attempts = await callsOf(h, 'ListVpcConnectors');
    assert.deepEqual(
      attempts.map((c) => c.status),
      [500, 500, 200],
    );
    const labels = { service: 'apprunner', operation: 'ListVpcConnectors' };
    assert.equal(await metricValue(registry, 'apprunner_net_aws_api_attempts_total', labels), 3);
    assert.equal(
      await metricValue(registry, 'apprunner_net_aws_api_calls_total', { ...labels, outcome: 'success' }),
      1,
    );
  });

  void test('maps a 500 that outlasts the SDK retries to AwsTransientError', async (t) => {
    const { h, gw } = await setup(t, { gateway: { maxAttempts: 2 } });
    await configure(h, { faults: { internalError: { next: 2, operations: ['GetRole'] } } });
    const err = await rejection(gw.serviceLinkedRole.getRole());
    assert.ok(err instanceof AwsTransientError, `got ${String(err)}`);
    assert.equal(err.aws.code, 'ServiceFailure');
    assert.equal(err.aws.httpStatus, 500);
  });

  void test('holds App Runner calls to the configured rate and burst, shared by every caller', async (t) => {
    const clock = new FakeClock();
    const pool = new RateLimiterPool(() => ({ ratePerSecond: 2, burst: 3 }), clock);
    const { h, gw } = await setup(t, { gateway: { limiterPool: pool } });
    const other = gatewayFor(t, h, { limiterPool: pool });
    const arn = h.serviceArn('svc-alpha');
    const sentNow = async (): Promise<number> => (await callsOf(h, 'ListTagsForResource')).length;
    const expectSent = async (count: number): Promise<void> => {
      await until(`${count} calls reached the simulator`, async () => (await sentNow()) >= count);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(await sentNow(), count, 'no call went out early');
    };
    const results = Array.from({ length: 9 }, (_, i) => (i % 2 === 0 ? gw : other).appRunner.listTags(arn));
    await expectSent(3);
    await clock.advance(500);
    await expectSent(4);
    await clock.advance(500);
    await expectSent(5);
    await clock.advance(2000);
    await expectSent(9);
    assert.equal((await Promise.all(results)).length, 9);
    assert.equal(clock.pending(), 0);
  });

  void test('an aborted call leaves the rate-limiter queue without reaching AWS', async (t) => {
    const clock = new FakeClock();
    const pool = new RateLimiterPool(() => ({ ratePerSecond: 1, burst: 1 }), clock);
    const { h, gw } = await setup(t, { gateway: { limiterPool: pool } });
    const arn = h.serviceArn('svc-alpha');
    await gw.appRunner.listTags(arn);
    const controller = new AbortController();
    const waiting = gw.appRunner.listTags(arn, { signal: controller.signal });
    const reason = new Error('reconcile cancelled');
    controller.abort(reason);
    assert.equal(await rejection(waiting), reason);
    await clock.advance(5000);
    assert.equal((await callsOf(h, 'ListTagsForResource')).length, 1);
  });
});
