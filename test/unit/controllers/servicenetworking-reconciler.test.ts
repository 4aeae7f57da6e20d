// The ServiceNetworking reconciler around the pure decision: what one pass asks of AWS through a real AwsView
// over a fake gateway, and what it writes to Kubernetes, with a fake cache, a fake API client and a fake
// Event recorder. The integration suite runs the same code against a real API server and the simulator.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConditionType, ServiceNetworkingReason } from '../../../src/api/constants.ts';
import type { ServiceNetworking, ServiceNetworkingStatus } from '../../../src/api/servicenetworking.ts';
import { AwsInvalidInputError, AwsThrottledError } from '../../../src/aws/errors.ts';
import type { DesiredNetwork, Tags } from '../../../src/aws/gateway.ts';
import { Requeue } from '../../../src/controllers/servicenetworking/machine.ts';
import type { NamespaceGrant } from '../../../src/controllers/servicenetworking/observe.ts';
import {
  createServiceNetworkingReconciler,
  serviceNetworkingResource,
} from '../../../src/controllers/servicenetworking/reconciler.ts';
import { AwsView, DEFAULT_VIEW_MAX_AGE_MS } from '../../../src/controllers/shared/aws-view.ts';
import { TERMINAL_RETRY_MS } from '../../../src/controllers/shared/failures.ts';
import type { EventInput } from '../../../src/runtime/events.ts';
import { StatusWriter } from '../../../src/runtime/status.ts';
import type { ReconcileResult } from '../../../src/runtime/types.ts';
import {
  ATTACHED,
  CONNECTOR_ARN,
  MIN,
  NOW,
  SERVICE_ARN,
  SVCNET_TAGS,
  activeConnector,
  ago,
  awsFacts,
  awsHolding,
  awsService,
  cache,
  conditionOf,
  fakeClient,
  fakeEvents,
  fakeGateway,
  grant,
  lastOperation,
  operation,
  reconcileContext,
  serviceNetworkingSettings,
  svcnet,
  type GatewayVerbs,
} from '../builders.ts';

interface Harness {
  run(): Promise<ReconcileResult>;
  statusPatches: { status: ServiceNetworkingStatus }[];
  finalizerPatches: unknown[];
  events: EventInput[];
}

/** One reconciler over `object` (team-a/payments) and an ACTIVE VpcConnector web, reading AWS through `view`. */
function harness(
  object: ServiceNetworking,
  view: AwsView,
  namespace: NamespaceGrant = grant('payments'),
): Harness {
  const { client, statusPatches, finalizerPatches } = fakeClient(object);
  const { recorder, events } = fakeEvents();
  const reconcile = createServiceNetworkingReconciler({
    serviceNetworkings: cache([object]),
    connectors: cache([activeConnector()]),
    namespaces: { get: (_namespace, name) => (name === namespace.name ? namespace : undefined) },
    view,
    client,
    statusWriter: new StatusWriter({ client, resource: serviceNetworkingResource }),
    events: recorder,
    settings: serviceNetworkingSettings,
    now: () => NOW,
  });
  return {
    run: () => reconcile({ namespace: 'team-a', name: 'payments' }, reconcileContext()),
    statusPatches,
    finalizerPatches,
    events,
  };
}

/** The shared view of AWS, real, over a gateway that answers only `verbs`. */
function aws(verbs: GatewayVerbs): { view: AwsView; calls: string[]; clock: { now: number } } {
  const { gateway, calls } = fakeGateway(verbs);
  const clock = { now: NOW.getTime() };
  return { view: new AwsView(gateway, { now: () => clock.now }), calls, clock };
}

/** Private and dual-stack: what an UpdateService keeps when spec leaves ingress and IP type out. */
const PRIVATE_DUAL_STACK = { isPubliclyAccessible: false, ipAddressType: 'DUAL_STACK' } as const;

/** An owned service on DEFAULT egress, and an UpdateService that records what it was sent. */
function updatable(update: GatewayVerbs['updateServiceNetwork']): GatewayVerbs {
  return {
    ...awsHolding({ services: [awsService({ network: PRIVATE_DUAL_STACK })] }),
    listTags: () => Promise.resolve(SVCNET_TAGS),
    updateServiceNetwork: update,
  };
}

void describe('the ServiceNetworking reconciler', () => {
  void it('makes no AWS call at all for a namespace without a grant, and records Stalled NotPermitted', async () => {
    const { view, calls } = aws({});
    const h = harness(svcnet(), view, grant(undefined));
    const result = await h.run();
    assert.deepEqual(calls, [], 'not even a read');
    const stalled = conditionOf(h.statusPatches[0]?.status, ConditionType.Stalled);
    assert.equal(stalled?.status, 'True');
    assert.equal(stalled.reason, ServiceNetworkingReason.NotPermitted);
    assert.match(stalled.message, /^Namespace team-a is not granted any App Runner service/);
    assert.equal(result.requeueAfterMs, Requeue.notPermitted);
    assert.deepEqual(
      h.events.map((e) => [e.type, e.reason]),
      [['Warning', 'NotPermitted']],
    );
  });

  void it('tags an unclaimed service with the three ownership tags, and does not update it in the same pass', async () => {
    const tagged: { arn: string; tags: Tags }[] = [];
    const { view, calls } = aws({
      ...awsHolding({ services: [awsService()] }),
      listTags: () => Promise.resolve({}),
      tagResource: (arn, tags) => {
        tagged.push({ arn, tags });
        return Promise.resolve();
      },
    });
    const h = harness(svcnet(), view);
    await h.run();
    assert.deepEqual(tagged, [{ arn: SERVICE_ARN, tags: SVCNET_TAGS }]);
    assert.ok(!calls.includes('updateServiceNetwork'), `calls: ${calls.join(', ')}`);
    const reconciling = conditionOf(h.statusPatches[0]?.status, ConditionType.Reconciling);
    assert.equal(reconciling?.reason, ServiceNetworkingReason.Claiming);
  });

  void it('sends one UpdateService with the complete configuration, egress from spec and the rest as AWS shows it, and tracks its operation', async () => {
    const sent: { arn: string; network: DesiredNetwork }[] = [];
    const { view } = aws(
      updatable((arn, network) => {
        sent.push({ arn, network });
        return Promise.resolve({
          service: awsService({ status: 'OPERATION_IN_PROGRESS', network }),
          operationId: 'op-1',
        });
      }),
    );
    const h = harness(svcnet(), view);
    const result = await h.run();
    assert.deepEqual(sent, [
      {
        arn: SERVICE_ARN,
        network: {
          egressType: 'VPC',
          vpcConnectorArn: CONNECTOR_ARN,
          isPubliclyAccessible: false,
          ipAddressType: 'DUAL_STACK',
        },
      },
    ]);
    const status = h.statusPatches[0]?.status;
    assert.deepEqual(status?.lastOperation, {
      id: 'op-1',
      type: 'UPDATE_SERVICE',
      status: 'IN_PROGRESS',
      startedAt: NOW.toISOString(),
      generation: 2,
    });
    assert.equal(status.serviceStatus, 'OPERATION_IN_PROGRESS', 'the service as UpdateService answered');
    assert.deepEqual(
      h.events.map((e) => [e.type, e.reason, e.action]),
      [['Normal', 'Updating', 'UpdateService']],
    );
    assert.equal(result.requeueAfterMs, Requeue.operation);
  });

  void it('records the tracked operation SUCCEEDED as ListOperations shows it, and reports Ready', async () => {
    const startedAt = ago(2 * MIN).toISOString();
    const object = svcnet({
      status: {
        serviceName: 'payments',
        serviceStatus: 'OPERATION_IN_PROGRESS',
        network: ATTACHED,
        lastOperation: { ...lastOperation('IN_PROGRESS'), startedAt, generation: 2 },
      },
    });
    const { view, calls } = aws({
      ...awsHolding({ services: [awsService({ network: ATTACHED })] }),
      listTags: () => Promise.resolve(SVCNET_TAGS),
      listOperations: () => Promise.resolve([{ ...operation('SUCCEEDED'), endedAt: ago(MIN) }]),
    });
    const h = harness(object, view);
    await h.run();
    assert.ok(calls.includes('listOperations'), 'a tracked operation is looked up');
    const status = h.statusPatches[0]?.status;
    assert.deepEqual(status?.lastOperation, {
      id: 'op-1',
      type: 'UPDATE_SERVICE',
      status: 'SUCCEEDED',
      startedAt,
      endedAt: ago(MIN).toISOString(),
      generation: 2,
    });
    const ready = conditionOf(status, ConditionType.Ready);
    assert.equal(ready?.status, 'True');
    assert.equal(ready.reason, ServiceNetworkingReason.Attached);
  });

  void it('records an invalid input AWS refused as Stalled InvalidInput, quoting AWS, and looks again in 10 minutes', async () => {
    const refused = new AwsInvalidInputError(
      awsFacts('UpdateService', 'InvalidRequestException', `VPC connector ${CONNECTOR_ARN} is not ACTIVE`),
      { cause: undefined },
    );
    const { view } = aws(updatable(() => Promise.reject(refused)));
    const h = harness(svcnet(), view);
    const result = await h.run();
    assert.equal(result.requeueAfterMs, TERMINAL_RETRY_MS);
    const status = h.statusPatches[0]?.status;
    const stalled = conditionOf(status, ConditionType.Stalled);
    assert.equal(stalled?.status, 'True');
    assert.equal(stalled.reason, ServiceNetworkingReason.InvalidInput);
    assert.ok(stalled.message.includes(`"VPC connector ${CONNECTOR_ARN} is not ACTIVE"`), stalled.message);
    assert.equal(status?.lastOperation, undefined, 'no operation started');
  });

  void it('leaves throttling to the queue without writing status', async () => {
    const throttled = new AwsThrottledError(
      awsFacts('UpdateService', 'ThrottlingException', 'Rate exceeded'),
      {
        cause: undefined,
      },
    );
    const { view } = aws(updatable(() => Promise.reject(throttled)));
    const h = harness(svcnet(), view);
    await assert.rejects(h.run(), (err) => err === throttled);
    assert.deepEqual(h.statusPatches, []);
  });

  void it('costs a Ready object in steady state no Kubernetes write, and once the view knows its service and tags, only the listing pages', async () => {
    const { view, calls, clock } = aws({
      ...awsHolding({ services: [awsService({ network: ATTACHED })] }),
      listTags: () => Promise.resolve(SVCNET_TAGS),
    });
    const first = harness(svcnet(), view);
    await first.run();
    const written = first.statusPatches[0]?.status;
    assert.equal(conditionOf(written, ConditionType.Ready)?.status, 'True');
    assert.deepEqual(
      calls.splice(0),
      ['listServiceSummaries', 'describeService', 'listTags'],
      'the first pass lists, describes and reads the tags',
    );

    const settled = JSON.parse(JSON.stringify(written)) as ServiceNetworkingStatus;
    const second = harness(svcnet({ status: settled }), view);
    const result = await second.run();
    assert.deepEqual(result, {});
    assert.deepEqual(second.statusPatches, []);
    assert.deepEqual(second.finalizerPatches, []);
    assert.deepEqual(second.events, []);
    assert.deepEqual(calls.splice(0), [], 'a young listing answers the pass');

    clock.now += DEFAULT_VIEW_MAX_AGE_MS;
    await harness(svcnet({ status: settled }), view).run();
    assert.deepEqual(calls, ['listServiceSummaries'], 'an unchanged service is not described again');
  });
});
