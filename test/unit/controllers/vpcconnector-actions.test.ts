// What each decided action of a VpcConnector pass leaves behind: the AWS write it makes, the status fields
// it records (as the one merge patch of the pass), the Event a human reads and the log line an operator
// greps for. One row per action (and per variant of an action that behaves differently), each run through
// the whole reconciler against a small in-memory AWS, so the reads are whatever the reconciler makes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConditionType, OwnershipTag, VpcConnectorReason } from '../../../src/api/constants.ts';
import type { ServiceNetworking } from '../../../src/api/servicenetworking.ts';
import type { VpcConnector, VpcConnectorStatus } from '../../../src/api/vpcconnector.ts';
import { AwsAccessDeniedError, AwsInvalidInputError, ConnectorInUseError } from '../../../src/aws/errors.ts';
import type {
  ConnectorObservation,
  RoleDeletionObservation,
  RoleObservation,
  ServiceObservation,
} from '../../../src/aws/gateway.ts';
import {
  createVpcConnectorReconciler,
  vpcConnectorResource,
  type ReconcilerSettings,
} from '../../../src/controllers/vpcconnector/reconciler.ts';
import type { EventInput } from '../../../src/runtime/events.ts';
import { createLogger } from '../../../src/runtime/logging.ts';
import { StatusWriter } from '../../../src/runtime/status.ts';
import type { ReconcileResult } from '../../../src/runtime/types.ts';
import {
  ATTACHED,
  CONNECTOR_ARN,
  MIN,
  NOW,
  OTHER_SUBNET,
  ROTATED_CONNECTOR_ARN,
  SERVICE_ARN,
  ago,
  awsConnector,
  awsFacts,
  awsService,
  cache,
  fakeClient,
  fakeEvents,
  fakeGateway,
  svcnet,
  vpcConnectorSettings,
  vpcc,
  type GatewayVerbs,
  statusAsWritten,
} from '../builders.ts';

const at = NOW.toISOString();
/** Each case is one pass against in-memory fakes: milliseconds, bounded generously for a busy machine. */
const PASS = { timeout: 10_000 };
const RETIRING_ARN = CONNECTOR_ARN;
const RETIRING_NAME = 'team-a-web';
/** How long AWS's reads may lag a create before a connector without our tags is taken at its word. */
const READ_LAG_MS = 60_000;
const VPCC_TAGS_OF_STAGING = {
  [OwnershipTag.cluster]: 'staging',
  [OwnershipTag.namespace]: 'team-a',
  [OwnershipTag.name]: 'web',
};

/** What AWS holds for one case: the reads derive from it, whichever of them the reconciler makes. */
interface World {
  connectors?: ConnectorObservation[];
  services?: ServiceObservation[];
  role?: RoleObservation;
  roleDeletion?: RoleDeletionObservation;
}

interface Run {
  /** Undefined when the pass threw (`error`). */
  result: ReconcileResult | undefined;
  error: unknown;
  /** The abort signal of the pass, which every AWS call must carry. */
  signal: AbortSignal;
  /** The status merge patch of the pass (a dropped key is null); undefined when none was written. */
  status: Record<string, unknown> | undefined;
  finalizerPatches: unknown[];
  events: EventInput[];
  /** AWS calls by name, in order. */
  calls: string[];
  /** The regions listConnectors was asked for. */
  listedRegions: string[];
  logs: { level: string; msg: string; [key: string]: unknown }[];
}

function readVerbs(world: World, listedRegions: string[]): GatewayVerbs {
  const connectors = world.connectors ?? [];
  const services = world.services ?? [];
  const regionOf = (arn: string): string => arn.split(':')[3] ?? '';
  const verbs: GatewayVerbs = {
    listConnectors: (region) => {
      listedRegions.push(region);
      return Promise.resolve(
        connectors
          .filter((c) => c.status === 'ACTIVE' && regionOf(c.arn) === region)
          .map(({ tags: _tags, ...c }) => c),
      );
    },
    describeConnector: (arn) => Promise.resolve(connectors.find((c) => c.arn === arn)),
    findConnectorByName: (region, name) =>
      Promise.resolve(
        connectors.find((c) => c.name === name && c.status === 'ACTIVE' && regionOf(c.arn) === region),
      ),
    listTags: (arn) => Promise.resolve(connectors.find((c) => c.arn === arn)?.tags ?? {}),
    listServices: () => Promise.resolve(services),
    describeService: (arn) => Promise.resolve(services.find((s) => s.arn === arn)),
    getRole: () => Promise.resolve(world.role ?? { exists: true }),
  };
  if (world.roleDeletion !== undefined) {
    const deletion = world.roleDeletion;
    verbs.getDeletionStatus = () => Promise.resolve(deletion);
  }
  // Gateways that list services as summaries first (then describe) get that verb too.
  return Object.assign(verbs, {
    listServiceSummaries: () =>
      Promise.resolve(services.map(({ arn, name, status, updatedAt }) => ({ arn, name, status, updatedAt }))),
  });
}

interface Setup {
  object: VpcConnector;
  world?: World;
  /** The AWS writes the case allows, with their answers. */
  writes?: GatewayVerbs;
  settings?: Partial<ReconcilerSettings>;
  others?: VpcConnector[];
  serviceNetworkings?: ServiceNetworking[];
}

async function run(setup: Setup): Promise<Run> {
  const { client, statusPatches, finalizerPatches } = fakeClient<VpcConnectorStatus>(setup.object);
  const { recorder, events } = fakeEvents();
  const listedRegions: string[] = [];
  const { gateway, calls } = fakeGateway({
    ...readVerbs(setup.world ?? {}, listedRegions),
    ...setup.writes,
  });
  const logs: Run['logs'] = [];
  const log = createLogger({
    level: 'debug',
    write: (line) => logs.push(JSON.parse(line) as Run['logs'][number]),
  });
  const reconcile = createVpcConnectorReconciler({
    connectors: cache([setup.object, ...(setup.others ?? [])]),
    serviceNetworkings: cache(setup.serviceNetworkings ?? []),
    gateway,
    client,
    statusWriter: new StatusWriter({ client, resource: vpcConnectorResource }),
    events: recorder,
    settings: { ...vpcConnectorSettings, ...setup.settings },
    now: () => NOW,
  });
  const { signal } = new AbortController();
  let result: ReconcileResult | undefined;
  let error: unknown;
  try {
    result = await reconcile(
      { namespace: 'team-a', name: setup.object.metadata.name ?? '' },
      { signal, log },
    );
  } catch (err) {
    error = err;
  }
  const status = statusPatches[0]?.status as Record<string, unknown> | undefined;
  return { result, error, signal, status, finalizerPatches, events, calls, listedRegions, logs };
}

/** The one Event of the pass, as [type, reason, action, note]. */
function onlyEvent(r: Run): [string, string, string | undefined, string | undefined] {
  assert.equal(r.events.length, 1, `one Event, got ${JSON.stringify(r.events.map((e) => e.reason))}`);
  const [e] = r.events;
  return [e?.type ?? '', e?.reason ?? '', e?.action, e?.note];
}

function logged(r: Run, msg: string): Record<string, unknown> {
  const line = r.logs.find((l) => l.msg === msg);
  assert.ok(line !== undefined, `no log line "${msg}" in ${JSON.stringify(r.logs.map((l) => l.msg))}`);
  return line;
}

/** vpcc() with its connector recorded ACTIVE, as a Ready pass leaves it. */
const recorded = (status: VpcConnectorStatus = {}, spec: Partial<VpcConnector['spec']> = {}): VpcConnector =>
  vpcc({
    spec,
    status: {
      region: 'us-east-1',
      vpcConnectorArn: CONNECTOR_ARN,
      vpcConnectorName: 'team-a-web',
      vpcConnectorRevision: 1,
      awsStatus: 'ACTIVE',
      recordedAt: ago(60 * MIN).toISOString(),
      ...status,
    },
  });

const deletingObject = (status: VpcConnectorStatus = {}, spec: Partial<VpcConnector['spec']> = {}) => {
  const object = recorded(status, spec);
  object.metadata.deletionTimestamp = ago(MIN).toISOString();
  return object;
};

const rotated = (overrides: Partial<ConnectorObservation> = {}): ConnectorObservation =>
  awsConnector({ arn: ROTATED_CONNECTOR_ARN, name: 'team-a-web-g3', ...overrides });

/** Two passes over one world: the object as built, then the same object holding the status the first wrote. */
async function twoPasses(build: () => VpcConnector, rest: Omit<Setup, 'object'>) {
  const first = await run({ ...rest, object: build() });
  const object = build();
  object.status = statusAsWritten<VpcConnectorStatus>(first.status);
  object.metadata.resourceVersion = '101';
  return { first, second: await run({ ...rest, object }) };
}

void describe('the VpcConnector reconciler, action by action', () => {
  void it(
    'releases a Manage object once every connector is deleted, with an Event naming why',
    PASS,
    async () => {
      const r = await run({ object: deletingObject(), world: { connectors: [] } });
      assert.equal(r.finalizerPatches.length, 1);
      assert.deepEqual(onlyEvent(r), [
        'Normal',
        'Deleted',
        'RemoveFinalizer',
        'Released the object: every connector is deleted.',
      ]);
      assert.equal(logged(r, 'Releasing the object').why, 'every connector is deleted');
      assert.equal(r.status, undefined, 'a released object gets no status write');
    },
  );

  void it('releases an Observe object silently: nothing of it was ever AWS’s doing', PASS, async () => {
    const r = await run({
      object: deletingObject({}, { managementPolicy: 'Observe', vpcConnectorName: 'shared' }),
      world: { connectors: [] },
    });
    assert.equal(r.finalizerPatches.length, 1);
    assert.deepEqual(r.events, []);
    assert.equal(logged(r, 'Releasing the object').why, 'managementPolicy is Observe');
  });

  void it(
    'creates the missing service-linked role, sets ServiceLinkedRoleReady and names the role in an Event',
    PASS,
    async () => {
      const r = await run({
        object: vpcc({ status: {} }),
        world: { role: { exists: false } },
        writes: {
          ensureRole: () =>
            Promise.resolve({ exists: true, arn: 'arn:aws:iam::123456789012:role/aws-service-role/x' }),
        },
      });
      assert.ok(r.calls.includes('ensureRole'));
      const condition = (r.status?.conditions as { type: string }[]).find(
        (c) => c.type === ConditionType.ServiceLinkedRoleReady,
      );
      assert.partialDeepStrictEqual(condition, {
        status: 'True',
        reason: VpcConnectorReason.ServiceLinkedRolePresent,
        message: 'Created the App Runner networking service-linked role.',
        observedGeneration: 1,
      });
      assert.deepEqual(onlyEvent(r), [
        'Normal',
        'ServiceLinkedRoleCreated',
        'CreateServiceLinkedRole',
        'Created the App Runner networking service-linked role arn:aws:iam::123456789012:role/aws-service-role/x.',
      ]);
      assert.equal(
        logged(r, 'Created service-linked role').arn,
        'arn:aws:iam::123456789012:role/aws-service-role/x',
      );
    },
  );

  void it('names no ARN in the Event when IAM did not return one', PASS, async () => {
    const r = await run({
      object: vpcc({ status: {} }),
      world: { role: { exists: false } },
      writes: { ensureRole: () => Promise.resolve({ exists: true }) },
    });
    assert.equal(onlyEvent(r)[3], 'Created the App Runner networking service-linked role.');
  });

  void it('records the create intent of a first connector, with its region, and no Event', PASS, async () => {
    const r = await run({ object: vpcc({ spec: { region: 'eu-west-1' } }), world: {} });
    assert.partialDeepStrictEqual(r.status, {
      region: 'eu-west-1',
      createIntent: { name: 'team-a-web', requestedAt: at },
    });
    assert.ok(!Object.hasOwn(r.status?.createIntent ?? {}, 'replaces'));
    assert.deepEqual(r.events, []);
    assert.partialDeepStrictEqual(logged(r, 'Recorded create intent'), {
      connectorName: 'team-a-web',
      region: 'eu-west-1',
    });
    assert.equal(r.result?.requeueAfterMs, undefined, 'the status write itself triggers the next pass');
  });

  void it(
    'records a rotation intent naming the connector it replaces, with a RotationStarted Event',
    PASS,
    async () => {
      const object = recorded({}, { subnets: [OTHER_SUBNET] });
      object.metadata.generation = 3;
      const r = await run({ object, world: { connectors: [awsConnector()] } });
      assert.partialDeepStrictEqual(r.status, {
        createIntent: { name: 'team-a-web-g3', requestedAt: at, replaces: CONNECTOR_ARN },
      });
      assert.deepEqual(onlyEvent(r), [
        'Normal',
        'RotationStarted',
        'RecordCreateIntent',
        'An immutable field changed: replacing connector team-a-web with team-a-web-g3.',
      ]);
      assert.equal(logged(r, 'Recorded create intent').replaces, CONNECTOR_ARN);
    },
  );

  void it('names the replaced connector by its ARN when status never recorded its name', PASS, async () => {
    const object = recorded({ vpcConnectorName: undefined }, { subnets: [OTHER_SUBNET] });
    delete object.status?.vpcConnectorName;
    object.metadata.generation = 3;
    const r = await run({ object, world: { connectors: [awsConnector()] } });
    assert.equal(
      onlyEvent(r)[3],
      `An immutable field changed: replacing connector ${CONNECTOR_ARN} with team-a-web-g3.`,
    );
  });

  void it(
    'creates the replacement, records the old connector as retiring and says what it replaces',
    PASS,
    async () => {
      const object = recorded(
        {
          createIntent: {
            name: 'team-a-web-g3',
            requestedAt: ago(5_000).toISOString(),
            replaces: CONNECTOR_ARN,
          },
        },
        { subnets: [OTHER_SUBNET] },
      );
      const created = rotated({ revision: 1 });
      let asked: unknown;
      let signal: AbortSignal | undefined;
      const r = await run({
        object,
        world: { connectors: [awsConnector()] },
        writes: {
          createConnector: (region, input, options) => {
            asked = { region, ...input };
            signal = options?.signal;
            return Promise.resolve(created);
          },
        },
      });
      assert.equal(signal, r.signal, 'the write carries the pass’s abort signal');
      assert.partialDeepStrictEqual(asked, {
        region: 'us-east-1',
        name: 'team-a-web-g3',
        subnets: [OTHER_SUBNET],
      });
      assert.partialDeepStrictEqual(r.status, {
        vpcConnectorArn: ROTATED_CONNECTOR_ARN,
        vpcConnectorName: 'team-a-web-g3',
        vpcConnectorRevision: 1,
        awsStatus: 'ACTIVE',
        recordedAt: at,
        createIntent: null,
        retiring: { arn: CONNECTOR_ARN, name: 'team-a-web' },
      });
      assert.deepEqual(onlyEvent(r), [
        'Normal',
        'Created',
        'CreateVpcConnector',
        `Created connector team-a-web-g3 (revision 1) in us-east-1 to replace ${CONNECTOR_ARN}.`,
      ]);
      assert.partialDeepStrictEqual(logged(r, 'Created connector'), {
        arn: ROTATED_CONNECTOR_ARN,
        region: 'us-east-1',
        replaces: CONNECTOR_ARN,
      });
    },
  );

  void it('names a retiring connector after its ARN when status does not know its name', PASS, async () => {
    const object = recorded(
      {
        createIntent: {
          name: 'team-a-web-g3',
          requestedAt: ago(5_000).toISOString(),
          replaces: CONNECTOR_ARN,
        },
      },
      { subnets: [OTHER_SUBNET] },
    );
    delete object.status?.vpcConnectorName;
    const r = await run({
      object,
      world: { connectors: [awsConnector()] },
      writes: { createConnector: () => Promise.resolve(rotated()) },
    });
    assert.partialDeepStrictEqual(r.status, { retiring: { arn: CONNECTOR_ARN, name: 'team-a-web' } });
  });

  void it(
    'creates a first connector without retiring anything, and clears a recorded deletion request',
    PASS,
    async () => {
      const r = await run({
        object: vpcc({
          status: {
            region: 'us-east-1',
            createIntent: { name: 'team-a-web', requestedAt: ago(5_000).toISOString() },
            deletionRequestedAt: ago(MIN).toISOString(),
          },
        }),
        world: {},
        writes: { createConnector: () => Promise.resolve(awsConnector()) },
      });
      assert.partialDeepStrictEqual(r.status, {
        vpcConnectorArn: CONNECTOR_ARN,
        createIntent: null,
        deletionRequestedAt: null,
      });
      assert.ok(!Object.hasOwn(r.status ?? {}, 'retiring'));
      assert.equal(onlyEvent(r)[3], 'Created connector team-a-web (revision 1) in us-east-1.');
    },
  );

  void it('adopts a connector found by name that carries its ownership tags, and says so', PASS, async () => {
    const r = await run({
      object: vpcc({
        status: {
          region: 'us-east-1',
          createIntent: {
            name: 'team-a-web-g3',
            requestedAt: ago(MIN).toISOString(),
            replaces: CONNECTOR_ARN,
          },
        },
      }),
      world: { connectors: [awsConnector(), rotated({ revision: 2 })] },
    });
    assert.ok(!r.calls.includes('createConnector'));
    assert.partialDeepStrictEqual(r.status, {
      vpcConnectorArn: ROTATED_CONNECTOR_ARN,
      vpcConnectorName: 'team-a-web-g3',
      vpcConnectorRevision: 2,
      awsStatus: 'ACTIVE',
      recordedAt: at,
      createIntent: null,
      retiring: { arn: CONNECTOR_ARN, name: 'team-a-web' },
    });
    assert.deepEqual(onlyEvent(r), [
      'Normal',
      'Adopted',
      'AdoptVpcConnector',
      `Adopted connector team-a-web-g3 (${ROTATED_CONNECTOR_ARN}), which carries this object's ownership tags.`,
    ]);
    assert.equal(logged(r, 'Adopted connector').arn, ROTATED_CONNECTOR_ARN);
  });

  void it(
    'records the region of a connector it adopts without a recorded intent, so that a later region edit is seen as one',
    PASS,
    async () => {
      // Status lost (the object re-applied from Git): nothing recorded the region the connector lives in.
      const r = await run({ object: vpcc({ status: {} }), world: { connectors: [awsConnector()] } });
      assert.equal(r.status?.vpcConnectorArn, CONNECTOR_ARN);
      assert.equal(r.status.region, 'us-east-1');
    },
  );

  void it(
    'does not retire the connector it adopts when the intent named that same connector',
    PASS,
    async () => {
      const r = await run({
        object: vpcc({
          status: {
            region: 'us-east-1',
            createIntent: {
              name: 'team-a-web',
              requestedAt: ago(MIN).toISOString(),
              replaces: CONNECTOR_ARN,
            },
          },
        }),
        world: { connectors: [awsConnector()] },
      });
      assert.equal(r.status?.vpcConnectorArn, CONNECTOR_ARN);
      assert.ok(!Object.hasOwn(r.status, 'retiring'));
    },
  );

  void it(
    'starts over after an out-of-band deletion: forgets the connector, records a new intent, warns',
    PASS,
    async () => {
      const r = await run({
        object: recorded({ services: [SERVICE_ARN] }),
        world: { connectors: [] },
      });
      assert.partialDeepStrictEqual(r.status, {
        vpcConnectorArn: null,
        vpcConnectorName: null,
        vpcConnectorRevision: null,
        awsStatus: null,
        services: null,
        recordedAt: null,
        region: 'us-east-1',
        createIntent: { name: 'team-a-web', requestedAt: at },
      });
      assert.deepEqual(onlyEvent(r), [
        'Warning',
        'Recreated',
        'RecordCreateIntent',
        `Connector ${CONNECTOR_ARN} was deleted outside the operator; creating team-a-web again.`,
      ]);
      assert.equal(
        logged(r, 'Found connector deleted out of band; recorded a new create intent').goneArn,
        CONNECTOR_ARN,
      );
    },
  );

  void it(
    'drops a refused create intent once no lookup found a connector, with a Warning quoting AWS',
    PASS,
    async () => {
      const r = await run({
        object: vpcc({
          status: {
            region: 'us-east-1',
            createIntent: {
              name: 'team-a-web',
              requestedAt: ago(MIN).toISOString(),
              refused: { at: ago(MIN).toISOString(), code: 'InvalidRequestException', message: 'bad subnet' },
            },
          },
        }),
        world: {},
      });
      assert.equal(r.status?.createIntent, null);
      const [type, reason, action, note] = onlyEvent(r);
      assert.deepEqual(
        [type, reason, action],
        ['Warning', VpcConnectorReason.InvalidInput, 'CreateVpcConnector'],
      );
      assert.match(note ?? '', /InvalidRequestException "bad subnet"/);
      assert.equal(logged(r, 'Found no connector after AWS refused the create').connectorName, 'team-a-web');
    },
  );

  void it(
    'warns that an immutable change is rejected under updatePolicy Reject, and changes nothing in AWS',
    PASS,
    async () => {
      const r = await run({
        object: recorded({}, { subnets: [OTHER_SUBNET], updatePolicy: 'Reject' }),
        world: { connectors: [awsConnector()] },
      });
      const [type, reason, action, note] = onlyEvent(r);
      assert.deepEqual([type, reason, action], ['Warning', 'ImmutableFieldChanged', 'RejectChange']);
      assert.match(note ?? '', /spec\.subnets differs from connector team-a-web/);
      assert.ok(!r.calls.some((c) => c.startsWith('create') || c.startsWith('delete')));
    },
  );

  void it(
    'deletes the retired connector once nothing uses it and records when AWS accepted',
    PASS,
    async () => {
      let deleted: string | undefined;
      const r = await run({
        object: recorded({
          vpcConnectorArn: ROTATED_CONNECTOR_ARN,
          vpcConnectorName: 'team-a-web-g3',
          retiring: { arn: RETIRING_ARN, name: RETIRING_NAME },
        }),
        world: { connectors: [awsConnector(), rotated()] },
        writes: {
          deleteConnector: (arn) => {
            deleted = arn;
            return Promise.resolve(awsConnector({ status: 'INACTIVE' }));
          },
        },
      });
      assert.equal(deleted, RETIRING_ARN);
      assert.partialDeepStrictEqual(r.status, {
        retiring: { arn: RETIRING_ARN, name: RETIRING_NAME, deletionRequestedAt: at },
      });
      assert.equal(logged(r, 'Requested deletion of the old connector').arn, RETIRING_ARN);
    },
  );

  void it(
    'finishes a rotation when the old connector reads INACTIVE, naming the connector every service uses',
    PASS,
    async () => {
      const r = await run({
        object: recorded({
          vpcConnectorArn: ROTATED_CONNECTOR_ARN,
          vpcConnectorName: 'team-a-web-g3',
          retiring: { arn: RETIRING_ARN, name: RETIRING_NAME, deletionRequestedAt: ago(MIN).toISOString() },
        }),
        world: { connectors: [awsConnector({ status: 'INACTIVE' }), rotated()] },
      });
      assert.equal(r.status?.retiring, null);
      assert.deepEqual(onlyEvent(r), [
        'Normal',
        'RotationFinished',
        'DeleteVpcConnector',
        `Old connector ${RETIRING_ARN} is deleted; every service uses team-a-web-g3.`,
      ]);
      assert.equal(logged(r, 'Finished rotation').retiredArn, RETIRING_ARN);
    },
  );

  void it('adds the spec tags a connector lacks, and only those', PASS, async () => {
    let tagged: unknown;
    const r = await run({
      object: recorded({}, { tags: { team: 'payments' } }),
      world: { connectors: [awsConnector()] },
      writes: {
        tagResource: (arn, tags) => {
          tagged = { arn, tags };
          return Promise.resolve();
        },
      },
    });
    assert.deepEqual(tagged, { arn: CONNECTOR_ARN, tags: { team: 'payments' } });
    assert.deepEqual(logged(r, 'Updated connector tags').keys, ['team']);
  });

  void it(
    'records an observed connector as AWS shows it, in the spec’s region, and writes nothing to AWS',
    PASS,
    async () => {
      const r = await run({
        object: vpcc({
          spec: { managementPolicy: 'Observe', vpcConnectorName: 'team-a-web', region: 'us-east-1' },
          status: {},
        }),
        world: {
          connectors: [awsConnector({ revision: 4, tags: {} })],
          services: [awsService({ network: ATTACHED })],
        },
      });
      assert.partialDeepStrictEqual(r.status, {
        region: 'us-east-1',
        vpcConnectorArn: CONNECTOR_ARN,
        vpcConnectorName: 'team-a-web',
        vpcConnectorRevision: 4,
        awsStatus: 'ACTIVE',
        services: [SERVICE_ARN],
      });
      assert.deepEqual(r.events, []);
    },
  );

  void it(
    'forgets an observed connector that is gone, keeping the region status recorded',
    PASS,
    async () => {
      const r = await run({
        object: vpcc({
          spec: { managementPolicy: 'Observe', vpcConnectorName: 'team-a-web' },
          status: {
            region: 'eu-west-1',
            vpcConnectorArn: CONNECTOR_ARN,
            vpcConnectorName: 'team-a-web',
            vpcConnectorRevision: 1,
            awsStatus: 'ACTIVE',
            services: [],
          },
        }),
        world: { connectors: [] },
      });
      assert.partialDeepStrictEqual(r.status, {
        region: 'eu-west-1',
        vpcConnectorArn: null,
        vpcConnectorName: null,
        vpcConnectorRevision: null,
        awsStatus: null,
        services: null,
      });
    },
  );

  void it(
    'observes in the operator’s default region when neither spec nor status names one',
    PASS,
    async () => {
      const r = await run({
        object: vpcc({ spec: { managementPolicy: 'Observe', vpcConnectorName: 'team-a-web' } }),
        world: { connectors: [awsConnector()] },
        settings: { defaultRegion: 'us-east-1' },
      });
      assert.equal(r.status?.region, 'us-east-1');
    },
  );

  void it('reports Ready with the services that use the connector', PASS, async () => {
    const r = await run({
      object: recorded({ vpcConnectorRevision: 1, services: [] }),
      world: { connectors: [awsConnector({ revision: 2 })], services: [awsService({ network: ATTACHED })] },
    });
    assert.partialDeepStrictEqual(r.status, { vpcConnectorRevision: 2, services: [SERVICE_ARN] });
  });

  void it(
    'blocks deletion while a ServiceNetworking references the object, with a Warning naming it',
    PASS,
    async () => {
      const r = await run({
        object: deletingObject(),
        world: { connectors: [awsConnector()] },
        serviceNetworkings: [svcnet(), svcnet({ metadata: { namespace: 'team-b', name: 'elsewhere' } })],
      });
      const [type, reason, action, note] = onlyEvent(r);
      assert.deepEqual([type, reason, action], ['Warning', 'DeletionBlocked', 'DeleteVpcConnector']);
      assert.match(note ?? '', /ServiceNetworking team-a\/payments still references it/);
      assert.doesNotMatch(note ?? '', /elsewhere/, 'only the object’s own namespace counts');
      assert.deepEqual(logged(r, 'Blocked deletion').serviceNetworkings, ['payments']);
      assert.ok(!r.calls.includes('deleteConnector'));
    },
  );

  void it(
    'deletes the connector once nothing blocks, records when AWS accepted and tells the user',
    PASS,
    async () => {
      let deleted: string | undefined;
      const r = await run({
        object: deletingObject(),
        world: { connectors: [awsConnector()] },
        writes: {
          deleteConnector: (arn) => {
            deleted = arn;
            return Promise.resolve(awsConnector({ status: 'INACTIVE' }));
          },
        },
      });
      assert.equal(deleted, CONNECTOR_ARN);
      assert.partialDeepStrictEqual(r.status, { deletionRequestedAt: at });
      assert.deepEqual(onlyEvent(r), [
        'Normal',
        'Deleting',
        'DeleteVpcConnector',
        `Requested deletion of connector ${CONNECTOR_ARN}.`,
      ]);
      assert.equal(logged(r, 'Requested deletion of the connector').arn, CONNECTOR_ARN);
    },
  );

  void it(
    'records a deletion of the retiring connector on status.retiring, not on the object',
    PASS,
    async () => {
      const r = await run({
        object: deletingObject({
          vpcConnectorArn: ROTATED_CONNECTOR_ARN,
          vpcConnectorName: 'team-a-web-g3',
          retiring: { arn: RETIRING_ARN, name: RETIRING_NAME },
        }),
        world: { connectors: [awsConnector(), rotated()] },
        writes: { deleteConnector: () => Promise.resolve(awsConnector({ status: 'INACTIVE' })) },
      });
      assert.partialDeepStrictEqual(r.status, {
        retiring: { arn: RETIRING_ARN, deletionRequestedAt: at },
      });
      assert.ok(!Object.hasOwn(r.status ?? {}, 'deletionRequestedAt'));
    },
  );

  void it('lets go under deletionPolicy Retain, naming what stays in AWS', PASS, async () => {
    const r = await run({
      object: deletingObject({}, { deletionPolicy: 'Retain' }),
      world: { connectors: [awsConnector()] },
    });
    assert.equal(r.finalizerPatches.length, 1);
    assert.deepEqual(onlyEvent(r), [
      'Normal',
      'Retained',
      'RemoveFinalizer',
      `deletionPolicy is Retain: left ${CONNECTOR_ARN} in AWS.`,
    ]);
    assert.deepEqual(logged(r, 'Retaining connectors in AWS').arns, [CONNECTOR_ARN]);
  });

  void it('lets go under Retain without an Event when no connector is left to retain', PASS, async () => {
    const r = await run({
      object: deletingObject({}, { deletionPolicy: 'Retain' }),
      world: { connectors: [] },
    });
    assert.equal(r.finalizerPatches.length, 1);
    assert.deepEqual(r.events, []);
  });

  void it(
    'deletes the service-linked role under WhenUnused, after listing every managed region',
    PASS,
    async () => {
      const elsewhere = vpcc({
        metadata: { name: 'other' },
        spec: { region: 'ap-south-1' },
        status: { region: 'eu-west-1' },
      });
      const unplaced = vpcc({ metadata: { name: 'unplaced' } });
      const r = await run({
        object: deletingObject({ vpcConnectorArn: undefined }),
        world: { connectors: [] },
        settings: { serviceLinkedRoleDeletion: 'WhenUnused', managedRegions: ['us-west-2'] },
        others: [elsewhere, unplaced],
        writes: { deleteRole: () => Promise.resolve({ taskId: 'task-1' }) },
      });
      assert.deepEqual([...new Set(r.listedRegions)].sort(), ['eu-west-1', 'us-east-1', 'us-west-2']);
      assert.ok(r.calls.includes('deleteRole'));
      assert.partialDeepStrictEqual(r.status, {
        serviceLinkedRoleDeletion: { taskId: 'task-1', startedAt: at },
      });
      assert.deepEqual(onlyEvent(r), [
        'Normal',
        'ServiceLinkedRoleDeletionStarted',
        'DeleteServiceLinkedRole',
        'No connector is left in any managed region: deleting the App Runner networking service-linked role (task task-1).',
      ]);
      assert.equal(logged(r, 'Started service-linked role deletion').taskId, 'task-1');
    },
  );

  void it('records nothing when IAM started no deletion task for the role', PASS, async () => {
    const r = await run({
      object: deletingObject({ vpcConnectorArn: undefined }),
      world: { connectors: [] },
      settings: { serviceLinkedRoleDeletion: 'WhenUnused' },
      writes: { deleteRole: () => Promise.resolve(undefined) },
    });
    assert.equal(r.error, undefined);
    assert.deepEqual(r.events, []);
    assert.ok(!Object.hasOwn(r.status ?? {}, 'serviceLinkedRoleDeletion'));
  });

  void it('keeps the role while a connector is left in a managed region', PASS, async () => {
    const r = await run({
      object: deletingObject({ vpcConnectorArn: undefined }),
      world: {
        connectors: [
          awsConnector({ arn: CONNECTOR_ARN.replace('us-east-1', 'us-west-2'), name: 'rogue', tags: {} }),
        ],
      },
      settings: { serviceLinkedRoleDeletion: 'WhenUnused', managedRegions: ['us-west-2'] },
    });
    assert.ok(!r.calls.includes('deleteRole'));
    assert.equal(r.finalizerPatches.length, 1);
  });

  void it('warns when the role deletion task failed, quoting IAM’s reason', PASS, async () => {
    const r = await run({
      object: deletingObject({
        vpcConnectorArn: undefined,
        serviceLinkedRoleDeletion: { taskId: 'task-1', startedAt: ago(MIN).toISOString() },
      }),
      world: {
        connectors: [],
        roleDeletion: { taskId: 'task-1', status: 'FAILED', reason: 'role in use', usage: [] },
      },
      settings: { serviceLinkedRoleDeletion: 'WhenUnused' },
    });
    const [type, reason, action, note] = onlyEvent(r);
    assert.deepEqual(
      [type, reason, action],
      ['Warning', 'ServiceLinkedRoleDeletionFailed', 'DeleteServiceLinkedRole'],
    );
    assert.match(note ?? '', /"role in use"/);
    assert.partialDeepStrictEqual(logged(r, 'Found service-linked role deletion failed'), {
      taskId: 'task-1',
      reason: 'role in use',
    });
  });

  void it('waits on a running role deletion task without writing to AWS', PASS, async () => {
    const r = await run({
      object: deletingObject({
        vpcConnectorArn: undefined,
        serviceLinkedRoleDeletion: { taskId: 'task-1', startedAt: ago(MIN).toISOString() },
      }),
      world: { connectors: [], roleDeletion: { taskId: 'task-1', status: 'IN_PROGRESS', usage: [] } },
      settings: { serviceLinkedRoleDeletion: 'WhenUnused' },
    });
    assert.deepEqual(r.events, []);
    assert.ok(r.calls.includes('getDeletionStatus'));
    assert.ok(!r.calls.includes('deleteRole'));
    assert.equal(r.result?.requeueAfterMs, 10_000);
  });
  void it('warns that the name is taken by another owner’s connector and adopts nothing', PASS, async () => {
    const r = await run({
      object: vpcc({
        status: {
          region: 'us-east-1',
          createIntent: { name: 'team-a-web', requestedAt: ago(READ_LAG_MS).toISOString() },
        },
      }),
      world: { connectors: [awsConnector({ tags: { ...VPCC_TAGS_OF_STAGING } })] },
    });
    assert.deepEqual(onlyEvent(r), [
      'Warning',
      'NameConflict',
      'AdoptVpcConnector',
      `Connector team-a-web (${CONNECTOR_ARN}) belongs to VpcConnector team-a/web of cluster staging; the operator will not adopt or change it.`,
    ]);
    assert.partialDeepStrictEqual(logged(r, 'Found connector name taken by another owner'), {
      level: 'error',
      connectorName: 'team-a-web',
      arn: CONNECTOR_ARN,
      owner: 'VpcConnector team-a/web of cluster staging',
    });
    assert.ok(!Object.hasOwn(r.status ?? {}, 'vpcConnectorArn'));
  });

  void it('names every connector Retain leaves behind in its Event', PASS, async () => {
    const r = await run({
      object: deletingObject(
        {
          vpcConnectorArn: ROTATED_CONNECTOR_ARN,
          vpcConnectorName: 'team-a-web-g3',
          retiring: { arn: RETIRING_ARN, name: RETIRING_NAME },
        },
        { deletionPolicy: 'Retain' },
      ),
      world: { connectors: [awsConnector(), rotated()] },
    });
    assert.equal(
      onlyEvent(r)[3],
      `deletionPolicy is Retain: left ${RETIRING_ARN}, ${ROTATED_CONNECTOR_ARN} in AWS.`,
    );
  });

  void it('observes the connector spec.vpcConnectorArn names, by its ARN', PASS, async () => {
    const r = await run({
      object: vpcc({ spec: { managementPolicy: 'Observe', vpcConnectorArn: CONNECTOR_ARN } }),
      world: { connectors: [awsConnector({ name: 'shared', tags: {} })] },
    });
    assert.partialDeepStrictEqual(r.status, {
      vpcConnectorArn: CONNECTOR_ARN,
      vpcConnectorName: 'shared',
      awsStatus: 'ACTIVE',
    });
  });

  void it('reads neither the role nor a role deletion task for a Ready connector', PASS, async () => {
    const r = await run({ object: recorded(), world: { connectors: [awsConnector()] } });
    assert.ok(!r.calls.includes('getRole'), r.calls.join(', '));
    assert.ok(!r.calls.includes('getDeletionStatus'), r.calls.join(', '));
  });

  void it(
    'keeps a pending create intent when AWS refuses a read, recording the refusal as Stalled',
    PASS,
    async () => {
      const denied = (): Promise<never> =>
        Promise.reject(
          new AwsAccessDeniedError(awsFacts('ListServices', 'AccessDeniedException', 'not authorized'), {
            cause: undefined,
          }),
        );
      const r = await run({
        object: vpcc({
          status: {
            region: 'us-east-1',
            createIntent: { name: 'team-a-web', requestedAt: ago(5_000).toISOString() },
          },
        }),
        world: {},
        writes: Object.assign({ listServices: denied }, { listServiceSummaries: denied }),
      });
      const stalled = (r.status?.conditions as { type: string; status: string; reason: string }[]).find(
        (c) => c.type === ConditionType.Stalled,
      );
      assert.partialDeepStrictEqual(stalled, { status: 'True', reason: 'AccessDenied' });
      assert.deepEqual(
        r.status?.createIntent,
        { name: 'team-a-web', requestedAt: ago(5_000).toISOString() },
        'the intent stays as it was',
      );
    },
  );

  void it(
    'shows AWS’s "in use" refusal of a rotation’s delete without blocking the object’s deletion',
    PASS,
    async () => {
      const inUse = new ConnectorInUseError(
        awsFacts('DeleteVpcConnector', 'InvalidRequestException', 'connector is in use'),
        { cause: undefined },
      );
      const r = await run({
        object: recorded({
          vpcConnectorArn: ROTATED_CONNECTOR_ARN,
          vpcConnectorName: 'team-a-web-g3',
          retiring: { arn: RETIRING_ARN, name: RETIRING_NAME },
        }),
        world: { connectors: [awsConnector(), rotated()] },
        writes: { deleteConnector: () => Promise.reject(inUse) },
      });
      assert.equal(r.error, inUse, 'the queue backs off');
      const conditions = r.status?.conditions as { type: string; status: string; reason: string }[];
      assert.partialDeepStrictEqual(
        conditions.find((c) => c.type === ConditionType.Reconciling),
        { status: 'True', reason: 'ConnectorInUse' },
      );
      assert.equal(
        conditions.find((c) => c.type === ConditionType.DeletionBlocked),
        undefined,
      );
      assert.equal(
        logged(r, 'AWS refused to delete a connector in use; retrying with backoff').level,
        'error',
      );
    },
  );
  void it(
    'keeps a replacement’s intent and records AWS’s refusal when the create is refused as invalid',
    PASS,
    async () => {
      const refused = new AwsInvalidInputError(
        awsFacts('CreateVpcConnector', 'InvalidRequestException', 'name already in use'),
        { cause: undefined },
      );
      const requestedAt = ago(5_000).toISOString();
      const r = await run({
        object: recorded(
          { createIntent: { name: 'team-a-web-g3', requestedAt, replaces: CONNECTOR_ARN } },
          { subnets: [OTHER_SUBNET] },
        ),
        world: { connectors: [awsConnector()] },
        writes: { createConnector: () => Promise.reject(refused) },
      });
      assert.equal(r.result?.requeueAfterMs, 2_000, 'looks the name up again shortly');
      assert.deepEqual(r.status?.createIntent, {
        name: 'team-a-web-g3',
        requestedAt,
        replaces: CONNECTOR_ARN,
        refused: { at, code: 'InvalidRequestException', message: 'name already in use' },
      });
      assert.equal(
        logged(r, 'CreateVpcConnector was refused; looking the name up before reporting it').level,
        'error',
      );
    },
  );
  void it(
    'looks again within a second when a tag sync changes nothing in status (AWS still shows old tags)',
    PASS,
    async () => {
      const { first, second } = await twoPasses(() => recorded({}, { tags: { team: 'payments' } }), {
        world: { connectors: [awsConnector()] },
        writes: { tagResource: () => Promise.resolve() },
      });
      assert.equal(first.result?.requeueAfterMs, undefined, 'the status write starts the next pass');
      assert.ok(second.calls.includes('tagResource'));
      assert.equal(second.status, undefined, 'nothing to write');
      assert.equal(second.result?.requeueAfterMs, 1_000);
    },
  );

  void it(
    'looks again within a second when creating the role changes nothing in status (IAM still reads it absent)',
    PASS,
    async () => {
      const { second } = await twoPasses(() => vpcc({ status: {} }), {
        world: { role: { exists: false } },
        writes: { ensureRole: () => Promise.resolve({ exists: true }) },
      });
      assert.ok(second.calls.includes('ensureRole'));
      assert.equal(second.status, undefined, 'nothing to write');
      assert.equal(second.result?.requeueAfterMs, 1_000);
    },
  );

  void it(
    'drops a rotation intent once the spec matches the connector again, creating nothing',
    PASS,
    async () => {
      const r = await run({
        object: recorded({
          createIntent: {
            name: 'team-a-web-g3',
            requestedAt: ago(READ_LAG_MS).toISOString(),
            replaces: CONNECTOR_ARN,
          },
        }),
        world: { connectors: [awsConnector()] },
      });
      assert.equal(r.status?.createIntent, null);
      assert.ok(!r.calls.includes('createConnector'), r.calls.join(', '));
      assert.equal(
        logged(r, 'Dropped a rotation: the spec matches the connector again').connectorName,
        'team-a-web-g3',
      );
    },
  );

  void it(
    'says a rotation finished with "the new connector" when status does not know its name',
    PASS,
    async () => {
      const object = recorded({
        vpcConnectorArn: ROTATED_CONNECTOR_ARN,
        retiring: { arn: RETIRING_ARN, name: RETIRING_NAME, deletionRequestedAt: ago(MIN).toISOString() },
      });
      delete object.status?.vpcConnectorName;
      const r = await run({
        object,
        world: { connectors: [awsConnector({ status: 'INACTIVE' }), rotated()] },
      });
      assert.equal(
        onlyEvent(r)[3],
        `Old connector ${RETIRING_ARN} is deleted; every service uses the new connector.`,
      );
    },
  );

  void it('asks IAM about the role deletion task status recorded, by its id', PASS, async () => {
    const asked: string[] = [];
    await run({
      object: deletingObject({
        vpcConnectorArn: undefined,
        serviceLinkedRoleDeletion: { taskId: 'task-1', startedAt: ago(MIN).toISOString() },
      }),
      world: { connectors: [] },
      settings: { serviceLinkedRoleDeletion: 'WhenUnused' },
      writes: {
        getDeletionStatus: (taskId) => {
          asked.push(taskId);
          return Promise.resolve({ taskId, status: 'IN_PROGRESS', usage: [] });
        },
      },
    });
    assert.deepEqual(asked, ['task-1']);
  });

  void it(
    'records a refused role creation as Stalled and leaves a pending create intent without a refusal',
    PASS,
    async () => {
      const refused = new AwsInvalidInputError(
        awsFacts('CreateServiceLinkedRole', 'InvalidInputException', 'bad role'),
        { cause: undefined },
      );
      const intent = { name: 'team-a-web', requestedAt: ago(5_000).toISOString() };
      const r = await run({
        object: vpcc({ status: { region: 'us-east-1', createIntent: intent } }),
        world: { role: { exists: false } },
        writes: { ensureRole: () => Promise.reject(refused) },
      });
      assert.ok(r.calls.includes('ensureRole'));
      const stalled = (r.status?.conditions as { type: string; status: string }[]).find(
        (c) => c.type === ConditionType.Stalled,
      );
      assert.equal(stalled?.status, 'True');
      assert.deepEqual(r.status?.createIntent ?? intent, intent, 'no refusal recorded on the intent');
    },
  );

  void it('records a create AWS denied as Stalled and drops its intent', PASS, async () => {
    const denied = new AwsAccessDeniedError(
      awsFacts('CreateVpcConnector', 'AccessDeniedException', 'not authorized'),
      { cause: undefined },
    );
    const r = await run({
      object: vpcc({
        status: {
          region: 'us-east-1',
          createIntent: { name: 'team-a-web', requestedAt: ago(5_000).toISOString() },
        },
      }),
      world: {},
      writes: { createConnector: () => Promise.reject(denied) },
    });
    const stalled = (r.status?.conditions as { type: string; status: string; reason: string }[]).find(
      (c) => c.type === ConditionType.Stalled,
    );
    assert.partialDeepStrictEqual(stalled, { status: 'True', reason: 'AccessDenied' });
    assert.equal(r.status?.createIntent, null);
  });
});
