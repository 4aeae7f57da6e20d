// The shared view of AWS: region listings shared by passes in flight and reused while young (shorter for
// passes about to delete and while services are in motion), services described only when their summary
// changed, the operator's own writes laid over older listings, tags known from the operator's own writes,
// the role read once per period and one role deletion for every pass that wants it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceObservation } from '../../../src/aws/gateway.ts';
import {
  AwsView,
  DEFAULT_VIEW_FRESH_MAX_AGE_MS,
  DEFAULT_VIEW_MAX_AGE_MS,
} from '../../../src/controllers/shared/aws-view.ts';
import {
  CONNECTOR_ARN,
  NOW,
  OTHER_CONNECTOR_ARN,
  SERVICE_ARN,
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
function view(verbs: GatewayVerbs): { view: AwsView; calls: string[]; clock: { now: number } } {
  const { gateway, calls } = fakeGateway(verbs);
  const clock = { now: NOW.getTime() };
  return { view: new AwsView(gateway, { now: () => clock.now }), calls, clock };
}

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

  void it('reads the tags again after a tag write that failed, and after a read that found none', async () => {
    const v = view({
      listTags: () => Promise.resolve({ team: 'payments' }),
      tagResource: () => Promise.reject(new Error('connection reset')),
    });
    await v.view.tags(SERVICE_ARN, call);
    await assert.rejects(v.view.tagResource(SERVICE_ARN, { a: 'b' }, call), /connection reset/);
    await v.view.tags(SERVICE_ARN, call);
    assert.deepEqual(v.calls, ['listTags', 'tagResource', 'listTags']);

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

  void it('answers a pass about one service from the listing while others are in motion, and describes only that one when it moves', async () => {
    const busy = awsService({ name: 'busy', status: 'OPERATION_IN_PROGRESS' });
    const calm = awsService({ name: 'calm' });
    const v = view(awsHolding({ services: [busy, calm] }));
    await v.view.services(REGION, call);
    v.calls.splice(0);
    v.clock.now += DEFAULT_VIEW_FRESH_MAX_AGE_MS;
    assert.equal((await v.view.service(calm.arn, REGION, call))?.status, 'RUNNING');
    assert.deepEqual(v.calls.splice(0), [], 'another service in motion does not make this one stale');
    await v.view.service(busy.arn, REGION, call);
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
    await v.view.createConnector(
      REGION,
      { name: 'team-a-web', subnets: [], securityGroups: [], tags: VPCC_TAGS },
      call,
    );
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
});
