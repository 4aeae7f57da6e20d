// What each decided action of a ServiceNetworking pass leaves behind: the AWS write, the status it records
// (the pass's one merge patch), the Event and the log line, one row per action or variant, through the whole
// reconciler and a real AwsView over a small in-memory AWS (the reads are whatever the reconciler makes).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceNetworking, ServiceNetworkingStatus } from '../../../src/api/servicenetworking.ts';
import type {
  DesiredNetwork,
  OperationObservation,
  ServiceObservation,
  Tags,
} from '../../../src/aws/gateway.ts';
import type { NamespaceGrant } from '../../../src/controllers/servicenetworking/observe.ts';
import {
  createServiceNetworkingReconciler,
  serviceNetworkingResource,
} from '../../../src/controllers/servicenetworking/reconciler.ts';
import { AwsView } from '../../../src/controllers/shared/aws-view.ts';
import type { EventInput } from '../../../src/runtime/events.ts';
import { createLogger } from '../../../src/runtime/logging.ts';
import { StatusWriter } from '../../../src/runtime/status.ts';
import type { ReconcileResult } from '../../../src/runtime/types.ts';
import {
  ATTACHED,
  CONNECTOR_ARN,
  DEFAULT_PUBLIC,
  MIN,
  NOW,
  SERVICE_ARN,
  SVCNET_TAGS,
  activeConnector,
  ago,
  awsConnector,
  awsService,
  cache,
  condition,
  fakeClient,
  fakeEvents,
  fakeGateway,
  grant,
  lastOperation,
  operation,
  serviceNetworkingSettings,
  svcnet,
  type GatewayVerbs,
  statusAsWritten,
} from '../builders.ts';

/** Each case is one pass against in-memory fakes: milliseconds, bounded generously for a busy machine. */
const PASS = { timeout: 10_000 };
const at = NOW.toISOString();

/** What AWS holds: the service (absent: AWS does not know it), its tags and its latest operations. */
interface World {
  service?: ServiceObservation;
  tags?: Tags;
  operations?: OperationObservation[];
}

interface Run {
  result: ReconcileResult;
  /** The abort signal of the pass, which every AWS call must carry. */
  signal: AbortSignal;
  status: Record<string, unknown> | undefined;
  finalizerPatches: unknown[];
  events: EventInput[];
  calls: string[];
  logs: { level: string; msg: string; [key: string]: unknown }[];
}

function readVerbs(world: World): GatewayVerbs {
  const services = world.service === undefined ? [] : [world.service];
  const verbs: GatewayVerbs = {
    listServices: () => Promise.resolve(services),
    describeService: (arn) => Promise.resolve(services.find((s) => s.arn === arn)),
    listTags: () => Promise.resolve(world.tags ?? {}),
    listOperations: () => Promise.resolve(world.operations ?? []),
  };
  // Gateways that list services as summaries first (then describe) get that verb too.
  return Object.assign(verbs, {
    listServiceSummaries: () =>
      Promise.resolve(services.map(({ arn, name, status, updatedAt }) => ({ arn, name, status, updatedAt }))),
  });
}

interface Setup {
  object: ServiceNetworking;
  world?: World;
  writes?: GatewayVerbs;
  namespace?: NamespaceGrant;
  others?: ServiceNetworking[];
}

async function run(setup: Setup): Promise<Run> {
  const { client, statusPatches, finalizerPatches } = fakeClient<ServiceNetworkingStatus>(setup.object);
  const { recorder, events } = fakeEvents();
  const { gateway, calls } = fakeGateway({ ...readVerbs(setup.world ?? {}), ...setup.writes });
  const namespace = setup.namespace ?? grant('payments');
  const logs: Run['logs'] = [];
  const log = createLogger({
    level: 'debug',
    write: (line) => logs.push(JSON.parse(line) as Run['logs'][number]),
  });
  const reconcile = createServiceNetworkingReconciler({
    serviceNetworkings: cache([setup.object, ...(setup.others ?? [])]),
    connectors: cache([activeConnector()]),
    namespaces: { get: (_namespace, name) => (name === namespace.name ? namespace : undefined) },
    view: new AwsView(gateway, { now: () => NOW.getTime() }),
    client,
    statusWriter: new StatusWriter({ client, resource: serviceNetworkingResource }),
    events: recorder,
    settings: serviceNetworkingSettings,
    now: () => NOW,
  });
  const { signal } = new AbortController();
  const result = await reconcile(
    { namespace: setup.object.metadata.namespace, name: setup.object.metadata.name ?? '' },
    { signal, log },
  );
  const status = statusPatches[0]?.status as Record<string, unknown> | undefined;
  return { result, signal, status, finalizerPatches, events, calls, logs };
}

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

const deletingSvcnet = (overrides: Parameters<typeof svcnet>[0] = {}): ServiceNetworking => {
  const object = svcnet(overrides);
  object.metadata.deletionTimestamp = ago(MIN).toISOString();
  return object;
};

/** What UpdateService answers: the service busy with the new configuration, and the operation id. */
const updateAnswer = (network: DesiredNetwork) =>
  Promise.resolve({
    service: awsService({ status: 'OPERATION_IN_PROGRESS', network }),
    operationId: 'op-2',
  });

void describe('the ServiceNetworking reconciler, action by action', () => {
  void it('releases an object whose service is gone, with an Event naming why', PASS, async () => {
    const r = await run({ object: deletingSvcnet(), world: {} });
    assert.equal(r.finalizerPatches.length, 1);
    assert.deepEqual(onlyEvent(r), [
      'Normal',
      'Deleted',
      'RemoveFinalizer',
      'Released the object: the service no longer exists.',
    ]);
    assert.equal(logged(r, 'Releasing the object').why, 'the service no longer exists');
  });

  void it('warns that another owner holds the service, quoting the Stalled message', PASS, async () => {
    const r = await run({
      object: svcnet(),
      world: { service: awsService(), tags: { ...SVCNET_TAGS, 'apprunnernet.dev/cluster': 'staging' } },
    });
    const [type, reason, action, note] = onlyEvent(r);
    assert.deepEqual([type, reason, action], ['Warning', 'Conflict', 'ClaimService']);
    assert.match(note ?? '', /is managed by ServiceNetworking team-a\/payments of cluster staging/);
    assert.ok(!r.calls.some((c) => c === 'tagResource' || c === 'updateServiceNetwork'));
  });

  void it('records a service AWS no longer knows as DELETED and forgets its network', PASS, async () => {
    const r = await run({
      object: svcnet({
        status: { serviceName: 'payments', serviceStatus: 'RUNNING', network: { ...ATTACHED } },
      }),
      world: {},
    });
    assert.partialDeepStrictEqual(r.status, { serviceStatus: 'DELETED', network: null });
    assert.ok(!r.calls.includes('listTags') && !r.calls.includes('listOperations'), 'nothing more to read');
  });

  void it('removes exactly the ownership tags once detached, as the last AWS call', PASS, async () => {
    let untagged: unknown;
    const r = await run({
      object: deletingSvcnet(),
      world: { service: awsService(), tags: { ...SVCNET_TAGS, team: 'payments' } },
      writes: {
        untagResource: (arn, keys) => {
          untagged = { arn, keys: [...keys].sort() };
          return Promise.resolve();
        },
      },
    });
    assert.deepEqual(untagged, { arn: SERVICE_ARN, keys: Object.keys(SVCNET_TAGS).sort() });
    assert.equal(logged(r, 'Removed ownership tags').arn, SERVICE_ARN);
    assert.equal(r.finalizerPatches.length, 0, 'the finalizer goes in the next pass');
  });

  void it('records the tracked operation as ListOperations shows it while it runs', PASS, async () => {
    const r = await run({
      object: svcnet({ status: { lastOperation: lastOperation('PENDING') } }),
      world: {
        service: awsService({ status: 'OPERATION_IN_PROGRESS', network: ATTACHED }),
        tags: SVCNET_TAGS,
        operations: [operation('IN_PROGRESS')],
      },
    });
    assert.partialDeepStrictEqual(r.status, {
      lastOperation: {
        id: 'op-1',
        type: 'UPDATE_SERVICE',
        status: 'IN_PROGRESS',
        startedAt: ago(2 * MIN).toISOString(),
      },
      serviceName: 'payments',
      serviceStatus: 'OPERATION_IN_PROGRESS',
      network: { egressType: 'VPC', vpcConnectorArn: CONNECTOR_ARN },
    });
    assert.deepEqual(r.events, []);
  });

  void it('keeps the start time it recorded when the listed operation carries none', PASS, async () => {
    const started = ago(3 * MIN).toISOString();
    const { startedAt: _startedAt, ...unstamped } = operation('IN_PROGRESS');
    const r = await run({
      object: svcnet({ status: { lastOperation: { ...lastOperation('PENDING'), startedAt: started } } }),
      world: {
        service: awsService({ status: 'OPERATION_IN_PROGRESS', network: ATTACHED }),
        tags: SVCNET_TAGS,
        operations: [unstamped],
      },
    });
    assert.partialDeepStrictEqual(r.status, { lastOperation: { status: 'IN_PROGRESS', startedAt: started } });
  });

  void it(
    'waits on a busy service whose tracked operation is not listed, recording nothing new',
    PASS,
    async () => {
      const r = await run({
        object: svcnet({ status: { lastOperation: lastOperation('IN_PROGRESS') } }),
        world: {
          service: awsService({ status: 'OPERATION_IN_PROGRESS', network: ATTACHED }),
          tags: SVCNET_TAGS,
          operations: [],
        },
      });
      assert.partialDeepStrictEqual(r.status, { lastOperation: { id: 'op-1', status: 'IN_PROGRESS' } });
    },
  );

  void it('records a failed operation with its times and warns with the Stalled reason', PASS, async () => {
    const failed = { ...operation('FAILED'), endedAt: ago(MIN) };
    const r = await run({
      object: svcnet({ status: { lastOperation: lastOperation('IN_PROGRESS') } }),
      world: { service: awsService(), tags: SVCNET_TAGS, operations: [failed] },
    });
    assert.partialDeepStrictEqual(r.status, {
      lastOperation: {
        id: 'op-1',
        type: 'UPDATE_SERVICE',
        status: 'FAILED',
        startedAt: ago(2 * MIN).toISOString(),
        endedAt: ago(MIN).toISOString(),
      },
    });
    const [type, reason, action, note] = onlyEvent(r);
    assert.deepEqual([type, reason, action], ['Warning', 'OperationFailed', 'UpdateService']);
    assert.match(note ?? '', /ended FAILED \(operation op-1\)/);
    assert.partialDeepStrictEqual(logged(r, 'Found the service operation failed'), {
      level: 'error',
      operation: { id: 'op-1', status: 'FAILED' },
    });
  });

  void it('calls a rolled-back operation RolledBack in its Warning', PASS, async () => {
    const r = await run({
      object: svcnet({ status: { lastOperation: lastOperation('IN_PROGRESS') } }),
      world: { service: awsService(), tags: SVCNET_TAGS, operations: [operation('ROLLBACK_SUCCEEDED')] },
    });
    assert.equal(onlyEvent(r)[1], 'RolledBack');
  });

  void it(
    'marks a tracked operation that is no longer listed on a settled service NOT_LISTED',
    PASS,
    async () => {
      const r = await run({
        object: svcnet({
          status: {
            lastOperation: lastOperation('IN_PROGRESS'),
            network: { ...ATTACHED },
            conditions: [condition('Ready', 'True', 'Attached', 2)],
          },
        }),
        world: { service: awsService({ network: ATTACHED }), tags: SVCNET_TAGS, operations: [] },
      });
      assert.partialDeepStrictEqual(r.status, { lastOperation: { id: 'op-1', status: 'NOT_LISTED' } });
    },
  );

  void it('records how a tracked operation ended once ListOperations shows it ended', PASS, async () => {
    const r = await run({
      object: svcnet({ status: { lastOperation: lastOperation('IN_PROGRESS') } }),
      world: {
        service: awsService({ network: ATTACHED }),
        tags: SVCNET_TAGS,
        operations: [{ ...operation('SUCCEEDED'), endedAt: ago(MIN) }],
      },
    });
    assert.partialDeepStrictEqual(r.status, {
      lastOperation: { status: 'SUCCEEDED', endedAt: ago(MIN).toISOString() },
    });
  });

  void it(
    'attaches through the connector, records the operation it started and says what it sends',
    PASS,
    async () => {
      let sent: unknown;
      const r = await run({
        object: svcnet(),
        world: { service: awsService(), tags: SVCNET_TAGS },
        writes: {
          updateServiceNetwork: (arn, network) => {
            sent = { arn, network };
            return updateAnswer({ ...network });
          },
        },
      });
      assert.deepEqual(sent, {
        arn: SERVICE_ARN,
        network: { ...DEFAULT_PUBLIC, egressType: 'VPC', vpcConnectorArn: CONNECTOR_ARN },
      });
      assert.partialDeepStrictEqual(r.status, {
        lastOperation: { id: 'op-2', type: 'UPDATE_SERVICE', status: 'IN_PROGRESS', startedAt: at },
        serviceName: 'payments',
        serviceStatus: 'OPERATION_IN_PROGRESS',
        network: {
          egressType: 'VPC',
          vpcConnectorArn: CONNECTOR_ARN,
          isPubliclyAccessible: true,
          ipAddressType: 'IPV4',
        },
      });
      assert.deepEqual(onlyEvent(r), [
        'Normal',
        'Updating',
        'UpdateService',
        `Updating service payments to egress VPC through ${CONNECTOR_ARN} (operation op-2).`,
      ]);
      assert.partialDeepStrictEqual(logged(r, 'Started UpdateService'), {
        arn: SERVICE_ARN,
        operationId: 'op-2',
        egress: 'VPC',
        detach: false,
      });
    },
  );

  void it('names no connector when the spec asks for DEFAULT egress', PASS, async () => {
    const r = await run({
      object: svcnet({ spec: { egress: { type: 'DEFAULT' } } }),
      world: { service: awsService({ network: ATTACHED }), tags: SVCNET_TAGS },
      writes: { updateServiceNetwork: (_arn, network) => updateAnswer({ ...network }) },
    });
    assert.equal(onlyEvent(r)[3], 'Updating service payments to egress DEFAULT (operation op-2).');
    const network = r.status?.network as Record<string, unknown> | undefined;
    assert.ok(network !== undefined && !Object.hasOwn(network, 'vpcConnectorArn'));
  });

  void it('warns when it restores a configuration someone changed behind its back', PASS, async () => {
    const r = await run({
      object: svcnet({
        status: { network: { ...ATTACHED }, conditions: [condition('Ready', 'True', 'Attached', 2)] },
      }),
      world: { service: awsService({ network: DEFAULT_PUBLIC }), tags: SVCNET_TAGS },
      writes: { updateServiceNetwork: (_arn, network) => updateAnswer({ ...network }) },
    });
    assert.deepEqual(onlyEvent(r), [
      'Warning',
      'DriftCorrected',
      'UpdateService',
      'Service payments was changed outside the operator (egress type); restoring the spec (operation op-2).',
    ]);
  });

  void it('detaches on delete, keeping ingress and IP type, and says so', PASS, async () => {
    let sent: unknown;
    const r = await run({
      object: deletingSvcnet(),
      world: {
        service: awsService({
          network: { ...ATTACHED, isPubliclyAccessible: false, ipAddressType: 'DUAL_STACK' },
        }),
        tags: SVCNET_TAGS,
      },
      writes: {
        updateServiceNetwork: (arn, network) => {
          sent = network;
          return updateAnswer({ ...network });
        },
      },
    });
    assert.deepEqual(sent, {
      egressType: 'DEFAULT',
      isPubliclyAccessible: false,
      ipAddressType: 'DUAL_STACK',
    });
    assert.deepEqual(onlyEvent(r), [
      'Normal',
      'Detaching',
      'UpdateService',
      'Detaching service payments: egress back to DEFAULT (operation op-2).',
    ]);
    assert.equal(logged(r, 'Started UpdateService').detach, true);
  });

  void it('tags an unclaimed service with the ownership tags, and logs the claim', PASS, async () => {
    let tagged: unknown;
    const r = await run({
      object: svcnet(),
      world: { service: awsService(), tags: {} },
      writes: {
        tagResource: (arn, tags) => {
          tagged = { arn, tags };
          return Promise.resolve();
        },
      },
    });
    assert.deepEqual(tagged, { arn: SERVICE_ARN, tags: SVCNET_TAGS });
    assert.equal(logged(r, 'Claimed service').arn, SERVICE_ARN);
    assert.equal(r.result.requeueAfterMs, undefined, 'the status write (Reconciling) starts the next pass');
  });

  void it('asks the namespace of the object for its grant, and warns when it has none', PASS, async () => {
    const r = await run({ object: svcnet(), world: {}, namespace: grant(undefined, 'team-a') });
    const [type, reason, action] = onlyEvent(r);
    assert.deepEqual([type, reason, action], ['Warning', 'NotPermitted', 'CheckTenancy']);
    assert.deepEqual(r.calls, []);
  });
  void it('carries the pass’s abort signal on its AWS writes', PASS, async () => {
    let seen: AbortSignal | undefined;
    const r = await run({
      object: svcnet(),
      world: { service: awsService(), tags: SVCNET_TAGS },
      writes: {
        updateServiceNetwork: (_arn, network, options) => {
          seen = options?.signal;
          return updateAnswer({ ...network });
        },
      },
    });
    assert.equal(seen, r.signal);
  });

  void it('lists every field someone else changed in its DriftCorrected Warning', PASS, async () => {
    const r = await run({
      object: svcnet({
        status: { network: { ...ATTACHED }, conditions: [condition('Ready', 'True', 'Attached', 2)] },
      }),
      world: {
        service: awsService({ network: { ...DEFAULT_PUBLIC, isPubliclyAccessible: false } }),
        tags: SVCNET_TAGS,
      },
      writes: { updateServiceNetwork: (_arn, network) => updateAnswer({ ...network }) },
    });
    assert.match(onlyEvent(r)[3] ?? '', /\(egress type, ingress\)/);
  });

  void it(
    'does not let an older object of an ungranted namespace claim the service first',
    PASS,
    async () => {
      const ungranted = svcnet({
        metadata: {
          namespace: 'team-b',
          name: 'old',
          uid: 'uid-old',
          creationTimestamp: '2026-01-01T00:00:00Z',
        },
      });
      const r = await run({
        object: svcnet(),
        others: [ungranted],
        world: { service: awsService(), tags: {} },
        writes: { tagResource: () => Promise.resolve() },
      });
      assert.ok(r.calls.includes('tagResource'), 'claims the service');
      assert.deepEqual(r.events, []);
    },
  );

  void it('leaves a settled operation as recorded when it is no longer listed', PASS, async () => {
    const succeeded = { ...lastOperation('SUCCEEDED'), startedAt: ago(MIN).toISOString() };
    const r = await run({
      object: svcnet({
        status: {
          lastOperation: succeeded,
          network: { ...ATTACHED },
          conditions: [condition('Ready', 'True', 'Attached', 2)],
        },
      }),
      world: { service: awsService({ network: ATTACHED }), tags: SVCNET_TAGS, operations: [] },
    });
    assert.deepEqual(r.status?.lastOperation ?? succeeded, succeeded);
    assert.ok(!r.calls.includes('listOperations'), 'nothing tracked: no ListOperations');
  });

  void it('records a DEFAULT network without a connector, with ingress and IP type', PASS, async () => {
    const r = await run({
      object: svcnet({ spec: { egress: { type: 'DEFAULT' } } }),
      world: {
        service: awsService({ network: { ...DEFAULT_PUBLIC, ipAddressType: 'DUAL_STACK' } }),
        tags: SVCNET_TAGS,
      },
    });
    assert.deepEqual(r.status?.network, {
      egressType: 'DEFAULT',
      isPubliclyAccessible: true,
      ipAddressType: 'DUAL_STACK',
    });
  });

  for (const c of [
    {
      action: 'claiming a service',
      object: () => svcnet(),
      tags: {},
      writes: { tagResource: () => Promise.resolve() },
      call: 'tagResource',
    },
    {
      action: 'removing its ownership tags',
      object: () => deletingSvcnet(),
      tags: SVCNET_TAGS,
      writes: { untagResource: () => Promise.resolve() },
      call: 'untagResource',
    },
  ]) {
    void it(
      `looks again within a second when ${c.action} changes nothing in status (AWS still shows the old tags)`,
      PASS,
      async () => {
        const setup = (status?: ServiceNetworkingStatus): Setup => {
          const object = c.object();
          if (status !== undefined) {
            object.status = status;
            object.metadata.resourceVersion = '101';
          }
          return { object, world: { service: awsService(), tags: c.tags }, writes: c.writes };
        };
        const first = await run(setup());
        const written = statusAsWritten<ServiceNetworkingStatus>(first.status);
        const second = await run(setup(written));
        assert.ok(second.calls.includes(c.call));
        assert.equal(second.status, undefined, 'nothing to write');
        assert.equal(second.result.requeueAfterMs, 1_000);
      },
    );
  }

  void it(
    'attaches through the connector spec.egress.vpcConnectorArn names once AWS lists it, without reading its tags',
    PASS,
    async () => {
      const listTagsOf: string[] = [];
      const r = await run({
        object: svcnet({ spec: { egress: { type: 'VPC', vpcConnectorArn: CONNECTOR_ARN } } }),
        world: { service: awsService() },
        writes: {
          listConnectors: () => Promise.resolve([awsConnector({ tags: undefined })]),
          listTags: (arn) => {
            listTagsOf.push(arn);
            return Promise.resolve(arn === SERVICE_ARN ? SVCNET_TAGS : {});
          },
          updateServiceNetwork: (_arn, network) => updateAnswer({ ...network }),
        },
      });
      assert.ok(r.calls.includes('updateServiceNetwork'), r.calls.join(', '));
      assert.deepEqual(listTagsOf, [SERVICE_ARN]);
    },
  );

  void it(
    'waits for a connector spec.egress.vpcConnectorArn names that AWS does not know',
    PASS,
    async () => {
      const r = await run({
        object: svcnet({ spec: { egress: { type: 'VPC', vpcConnectorArn: CONNECTOR_ARN } } }),
        world: { service: awsService(), tags: SVCNET_TAGS },
        writes: {
          listConnectors: () => Promise.resolve([]),
          describeConnector: () => Promise.resolve(undefined),
        },
      });
      assert.ok(!r.calls.includes('updateServiceNetwork'), r.calls.join(', '));
      const conditions = r.status?.conditions as { type: string; message: string }[];
      assert.match(conditions.find((c) => c.type === 'Reconciling')?.message ?? '', /does not exist in AWS/);
    },
  );

  void it(
    'leaves the service to an older object of the same namespace that names it, and warns',
    PASS,
    async () => {
      const older = svcnet({
        metadata: { name: 'old', uid: 'uid-old', creationTimestamp: '2026-01-01T00:00:00Z' },
      });
      const r = await run({ object: svcnet(), others: [older], world: { service: awsService(), tags: {} } });
      assert.ok(!r.calls.includes('tagResource'), r.calls.join(', '));
      assert.deepEqual(onlyEvent(r).slice(0, 3), ['Warning', 'Conflict', 'ClaimService']);
    },
  );

  void it(
    'records a service gone while an operation was tracked as DELETED, keeping the operation',
    PASS,
    async () => {
      const r = await run({
        object: svcnet({ status: { serviceName: 'payments', lastOperation: lastOperation('IN_PROGRESS') } }),
        world: {},
      });
      assert.equal(r.status?.serviceStatus, 'DELETED');
      assert.partialDeepStrictEqual(r.status, { lastOperation: { status: 'IN_PROGRESS' } });
    },
  );

  void it(
    'records a running operation only through tracking it, not in a pass that adds the finalizer',
    PASS,
    async () => {
      const object = svcnet({ status: { lastOperation: lastOperation('PENDING') } });
      object.metadata.finalizers = [];
      const r = await run({
        object,
        world: {
          service: awsService({ status: 'OPERATION_IN_PROGRESS', network: ATTACHED }),
          tags: SVCNET_TAGS,
          operations: [operation('IN_PROGRESS')],
        },
      });
      assert.partialDeepStrictEqual(r.status, { lastOperation: { status: 'PENDING' } });
    },
  );
});
