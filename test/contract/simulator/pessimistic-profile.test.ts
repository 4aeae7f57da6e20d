// The pessimistic profile (issue "Reliability"): AWS at its least convenient. Each behaviour is shown
// first through its own knob, then as part of `profile: 'pessimistic'` (semantics.md §5.1–5.4, §5.7,
// §7.1, §11). Every client makes one attempt, so what the SDK reports is what the simulator answered.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateServiceCommand,
  CreateVpcConnectorCommand,
  DeleteServiceCommand,
  DeleteVpcConnectorCommand,
  DescribeVpcConnectorCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  ListVpcConnectorsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateServiceCommand,
  type ServiceSummary,
  type Tag,
  type VpcConnector,
} from '@aws-sdk/client-apprunner';
import { CreateSubnetCommand, DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import {
  DEFAULT_EGRESS,
  SEEDED_SERVICES,
  SETTLE_MS,
  SLR_NAME,
  TIMINGS,
  WORLD,
  createConnector,
  createRunningService,
  describeService,
  expectAwsError,
  listAllOperations,
  startHarness,
  updateNetwork,
  updateNetworkAndSettle,
  vpcEgress,
  type Harness,
  type Knobs,
} from './fixtures.ts';

/** The profile's documented values (src/simulator/README.md, "The pessimistic profile"). */
const PROFILE = {
  deleteSettlesMs: 5_000,
  describeLagMs: 2_000,
  listLagMs: 2_000,
  tagLagMs: 4_000,
  slrReadLagMs: 2_000,
  lingerMs: 3_000,
  pendingMs: 1_000,
  inProgressMs: 6_000,
  latencyFloorMs: 20,
  unsupportedZone: 'us-east-1e',
} as const;

const notFound = { name: 'ResourceNotFoundException', status: 400 } as const;

const inUseMessage = (arn: string): string =>
  `Provided VPC connector arn is being used by other services. ARN:  ${arn}`;

async function describeConnector(h: Harness, arn: string): Promise<VpcConnector> {
  const { VpcConnector: connector } = await h.apprunner.send(
    new DescribeVpcConnectorCommand({ VpcConnectorArn: arn }),
  );
  assert.ok(connector !== undefined, 'DescribeVpcConnector returned no VpcConnector');
  return connector;
}

/** The connector as a NextToken loop over ListVpcConnectors shows it, or undefined if it is not listed. */
async function listedConnector(h: Harness, arn: string): Promise<VpcConnector | undefined> {
  const all: VpcConnector[] = [];
  let nextToken: string | undefined;
  do {
    const page = await h.apprunner.send(new ListVpcConnectorsCommand({ NextToken: nextToken }));
    all.push(...(page.VpcConnectors ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return all.find((c) => c.VpcConnectorArn === arn);
}

async function tagsOf(h: Harness, arn: string): Promise<Tag[]> {
  const { Tags } = await h.apprunner.send(new ListTagsForResourceCommand({ ResourceArn: arn }));
  return Tags ?? [];
}

interface Listing {
  services: ServiceSummary[];
  /** Item count of every page, in order. */
  pageSizes: number[];
  tokens: string[];
}

/** A correct client: follows NextToken until it is absent, whatever the pages hold. */
async function listServices(h: Harness, maxResults?: number): Promise<Listing> {
  const listing: Listing = { services: [], pageSizes: [], tokens: [] };
  let nextToken: string | undefined;
  do {
    const page = await h.apprunner.send(
      new ListServicesCommand({ MaxResults: maxResults, NextToken: nextToken }),
    );
    listing.services.push(...(page.ServiceSummaryList ?? []));
    listing.pageSizes.push(page.ServiceSummaryList?.length ?? 0);
    nextToken = page.NextToken;
    if (nextToken !== undefined) listing.tokens.push(nextToken);
    assert.ok(listing.pageSizes.length <= 50, 'pagination terminates');
  } while (nextToken !== undefined);
  return listing;
}

/** A subnet of the first VPC in `zone`. */
async function subnetIn(h: Harness, zone: string, cidr = '10.1.9.0/24'): Promise<string> {
  const { Subnet } = await h.ec2.send(
    new CreateSubnetCommand({ VpcId: WORLD.vpc1.id, CidrBlock: cidr, AvailabilityZone: zone }),
  );
  assert.ok(Subnet?.SubnetId !== undefined, 'CreateSubnet returned no subnet id');
  return Subnet.SubnetId;
}

void describe('DeleteVpcConnector settles asynchronously', () => {
  const settleMs = PROFILE.deleteSettlesMs;

  const cases: { reason: string; knobs: Knobs; shownRightAfter: string }[] = [
    { reason: 'by default the deletion shows at once', knobs: {}, shownRightAfter: 'INACTIVE' },
    {
      reason: 'with a settle delay Describe still shows ACTIVE',
      knobs: { connectorDeleteDelayMs: settleMs },
      shownRightAfter: 'ACTIVE',
    },
    {
      reason: 'the pessimistic profile sets a settle delay',
      knobs: { profile: 'pessimistic' },
      shownRightAfter: 'ACTIVE',
    },
  ];
  for (const { reason, knobs, shownRightAfter } of cases) {
    void test(`right after the delete, DescribeVpcConnector shows ${shownRightAfter}: ${reason}`, async (t) => {
      const h = await startHarness(t, { knobs });
      const { VpcConnectorArn: arn } = await createConnector(h.apprunner, 'settle-table');
      h.clock.advance(PROFILE.describeLagMs);
      await h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: arn }));
      assert.equal((await describeConnector(h, arn)).Status, shownRightAfter);
    });
  }

  void test('the delete answers INACTIVE with DeletedAt while Describe and List show ACTIVE until it settles', async (t) => {
    const h = await startHarness(t, { knobs: { connectorDeleteDelayMs: settleMs } });
    const { VpcConnectorArn: arn } = await createConnector(h.apprunner, 'async-delete');
    const deletedAt = h.clock.now();
    const { VpcConnector: answered } = await h.apprunner.send(
      new DeleteVpcConnectorCommand({ VpcConnectorArn: arn }),
    );
    assert.equal(answered?.Status, 'INACTIVE');
    assert.equal(answered.DeletedAt?.getTime(), deletedAt);

    h.clock.advance(settleMs - 1);
    const during = await describeConnector(h, arn);
    assert.equal(during.Status, 'ACTIVE');
    assert.equal(during.DeletedAt, undefined, 'an ACTIVE-looking connector has no DeletedAt');
    assert.equal((await listedConnector(h, arn))?.Status, 'ACTIVE');

    h.clock.advance(1);
    const after = await describeConnector(h, arn);
    assert.equal(after.Status, 'INACTIVE');
    assert.equal(after.DeletedAt?.getTime(), deletedAt, 'DeletedAt is the time of the delete call');
    assert.equal((await listedConnector(h, arn))?.Status, 'INACTIVE');
  });

  void test('a second delete while the first settles answers the same INACTIVE description; after it, ResourceNotFound', async (t) => {
    const h = await startHarness(t, { knobs: { connectorDeleteDelayMs: settleMs } });
    const { VpcConnectorArn: arn } = await createConnector(h.apprunner, 'delete-twice');
    const { VpcConnector: first } = await h.apprunner.send(
      new DeleteVpcConnectorCommand({ VpcConnectorArn: arn }),
    );
    h.clock.advance(settleMs / 2);
    const { VpcConnector: second } = await h.apprunner.send(
      new DeleteVpcConnectorCommand({ VpcConnectorArn: arn }),
    );
    assert.deepEqual(second, first);
    h.clock.advance(settleMs / 2);
    await expectAwsError(h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: arn })), notFound);
  });

  void test('until the delete settles the name stays taken, and the connector cannot be attached', async (t) => {
    const h = await startHarness(t, { knobs: { connectorDeleteDelayMs: settleMs } });
    const { VpcConnectorArn: arn } = await createConnector(h.apprunner, 'name-held');
    await h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: arn }));
    await expectAwsError(createConnector(h.apprunner, 'name-held'), {
      name: 'InvalidRequestException',
      status: 400,
      message: `A VPC connector with the name name-held already exists: ${arn}`,
    });
    // A client that adopts the ACTIVE-looking connector it listed finds out here.
    await expectAwsError(updateNetwork(h.apprunner, h.serviceArn('svc-alpha'), vpcEgress(arn)), {
      name: 'InvalidRequestException',
      status: 400,
      message: /INACTIVE/,
    });
    h.clock.advance(settleMs);
    const again = await createConnector(h.apprunner, 'name-held');
    assert.notEqual(again.VpcConnectorArn, arn);
  });

  void test('the INACTIVE record is kept for the retention time counted from when the delete settled', async (t) => {
    const h = await startHarness(t, { knobs: { connectorDeleteDelayMs: settleMs } });
    const { VpcConnectorArn: arn } = await createConnector(h.apprunner, 'retained');
    await h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: arn }));
    h.clock.advance(settleMs + TIMINGS.inactiveRetentionMs - 1);
    assert.equal((await describeConnector(h, arn)).Status, 'INACTIVE');
    h.clock.advance(1);
    await expectAwsError(
      h.apprunner.send(new DescribeVpcConnectorCommand({ VpcConnectorArn: arn })),
      notFound,
    );
  });
});

void describe('Reads lag a fresh create', () => {
  void test('DescribeVpcConnector answers ResourceNotFoundException until the describe lag passes', async (t) => {
    const lag = PROFILE.describeLagMs;
    const h = await startHarness(t, { knobs: { connectorDescribeDelayMs: lag } });
    const { VpcConnectorArn: arn } = await createConnector(h.apprunner, 'not-yet');
    await expectAwsError(
      h.apprunner.send(new DescribeVpcConnectorCommand({ VpcConnectorArn: arn })),
      notFound,
    );
    assert.equal((await listedConnector(h, arn))?.Status, 'ACTIVE', 'the list lag is a knob of its own');
    h.clock.advance(lag - 1);
    await expectAwsError(
      h.apprunner.send(new DescribeVpcConnectorCommand({ VpcConnectorArn: arn })),
      notFound,
    );
    h.clock.advance(1);
    assert.equal((await describeConnector(h, arn)).Status, 'ACTIVE');
  });

  void test('ListVpcConnectors leaves a new connector out until the list lag passes', async (t) => {
    const lag = PROFILE.listLagMs;
    const h = await startHarness(t, { knobs: { connectorListDelayMs: lag } });
    const { VpcConnectorArn: arn } = await createConnector(h.apprunner, 'unlisted');
    h.clock.advance(lag - 1);
    assert.equal(await listedConnector(h, arn), undefined);
    h.clock.advance(1);
    assert.equal((await listedConnector(h, arn))?.Status, 'ACTIVE');
  });

  void test('a new connector reads as untagged until the tag lag passes', async (t) => {
    const lag = PROFILE.tagLagMs;
    const h = await startHarness(t, { knobs: { tagReadDelayMs: lag } });
    const { VpcConnector } = await h.apprunner.send(
      new CreateVpcConnectorCommand({
        VpcConnectorName: 'tagged-late',
        Subnets: [...WORLD.vpc1.subnets],
        Tags: [{ Key: 'owner', Value: 'operator' }],
      }),
    );
    const arn = VpcConnector?.VpcConnectorArn ?? '';
    assert.deepEqual(await tagsOf(h, arn), []);
    h.clock.advance(lag - 1);
    assert.deepEqual(await tagsOf(h, arn), []);
    h.clock.advance(1);
    assert.deepEqual(await tagsOf(h, arn), [{ Key: 'owner', Value: 'operator' }]);
  });

  void test('tag changes read as the tags before them until the lag has passed since the last change', async (t) => {
    const lag = PROFILE.tagLagMs;
    const h = await startHarness(t, { knobs: { tagReadDelayMs: lag } });
    const arn = h.serviceArn('svc-alpha');
    await h.apprunner.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'a', Value: '1' }] }));
    assert.deepEqual(await tagsOf(h, arn), [], 'a seeded service had no tags');
    h.clock.advance(lag / 2);
    await h.apprunner.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'b', Value: '2' }] }));
    await h.apprunner.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['a'] }));
    h.clock.advance(lag - 1);
    assert.deepEqual(await tagsOf(h, arn), [], 'still the tags from before the first change');
    h.clock.advance(1);
    assert.deepEqual(await tagsOf(h, arn), [{ Key: 'b', Value: '2' }]);
  });
});

void describe('ListServices pages that are empty while services remain', () => {
  void test('an empty first page still carries a NextToken: a client that stops at an empty page misses every service', async (t) => {
    const h = await startHarness(t, { knobs: { emptyFirstPage: true } });
    const first = await h.apprunner.send(new ListServicesCommand({ MaxResults: 20 }));
    assert.deepEqual(first.ServiceSummaryList, []);
    assert.ok(first.NextToken !== undefined, 'the empty page carries a NextToken');
    const { services, pageSizes } = await listServices(h, 20);
    assert.deepEqual(pageSizes, [0, SEEDED_SERVICES.length]);
    assert.deepEqual(services.map((s) => s.ServiceName).sort(), [...SEEDED_SERVICES].sort());
  });

  void test('with empty and short pages at random, a NextToken loop still returns every service exactly once', async (t) => {
    const h = await startHarness(t, { knobs: { emptyPageRate: 1, shortPages: true } });
    for (const name of ['extra-one', 'extra-two']) await createRunningService(h, name);
    const { services, pageSizes, tokens } = await listServices(h, 20);
    const expected = [...SEEDED_SERVICES, 'extra-one', 'extra-two'].sort();
    assert.deepEqual(services.map((s) => s.ServiceName).sort(), expected);
    const emptyInTheMiddle = pageSizes.slice(1, -1).filter((n) => n === 0).length;
    assert.ok(emptyInTheMiddle >= 1, `an empty page between full ones (pages ${pageSizes.join(',')})`);
    assert.ok(
      pageSizes.every((n, i) => n > 0 || pageSizes[i + 1] !== 0),
      `never two empty pages in a row (pages ${pageSizes.join(',')})`,
    );
    assert.equal(new Set(tokens).size, tokens.length, 'no NextToken repeats');
  });

  void test('by default the first page holds the services', async (t) => {
    const h = await startHarness(t);
    const first = await h.apprunner.send(new ListServicesCommand({ MaxResults: 20 }));
    assert.equal(first.ServiceSummaryList?.length, SEEDED_SERVICES.length);
  });
});

void describe('Subnets in an Availability Zone App Runner does not support', () => {
  const zone = PROFILE.unsupportedZone;

  /** A connector over one supported subnet and one subnet in `zone`. */
  async function straddling(h: Harness, name: string): Promise<{ arn: string; badSubnet: string }> {
    const badSubnet = await subnetIn(h, zone);
    const { VpcConnectorArn: arn } = await createConnector(h.apprunner, name, [
      WORLD.vpc1.subnets[0],
      badSubnet,
    ]);
    return { arn, badSubnet };
  }

  const listings: { reason: string; listed: string }[] = [
    { reason: 'listed by zone name', listed: zone },
    { reason: 'listed by zone id (us-east-1e is use1-az5 here)', listed: 'use1-az5' },
  ];
  for (const { reason, listed } of listings) {
    void test(`CreateVpcConnector accepts the subnet, and the update that attaches it rolls back: ${reason}`, async (t) => {
      const h = await startHarness(t, { knobs: { unsupportedZones: { 'us-east-1': [listed] } } });
      const { arn: connectorArn } = await straddling(h, 'bad-zone');
      const arn = h.serviceArn('svc-alpha');
      const before = await describeService(h.apprunner, arn);
      const { service, operationId } = await updateNetwork(h.apprunner, arn, vpcEgress(connectorArn));
      assert.equal(service.Status, 'OPERATION_IN_PROGRESS', 'the call itself is accepted');
      h.clock.advance(SETTLE_MS);
      const [op] = await listAllOperations(h.apprunner, arn);
      assert.equal(op?.Id, operationId);
      assert.equal(op.Status, 'ROLLBACK_SUCCEEDED');
      const after = await describeService(h.apprunner, arn);
      assert.equal(after.Status, 'RUNNING', 'only the operation tells the update failed');
      assert.deepEqual(after.NetworkConfiguration, before.NetworkConfiguration);
      const { NetworkInterfaces } = await h.ec2.send(new DescribeNetworkInterfacesCommand({}));
      assert.deepEqual(NetworkInterfaces, [], 'no ENI was placed');
    });
  }

  void test('with the invalid-request choice, UpdateService refuses naming the subnet and starts nothing', async (t) => {
    const h = await startHarness(t, {
      knobs: { unsupportedZones: { 'us-east-1': [zone] }, unsupportedZoneRefusal: 'invalid-request' },
    });
    const { arn: connectorArn, badSubnet } = await straddling(h, 'bad-zone-sync');
    const arn = h.serviceArn('svc-alpha');
    const error = await expectAwsError(updateNetwork(h.apprunner, arn, vpcEgress(connectorArn)), {
      name: 'InvalidRequestException',
      status: 400,
    });
    assert.ok(error.message.includes(badSubnet), `names the subnet: ${error.message}`);
    assert.ok(error.message.includes(zone), `names the zone: ${error.message}`);
    assert.ok(!error.message.includes(WORLD.vpc1.subnets[0]), 'names only the unsupported subnet');
    assert.equal((await describeService(h.apprunner, arn)).Status, 'RUNNING');
    assert.equal((await listAllOperations(h.apprunner, arn)).length, 1, 'only the seeded create operation');
  });

  void test('CreateService on such a connector ends CREATE_FAILED', async (t) => {
    const h = await startHarness(t, { knobs: { unsupportedZones: { 'us-east-1': [zone] } } });
    const { arn: connectorArn } = await straddling(h, 'bad-zone-create');
    const { Service: created, OperationId } = await h.apprunner.send(
      new CreateServiceCommand({
        ServiceName: 'born-broken',
        SourceConfiguration: {
          ImageRepository: {
            ImageIdentifier: 'public.ecr.aws/aws-containers/hello-app-runner:latest',
            ImageRepositoryType: 'ECR_PUBLIC',
          },
        },
        NetworkConfiguration: vpcEgress(connectorArn),
      }),
    );
    const arn = created?.ServiceArn ?? '';
    h.clock.advance(SETTLE_MS);
    const [op] = await listAllOperations(h.apprunner, arn);
    assert.equal(op?.Id, OperationId);
    assert.equal(op?.Status, 'FAILED');
    assert.equal((await describeService(h.apprunner, arn)).Status, 'CREATE_FAILED');
  });

  void test('a connector whose subnets are all in supported zones attaches normally', async (t) => {
    const h = await startHarness(t, { knobs: { unsupportedZones: { 'us-east-1': [zone] } } });
    await subnetIn(h, zone);
    const { VpcConnectorArn: connectorArn } = await createConnector(h.apprunner, 'good-zones');
    const after = await updateNetworkAndSettle(h, h.serviceArn('svc-alpha'), vpcEgress(connectorArn));
    assert.equal(after.NetworkConfiguration?.EgressConfiguration?.VpcConnectorArn, connectorArn);
    const [op] = await listAllOperations(h.apprunner, h.serviceArn('svc-alpha'));
    assert.equal(op?.Status, 'SUCCEEDED');
  });
});

void describe('The pessimistic profile', () => {
  const pessimistic: Knobs = { profile: 'pessimistic' };

  void test('a new connector is unknown to Describe, unlisted and untagged at first, then appears step by step', async (t) => {
    const h = await startHarness(t, { knobs: pessimistic });
    const { VpcConnector } = await h.apprunner.send(
      new CreateVpcConnectorCommand({
        VpcConnectorName: 'fresh',
        Subnets: [...WORLD.vpc1.subnets],
        Tags: [{ Key: 'owner', Value: 'operator' }],
      }),
    );
    const arn = VpcConnector?.VpcConnectorArn ?? '';
    assert.equal(VpcConnector?.Status, 'ACTIVE', 'the create answer itself is complete');
    await expectAwsError(
      h.apprunner.send(new DescribeVpcConnectorCommand({ VpcConnectorArn: arn })),
      notFound,
    );
    assert.equal(await listedConnector(h, arn), undefined);
    assert.deepEqual(await tagsOf(h, arn), []);
    h.clock.advance(Math.max(PROFILE.describeLagMs, PROFILE.listLagMs));
    assert.equal((await describeConnector(h, arn)).Status, 'ACTIVE');
    assert.equal((await listedConnector(h, arn))?.Status, 'ACTIVE');
    assert.deepEqual(await tagsOf(h, arn), [], 'listed and describable, yet still untagged');
    h.clock.advance(PROFILE.tagLagMs - Math.max(PROFILE.describeLagMs, PROFILE.listLagMs));
    assert.deepEqual(await tagsOf(h, arn), [{ Key: 'owner', Value: 'operator' }]);
  });

  void test('after a detach the connector stays in use for the linger, and its delete then settles late', async (t) => {
    const h = await startHarness(t, { knobs: pessimistic });
    const { VpcConnectorArn: connectorArn } = await createConnector(h.apprunner, 'linger-then-settle');
    const arn = h.serviceArn('svc-alpha');
    await updateNetworkAndSettle(h, arn, vpcEgress(connectorArn));
    const { operationId } = await updateNetwork(h.apprunner, arn, DEFAULT_EGRESS);
    h.clock.advance(PROFILE.pendingMs + PROFILE.inProgressMs);
    const [op] = await listAllOperations(h.apprunner, arn);
    assert.equal(op?.Id, operationId);
    assert.equal(op.Status, 'SUCCEEDED', 'the detach finished');
    const deleteIt = () => h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connectorArn }));
    await expectAwsError(deleteIt(), {
      name: 'InvalidRequestException',
      status: 400,
      message: inUseMessage(connectorArn),
    });
    h.clock.advance(PROFILE.lingerMs - 1);
    await expectAwsError(deleteIt(), { name: 'InvalidRequestException', status: 400 });
    h.clock.advance(1);
    assert.equal((await deleteIt()).VpcConnector?.Status, 'INACTIVE');
    assert.equal((await describeConnector(h, connectorArn)).Status, 'ACTIVE');
    h.clock.advance(PROFILE.deleteSettlesMs);
    assert.equal((await describeConnector(h, connectorArn)).Status, 'INACTIVE');
  });

  void test('ListServices starts with an empty page, and a full NextToken loop still finds every service', async (t) => {
    const h = await startHarness(t, { knobs: pessimistic });
    const first = await h.apprunner.send(new ListServicesCommand({}));
    assert.deepEqual(first.ServiceSummaryList, []);
    assert.ok(first.NextToken !== undefined);
    const { services } = await listServices(h);
    assert.deepEqual(services.map((s) => s.ServiceName).sort(), [...SEEDED_SERVICES].sort());
  });

  void test(`attaching a connector with a subnet in ${PROFILE.unsupportedZone} rolls the update back`, async (t) => {
    const h = await startHarness(t, { knobs: pessimistic });
    const bad = await subnetIn(h, PROFILE.unsupportedZone);
    const { VpcConnectorArn: connectorArn } = await createConnector(h.apprunner, 'east-1e', [bad]);
    const arn = h.serviceArn('svc-alpha');
    await updateNetwork(h.apprunner, arn, vpcEgress(connectorArn));
    h.clock.advance(SETTLE_MS);
    const [op] = await listAllOperations(h.apprunner, arn);
    assert.equal(op?.Status, 'ROLLBACK_SUCCEEDED');
    const after = await describeService(h.apprunner, arn);
    assert.equal(after.NetworkConfiguration?.EgressConfiguration?.EgressType, 'DEFAULT');
  });

  void test('operations take the profile time: PENDING, then IN_PROGRESS, then SUCCEEDED and not before', async (t) => {
    const h = await startHarness(t, { knobs: pessimistic });
    const arn = h.serviceArn('svc-bravo');
    await h.apprunner.send(
      new UpdateServiceCommand({ ServiceArn: arn, NetworkConfiguration: { IngressConfiguration: {} } }),
    );
    const status = async (): Promise<string | undefined> =>
      (await listAllOperations(h.apprunner, arn))[0]?.Status;
    h.clock.advance(PROFILE.pendingMs - 1);
    assert.equal(await status(), 'PENDING');
    h.clock.advance(1);
    assert.equal(await status(), 'IN_PROGRESS');
    h.clock.advance(PROFILE.inProgressMs - 1);
    assert.equal(await status(), 'IN_PROGRESS');
    h.clock.advance(1);
    assert.equal(await status(), 'SUCCEEDED');
  });

  void test(`every answer takes at least ${PROFILE.latencyFloorMs} ms of real time`, async (t) => {
    const h = await startHarness(t, { knobs: pessimistic });
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await h.apprunner.send(new ListVpcConnectorsCommand({}));
      const took = performance.now() - started;
      assert.ok(took >= PROFILE.latencyFloorMs - 1, `answered after ${took.toFixed(1)} ms`);
    }
  });

  void test('GetRole answers NoSuchEntity for a while after CreateVpcConnector created the service-linked role', async (t) => {
    const h = await startHarness(t, { knobs: pessimistic });
    await createConnector(h.apprunner, 'makes-the-role');
    await expectAwsError(h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME })), {
      name: 'NoSuchEntityException',
      status: 404,
    });
    h.clock.advance(PROFILE.slrReadLagMs);
    await h.iam.send(new GetRoleCommand({ RoleName: SLR_NAME }));
  });

  void test('an UpdateService that omits IngressConfiguration resets it: a private service turns public', async (t) => {
    const h = await startHarness(t, { knobs: pessimistic });
    const arn = h.serviceArn('svc-charlie');
    const hidden = await updateNetworkAndSettle(h, arn, {
      IngressConfiguration: { IsPubliclyAccessible: false },
    });
    assert.equal(hidden.ServiceUrl, '', 'private');
    const after = await updateNetworkAndSettle(h, arn, DEFAULT_EGRESS);
    // An absent IngressConfiguration means public (semantics §5.8), as does IsPubliclyAccessible true.
    assert.notEqual(after.NetworkConfiguration?.IngressConfiguration?.IsPubliclyAccessible, false);
    assert.notEqual(after.ServiceUrl, '', 'public again');
  });

  void test('ListServices also lists DELETED services until they are purged', async (t) => {
    const h = await startHarness(t, { knobs: pessimistic });
    const arn = h.serviceArn('svc-charlie');
    await h.apprunner.send(new DeleteServiceCommand({ ServiceArn: arn }));
    h.clock.advance(SETTLE_MS);
    const { services } = await listServices(h);
    assert.equal(services.find((s) => s.ServiceArn === arn)?.Status, 'DELETED');
  });

  void test('knobs set beside the profile win over its values', async (t) => {
    const h = await startHarness(t, {
      knobs: { ...pessimistic, connectorDeleteDelayMs: 0, emptyFirstPage: false },
    });
    const { VpcConnectorArn: arn } = await createConnector(h.apprunner, 'own-knobs');
    h.clock.advance(PROFILE.describeLagMs);
    await h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: arn }));
    assert.equal((await describeConnector(h, arn)).Status, 'INACTIVE');
    const first = await h.apprunner.send(new ListServicesCommand({ MaxResults: 1 }));
    assert.equal(first.ServiceSummaryList?.length, 1);
  });

  void test('the admin API switches the profile on at runtime, and back to exactly the defaults', async (t) => {
    const h = await startHarness(t, { knobs: { profile: 'default' } });
    const initial = await h.admin.config();
    const { VpcConnectorArn: before } = await createConnector(h.apprunner, 'before-switch');
    assert.equal((await describeConnector(h, before)).Status, 'ACTIVE', 'no describe lag by default');

    await h.admin.faults(pessimistic);
    const { VpcConnectorArn: arn } = await createConnector(h.apprunner, 'after-switch');
    await expectAwsError(
      h.apprunner.send(new DescribeVpcConnectorCommand({ VpcConnectorArn: arn })),
      notFound,
    );

    await h.admin.faults({ profile: 'default' });
    assert.deepEqual(await h.admin.config(), initial);
  });
});
