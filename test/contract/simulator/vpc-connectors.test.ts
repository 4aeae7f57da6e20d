// VPC connector lifecycle (semantics.md §5.1–5.5, §7.1, §14 items 4, 5, 10) through the real SDK.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DeleteVpcConnectorCommand,
  DescribeVpcConnectorCommand,
  ListTagsForResourceCommand,
  ListVpcConnectorsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  CreateVpcConnectorCommand,
  DeleteServiceCommand,
  type VpcConnector,
} from '@aws-sdk/client-apprunner';
import {
  ACCOUNT,
  DEFAULT_EGRESS,
  EPOCH,
  OTHER_REGION,
  REGION,
  SETTLE_MS,
  TIMINGS,
  WORLD,
  connectorArnPattern,
  createConnector,
  expectAwsError,
  rawAppRunner,
  startHarness,
  updateNetwork,
  updateNetworkAndSettle,
  vpcEgress,
} from './fixtures.ts';

const inUseMessage = (arn: string): string =>
  `Provided VPC connector arn is being used by other services. ARN:  ${arn}`;

void describe('VPC connector lifecycle', () => {
  void test('a created connector is ACTIVE at revision 1 with an ARN of the real shape and no DeletedAt', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'lifecycle-a');
    assert.equal(connector.VpcConnectorName, 'lifecycle-a');
    assert.equal(connector.Status, 'ACTIVE');
    assert.equal(connector.VpcConnectorRevision, 1);
    assert.match(connector.VpcConnectorArn, connectorArnPattern('lifecycle-a'));
    assert.deepEqual([...(connector.Subnets ?? [])].sort(), [...WORLD.vpc1.subnets].sort());
    assert.deepEqual(connector.SecurityGroups, [WORLD.vpc1.securityGroup]);
    assert.equal(connector.DeletedAt, undefined);
    assert.equal(connector.CreatedAt?.getTime(), EPOCH, 'CreatedAt comes from the injected clock');
  });

  void test('SecurityGroups may be omitted (App Runner then uses the VPC default group)', async (t) => {
    const h = await startHarness(t);
    const { VpcConnector: connector } = await h.apprunner.send(
      new CreateVpcConnectorCommand({ VpcConnectorName: 'default-sg', Subnets: [WORLD.vpc1.subnets[0]] }),
    );
    assert.equal(connector?.Status, 'ACTIVE');
  });

  void test('the region is the one in the signature scope, whatever the client library', async (t) => {
    const h = await startHarness(t);
    const response = await rawAppRunner(
      h.url,
      'CreateVpcConnector',
      { VpcConnectorName: 'scoped', Subnets: [...WORLD.otherRegion.subnets] },
      OTHER_REGION,
    );
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const arn = String((response.body.VpcConnector as Record<string, unknown>).VpcConnectorArn);
    assert.match(arn, connectorArnPattern('scoped', OTHER_REGION));
  });

  void test('describing a connector returns what create returned', async (t) => {
    const h = await startHarness(t);
    const created = await createConnector(h.apprunner, 'lifecycle-b');
    const { VpcConnector: described } = await h.apprunner.send(
      new DescribeVpcConnectorCommand({ VpcConnectorArn: created.VpcConnectorArn }),
    );
    assert.deepEqual(described, created);
  });

  void test('connectors are regional: the ARN carries the region of the signature and other regions do not list it', async (t) => {
    const h = await startHarness(t);
    const eu = h.clientsFor(OTHER_REGION);
    const connector = await createConnector(eu.apprunner, 'regional', WORLD.otherRegion.subnets, [
      WORLD.otherRegion.securityGroup,
    ]);
    assert.match(connector.VpcConnectorArn, connectorArnPattern('regional', OTHER_REGION));
    const home = await h.apprunner.send(new ListVpcConnectorsCommand({}));
    assert.deepEqual(home.VpcConnectors, []);
    const there = await eu.apprunner.send(new ListVpcConnectorsCommand({}));
    assert.deepEqual(
      (there.VpcConnectors ?? []).map((c) => c.VpcConnectorArn),
      [connector.VpcConnectorArn],
    );
  });

  void test('a second connector with the name of an ACTIVE one is rejected with InvalidRequestException', async (t) => {
    const h = await startHarness(t);
    await createConnector(h.apprunner, 'only-one');
    await expectAwsError(
      createConnector(h.apprunner, 'only-one', [WORLD.vpc2.subnets[0]], [WORLD.vpc2.securityGroup]),
      {
        name: 'InvalidRequestException',
        status: 400,
      },
    );
    const listed = await h.apprunner.send(new ListVpcConnectorsCommand({}));
    assert.equal((listed.VpcConnectors ?? []).filter((c) => c.VpcConnectorName === 'only-one').length, 1);
  });

  void test('deleting a connector returns it INACTIVE with DeletedAt, and it stays describable until the purge time', async (t) => {
    const h = await startHarness(t);
    const created = await createConnector(h.apprunner, 'to-delete');
    h.clock.advance(5_000);
    const { VpcConnector: deleted } = await h.apprunner.send(
      new DeleteVpcConnectorCommand({ VpcConnectorArn: created.VpcConnectorArn }),
    );
    assert.equal(deleted?.Status, 'INACTIVE');
    assert.equal(deleted.DeletedAt?.getTime(), EPOCH + 5_000);
    assert.equal(deleted.VpcConnectorArn, created.VpcConnectorArn);

    h.clock.advance(TIMINGS.inactiveRetentionMs - 1_000);
    const { VpcConnector: still } = await h.apprunner.send(
      new DescribeVpcConnectorCommand({ VpcConnectorArn: created.VpcConnectorArn }),
    );
    assert.equal(still?.Status, 'INACTIVE');
    assert.equal(still.DeletedAt?.getTime(), EPOCH + 5_000);

    h.clock.advance(2_000);
    await expectAwsError(
      h.apprunner.send(new DescribeVpcConnectorCommand({ VpcConnectorArn: created.VpcConnectorArn })),
      {
        name: 'ResourceNotFoundException',
        status: 400,
      },
    );
  });

  void test('a deleted name can be reused and the new connector has a different ARN', async (t) => {
    const h = await startHarness(t);
    const first = await createConnector(h.apprunner, 'reused');
    await h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: first.VpcConnectorArn }));
    const second = await createConnector(h.apprunner, 'reused');
    assert.equal(second.Status, 'ACTIVE');
    assert.notEqual(second.VpcConnectorArn, first.VpcConnectorArn);
    assert.match(
      second.VpcConnectorArn,
      /^arn:aws:apprunner:us-east-1:123456789012:vpcconnector\/reused\/\d+\/[0-9a-f]{32}$/,
    );
  });

  void test('an INACTIVE connector cannot be used for VPC egress', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'gone-egress');
    await h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn }));
    await expectAwsError(
      updateNetwork(h.apprunner, h.serviceArn('svc-alpha'), vpcEgress(connector.VpcConnectorArn)),
      {
        name: 'InvalidRequestException',
        status: 400,
      },
    );
  });

  void test('describe and delete of a well-formed but unknown connector ARN answer ResourceNotFoundException (HTTP 400)', async (t) => {
    const h = await startHarness(t);
    const arn = `arn:aws:apprunner:${REGION}:${ACCOUNT}:vpcconnector/nobody/1/0123456789abcdef0123456789abcdef`;
    await expectAwsError(h.apprunner.send(new DescribeVpcConnectorCommand({ VpcConnectorArn: arn })), {
      name: 'ResourceNotFoundException',
      status: 400,
    });
    await expectAwsError(h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: arn })), {
      name: 'ResourceNotFoundException',
      status: 400,
    });
  });
});

void describe('Connector tags', () => {
  void test('tags given at create are listed, TagResource adds and overwrites, UntagResource removes', async (t) => {
    const h = await startHarness(t);
    const { VpcConnector: created } = await h.apprunner.send(
      new CreateVpcConnectorCommand({
        VpcConnectorName: 'tagged',
        Subnets: [...WORLD.vpc1.subnets],
        SecurityGroups: [WORLD.vpc1.securityGroup],
        Tags: [
          { Key: 'apprunnernet.dev/namespace', Value: 'team-a' },
          { Key: 'env', Value: 'dev' },
        ],
      }),
    );
    const arn = created?.VpcConnectorArn ?? '';
    const tagsOf = async (): Promise<Record<string, string>> => {
      const { Tags } = await h.apprunner.send(new ListTagsForResourceCommand({ ResourceArn: arn }));
      return Object.fromEntries((Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
    };
    assert.deepEqual(await tagsOf(), { 'apprunnernet.dev/namespace': 'team-a', env: 'dev' });

    const tagged = await h.apprunner.send(
      new TagResourceCommand({
        ResourceArn: arn,
        Tags: [
          { Key: 'env', Value: 'prod' },
          { Key: 'owner', Value: 'sre' },
        ],
      }),
    );
    assert.equal(tagged.$metadata.httpStatusCode, 200);
    assert.deepEqual(await tagsOf(), { 'apprunnernet.dev/namespace': 'team-a', env: 'prod', owner: 'sre' });

    await h.apprunner.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['env', 'not-there'] }));
    assert.deepEqual(await tagsOf(), { 'apprunnernet.dev/namespace': 'team-a', owner: 'sre' });
  });

  void test('services can be tagged too (the operator records ownership on the service)', async (t) => {
    const h = await startHarness(t);
    const arn = h.serviceArn('svc-alpha');
    await h.apprunner.send(
      new TagResourceCommand({
        ResourceArn: arn,
        Tags: [{ Key: 'apprunnernet.dev/owner', Value: 'c1/ns/x' }],
      }),
    );
    const { Tags } = await h.apprunner.send(new ListTagsForResourceCommand({ ResourceArn: arn }));
    assert.deepEqual(Tags, [{ Key: 'apprunnernet.dev/owner', Value: 'c1/ns/x' }]);
  });

  void test('tagging an unknown resource answers ResourceNotFoundException', async (t) => {
    const h = await startHarness(t);
    const arn = `arn:aws:apprunner:${REGION}:${ACCOUNT}:vpcconnector/nobody/1/0123456789abcdef0123456789abcdef`;
    await expectAwsError(h.apprunner.send(new ListTagsForResourceCommand({ ResourceArn: arn })), {
      name: 'ResourceNotFoundException',
      status: 400,
    });
    await expectAwsError(
      h.apprunner.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'a', Value: 'b' }] })),
      {
        name: 'ResourceNotFoundException',
        status: 400,
      },
    );
  });
});

void describe('In-use protection', () => {
  void test('deleting a connector a service uses fails with the exact InvalidRequestException text and leaves it ACTIVE', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'in-use');
    await updateNetworkAndSettle(h, h.serviceArn('svc-alpha'), vpcEgress(connector.VpcConnectorArn));
    await expectAwsError(
      h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn })),
      {
        name: 'InvalidRequestException',
        status: 400,
        message: inUseMessage(connector.VpcConnectorArn),
      },
    );
    const { VpcConnector: after } = await h.apprunner.send(
      new DescribeVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn }),
    );
    assert.equal(after?.Status, 'ACTIVE');
  });

  void test('the reference counts from the moment UpdateService is accepted, before the operation finishes', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'attaching');
    await updateNetwork(h.apprunner, h.serviceArn('svc-alpha'), vpcEgress(connector.VpcConnectorArn));
    await expectAwsError(
      h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn })),
      {
        name: 'InvalidRequestException',
        status: 400,
        message: inUseMessage(connector.VpcConnectorArn),
      },
    );
  });

  void test('the reference holds until the detach operation finishes, then the delete succeeds', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'detaching');
    const arn = h.serviceArn('svc-alpha');
    await updateNetworkAndSettle(h, arn, vpcEgress(connector.VpcConnectorArn));
    await updateNetwork(h.apprunner, arn, DEFAULT_EGRESS);
    await expectAwsError(
      h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn })),
      {
        name: 'InvalidRequestException',
        status: 400,
        message: inUseMessage(connector.VpcConnectorArn),
      },
    );
    h.clock.advance(SETTLE_MS);
    const { VpcConnector: deleted } = await h.apprunner.send(
      new DeleteVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn }),
    );
    assert.equal(deleted?.Status, 'INACTIVE');
  });

  void test('with a configured linger, the reference outlives the detach by exactly that time, and meeting it is no violation', async (t) => {
    const linger = 90_000;
    const h = await startHarness(t, { knobs: { inUseLingerMs: linger } });
    const connector = await createConnector(h.apprunner, 'lingering');
    const arn = h.serviceArn('svc-alpha');
    await updateNetworkAndSettle(h, arn, vpcEgress(connector.VpcConnectorArn));
    await updateNetwork(h.apprunner, arn, DEFAULT_EGRESS);
    h.clock.advance(TIMINGS.operationMs + 1_000);
    const deleteIt = (): Promise<unknown> =>
      h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn }));
    await expectAwsError(deleteIt(), {
      name: 'InvalidRequestException',
      status: 400,
      message: inUseMessage(connector.VpcConnectorArn),
    });
    // Nothing showed the caller the linger before it tried: the refusal is AWS's, not the caller's fault.
    assert.deepEqual(await h.admin.violations(), []);
    h.clock.advance(linger);
    await deleteIt();
  });

  void test('a deleted service keeps its connector in use until the delete operation finishes', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'svc-deleted');
    const arn = h.serviceArn('svc-bravo');
    await updateNetworkAndSettle(h, arn, vpcEgress(connector.VpcConnectorArn));
    await h.apprunner.send(new DeleteServiceCommand({ ServiceArn: arn }));
    await expectAwsError(
      h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn })),
      {
        name: 'InvalidRequestException',
        status: 400,
        message: inUseMessage(connector.VpcConnectorArn),
      },
    );
    h.clock.advance(SETTLE_MS);
    await h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn }));
  });
});

void describe('ListVpcConnectors pagination', () => {
  void test('a NextToken loop with short pages returns every connector exactly once', async (t) => {
    const h = await startHarness(t);
    const names = Array.from({ length: 7 }, (_, i) => `page-conn-${i}`);
    for (const name of names) await createConnector(h.apprunner, name);
    const seen: VpcConnector[] = [];
    let pages = 0;
    let nextToken: string | undefined;
    do {
      const page = await h.apprunner.send(
        new ListVpcConnectorsCommand({ MaxResults: 3, NextToken: nextToken }),
      );
      assert.ok((page.VpcConnectors ?? []).length <= 3, 'a page never exceeds MaxResults');
      seen.push(...(page.VpcConnectors ?? []));
      nextToken = page.NextToken;
      pages += 1;
      assert.ok(pages <= 10, 'pagination terminates');
    } while (nextToken !== undefined);
    assert.ok(pages >= 3, `7 items in pages of at most 3 need at least 3 pages (got ${pages})`);
    assert.deepEqual(seen.map((c) => c.VpcConnectorName).sort(), [...names].sort());
  });

  void test('without MaxResults the connectors of the region come back (looping on NextToken if any)', async (t) => {
    const h = await startHarness(t);
    for (const name of ['all-a', 'all-b']) await createConnector(h.apprunner, name);
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await h.apprunner.send(new ListVpcConnectorsCommand({ NextToken: nextToken }));
      seen.push(...(page.VpcConnectors ?? []).map((c) => c.VpcConnectorName ?? ''));
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    assert.deepEqual(seen.sort(), ['all-a', 'all-b']);
  });

  void test('an INACTIVE connector is never reported as ACTIVE by ListVpcConnectors', async (t) => {
    const h = await startHarness(t);
    const gone = await createConnector(h.apprunner, 'list-gone');
    await createConnector(h.apprunner, 'list-kept');
    await h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: gone.VpcConnectorArn }));
    const { VpcConnectors } = await h.apprunner.send(new ListVpcConnectorsCommand({}));
    const active = (VpcConnectors ?? []).filter((c) => c.Status === 'ACTIVE').map((c) => c.VpcConnectorName);
    assert.deepEqual(active, ['list-kept']);
    for (const c of (VpcConnectors ?? []).filter((c) => c.VpcConnectorName === 'list-gone')) {
      assert.equal(c.Status, 'INACTIVE', 'if listed at all, the deleted connector is INACTIVE');
    }
  });
});
