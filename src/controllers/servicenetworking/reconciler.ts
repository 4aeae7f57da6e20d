// The ServiceNetworking kind on the runtime's managed pass: its reads through the shared AWS view (the
// service from the region's listing or one DescribeService, its tags once, ListOperations only while an
// operation is tracked), the pure `observe` and `decide`, and `act` for its actions.
import { FINALIZER, GROUP, Kind, Plural, VERSION } from '../../api/constants.ts';
import type { ServiceNetworking, ServiceNetworkingStatus } from '../../api/servicenetworking.ts';
import type { VpcConnector } from '../../api/vpcconnector.ts';
import type { OperationObservation, ServiceObservation } from '../../aws/gateway.ts';
import {
  createManagedReconciler,
  type CustomObjectPatcher,
  type CustomResourceType,
  type EventRecorder,
  type FailureReport,
  type InformerSource,
  type ManagedKind,
  type Pass,
  type ReconcileFn,
  type StatusWriter,
} from '../../runtime/index.ts';
import { regionOfArn, type AwsView } from '../shared/aws-view.ts';
import { persistentAwsFailure, terminalAwsFailure } from '../shared/failures.ts';
import { decide, type ActionParams, type DecidedAction, type Decision, type StateName } from './machine.ts';
import {
  observe,
  OPERATION_TERMINAL,
  readPlan,
  tenancyRefusal,
  type AwsReads,
  type NamespaceGrant,
  type Observation,
  type ReadPlan,
  type ServiceNetworkingSettings,
} from './observe.ts';

export const serviceNetworkingResource: CustomResourceType = {
  group: GROUP,
  version: VERSION,
  plural: Plural.ServiceNetworking,
  namespaced: true,
};

export interface ServiceNetworkingReconcilerOptions {
  serviceNetworkings: InformerSource<ServiceNetworking>;
  connectors: InformerSource<VpcConnector>;
  /** Namespaces, for the tenancy grant (their annotations). */
  namespaces: { get(namespace: string | undefined, name: string): NamespaceGrant | undefined };
  view: AwsView;
  client: CustomObjectPatcher;
  statusWriter: StatusWriter;
  events: EventRecorder;
  settings: ServiceNetworkingSettings;
  now?: () => Date;
}

/** Actions after which the next pass has work to do at once. */
const progressActions: ReadonlySet<DecidedAction['type']> = new Set([
  'addFinalizer',
  'claimService',
  'unclaimService',
]);

export function createServiceNetworkingReconciler(options: ServiceNetworkingReconcilerOptions): ReconcileFn {
  const { serviceNetworkings, connectors, namespaces, view, settings } = options;

  function grantOf(object: ServiceNetworking): NamespaceGrant | undefined {
    return namespaces.get(undefined, object.metadata.namespace ?? '');
  }

  async function read(plan: ReadPlan, signal: AbortSignal): Promise<AwsReads> {
    if (!plan.service) return { serviceRead: false };
    const call = { signal };
    const service = await view.service(plan.serviceArn, plan.region, call);
    const reads: AwsReads = { serviceRead: true };
    if (service === undefined) return reads;
    reads.service = service;
    const { connectorArn } = plan;
    const [tags, operations, namedConnector] = await Promise.all([
      plan.tags ? view.tags(plan.serviceArn, call) : Promise.resolve(undefined),
      plan.operations ? view.operations(plan.serviceArn, call) : Promise.resolve(undefined),
      connectorArn === undefined
        ? Promise.resolve(undefined)
        : view.connector(connectorArn, regionOfArn(connectorArn), call, 'settled', { tags: false }),
    ]);
    if (tags !== undefined) reads.tags = tags;
    if (operations !== undefined) reads.operations = operations;
    if (connectorArn !== undefined)
      reads.namedConnector = namedConnector === undefined ? {} : { observed: namedConnector };
    return reads;
  }

  async function act(
    action: DecidedAction,
    pass: Pass<ServiceNetworking>,
    decision: Decision,
    observation: Observation,
  ): Promise<void> {
    const { status, log } = pass;
    const call = { signal: pass.signal };
    switch (action.type) {
      case 'awaitRemoval':
      case 'addFinalizer':
      case 'waitForSpecChange':
      case 'waitForService':
      case 'waitForConnector':
      case 'reportReady':
        break;
      case 'release':
        log.info('Releasing the object', { why: action.params.why });
        pass.event('Normal', 'Deleted', 'RemoveFinalizer', `Released the object: ${action.params.why}.`);
        break;
      case 'reportNotPermitted':
        pass.event('Warning', 'NotPermitted', 'CheckTenancy', action.params.why);
        break;
      case 'reportConflict':
        pass.event('Warning', 'Conflict', 'ClaimService', decision.conditions.kstatus.message);
        break;
      case 'reportServiceGone':
        status.serviceStatus = 'DELETED';
        delete status.network;
        break;
      case 'claimService':
        await view.tagResource(action.params.arn, action.params.tags, call);
        log.info('Claimed service', { arn: action.params.arn });
        break;
      case 'unclaimService':
        await view.untagResource(action.params.arn, action.params.keys, call);
        log.info('Removed ownership tags', { arn: action.params.arn });
        break;
      case 'trackOperation':
        if (action.params.operation !== undefined) recordOperation(status, action.params.operation);
        break;
      case 'reportOperationFailed':
        recordOperation(status, action.params.operation);
        log.error('Found the service operation failed', { operation: action.params.operation });
        pass.event(
          'Warning',
          decision.conditions.kstatus.reason,
          'UpdateService',
          decision.conditions.kstatus.message,
        );
        break;
      case 'updateNetwork': {
        const { arn, network, drift, detach } = action.params;
        const region = arn.split(':')[3] ?? '';
        const { service, operationId } = await view.updateServiceNetwork(arn, region, network, call);
        status.lastOperation = {
          id: operationId,
          type: 'UPDATE_SERVICE',
          status: 'IN_PROGRESS',
          startedAt: pass.now.toISOString(),
          generation: observation.generation,
        };
        showService(status, service);
        log.info('Started UpdateService', { arn, operationId, egress: network.egressType, detach });
        if (drift.length > 0) {
          pass.event(
            'Warning',
            'DriftCorrected',
            'UpdateService',
            `Service ${service.name} was changed outside the operator (${drift.join(', ')}); restoring the spec (operation ${operationId}).`,
          );
        } else {
          pass.event(
            'Normal',
            detach ? 'Detaching' : 'Updating',
            'UpdateService',
            detach
              ? `Detaching service ${service.name}: egress back to DEFAULT (operation ${operationId}).`
              : `Updating service ${service.name} to egress ${network.egressType}${network.vpcConnectorArn === undefined ? '' : ` through ${network.vpcConnectorArn}`} (operation ${operationId}).`,
          );
        }
        return;
      }
    }
    if (observation.service !== undefined) showService(status, observation.service);
    settleTracking(status, observation);
  }

  /**
   * Terminal refusals as Stalled with AWS's words, and an unreachable endpoint or unknown error once it
   * persists; the rest (busy, throttled, transient) is the queue's.
   */
  function reportFailure(
    err: unknown,
    _pass: Pass<ServiceNetworking>,
    _decision: Decision | undefined,
    attempts: number,
  ): FailureReport | undefined {
    return terminalAwsFailure(err) ?? persistentAwsFailure(err, attempts);
  }

  const kind: ManagedKind<ServiceNetworking, ReadPlan, AwsReads, Observation, StateName, ActionParams> = {
    kind: Kind.ServiceNetworking,
    resource: serviceNetworkingResource,
    finalizer: FINALIZER,
    cache: serviceNetworkings,
    readPlan: (object) => readPlan(object, tenancyRefusal(object, grantOf(object), settings) === undefined),
    read: (plan, _object, { signal }) => read(plan, signal),
    observe: (object, aws, now) => {
      const ref = object.spec.egress.vpcConnectorRef?.name;
      return observe({
        object,
        namespace: grantOf(object),
        connector: ref === undefined ? undefined : connectors.get(object.metadata.namespace, ref),
        serviceNetworkings: serviceNetworkings
          .list()
          .filter((o) => tenancyRefusal(o, grantOf(o), settings) === undefined),
        aws,
        settings,
        now,
      });
    },
    decide,
    act,
    progressActions,
    reportFailure,
  };
  const deps = { client: options.client, statusWriter: options.statusWriter, events: options.events };
  return createManagedReconciler(kind, options.now === undefined ? deps : { ...deps, now: options.now });
}

function recordOperation(status: ServiceNetworkingStatus, op: OperationObservation): void {
  const entry: NonNullable<ServiceNetworkingStatus['lastOperation']> = {
    id: op.id,
    type: op.type,
    status: op.status,
  };
  // What only this object's record knows of the same operation: when it started it, and for which generation.
  const same = status.lastOperation?.id === op.id ? status.lastOperation : undefined;
  if (op.startedAt !== undefined) entry.startedAt = op.startedAt.toISOString();
  else if (same?.startedAt !== undefined) entry.startedAt = same.startedAt;
  if (op.endedAt !== undefined) entry.endedAt = op.endedAt.toISOString();
  if (same?.generation !== undefined) entry.generation = same.generation;
  status.lastOperation = entry;
}

/**
 * Records how the tracked operation ended once it has: as ListOperations shows it, or NOT_LISTED when it
 * is no longer among the service's latest operations and the service is not busy.
 */
function settleTracking(status: ServiceNetworkingStatus, o: Observation): void {
  const last = status.lastOperation;
  if (last === undefined || OPERATION_TERMINAL.has(last.status)) return;
  if (o.tracked !== undefined) {
    if (OPERATION_TERMINAL.has(o.tracked.status)) recordOperation(status, o.tracked);
  } else if (o.service !== undefined && o.service.status !== 'OPERATION_IN_PROGRESS') {
    status.lastOperation = { ...last, status: 'NOT_LISTED' };
  }
}

/** Shows the service as AWS reports it. */
function showService(status: ServiceNetworkingStatus, service: ServiceObservation): void {
  status.serviceName = service.name;
  status.serviceStatus = service.status;
  const n = service.network;
  status.network =
    n.vpcConnectorArn === undefined
      ? {
          egressType: n.egressType,
          isPubliclyAccessible: n.isPubliclyAccessible,
          ipAddressType: n.ipAddressType,
        }
      : {
          egressType: n.egressType,
          vpcConnectorArn: n.vpcConnectorArn,
          isPubliclyAccessible: n.isPubliclyAccessible,
          ipAddressType: n.ipAddressType,
        };
}
