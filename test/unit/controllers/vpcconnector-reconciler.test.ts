// The reconciler around the pure decision: what one pass writes to Kubernetes and asks of AWS, with a fake
// gateway, a fake cache and a fake API client (literal objects). The integration suite runs the same code
// against a real API server and the simulator.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  API_VERSION,
  ConditionType,
  FINALIZER,
  OwnershipTag,
  VpcConnectorReason,
} from '../../../src/api/constants.ts';
import type { ServiceNetworking } from '../../../src/api/servicenetworking.ts';
import type { VpcConnector, VpcConnectorStatus } from '../../../src/api/vpcconnector.ts';
import {
  AwsAccessDeniedError,
  AwsInvalidInputError,
  AwsQuotaExceededError,
  AwsThrottledError,
  ConnectorInUseError,
  ConnectorNameTakenError,
  type AwsErrorFacts,
} from '../../../src/aws/errors.ts';
import type { AwsGateway, ConnectorObservation } from '../../../src/aws/gateway.ts';
import { TERMINAL_RETRY_MS } from '../../../src/controllers/vpcconnector/machine.ts';
import { createVpcConnectorReconciler } from '../../../src/controllers/vpcconnector/reconciler.ts';
import type { CustomObjectPatcher } from '../../../src/runtime/custom-objects.ts';
import type { EventInput } from '../../../src/runtime/events.ts';
import { discardLogger } from '../../../src/runtime/logging.ts';
import { StatusWriter } from '../../../src/runtime/status.ts';
import type { InformerSource, ReconcileResult } from '../../../src/runtime/types.ts';

const NOW = new Date('2026-11-27T12:00:00Z');
const SUBNET = 'subnet-0123456789abcdef0';
const ARN = `arn:aws:apprunner:us-east-1:123456789012:vpcconnector/team-a-web/1/${'a'.repeat(32)}`;
const TAGS = {
  [OwnershipTag.cluster]: 'prod',
  [OwnershipTag.namespace]: 'team-a',
  [OwnershipTag.name]: 'web',
};
const settings = {
  clusterName: 'prod',
  defaultRegion: 'us-east-1',
  serviceLinkedRoleDeletion: 'Never' as const,
  managedRegions: [],
};

function vpcc(status?: VpcConnectorStatus, metadata: Partial<VpcConnector['metadata']> = {}): VpcConnector {
  const object: VpcConnector = {
    apiVersion: API_VERSION,
    kind: 'VpcConnector',
    metadata: {
      name: 'web',
      namespace: 'team-a',
      uid: 'uid-1',
      generation: 1,
      resourceVersion: '100',
      finalizers: [FINALIZER],
      ...metadata,
    },
    spec: { subnets: [SUBNET], updatePolicy: 'Rotate', deletionPolicy: 'Delete', managementPolicy: 'Manage' },
  };
  if (status !== undefined) object.status = status;
  return object;
}

const connector: ConnectorObservation = {
  arn: ARN,
  name: 'team-a-web',
  revision: 1,
  status: 'ACTIVE',
  subnets: [SUBNET],
  securityGroups: [],
  tags: TAGS,
};

const facts = (operation: string, code: string, message: string): AwsErrorFacts => ({
  service: 'apprunner',
  operation,
  code,
  httpStatus: 400,
  message,
});

/** A gateway whose every verb fails unless the test gives it; calls are recorded by name. */
function fakeGateway(verbs: Partial<AwsGateway['appRunner'] & AwsGateway['serviceLinkedRole']>) {
  const calls: string[] = [];
  const verb =
    (name: string) =>
    (...args: unknown[]): Promise<unknown> => {
      calls.push(name);
      const impl = (verbs as Record<string, ((...a: unknown[]) => Promise<unknown>) | undefined>)[name];
      return impl === undefined ? Promise.reject(new Error(`unexpected AWS call ${name}`)) : impl(...args);
    };
  const names = {
    appRunner: [
      'listConnectors',
      'findConnectorByName',
      'describeConnector',
      'createConnector',
      'deleteConnector',
      'listServices',
      'describeService',
      'updateServiceNetwork',
      'listOperations',
      'tagResource',
      'untagResource',
      'listTags',
    ],
    serviceLinkedRole: ['getRole', 'ensureRole', 'deleteRole', 'getDeletionStatus'],
  };
  const gateway = {
    appRunner: Object.fromEntries(names.appRunner.map((n) => [n, verb(n)])),
    serviceLinkedRole: Object.fromEntries(names.serviceLinkedRole.map((n) => [n, verb(n)])),
  } as unknown as AwsGateway;
  return { gateway, calls };
}

function source<T extends { metadata: { name?: string; namespace?: string } }>(
  items: T[],
): InformerSource<T> {
  return {
    start: () => Promise.resolve(),
    stop: () => undefined,
    hasSynced: () => true,
    list: () => items,
    get: (namespace, name) =>
      items.find((o) => o.metadata.namespace === namespace && o.metadata.name === name),
    onChange: () => undefined,
  };
}

interface Harness {
  run(name?: string): Promise<ReconcileResult>;
  statusPatches: { status: VpcConnectorStatus }[];
  finalizerPatches: unknown[];
  events: EventInput[];
  calls: string[];
}

function harness(
  object: VpcConnector,
  verbs: Parameters<typeof fakeGateway>[0],
  others: VpcConnector[] = [],
): Harness {
  const statusPatches: { status: VpcConnectorStatus }[] = [];
  const finalizerPatches: unknown[] = [];
  const events: EventInput[] = [];
  const answer = (body: unknown): Promise<unknown> =>
    Promise.resolve({ ...object, metadata: { ...object.metadata, resourceVersion: '101' }, body });
  const client = {
    patchNamespacedCustomObjectStatus: ({ body }: { body: { status: VpcConnectorStatus } }) => {
      statusPatches.push(body);
      return answer(body);
    },
    patchNamespacedCustomObject: ({ body }: { body: unknown }) => {
      finalizerPatches.push(body);
      return answer(body);
    },
    patchClusterCustomObject: () => Promise.reject(new Error('cluster-scoped')),
    patchClusterCustomObjectStatus: () => Promise.reject(new Error('cluster-scoped')),
  } as unknown as CustomObjectPatcher;
  const { gateway, calls } = fakeGateway(verbs);
  const reconcile = createVpcConnectorReconciler({
    connectors: source([object, ...others]),
    serviceNetworkings: source<ServiceNetworking>([]),
    gateway,
    client,
    statusWriter: new StatusWriter({
      client,
      resource: { group: 'apprunnernet.dev', version: 'v1alpha1', plural: 'vpcconnectors', namespaced: true },
    }),
    events: { record: (e) => events.push(e), flush: () => Promise.resolve() },
    settings,
    now: () => NOW,
  });
  return {
    run: (name = 'web') =>
      reconcile({ namespace: 'team-a', name }, { signal: new AbortController().signal, log: discardLogger }),
    statusPatches,
    finalizerPatches,
    events,
    calls,
  };
}

const condition = (status: VpcConnectorStatus | undefined, type: string) =>
  status?.conditions?.find((c) => c.type === type);

void describe('the VpcConnector reconciler', () => {
  void it('records the create intent in one pass and creates in the next, never both at once', async () => {
    const first = harness(vpcc(), {
      findConnectorByName: () => Promise.resolve(undefined),
      listServices: () => Promise.resolve([]),
      getRole: () => Promise.resolve({ exists: true }),
    });
    await first.run();
    assert.ok(!first.calls.includes('createConnector'), 'no create before the intent is in status');
    assert.equal(first.statusPatches.length, 1);
    const intent = first.statusPatches[0]?.status.createIntent;
    assert.deepEqual(intent, { name: 'team-a-web', requestedAt: NOW.toISOString() });

    const second = harness(
      vpcc({ region: 'us-east-1', createIntent: { name: 'team-a-web', requestedAt: NOW.toISOString() } }),
      {
        findConnectorByName: () => Promise.resolve(undefined),
        listServices: () => Promise.resolve([]),
        getRole: () => Promise.resolve({ exists: true }),
        createConnector: () => Promise.resolve(connector),
      },
    );
    await second.run();
    assert.equal(second.calls.filter((c) => c === 'createConnector').length, 1);
    const status = second.statusPatches[0]?.status;
    assert.equal(status?.vpcConnectorArn, ARN);
    assert.equal(status.createIntent, null, 'the intent is cleared (null in the merge patch)');
    assert.deepEqual(
      second.events.map((e) => e.reason),
      ['Created'],
    );
  });

  void it('records a terminal AWS refusal of the create as Stalled, quoting AWS, and looks again in 10 minutes', async () => {
    const cases = [
      {
        reason: 'InvalidRequestException: a subnet AWS does not know',
        error: new AwsInvalidInputError(
          facts('CreateVpcConnector', 'InvalidRequestException', 'Subnet subnet-x not found'),
          { cause: undefined },
        ),
        stalled: VpcConnectorReason.InvalidInput,
        quoted: 'Subnet subnet-x not found',
      },
      {
        reason: 'AccessDeniedException: the operator lacks a permission',
        error: new AwsAccessDeniedError(
          facts(
            'CreateVpcConnector',
            'AccessDeniedException',
            'not authorized to perform apprunner:CreateVpcConnector',
          ),
          { cause: undefined },
        ),
        stalled: VpcConnectorReason.AccessDenied,
        quoted: 'not authorized to perform apprunner:CreateVpcConnector',
      },
      {
        reason: 'ServiceQuotaExceededException: the account has too many connectors',
        error: new AwsQuotaExceededError(
          facts('CreateVpcConnector', 'ServiceQuotaExceededException', 'quota reached'),
          { cause: undefined },
        ),
        stalled: VpcConnectorReason.QuotaExceeded,
        quoted: 'quota reached',
      },
    ];
    for (const c of cases) {
      const h = harness(
        vpcc({ region: 'us-east-1', createIntent: { name: 'team-a-web', requestedAt: NOW.toISOString() } }),
        {
          findConnectorByName: () => Promise.resolve(undefined),
          listServices: () => Promise.resolve([]),
          getRole: () => Promise.resolve({ exists: true }),
          createConnector: () => Promise.reject(c.error),
        },
      );
      const result = await h.run();
      assert.equal(result.requeueAfterMs, TERMINAL_RETRY_MS, c.reason);
      const status = h.statusPatches[0]?.status;
      const stalled = condition(status, ConditionType.Stalled);
      assert.equal(stalled?.status, 'True', c.reason);
      assert.equal(stalled.reason, c.stalled, c.reason);
      assert.ok(stalled.message.includes(`"${c.quoted}"`), `${c.reason}: ${stalled.message}`);
      assert.equal(condition(status, ConditionType.Reconciling), undefined, c.reason);
      assert.equal(status?.createIntent, null, `${c.reason}: nothing was created, so the intent goes`);
    }
  });

  void it('shows an AWS refusal of a read (AccessDenied on ListServices) as Stalled with an Event, like a refused write', async () => {
    const denied = new AwsAccessDeniedError(
      facts('ListServices', 'AccessDeniedException', 'not authorized to perform apprunner:ListServices'),
      { cause: undefined },
    );
    const h = harness(vpcc({ region: 'us-east-1', vpcConnectorArn: ARN }), {
      describeConnector: () => Promise.resolve(connector),
      listServices: () => Promise.reject(denied),
    });
    const result = await h.run();
    assert.equal(result.requeueAfterMs, TERMINAL_RETRY_MS, 'looked at again later, not dropped');
    const stalled = condition(h.statusPatches[0]?.status, ConditionType.Stalled);
    assert.equal(stalled?.status, 'True');
    assert.equal(stalled.reason, VpcConnectorReason.AccessDenied);
    assert.match(stalled.message, /ListServices.*"not authorized to perform apprunner:ListServices"/);
    assert.deepEqual(
      h.events.map((e) => [e.type, e.reason, e.action]),
      [['Warning', VpcConnectorReason.AccessDenied, 'ListServices']],
    );
  });

  void it('keeps the intent and looks again when the create finds the name taken by a connector the lookup missed', async () => {
    const taken = new ConnectorNameTakenError(
      facts(
        'CreateVpcConnector',
        'InvalidRequestException',
        `A VPC connector with the name team-a-web already exists: ${ARN}`,
      ),
      { cause: undefined },
    );
    const intent = { name: 'team-a-web', requestedAt: NOW.toISOString() };
    const h = harness(vpcc({ region: 'us-east-1', createIntent: intent }), {
      findConnectorByName: () => Promise.resolve(undefined),
      listServices: () => Promise.resolve([]),
      getRole: () => Promise.resolve({ exists: true }),
      createConnector: () => Promise.reject(taken),
    });
    const result = await h.run();
    assert.ok((result.requeueAfterMs ?? 0) > 0 && (result.requeueAfterMs ?? 0) < 10_000);
    const status = h.statusPatches[0]?.status;
    assert.deepEqual(status?.createIntent, intent, 'the intent stays');
    assert.equal(
      condition(status, ConditionType.Stalled),
      undefined,
      'not Stalled: the lookup will catch up',
    );
    assert.equal(condition(status, ConditionType.Reconciling)?.status, 'True');
  });

  void it('reports AWS’s "in use" refusal of a delete in DeletionBlocked and hands the error to the queue for backoff', async () => {
    const inUse = new ConnectorInUseError(
      facts(
        'DeleteVpcConnector',
        'InvalidRequestException',
        `Provided VPC connector arn is being used by other services. ARN:  ${ARN}`,
      ),
      { cause: undefined },
    );
    const h = harness(
      vpcc(
        { region: 'us-east-1', vpcConnectorArn: ARN, vpcConnectorName: 'team-a-web' },
        { deletionTimestamp: NOW.toISOString() },
      ),
      {
        describeConnector: () => Promise.resolve(connector),
        listServices: () => Promise.resolve([]),
        deleteConnector: () => Promise.reject(inUse),
      },
    );
    await assert.rejects(h.run(), (err) => err === inUse);
    const blocked = condition(h.statusPatches[0]?.status, ConditionType.DeletionBlocked);
    assert.equal(blocked?.status, 'True');
    assert.equal(blocked.reason, VpcConnectorReason.ConnectorInUse);
    assert.ok(blocked.message.includes('is being used by other services'));
    assert.deepEqual(
      h.events.map((e) => e.reason),
      ['DeletionBlocked'],
    );
  });

  void it('writes nothing when AWS refuses the delete again for the same reason, so the queue’s backoff can grow', async () => {
    // A status write wakes the object's watch, and the pass it causes resets the key's backoff: a refusal
    // that repeats must leave status exactly as the first one wrote it, lastTransitionTime included.
    const inUse = new ConnectorInUseError(
      facts(
        'DeleteVpcConnector',
        'InvalidRequestException',
        `Provided VPC connector arn is being used by other services. ARN:  ${ARN}`,
      ),
      { cause: undefined },
    );
    const verbs = {
      describeConnector: () => Promise.resolve(connector),
      listServices: () => Promise.resolve([]),
      deleteConnector: () => Promise.reject(inUse),
    };
    const deleting = { deletionTimestamp: NOW.toISOString() };
    const first = harness(
      vpcc({ region: 'us-east-1', vpcConnectorArn: ARN, vpcConnectorName: 'team-a-web' }, deleting),
      verbs,
    );
    await assert.rejects(first.run(), (err) => err === inUse);
    const written = first.statusPatches[0]?.status;
    assert.ok(written !== undefined);
    // As if the first refusal had been written a minute before this pass.
    const earlier = new Date(NOW.getTime() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const status: VpcConnectorStatus = {
      ...written,
      conditions: written.conditions?.map((c) => ({ ...c, lastTransitionTime: earlier })),
    };
    const again = harness(vpcc(status, deleting), verbs);
    await assert.rejects(again.run(), (err) => err === inUse, 'the error still goes to the queue');
    assert.deepEqual(again.statusPatches, [], 'status is unchanged: nothing to write');
  });

  void it('leaves throttling to the queue without writing anything', async () => {
    const throttled = new AwsThrottledError(
      facts('DescribeVpcConnector', 'ThrottlingException', 'Rate exceeded'),
      { cause: undefined },
    );
    const h = harness(vpcc({ region: 'us-east-1', vpcConnectorArn: ARN }), {
      describeConnector: () => Promise.reject(throttled),
      listServices: () => Promise.resolve([]),
    });
    await assert.rejects(h.run(), (err) => err === throttled);
    assert.deepEqual(h.statusPatches, []);
  });

  void it('costs a Ready object in steady state two AWS reads and no Kubernetes write', async () => {
    const verbs = {
      describeConnector: () => Promise.resolve(connector),
      listServices: () => Promise.resolve([]),
    };
    const first = harness(vpcc({ region: 'us-east-1', vpcConnectorArn: ARN }), verbs);
    await first.run();
    const written = first.statusPatches[0]?.status;
    assert.equal(condition(written, ConditionType.Ready)?.status, 'True');

    const settled = JSON.parse(JSON.stringify(written)) as VpcConnectorStatus;
    const second = harness(vpcc(settled), verbs);
    const result = await second.run();
    assert.deepEqual(result, {});
    assert.deepEqual(second.statusPatches, []);
    assert.deepEqual(second.finalizerPatches, []);
    assert.deepEqual(second.calls.sort(), ['describeConnector', 'listServices']);
  });

  void it('lets passes that overlap share one ListServices of their region, and lists afresh afterwards', async () => {
    let release: (services: []) => void = () => undefined;
    let listings = 0;
    const verbs = {
      describeConnector: () => Promise.resolve(connector),
      listServices: () => {
        listings++;
        return new Promise<[]>((resolve) => {
          release = resolve;
        });
      },
    };
    const api = vpcc({ region: 'us-east-1', vpcConnectorArn: ARN }, { name: 'api' });
    const db = vpcc({ region: 'us-east-1', vpcConnectorArn: ARN }, { name: 'db' });
    const h = harness(vpcc({ region: 'us-east-1', vpcConnectorArn: ARN }), verbs, [api, db]);
    const overlapping = Promise.all([h.run('web'), h.run('api')]);
    await new Promise((resolve) => setImmediate(resolve));
    release([]);
    await overlapping;
    assert.equal(listings, 1, 'one listing for two overlapping passes');
    const later = h.run('db');
    await new Promise((resolve) => setImmediate(resolve));
    release([]);
    await later;
    assert.equal(listings, 2, 'a pass that starts after the listing ended reads again');
  });
});
