// The shared view of AWS: region listings shared by passes in flight and reused while young (shorter for
// passes about to delete and while services are in motion), services described only when their summary
// changed, the operator's own writes laid over older listings, tags known from the operator's own writes,
// the role read once per period and one role deletion for every pass that wants it.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import type {
  AwsGateway,
  DesiredNetwork,
  ServiceObservation,
  ServiceSummary,
} from '../../../src/aws/gateway.ts';
import { ConnectorInUseError } from '../../../src/aws/errors.ts';
import {
  ATTACH_GRACE_MS,
  AwsView,
  DEFAULT_VIEW_FRESH_MAX_AGE_MS,
  DEFAULT_VIEW_MAX_AGE_MS,
  type AwsViewOptions,
} from '../../../src/controllers/shared/aws-view.ts';
import {
  ATTACHED,
  CONNECTOR_ARN,
  NOW,
  OTHER_CONNECTOR_ARN,
  ROTATED_CONNECTOR_ARN,
  SERVICE_ARN,
  SVCNET_TAGS,
  VPCC_TAGS,
  awsConnector,
  awsHolding,
  awsService,
  fakeGateway,
  type GatewayVerbs,
} from '../builders.ts';

const call = { signal: new AbortController().signal };
const REGION = 'us-east-1';

/** A view over a gateway answering `verbs`, on a clock the test moves. */
function view(
  verbs: GatewayVerbs,
  options: Omit<AwsViewOptions, 'now'> = {},
): { view: AwsView; calls: string[]; clock: { now: number }; gateway: AwsGateway } {
  const { gateway, calls } = fakeGateway(verbs);
  const clock = { now: NOW.getTime() };
  return { view: new AwsView(gateway, { ...options, now: () => clock.now }), calls, clock, gateway };
}

/** How ListServices summarises `service`. */
const summary = ({ arn, name, status, updatedAt }: ServiceObservation): ServiceSummary => ({
  arn,
  name,
  status,
  updatedAt,
});

/** The network a pass asks UpdateService for: VPC egress through `vpcConnectorArn`, else DEFAULT. */
const desired = (vpcConnectorArn?: string): DesiredNetwork => ({
  ...(vpcConnectorArn === undefined ? { egressType: 'DEFAULT' } : { egressType: 'VPC', vpcConnectorArn }),
  isPubliclyAccessible: true,
  ipAddressType: 'IPV4',
});

void describe('AwsView', () => {
  void it('knows the tags it wrote without reading them back (a read could still show the old ones)', async () => {
    const v = view({
      listTags: () => Promise.resolve({ team: 'payments' }),
      tagResource: () => Promise.resolve(),
      untagResource: () => Promise.resolve(),
    });
    assert.deepEqual(await v.view.tags(SERVICE_ARN, call), { team: 'payments' });
    await v.view.tagResource(SERVICE_ARN, { 'apprunnernet.dev/name': 'web' }, call);
    assert.deepEqual(await v.view.tags(SERVICE_ARN, call), {
      team: 'payments',
      'apprunnernet.dev/name': 'web',
    });
    await v.view.untagResource(SERVICE_ARN, ['team'], call);
    assert.deepEqual(await v.view.tags(SERVICE_ARN, call), { 'apprunnernet.dev/name': 'web' });
    assert.deepEqual(v.calls, ['listTags', 'tagResource', 'untagResource'], 'one read in all');
  });

  for (const [verb, write] of [
    ['tagResource', (v: AwsView) => v.tagResource(SERVICE_ARN, { a: 'b' }, call)],
    ['untagResource', (v: AwsView) => v.untagResource(SERVICE_ARN, ['team'], call)],
  ] as const) {
    void it(`reads the tags again after a ${verb} that failed, and believes that read`, async () => {
      const v = view({
        listTags: () => Promise.resolve({ team: 'payments' }),
        tagResource: () => Promise.reject(new Error('connection reset')),
        untagResource: () => Promise.reject(new Error('connection reset')),
      });
      await v.view.tags(SERVICE_ARN, call);
      await assert.rejects(write(v.view), /connection reset/);
      await v.view.tags(SERVICE_ARN, call);
      await v.view.tags(SERVICE_ARN, call);
      assert.deepEqual(v.calls, ['listTags', verb, 'listTags']);
    });
  }

  void it('reads a connector’s tags again after a read that found none, and a service’s not', async () => {
    // No tags at all on a connector may be a read lagging a create: not believed for good.
    const untagged = view({ listTags: () => Promise.resolve({}) });
    await untagged.view.tags(CONNECTOR_ARN, call);
    await untagged.view.tags(CONNECTOR_ARN, call);
    assert.deepEqual(untagged.calls, ['listTags', 'listTags']);
    // A service without tags is unclaimed, and stays so until the operator tags it.
    await untagged.view.tags(SERVICE_ARN, call);
    await untagged.view.tags(SERVICE_ARN, call);
    assert.deepEqual(untagged.calls, ['listTags', 'listTags', 'listTags']);
  });

  void it('reads a resource’s tags once for the passes that ask together, and a connector’s once it has some', async () => {
    const v = view({ listTags: () => Promise.resolve(VPCC_TAGS) });
    await Promise.all([v.view.tags(CONNECTOR_ARN, call), v.view.tags(CONNECTOR_ARN, call)]);
    assert.deepEqual(await v.view.tags(CONNECTOR_ARN, call), VPCC_TAGS);
    assert.deepEqual(v.calls, ['listTags']);
  });

  void it('untags a resource whose tags it never read, and reads them when a pass asks', async () => {
    const v = view({
      untagResource: () => Promise.resolve(),
      listTags: () => Promise.resolve({ team: 'payments' }),
    });
    await v.view.untagResource(SERVICE_ARN, ['owner'], call);
    assert.deepEqual(await v.view.tags(SERVICE_ARN, call), { team: 'payments' });
    assert.deepEqual(v.calls, ['untagResource', 'listTags']);
  });

  void it('shares one listing among passes that start while it is in flight, and reuses it while it is young', async () => {
    let release: (value: { arn: string; name: string; status: 'RUNNING' }[]) => void = () => undefined;
    const v = view({
      ...awsHolding({ services: [awsService()] }),
      listServiceSummaries: () =>
        new Promise((resolve) => {
          release = resolve;
        }),
    });
    const first = v.view.services(REGION, call);
    const second = v.view.services(REGION, call);
    release([{ arn: SERVICE_ARN, name: 'payments', status: 'RUNNING' }]);
    assert.deepEqual(await first, await second);
    v.clock.now += DEFAULT_VIEW_MAX_AGE_MS - 1;
    assert.deepEqual(await v.view.services(REGION, call), await first);
    assert.deepEqual(v.calls, ['listServiceSummaries', 'describeService']);

    v.clock.now += 1;
    const fourth = v.view.services(REGION, call);
    release([]);
    assert.deepEqual(await fourth, [], 'an old listing is taken again; the service is gone from it');
    assert.deepEqual(v.calls.slice(2), ['listServiceSummaries']);
  });

  void it('lets a pass that gives up stop waiting, while the listing it started goes on for the others', async () => {
    let release: () => void = () => undefined;
    const signals: (AbortSignal | undefined)[] = [];
    const v = view({
      ...awsHolding({ services: [awsService()] }),
      listServiceSummaries: (_region, options) => {
        signals.push(options?.signal);
        return new Promise((resolve) => {
          release = () => {
            resolve([{ arn: SERVICE_ARN, name: 'payments', status: 'RUNNING' }]);
          };
        });
      },
    });
    const impatient = new AbortController();
    const first = v.view.services(REGION, { signal: impatient.signal });
    const second = v.view.services(REGION, call);
    impatient.abort(new Error('reconcile timed out'));
    await assert.rejects(first, /reconcile timed out/);
    release();
    assert.equal((await second).length, 1);
    assert.deepEqual(signals, [undefined], 'the listing does not run on the first pass’s signal');
  });

  void it('does not remember tags read while the operator was writing them', async () => {
    let answer: (tags: Record<string, string>) => void = () => undefined;
    const v = view({
      listTags: () =>
        new Promise((resolve) => {
          answer = resolve;
        }),
      tagResource: () => Promise.resolve(),
    });
    const read = v.view.tags(SERVICE_ARN, call);
    await v.view.tagResource(SERVICE_ARN, { owner: 'us' }, call);
    answer({ owner: 'someone-before' });
    await read;
    assert.deepEqual(
      await v.view.tags(SERVICE_ARN, call),
      { owner: 'us' },
      'the write wins over the older read',
    );
  });

  void it('describes a listed service again only when its status or UpdatedAt changed', async () => {
    const at = new Date(NOW.getTime() - 60_000);
    let service: ServiceObservation = { ...awsService(), updatedAt: at };
    const v = view({
      listServiceSummaries: () =>
        Promise.resolve([
          { arn: service.arn, name: service.name, status: service.status, updatedAt: service.updatedAt },
        ]),
      describeService: () => Promise.resolve(service),
    });
    await v.view.services(REGION, call);
    v.clock.now += DEFAULT_VIEW_MAX_AGE_MS;
    await v.view.services(REGION, call);
    assert.deepEqual(v.calls.splice(0), ['listServiceSummaries', 'describeService', 'listServiceSummaries']);

    service = { ...service, status: 'OPERATION_IN_PROGRESS', updatedAt: new Date(NOW.getTime()) };
    v.clock.now += DEFAULT_VIEW_MAX_AGE_MS;
    assert.equal((await v.view.services(REGION, call))[0]?.status, 'OPERATION_IN_PROGRESS');
    assert.deepEqual(v.calls.splice(0), ['listServiceSummaries', 'describeService']);

    // A service in motion: its operation ends when nobody says, so the listing is young for less long.
    v.clock.now += DEFAULT_VIEW_FRESH_MAX_AGE_MS;
    service = { ...service, status: 'RUNNING' };
    assert.equal((await v.view.services(REGION, call))[0]?.status, 'RUNNING');
    assert.deepEqual(v.calls.splice(0), ['listServiceSummaries', 'describeService']);
  });

  void it('lists a region of many pages again for motion no sooner than one second per page, and a deleting pass still after the fresh bound', async () => {
    // 200 services are 10 pages: while one is in motion, the listing serves 10 s rather than 5 s.
    const services = Array.from({ length: 200 }, (_, i) =>
      awsService({ name: `svc-${i}`, status: i === 0 ? 'OPERATION_IN_PROGRESS' : 'RUNNING' }),
    );
    const v = view({
      listServiceSummaries: () =>
        Promise.resolve(services.map((s) => ({ arn: s.arn, name: s.name, status: s.status }))),
      describeService: (arn) => Promise.resolve(services.find((s) => s.arn === arn)),
    });
    await v.view.services(REGION, call);
    const listings = (): number => v.calls.splice(0).filter((c) => c === 'listServiceSummaries').length;
    assert.equal(listings(), 1);
    v.clock.now += 9_999;
    await v.view.services(REGION, call);
    assert.equal(listings(), 0, 'one second per page: 10 s for 10 pages');
    await v.view.services(REGION, call, 'fresh');
    assert.equal(listings(), 1, 'a pass about to delete keeps the fresh bound');
    v.clock.now += 10_000;
    await v.view.services(REGION, call);
    assert.equal(listings(), 1);

    // No longer than the settled bound, however many pages.
    const many = Array.from({ length: 2_000 }, (_, i) =>
      awsService({ name: `big-${i}`, status: i === 0 ? 'OPERATION_IN_PROGRESS' : 'RUNNING' }),
    );
    services.splice(0, services.length, ...many);
    v.clock.now += DEFAULT_VIEW_MAX_AGE_MS;
    await v.view.services(REGION, call);
    assert.equal(listings(), 1);
    v.clock.now += DEFAULT_VIEW_MAX_AGE_MS - 1;
    await v.view.services(REGION, call);
    assert.equal(listings(), 0);
    v.clock.now += 1;
    await v.view.services(REGION, call);
    assert.equal(listings(), 1, '100 pages: the settled bound, not 100 s');
  });

  void it('answers a pass about one service from the listing while others are in motion, and describes only that one when it moves', async () => {
    const busy = awsService({ name: 'busy', status: 'OPERATION_IN_PROGRESS' });
    const calm = awsService({ name: 'calm' });
    const v = view(awsHolding({ services: [busy, calm] }));
    await v.view.services(REGION, call);
    v.calls.splice(0);
    v.clock.now += DEFAULT_VIEW_FRESH_MAX_AGE_MS;
    assert.equal((await v.view.service(calm.arn, REGION, call))?.status, 'RUNNING');
    assert.deepEqual(v.calls.splice(0), [], 'another service in motion does not make this one stale');
    assert.deepEqual(
      await v.view.service(busy.arn, REGION, call),
      busy,
      'as AWS describes it: the view did not see what someone else’s operation left',
    );
    assert.deepEqual(
      v.calls,
      ['describeService'],
      'the one in motion is described again, not the whole region',
    );
  });

  void it('answers a pass about to delete only from a listing taken moments ago', async () => {
    const v = view(awsHolding({ services: [awsService()] }));
    await v.view.services(REGION, call);
    v.clock.now += DEFAULT_VIEW_FRESH_MAX_AGE_MS - 1;
    await v.view.services(REGION, call, 'fresh');
    assert.equal(v.calls.filter((c) => c === 'listServiceSummaries').length, 1);
    v.clock.now += 1;
    await v.view.services(REGION, call, 'settled');
    assert.equal(v.calls.filter((c) => c === 'listServiceSummaries').length, 1, 'young enough to observe');
    await v.view.services(REGION, call, 'fresh');
    assert.equal(v.calls.filter((c) => c === 'listServiceSummaries').length, 2, 'too old to delete on');
  });

  void it('shows a service as its own UpdateService left it, even over a listing taken before', async () => {
    const busy = awsService({
      status: 'OPERATION_IN_PROGRESS',
      network: { egressType: 'VPC', vpcConnectorArn: CONNECTOR_ARN },
    });
    let release: () => void = () => undefined;
    const v = view({
      ...awsHolding({ services: [awsService()] }),
      listServiceSummaries: () =>
        new Promise((resolve) => {
          release = () => {
            resolve([{ arn: SERVICE_ARN, name: 'payments', status: 'RUNNING' }]);
          };
        }),
      updateServiceNetwork: () => Promise.resolve({ service: busy, operationId: 'op-1' }),
    });
    const listing = v.view.services(REGION, call);
    await v.view.updateServiceNetwork(
      SERVICE_ARN,
      REGION,
      {
        egressType: 'VPC',
        vpcConnectorArn: CONNECTOR_ARN,
        isPubliclyAccessible: true,
        ipAddressType: 'IPV4',
      },
      call,
    );
    release();
    await listing;
    assert.equal((await v.view.service(SERVICE_ARN, REGION, call))?.status, 'OPERATION_IN_PROGRESS');
  });

  void it('remembers which connector a service left for the operation the operator started, not for anyone else’s', async () => {
    const attached = awsService({ network: { egressType: 'VPC', vpcConnectorArn: CONNECTOR_ARN } });
    const moving = awsService({ status: 'OPERATION_IN_PROGRESS' });
    let described = attached;
    const v = view({
      ...awsHolding(),
      listServiceSummaries: () =>
        Promise.resolve([
          { arn: SERVICE_ARN, name: 'payments', status: described.status, updatedAt: described.updatedAt },
        ]),
      describeService: () => Promise.resolve(described),
      updateServiceNetwork: () => Promise.resolve({ service: moving, operationId: 'op-1' }),
    });
    await v.view.services(REGION, call);
    const detached = await v.view.updateServiceNetwork(
      SERVICE_ARN,
      REGION,
      { egressType: 'DEFAULT', isPubliclyAccessible: true, ipAddressType: 'IPV4' },
      call,
    );
    assert.deepEqual(detached.service.movingFrom, { connectorArn: CONNECTOR_ARN });
    assert.deepEqual((await v.view.service(SERVICE_ARN, REGION, call))?.movingFrom, {
      connectorArn: CONNECTOR_ARN,
    });

    // Someone else's operation: the view cannot tell what the service left.
    const other = view({
      ...awsHolding(),
      listServiceSummaries: () =>
        Promise.resolve([
          { arn: SERVICE_ARN, name: 'payments', status: described.status, updatedAt: described.updatedAt },
        ]),
      describeService: () => Promise.resolve(described),
    });
    described = attached;
    await other.view.services(REGION, call);
    described = moving;
    other.clock.now += DEFAULT_VIEW_MAX_AGE_MS;
    assert.equal((await other.view.services(REGION, call))[0]?.movingFrom, undefined);
  });

  void it('finds a connector it created by name without listing again, with the tags it was created with', async () => {
    const v = view({
      ...awsHolding(),
      createConnector: () => Promise.resolve({ ...awsConnector(), tags: undefined }),
    });
    assert.equal(await v.view.connectorByName(REGION, 'team-a-web', call), undefined);
    const created = await v.view.createConnector(
      REGION,
      { name: 'team-a-web', subnets: [], securityGroups: [], tags: VPCC_TAGS },
      call,
    );
    assert.deepEqual(created, awsConnector(), 'the create answers with the tags it was created with');
    const found = await v.view.connectorByName(REGION, 'team-a-web', call);
    assert.equal(found?.arn, CONNECTOR_ARN);
    assert.deepEqual(found.tags, VPCC_TAGS);
    assert.deepEqual(v.calls, ['listConnectors', 'createConnector']);
  });

  void it('lists afresh after a create whose answer did not come (it may exist all the same)', async () => {
    const v = view({
      ...awsHolding(),
      createConnector: () => Promise.reject(new Error('socket hang up')),
    });
    await v.view.connectorByName(REGION, 'team-a-web', call);
    await assert.rejects(
      v.view.createConnector(
        REGION,
        { name: 'team-a-web', subnets: [], securityGroups: [], tags: VPCC_TAGS },
        call,
      ),
      /socket hang up/,
    );
    await v.view.connectorByName(REGION, 'team-a-web', call);
    assert.deepEqual(v.calls, ['listConnectors', 'createConnector', 'listConnectors']);
  });

  void it('describes a connector the listing does not show, and never reads an INACTIVE one again', async () => {
    const v = view(
      awsHolding({
        connectors: [
          awsConnector(),
          awsConnector({ arn: OTHER_CONNECTOR_ARN, name: 'rogue', status: 'INACTIVE' }),
        ],
      }),
    );
    assert.equal((await v.view.connector(CONNECTOR_ARN, REGION, call))?.status, 'ACTIVE');
    assert.equal((await v.view.connector(OTHER_CONNECTOR_ARN, REGION, call))?.status, 'INACTIVE');
    v.clock.now += DEFAULT_VIEW_MAX_AGE_MS;
    assert.equal((await v.view.connector(OTHER_CONNECTOR_ARN, REGION, call))?.status, 'INACTIVE');
    assert.deepEqual(v.calls, ['listConnectors', 'listTags', 'describeConnector']);
  });

  void it('believes its own delete until a later listing says otherwise', async () => {
    let listed = [awsConnector()];
    const v = view({
      ...awsHolding(),
      listConnectors: () => Promise.resolve(listed),
      listTags: () => Promise.resolve(VPCC_TAGS),
      deleteConnector: () => Promise.resolve(awsConnector({ status: 'INACTIVE' })),
    });
    await v.view.connector(CONNECTOR_ARN, REGION, call, 'fresh');
    await v.view.deleteConnector(CONNECTOR_ARN, call);
    assert.equal((await v.view.connector(CONNECTOR_ARN, REGION, call, 'fresh'))?.status, 'INACTIVE');
    // AWS deletes asynchronously: a listing taken after the delete may still show it ACTIVE.
    v.clock.now += DEFAULT_VIEW_FRESH_MAX_AGE_MS;
    listed = [awsConnector()];
    assert.equal((await v.view.connector(CONNECTOR_ARN, REGION, call, 'fresh'))?.status, 'ACTIVE');
  });

  void it('reads the role once per period, and starts one deletion for every pass that wants the role gone', async () => {
    let deletions = 0;
    const v = view({
      getRole: () => Promise.resolve({ exists: true }),
      deleteRole: () => {
        deletions++;
        return Promise.resolve({ taskId: `task-${deletions}` });
      },
      getDeletionStatus: (taskId) => Promise.resolve({ taskId, status: 'SUCCEEDED', usage: [] }),
    });
    await Promise.all([v.view.role(call), v.view.role(call)]);
    await v.view.role(call);
    assert.deepEqual(v.calls.splice(0), ['getRole']);
    const [a, b] = await Promise.all([v.view.deleteRole(call), v.view.deleteRole(call)]);
    assert.deepEqual(
      [a, b, await v.view.deleteRole(call)],
      [{ taskId: 'task-1' }, { taskId: 'task-1' }, { taskId: 'task-1' }],
    );
    await v.view.roleDeletionStatus('task-1', call);
    assert.deepEqual(
      await v.view.deleteRole(call),
      { taskId: 'task-2' },
      'an ended task is not answered again',
    );
    await v.view.role(call);
    assert.deepEqual(
      v.calls,
      ['deleteRole', 'getDeletionStatus', 'deleteRole', 'getRole'],
      'a deletion forgets the role',
    );
  });

  void it('hands out the gateway it reads through, for the verbs it does not keep', () => {
    const v = view({});
    assert.equal(v.view.gateway, v.gateway);
  });

  void it('lists a region’s connectors once per period, then answers from the new listing', async () => {
    const v = view(awsHolding({ connectors: [awsConnector()] }));
    assert.deepEqual(
      (await v.view.connectors(REGION, call)).map((c) => c.arn),
      [CONNECTOR_ARN],
    );
    v.clock.now += DEFAULT_VIEW_MAX_AGE_MS - 1;
    await v.view.connectors(REGION, call);
    v.clock.now += 1;
    await v.view.connectors(REGION, call);
    await v.view.connectors(REGION, call);
    assert.deepEqual(v.calls, ['listConnectors', 'listConnectors']);
  });

  void it('answers a pass that observes from the newest listing, even one taken the same millisecond as the last', async () => {
    let listed = [awsConnector()];
    const v = view({ listConnectors: () => Promise.resolve(listed) }, { freshMaxAgeMs: 0 });
    await v.view.connectors(REGION, call, 'fresh');
    listed = [];
    assert.deepEqual(
      await v.view.connectors(REGION, call, 'fresh'),
      [],
      'a pass about to delete lists again',
    );
    assert.deepEqual(await v.view.connectors(REGION, call), []);
    assert.deepEqual(v.calls, ['listConnectors', 'listConnectors']);
  });

  void it('finds a connector by its own name among the others listed', async () => {
    const v = view(
      awsHolding({
        connectors: [awsConnector({ arn: OTHER_CONNECTOR_ARN, name: 'rogue', tags: {} }), awsConnector()],
      }),
    );
    assert.deepEqual(await v.view.connectorByName(REGION, 'team-a-web', call), awsConnector());
    assert.equal(await v.view.connectorByName(REGION, 'team-a-api', call), undefined);
  });

  void it('does not find by name a connector it deleted, over the listing taken before', async () => {
    const v = view({
      ...awsHolding({ connectors: [awsConnector()] }),
      deleteConnector: () => Promise.resolve(awsConnector({ status: 'INACTIVE' })),
    });
    assert.equal((await v.view.connectorByName(REGION, 'team-a-web', call))?.arn, CONNECTOR_ARN);
    await v.view.deleteConnector(CONNECTOR_ARN, call);
    assert.equal(await v.view.connectorByName(REGION, 'team-a-web', call), undefined);
    assert.deepEqual(v.calls, ['listConnectors', 'listTags', 'deleteConnector']);
  });

  void it('shows every connector it created in a region over the listing taken before', async () => {
    const v = view({
      ...awsHolding(),
      createConnector: (_region, input) =>
        Promise.resolve(
          awsConnector({
            arn: input.name === 'team-a-web' ? CONNECTOR_ARN : ROTATED_CONNECTOR_ARN,
            name: input.name,
          }),
        ),
    });
    await v.view.connectors(REGION, call);
    for (const name of ['team-a-web', 'team-a-web-g3']) {
      await v.view.createConnector(REGION, { name, subnets: [], securityGroups: [], tags: VPCC_TAGS }, call);
    }
    assert.deepEqual(
      (await v.view.connectors(REGION, call)).map((c) => c.name),
      ['team-a-web', 'team-a-web-g3'],
    );
    assert.deepEqual(v.calls, ['listConnectors', 'createConnector', 'createConnector']);
  });

  void it('lists afresh after a delete whose answer did not come (the connector may be gone or not)', async () => {
    const v = view({
      ...awsHolding({ connectors: [awsConnector()] }),
      deleteConnector: () => Promise.reject(new Error('socket hang up')),
    });
    await v.view.connector(CONNECTOR_ARN, REGION, call, 'settled', { tags: false });
    await assert.rejects(v.view.deleteConnector(CONNECTOR_ARN, call), /socket hang up/);
    await v.view.connector(CONNECTOR_ARN, REGION, call, 'settled', { tags: false });
    assert.deepEqual(v.calls, ['listConnectors', 'deleteConnector', 'listConnectors']);
  });

  void it('leaves a connector its delete found gone out of the listing taken before', async () => {
    const v = view({
      ...awsHolding({
        connectors: [awsConnector(), awsConnector({ arn: OTHER_CONNECTOR_ARN, name: 'rogue' })],
      }),
      deleteConnector: () => Promise.resolve(undefined),
    });
    await v.view.connectors(REGION, call);
    assert.equal(await v.view.deleteConnector(CONNECTOR_ARN, call), undefined);
    assert.deepEqual(
      (await v.view.connectors(REGION, call)).map((c) => c.arn),
      [OTHER_CONNECTOR_ARN],
    );
    assert.deepEqual(v.calls, ['listConnectors', 'deleteConnector']);
  });

  // A connector too new to be listed is described: ACTIVE is not final (it is looked for in later listings),
  // and the tags the description carries are known unless there are none.
  for (const [tags, reads, reason] of [
    [VPCC_TAGS, [], 'the description’s tags are known'],
    [{}, ['listTags'], 'none at all may be a read lagging the create'],
    [undefined, ['listTags'], 'a description without tags says nothing of them'],
  ] as const) {
    void it(`describes an ACTIVE connector not listed yet, and lists again later: ${reason}`, async () => {
      const v = view({
        listConnectors: () => Promise.resolve([]),
        describeConnector: () => Promise.resolve(awsConnector({ tags })),
        listTags: () => Promise.resolve(VPCC_TAGS),
      });
      assert.equal((await v.view.connector(CONNECTOR_ARN, REGION, call))?.status, 'ACTIVE');
      assert.deepEqual(await v.view.tags(CONNECTOR_ARN, call), VPCC_TAGS);
      v.clock.now += DEFAULT_VIEW_MAX_AGE_MS;
      assert.equal((await v.view.connector(CONNECTOR_ARN, REGION, call))?.status, 'ACTIVE');
      assert.deepEqual(v.calls, [
        'listConnectors',
        'describeConnector',
        ...reads,
        'listConnectors',
        'describeConnector',
      ]);
    });
  }

  void it('describes a listed service again when only its UpdatedAt changed', async () => {
    let service: ServiceObservation = { ...awsService(), updatedAt: new Date(NOW.getTime() - 60_000) };
    const v = view({
      listServiceSummaries: () => Promise.resolve([summary(service)]),
      describeService: () => Promise.resolve(service),
    });
    await v.view.services(REGION, call);
    service = { ...service, network: ATTACHED, updatedAt: new Date(NOW.getTime()) };
    v.clock.now += DEFAULT_VIEW_MAX_AGE_MS;
    assert.deepEqual((await v.view.services(REGION, call))[0]?.network, ATTACHED);
    assert.deepEqual(v.calls, [
      'listServiceSummaries',
      'describeService',
      'listServiceSummaries',
      'describeService',
    ]);
  });

  void it('describes four services at once while a listing catches up', async () => {
    const services = ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => awsService({ name }));
    let describing = 0;
    let most = 0;
    const v = view({
      listServiceSummaries: () => Promise.resolve(services.map(summary)),
      describeService: async (arn) => {
        most = Math.max(most, ++describing);
        await new Promise((resolve) => setImmediate(resolve));
        describing--;
        return services.find((s) => s.arn === arn);
      },
    });
    assert.deepEqual(await v.view.services(REGION, call), services);
    assert.equal(most, 4);
  });

  void it('leaves out a listed service that is gone by the time it is described', async () => {
    const v = view({
      listServiceSummaries: () => Promise.resolve([summary(awsService())]),
      describeService: () => Promise.resolve(undefined),
    });
    assert.deepEqual(await v.view.services(REGION, call), []);
  });

  void it('describes a service again once its region listed without it, not when another region did', async () => {
    const listings: Record<string, ServiceObservation[]> = { [REGION]: [awsService()] };
    const v = view({
      listServiceSummaries: (region) => Promise.resolve((listings[region] ?? []).map(summary)),
      describeService: () => Promise.resolve(awsService()),
    });
    await v.view.services(REGION, call);
    await v.view.services('eu-west-1', call);
    v.clock.now += DEFAULT_VIEW_MAX_AGE_MS;
    await v.view.services(REGION, call);
    assert.deepEqual(
      v.calls.splice(0),
      ['listServiceSummaries', 'describeService', 'listServiceSummaries', 'listServiceSummaries'],
      'another region’s listing says nothing of this one',
    );
    listings[REGION] = [];
    v.clock.now += DEFAULT_VIEW_MAX_AGE_MS;
    await v.view.services(REGION, call);
    listings[REGION] = [awsService()];
    v.clock.now += DEFAULT_VIEW_MAX_AGE_MS;
    assert.equal((await v.view.services(REGION, call)).length, 1);
    assert.deepEqual(
      v.calls,
      ['listServiceSummaries', 'listServiceSummaries', 'describeService'],
      'its description was forgotten when it left the listing',
    );
  });

  void it('describes a service too new to be listed once for the passes that ask together, and then knows it', async () => {
    const v = view({
      listServiceSummaries: () => Promise.resolve([]),
      describeService: () => Promise.resolve(awsService()),
    });
    assert.deepEqual(
      await Promise.all([
        v.view.service(SERVICE_ARN, REGION, call),
        v.view.service(SERVICE_ARN, REGION, call),
      ]),
      [awsService(), awsService()],
    );
    assert.deepEqual(await v.view.service(SERVICE_ARN, REGION, call), awsService());
    assert.deepEqual(await v.view.services(REGION, call), [awsService()]);
    assert.deepEqual(v.calls, ['listServiceSummaries', 'describeService']);
  });

  void it('answers a pass about a service in motion from the listing while its description is moments old', async () => {
    const busy = awsService({ status: 'OPERATION_IN_PROGRESS' });
    const v = view(awsHolding({ services: [busy] }));
    await v.view.services(REGION, call);
    v.clock.now += DEFAULT_VIEW_FRESH_MAX_AGE_MS - 1;
    assert.deepEqual(await v.view.service(SERVICE_ARN, REGION, call), busy);
    assert.deepEqual(v.calls, ['listServiceSummaries', 'describeService']);
  });

  void it('forgets the description and tags of a service AWS no longer knows', async () => {
    const busy = awsService({ status: 'OPERATION_IN_PROGRESS' });
    let described: ServiceObservation | undefined = busy;
    const v = view({
      listServiceSummaries: () => Promise.resolve([summary(busy)]),
      describeService: () => Promise.resolve(described),
      listTags: () => Promise.resolve(SVCNET_TAGS),
    });
    await v.view.services(REGION, call);
    await v.view.tags(SERVICE_ARN, call);
    described = undefined;
    v.clock.now += DEFAULT_VIEW_FRESH_MAX_AGE_MS;
    assert.equal(await v.view.service(SERVICE_ARN, REGION, call), undefined);
    v.calls.splice(0);
    // A listing that shows it still (or again) has it described anew, and its tags read anew.
    described = busy;
    v.clock.now += DEFAULT_VIEW_MAX_AGE_MS;
    await v.view.services(REGION, call);
    await v.view.tags(SERVICE_ARN, call);
    assert.deepEqual(v.calls, ['listServiceSummaries', 'describeService', 'listTags']);
  });

  void it('believes a service gone once a description found it so, even in a listing that failed', async () => {
    const legacy = awsService({ name: 'legacy' });
    let summaries = [summary(awsService()), summary(legacy)];
    let gone = false;
    const v = view({
      listServiceSummaries: () => Promise.resolve(summaries),
      describeService: (arn) => {
        if (!gone) return Promise.resolve(arn === SERVICE_ARN ? awsService() : legacy);
        return arn === SERVICE_ARN ? Promise.resolve(undefined) : Promise.reject(new Error('throttled'));
      },
      updateServiceNetwork: () =>
        Promise.resolve({
          service: awsService({ status: 'OPERATION_IN_PROGRESS', network: ATTACHED }),
          operationId: 'op-1',
        }),
    });
    await v.view.services(REGION, call);
    v.clock.now += DEFAULT_VIEW_FRESH_MAX_AGE_MS - 1;
    await v.view.updateServiceNetwork(SERVICE_ARN, REGION, desired(CONNECTOR_ARN), call);
    // Both services changed since: the service the operator moved is gone, the other cannot be described.
    v.clock.now += 1;
    gone = true;
    const later = new Date(v.clock.now);
    summaries = [
      { ...summary(awsService()), updatedAt: later },
      { ...summary(legacy), updatedAt: later },
    ];
    await assert.rejects(v.view.services(REGION, call, 'fresh'), /throttled/);
    assert.equal(
      await v.view.service(SERVICE_ARN, REGION, call),
      undefined,
      'its own UpdateService moments ago does not make it current',
    );
  });

  void it('carries the connector a service left through the operation the operator started, and drops it once it ended', async () => {
    const moving = awsService({ status: 'OPERATION_IN_PROGRESS' });
    let described = awsService({ network: ATTACHED });
    const v = view({
      listServiceSummaries: () => Promise.resolve([summary(described)]),
      describeService: () => Promise.resolve(described),
      updateServiceNetwork: () => Promise.resolve({ service: moving, operationId: 'op-1' }),
    });
    await v.view.services(REGION, call);
    await v.view.updateServiceNetwork(SERVICE_ARN, REGION, desired(), call);
    described = moving;
    v.clock.now += DEFAULT_VIEW_FRESH_MAX_AGE_MS;
    assert.deepEqual(await v.view.service(SERVICE_ARN, REGION, call), {
      ...moving,
      movingFrom: { connectorArn: CONNECTOR_ARN },
    });
    described = awsService();
    v.clock.now += DEFAULT_VIEW_FRESH_MAX_AGE_MS;
    assert.deepEqual(await v.view.service(SERVICE_ARN, REGION, call), awsService());
    assert.deepEqual(v.calls, [
      'listServiceSummaries',
      'describeService',
      'updateServiceNetwork',
      'describeService',
      'describeService',
    ]);
  });

  void it('answers from its own UpdateService for a while, a service without a connector moving from none', async () => {
    const v = view({
      ...awsHolding({ services: [awsService()] }),
      updateServiceNetwork: () =>
        Promise.resolve({
          service: awsService({ status: 'OPERATION_IN_PROGRESS', network: ATTACHED }),
          operationId: 'op-1',
        }),
    });
    await v.view.services(REGION, call);
    v.clock.now += DEFAULT_VIEW_MAX_AGE_MS / 2;
    const { service } = await v.view.updateServiceNetwork(SERVICE_ARN, REGION, desired(CONNECTOR_ARN), call);
    assert.deepEqual(service.movingFrom, {});
    v.clock.now += DEFAULT_VIEW_FRESH_MAX_AGE_MS - 1;
    assert.deepEqual(await v.view.service(SERVICE_ARN, REGION, call), service);
    assert.deepEqual(v.calls, ['listServiceSummaries', 'describeService', 'updateServiceNetwork']);
  });

  void it('lists and describes afresh after an UpdateService whose answer did not come', async () => {
    const v = view({
      ...awsHolding({ services: [awsService()] }),
      updateServiceNetwork: () => Promise.reject(new Error('socket hang up')),
    });
    await v.view.services(REGION, call);
    await assert.rejects(
      v.view.updateServiceNetwork(SERVICE_ARN, REGION, desired(CONNECTOR_ARN), call),
      /socket hang up/,
    );
    await v.view.services(REGION, call);
    assert.deepEqual(v.calls, [
      'listServiceSummaries',
      'describeService',
      'updateServiceNetwork',
      'listServiceSummaries',
      'describeService',
    ]);
  });

  void it('reads for a pass without a signal', async () => {
    const v = view(awsHolding({ services: [awsService()] }));
    assert.deepEqual(await v.view.services(REGION, {}), [awsService()]);
  });

  void it('stops a pass whose signal is already aborted, with its reason, else with an AbortError', async () => {
    const v = view(awsHolding({ services: [awsService()] }));
    await assert.rejects(
      v.view.services(REGION, { signal: AbortSignal.abort(new Error('reconcile timed out')) }),
      /reconcile timed out/,
    );
    const aborted = new AbortController();
    aborted.abort('not an Error');
    await assert.rejects(v.view.services(REGION, { signal: aborted.signal }), { name: 'AbortError' });
  });

  void it('leaves no listener on a pass’s signal once the read it waited for answered or failed', async () => {
    const { signal } = new AbortController();
    const v = view({
      ...awsHolding({ services: [awsService()] }),
      listConnectors: () => Promise.reject(new Error('throttled')),
    });
    await v.view.services(REGION, { signal });
    await assert.rejects(v.view.connectors(REGION, { signal }), /throttled/);
    assert.equal(getEventListeners(signal, 'abort').length, 0);
  });

  void it('reads the role again once the period is over', async () => {
    const v = view({ getRole: () => Promise.resolve({ exists: true }) });
    await v.view.role(call);
    v.clock.now += DEFAULT_VIEW_MAX_AGE_MS - 1;
    await v.view.role(call);
    v.clock.now += 1;
    await v.view.role(call);
    assert.deepEqual(v.calls, ['getRole', 'getRole']);
  });

  void it('knows the role it ensured, and reads it again after an ensure that failed', async () => {
    let ensure = () => Promise.resolve({ exists: true });
    const v = view({ ensureRole: () => ensure(), getRole: () => Promise.resolve({ exists: false }) });
    await v.view.ensureRole(call);
    assert.deepEqual(await v.view.role(call), { exists: true });
    ensure = () => Promise.reject(new Error('throttled'));
    await assert.rejects(v.view.ensureRole(call), /throttled/);
    assert.deepEqual(await v.view.role(call), { exists: false });
    assert.deepEqual(v.calls, ['ensureRole', 'ensureRole', 'getRole']);
  });

  // Task task-1 is running when a pass reads a deletion task's status; then passes ask for the role, and for
  // its deletion.
  for (const { taskId, status, role, next, calls, reason } of [
    {
      taskId: 'task-1',
      status: 'IN_PROGRESS',
      role: { exists: true },
      next: 'task-1',
      calls: ['getDeletionStatus', 'getRole'],
      reason: 'a running task is answered again',
    },
    {
      taskId: 'task-1',
      status: 'FAILED',
      role: { exists: true },
      next: 'task-2',
      calls: ['getDeletionStatus', 'getRole', 'deleteRole'],
      reason: 'a failed task leaves the role to be read, and a new deletion to ask for',
    },
    {
      taskId: 'task-1',
      status: 'SUCCEEDED',
      role: { exists: false },
      next: 'task-2',
      calls: ['getDeletionStatus', 'deleteRole'],
      reason: 'a task that succeeded leaves the role gone without a read that could lag',
    },
    {
      taskId: 'task-0',
      status: 'SUCCEEDED',
      role: { exists: false },
      next: 'task-1',
      calls: ['getDeletionStatus'],
      reason: 'an older task ending leaves the running one to be answered',
    },
  ] as const) {
    void it(`follows a role deletion task ${taskId} ${status}: ${reason}`, async () => {
      let deletions = 0;
      const v = view({
        getRole: () => Promise.resolve({ exists: true }),
        deleteRole: () => Promise.resolve({ taskId: `task-${++deletions}` }),
        getDeletionStatus: (id) => Promise.resolve({ taskId: id, status, usage: [] }),
      });
      await v.view.deleteRole(call);
      v.calls.splice(0);
      await v.view.roleDeletionStatus(taskId, call);
      assert.deepEqual(
        { role: await v.view.role(call), next: await v.view.deleteRole(call), calls: v.calls },
        { role, next: { taskId: next }, calls },
      );
    });
  }
  void it('refuses to delete a connector it attached a service to moments ago, without calling AWS (invariant 1)', async () => {
    // Found by the chaos suite: a rotation's pass read the view before a ServiceNetworking attached a service
    // to the old connector, then deleted it under that service.
    const v = view({
      ...awsHolding({ services: [awsService()] }),
      updateServiceNetwork: () => Promise.resolve({ service: awsService(), operationId: 'op-1' }),
      deleteConnector: () => Promise.resolve(awsConnector({ status: 'INACTIVE' })),
    });
    const attach = { egressType: 'VPC', vpcConnectorArn: CONNECTOR_ARN, isPubliclyAccessible: true } as const;
    await v.view.updateServiceNetwork(SERVICE_ARN, REGION, { ...attach, ipAddressType: 'IPV4' }, call);
    await assert.rejects(v.view.deleteConnector(CONNECTOR_ARN, call), ConnectorInUseError);
    assert.ok(!v.calls.includes('deleteConnector'));
    v.clock.now += ATTACH_GRACE_MS;
    await v.view.deleteConnector(CONNECTOR_ARN, call);
    assert.ok(v.calls.includes('deleteConnector'), 'a listing since then shows whether it is still used');
  });

  void it('keeps refusing within the grace period while it forgets older attaches', async () => {
    const v = view({
      ...awsHolding({ services: [awsService()] }),
      updateServiceNetwork: () => Promise.resolve({ service: awsService(), operationId: 'op-1' }),
      deleteConnector: () => Promise.resolve(awsConnector({ status: 'INACTIVE' })),
    });
    const attach = (connector: string) =>
      v.view.updateServiceNetwork(
        SERVICE_ARN,
        REGION,
        { egressType: 'VPC', vpcConnectorArn: connector, isPubliclyAccessible: true, ipAddressType: 'IPV4' },
        call,
      );
    await attach(CONNECTOR_ARN);
    v.clock.now += ATTACH_GRACE_MS - 1;
    await attach(OTHER_CONNECTOR_ARN);
    await assert.rejects(v.view.deleteConnector(CONNECTOR_ARN, call), ConnectorInUseError);
    v.clock.now += 1;
    await attach(OTHER_CONNECTOR_ARN);
    await v.view.deleteConnector(CONNECTOR_ARN, call);
    assert.ok(v.calls.includes('deleteConnector'));
  });
});
