// The reconciler around the pure decision: what one pass writes to Kubernetes and asks of AWS, with a fake
// gateway, a fake cache and a fake API client (literal objects). The integration suite runs the same code
// against a real API server and the simulator.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConditionType, VpcConnectorReason } from '../../../src/api/constants.ts';
import type { VpcConnector, VpcConnectorStatus } from '../../../src/api/vpcconnector.ts';
import {
  AwsAccessDeniedError,
  AwsInvalidInputError,
  AwsQuotaExceededError,
  AwsThrottledError,
  ConnectorInUseError,
  ConnectorNameTakenError,
  toAwsError,
} from '../../../src/aws/errors.ts';
import { Requeue, TERMINAL_RETRY_MS } from '../../../src/controllers/vpcconnector/machine.ts';
import { PERSISTENT_AFTER_ATTEMPTS } from '../../../src/controllers/shared/failures.ts';
import { AwsView, DEFAULT_VIEW_FRESH_MAX_AGE_MS } from '../../../src/controllers/shared/aws-view.ts';
import {
  createVpcConnectorReconciler,
  vpcConnectorResource,
} from '../../../src/controllers/vpcconnector/reconciler.ts';
import type { EventInput } from '../../../src/runtime/events.ts';
import { StatusWriter } from '../../../src/runtime/status.ts';
import type { ReconcileResult } from '../../../src/runtime/types.ts';
import {
  ATTACHED,
  CONNECTOR_ARN,
  NOW,
  awsConnector,
  awsFacts,
  awsHolding,
  awsService,
  cache,
  conditionOf,
  fakeClient,
  fakeEvents,
  fakeGateway,
  reconcileContext,
  vpcConnectorSettings,
  vpcc,
  type GatewayVerbs,
} from '../builders.ts';

interface Harness {
  run(name?: string): Promise<ReconcileResult>;
  statusPatches: { status: VpcConnectorStatus }[];
  finalizerPatches: unknown[];
  events: EventInput[];
  calls: string[];
}

function harness(object: VpcConnector, verbs: GatewayVerbs, others: VpcConnector[] = []): Harness {
  const { client, statusPatches, finalizerPatches } = fakeClient(object);
  const { recorder, events } = fakeEvents();
  const { gateway, calls } = fakeGateway(verbs);
  const reconcile = createVpcConnectorReconciler({
    connectors: cache([object, ...others]),
    serviceNetworkings: cache([]),
    gateway,
    client,
    statusWriter: new StatusWriter({ client, resource: vpcConnectorResource }),
    events: recorder,
    settings: vpcConnectorSettings,
    now: () => NOW,
  });
  return {
    run: (name = 'web') => reconcile({ namespace: 'team-a', name }, reconcileContext()),
    statusPatches,
    finalizerPatches,
    events,
    calls,
  };
}

void describe('the VpcConnector reconciler', () => {
  void it('reads the services from the settled view while creating, and afresh only when it may delete a connector', async () => {
    const clock = { now: NOW.getTime() };
    const { gateway, calls } = fakeGateway({
      listServiceSummaries: () => Promise.resolve([]),
      listConnectors: () => Promise.resolve([awsConnector()]),
    });
    const view = new AwsView(gateway, { now: () => clock.now });
    const listingsBy = async (object: VpcConnector): Promise<number> => {
      const { client } = fakeClient(object);
      const reconcile = createVpcConnectorReconciler({
        connectors: cache([object]),
        serviceNetworkings: cache([]),
        gateway,
        view,
        client,
        statusWriter: new StatusWriter({ client, resource: vpcConnectorResource }),
        events: fakeEvents().recorder,
        settings: vpcConnectorSettings,
        now: () => NOW,
      });
      calls.splice(0);
      // Whatever the pass goes on to do (a verb the fake lacks may fail it), its reads come first.
      await reconcile({ namespace: 'team-a', name: 'web' }, reconcileContext()).catch(() => undefined);
      return calls.filter((c) => c === 'listServiceSummaries').length;
    };
    await view.services('us-east-1', { signal: new AbortController().signal });
    clock.now += DEFAULT_VIEW_FRESH_MAX_AGE_MS + 1;

    const creating = vpcc({
      status: {
        region: 'us-east-1',
        createIntent: { name: 'team-a-web', requestedAt: '2026-11-27T11:00:00Z' },
      },
    });
    assert.equal(await listingsBy(creating), 0, 'a create decides nothing from the services');
    const deleting = vpcc({
      metadata: { deletionTimestamp: '2026-11-27T11:00:00Z' },
      status: { region: 'us-east-1', vpcConnectorArn: CONNECTOR_ARN },
    });
    assert.equal(await listingsBy(deleting), 1, 'a pass that may delete decides on a fresh listing');
  });

  void it('records the create intent in one pass and creates in the next, never both at once', async () => {
    const first = harness(vpcc(), {
      ...awsHolding(),
      getRole: () => Promise.resolve({ exists: true }),
    });
    await first.run();
    assert.ok(!first.calls.includes('createConnector'), 'no create before the intent is in status');
    assert.equal(first.statusPatches.length, 1);
    const intent = first.statusPatches[0]?.status.createIntent;
    assert.deepEqual(intent, { name: 'team-a-web', requestedAt: NOW.toISOString() });

    const second = harness(
      vpcc({
        status: { region: 'us-east-1', createIntent: { name: 'team-a-web', requestedAt: NOW.toISOString() } },
      }),
      {
        ...awsHolding(),
        getRole: () => Promise.resolve({ exists: true }),
        createConnector: () => Promise.resolve(awsConnector()),
      },
    );
    await second.run();
    assert.equal(second.calls.filter((c) => c === 'createConnector').length, 1);
    const status = second.statusPatches[0]?.status;
    assert.equal(status?.vpcConnectorArn, CONNECTOR_ARN);
    assert.equal(status.createIntent, null, 'the intent is cleared (null in the merge patch)');
    assert.deepEqual(
      second.events.map((e) => e.reason),
      ['Created'],
    );
  });

  void it('records a refusal of the create that no lookup can change (access, quota) as Stalled, quoting AWS, and looks again in 10 minutes', async () => {
    const cases = [
      {
        reason: 'AccessDeniedException: the operator lacks a permission',
        error: new AwsAccessDeniedError(
          awsFacts(
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
          awsFacts('CreateVpcConnector', 'ServiceQuotaExceededException', 'quota reached'),
          { cause: undefined },
        ),
        stalled: VpcConnectorReason.QuotaExceeded,
        quoted: 'quota reached',
      },
    ];
    for (const c of cases) {
      const h = harness(
        vpcc({
          status: {
            region: 'us-east-1',
            createIntent: { name: 'team-a-web', requestedAt: NOW.toISOString() },
          },
        }),
        {
          ...awsHolding(),
          getRole: () => Promise.resolve({ exists: true }),
          createConnector: () => Promise.reject(c.error),
        },
      );
      const result = await h.run();
      assert.equal(result.requeueAfterMs, TERMINAL_RETRY_MS, c.reason);
      const status = h.statusPatches[0]?.status;
      const stalled = conditionOf(status, ConditionType.Stalled);
      assert.equal(stalled?.status, 'True', c.reason);
      assert.equal(stalled.reason, c.stalled, c.reason);
      assert.ok(stalled.message.includes(`"${c.quoted}"`), `${c.reason}: ${stalled.message}`);
      assert.equal(conditionOf(status, ConditionType.Reconciling), undefined, c.reason);
      assert.equal(status?.createIntent, null, `${c.reason}: nothing was created, so the intent goes`);
    }
  });

  void it('shows an AWS refusal of a read (AccessDenied on ListServices) as Stalled with an Event, like a refused write', async () => {
    const denied = new AwsAccessDeniedError(
      awsFacts('ListServices', 'AccessDeniedException', 'not authorized to perform apprunner:ListServices'),
      { cause: undefined },
    );
    const h = harness(vpcc({ status: { region: 'us-east-1', vpcConnectorArn: CONNECTOR_ARN } }), {
      ...awsHolding({ connectors: [awsConnector()] }),
      listServiceSummaries: () => Promise.reject(denied),
    });
    const result = await h.run();
    assert.equal(result.requeueAfterMs, TERMINAL_RETRY_MS, 'looked at again later, not dropped');
    const stalled = conditionOf(h.statusPatches[0]?.status, ConditionType.Stalled);
    assert.equal(stalled?.status, 'True');
    assert.equal(stalled.reason, VpcConnectorReason.AccessDenied);
    assert.match(stalled.message, /ListServices.*"not authorized to perform apprunner:ListServices"/);
    assert.deepEqual(
      h.events.map((e) => [e.type, e.reason, e.action]),
      [['Warning', VpcConnectorReason.AccessDenied, 'ListServices']],
    );
  });

  void it('shows an unknown AWS error as Stalled only once it persisted for five passes, and keeps retrying', async () => {
    const unknown = toAwsError(
      Object.assign(new Error('The account is not subscribed to App Runner'), {
        name: 'SubscriptionRequiredException',
        $metadata: { httpStatusCode: 400 },
      }),
      'apprunner',
      'ListServices',
    );
    const h = harness(vpcc({ status: { region: 'us-east-1', vpcConnectorArn: CONNECTOR_ARN } }), {
      ...awsHolding({ connectors: [awsConnector()] }),
      listServiceSummaries: () => Promise.reject(unknown),
    });
    for (let pass = 1; pass < PERSISTENT_AFTER_ATTEMPTS; pass++) {
      await assert.rejects(h.run(), (err) => err === unknown, `pass ${pass} is the queue's`);
    }
    assert.equal(h.statusPatches.length, 0, 'nothing shown before it persisted');
    await assert.rejects(h.run(), (err) => err === unknown, 'still handed to the queue for backoff');
    const stalled = conditionOf(h.statusPatches[0]?.status, ConditionType.Stalled);
    assert.equal(stalled?.reason, 'AwsError');
    assert.match(
      stalled.message,
      /SubscriptionRequiredException "The account is not subscribed to App Runner"/,
    );
    assert.deepEqual(
      h.events.map((e) => [e.reason, e.action]),
      [['AwsError', 'ListServices']],
    );
  });

  void it('keeps the intent, records the refusal and looks the name up again when AWS refuses the create as invalid, whatever its words', async () => {
    const cases = [
      {
        reason: 'the simulator’s words for a taken name',
        error: new ConnectorNameTakenError(
          awsFacts(
            'CreateVpcConnector',
            'InvalidRequestException',
            `A VPC connector with the name team-a-web already exists: ${CONNECTOR_ARN}`,
          ),
          { cause: undefined },
        ),
        message: `A VPC connector with the name team-a-web already exists: ${CONNECTOR_ARN}`,
      },
      {
        reason: 'other words, which could mean a taken name or a bad subnet',
        error: new AwsInvalidInputError(
          awsFacts('CreateVpcConnector', 'InvalidRequestException', 'Subnet subnet-x not found'),
          { cause: undefined },
        ),
        message: 'Subnet subnet-x not found',
      },
    ];
    for (const c of cases) {
      const intent = { name: 'team-a-web', requestedAt: NOW.toISOString() };
      const h = harness(vpcc({ status: { region: 'us-east-1', createIntent: intent } }), {
        ...awsHolding(),
        getRole: () => Promise.resolve({ exists: true }),
        createConnector: () => Promise.reject(c.error),
      });
      const result = await h.run();
      assert.equal(result.requeueAfterMs, Requeue.refusalLookup, c.reason);
      const status = h.statusPatches[0]?.status;
      assert.deepEqual(
        status?.createIntent,
        {
          ...intent,
          refused: { at: NOW.toISOString(), code: 'InvalidRequestException', message: c.message },
        },
        `${c.reason}: the intent stays, with the refusal`,
      );
      assert.equal(conditionOf(status, ConditionType.Stalled), undefined, `${c.reason}: not Stalled yet`);
      assert.match(conditionOf(status, ConditionType.Reconciling)?.message ?? '', /Looking the name up/);
    }
  });

  void it('reports AWS’s "in use" refusal of a delete in DeletionBlocked and hands the error to the queue for backoff', async () => {
    const inUse = new ConnectorInUseError(
      awsFacts(
        'DeleteVpcConnector',
        'InvalidRequestException',
        `Provided VPC connector arn is being used by other services. ARN:  ${CONNECTOR_ARN}`,
      ),
      { cause: undefined },
    );
    const h = harness(
      vpcc({
        status: { region: 'us-east-1', vpcConnectorArn: CONNECTOR_ARN, vpcConnectorName: 'team-a-web' },
        metadata: { deletionTimestamp: NOW.toISOString() },
      }),
      {
        ...awsHolding({ connectors: [awsConnector()] }),
        deleteConnector: () => Promise.reject(inUse),
      },
    );
    await assert.rejects(h.run(), (err) => err === inUse);
    const blocked = conditionOf(h.statusPatches[0]?.status, ConditionType.DeletionBlocked);
    assert.equal(blocked?.status, 'True');
    assert.equal(blocked.reason, VpcConnectorReason.ConnectorInUse);
    assert.ok(blocked.message.includes('is being used by other services'));
    assert.deepEqual(
      h.events.map((e) => e.reason),
      ['DeletionBlocked'],
    );
  });

  void it('warns that deletion is blocked once per change of what blocks it, not once per pass', async () => {
    const object = (conditions?: VpcConnectorStatus['conditions']): VpcConnector =>
      vpcc({
        status: {
          region: 'us-east-1',
          vpcConnectorArn: CONNECTOR_ARN,
          vpcConnectorName: 'team-a-web',
          ...(conditions === undefined ? {} : { conditions }),
        },
        metadata: { deletionTimestamp: NOW.toISOString() },
      });
    const world = awsHolding({ connectors: [awsConnector()], services: [awsService({ network: ATTACHED })] });
    const first = harness(object(), world);
    await first.run();
    assert.deepEqual(
      first.events.map((e) => e.reason),
      ['DeletionBlocked'],
    );
    const written = first.statusPatches[0]?.status.conditions;
    assert.ok(written !== undefined);

    const again = harness(object(written), world);
    await again.run();
    assert.deepEqual(again.events, [], 'the same blockers: the condition already says it');

    const changed = harness(
      object(written.map((c) => (c.type === ConditionType.DeletionBlocked ? { ...c, message: 'older' } : c))),
      world,
    );
    await changed.run();
    assert.deepEqual(
      changed.events.map((e) => e.reason),
      ['DeletionBlocked'],
    );
  });

  void it('writes nothing when AWS refuses the delete again for the same reason, so the queue’s backoff can grow', async () => {
    // A status write wakes the object's watch, and the pass it causes resets the key's backoff: a refusal
    // that repeats must leave status exactly as the first one wrote it, lastTransitionTime included.
    const inUse = new ConnectorInUseError(
      awsFacts(
        'DeleteVpcConnector',
        'InvalidRequestException',
        `Provided VPC connector arn is being used by other services. ARN:  ${CONNECTOR_ARN}`,
      ),
      { cause: undefined },
    );
    const verbs = {
      ...awsHolding({ connectors: [awsConnector()] }),
      deleteConnector: () => Promise.reject(inUse),
    };
    const deleting = { deletionTimestamp: NOW.toISOString() };
    const first = harness(
      vpcc({
        status: { region: 'us-east-1', vpcConnectorArn: CONNECTOR_ARN, vpcConnectorName: 'team-a-web' },
        metadata: deleting,
      }),
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
    const again = harness(vpcc({ status, metadata: deleting }), verbs);
    await assert.rejects(again.run(), (err) => err === inUse, 'the error still goes to the queue');
    assert.deepEqual(again.statusPatches, [], 'status is unchanged: nothing to write');
  });

  void it('leaves throttling to the queue without writing anything', async () => {
    const throttled = new AwsThrottledError(
      awsFacts('DescribeVpcConnector', 'ThrottlingException', 'Rate exceeded'),
      { cause: undefined },
    );
    const h = harness(vpcc({ status: { region: 'us-east-1', vpcConnectorArn: CONNECTOR_ARN } }), {
      ...awsHolding(),
      listConnectors: () => Promise.reject(throttled),
    });
    await assert.rejects(h.run(), (err) => err === throttled);
    assert.deepEqual(h.statusPatches, []);
  });

  void it('costs a Ready object in steady state the listings of its region, its tags once, and no Kubernetes write', async () => {
    const verbs = {
      ...awsHolding({ connectors: [awsConnector()] }),
    };
    const first = harness(vpcc({ status: { region: 'us-east-1', vpcConnectorArn: CONNECTOR_ARN } }), verbs);
    await first.run();
    const written = first.statusPatches[0]?.status;
    assert.equal(conditionOf(written, ConditionType.Ready)?.status, 'True');

    const settled = JSON.parse(JSON.stringify(written)) as VpcConnectorStatus;
    const second = harness(vpcc({ status: settled }), verbs);
    const result = await second.run();
    assert.deepEqual(result, {});
    assert.deepEqual(second.statusPatches, []);
    assert.deepEqual(second.finalizerPatches, []);
    assert.deepEqual(second.calls.sort(), ['listConnectors', 'listServiceSummaries', 'listTags']);
  });

  void it('lets passes that overlap share one ListServices of their region, and reuses it while it is young', async () => {
    let release: (services: []) => void = () => undefined;
    let listings = 0;
    const verbs = {
      ...awsHolding({ connectors: [awsConnector()] }),
      listServiceSummaries: () => {
        listings++;
        return new Promise<[]>((resolve) => {
          release = resolve;
        });
      },
    };
    const api = vpcc({
      status: { region: 'us-east-1', vpcConnectorArn: CONNECTOR_ARN },
      metadata: { name: 'api' },
    });
    const db = vpcc({
      status: { region: 'us-east-1', vpcConnectorArn: CONNECTOR_ARN },
      metadata: { name: 'db' },
    });
    const h = harness(vpcc({ status: { region: 'us-east-1', vpcConnectorArn: CONNECTOR_ARN } }), verbs, [
      api,
      db,
    ]);
    const overlapping = Promise.all([h.run('web'), h.run('api')]);
    await new Promise((resolve) => setImmediate(resolve));
    release([]);
    await overlapping;
    assert.equal(listings, 1, 'one listing for two overlapping passes');
    await h.run('db');
    assert.equal(listings, 1, 'a pass that starts moments after the listing ended is answered by it');
  });
});
