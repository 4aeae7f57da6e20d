// The ServiceNetworking lifecycle as a statechart (the runtime's defineStatechart compiles the table below
// into XState v5), run as a pure decision: the observation routes to the one state of this pass, whose one
// action the reconciler performs. Tenancy and ownership come before any AWS write (invariant 10); an
// UpdateService starts only on an updatable service with no operation in flight (invariant 4), and the
// operation it starts is tracked to its end: a failed or rolled-back one is never Ready (invariant 5).
import { ConditionType, ServiceNetworkingReason } from '../../api/constants.ts';
import type { OperationObservation, Tags } from '../../aws/gateway.ts';
import {
  defineStatechart,
  guarded,
  ready,
  reconciling,
  stalled,
  type ActionOf,
  type DecidedCondition,
  type Decision as ChartDecision,
  type Report,
  type StateSpec,
} from '../../runtime/index.ts';
import { awaitingSpecChange, TERMINAL_RETRY_MS } from '../shared/failures.ts';
import {
  desiredNetwork,
  detachedNetwork,
  networkDifferences,
  OPERATION_FAILED,
  OPERATION_TERMINAL,
  type DesiredNetwork,
  type Observation,
} from './observe.ts';

/** How long a failed or rolled-back update of one generation waits before the operator tries it again. */
export const FAILED_OPERATION_RETRY_MS = 30 * 60_000;
/** How long after a failed detach (while deleting) the operator tries again. */
export const DETACH_RETRY_MS = 60_000;

export const Requeue = {
  operation: 10_000,
  serviceBusy: 15_000,
  connector: 15_000,
  notPermitted: 5 * 60_000,
  conflict: 5 * 60_000,
} as const;

const UPDATABLE: ReadonlySet<string> = new Set(['RUNNING', 'PAUSED', 'CREATE_FAILED']);

export interface ActionParams {
  awaitRemoval: Record<string, never>;
  /** Event, then the runtime removes the finalizer. */
  release: { why: string };
  addFinalizer: Record<string, never>;
  reportNotPermitted: { why: string };
  reportConflict: { owner: string };
  waitForSpecChange: Record<string, never>;
  /** Record in status that AWS no longer knows the service. */
  reportServiceGone: Record<string, never>;
  /** TagResource with the ownership tags, before any UpdateService. */
  claimService: { arn: string; tags: Tags };
  /** UntagResource of the ownership tags, the last AWS call before the object goes. */
  unclaimService: { arn: string; keys: readonly string[] };
  /** Record the tracked operation's current status; nothing else to do while it runs. */
  trackOperation: { operation?: OperationObservation };
  /** Record that the tracked operation failed or rolled back (Stalled, with the observed configuration). */
  reportOperationFailed: { operation: OperationObservation };
  waitForService: { status: string };
  waitForConnector: { why: string };
  /** UpdateService with this complete network configuration; record the operation to track. */
  updateNetwork: { arn: string; network: DesiredNetwork; drift: readonly string[]; detach: boolean };
  reportReady: Record<string, never>;
}

export type DecidedAction = ActionOf<ActionParams>;

// ---- Facts derived from the observation ----

function trackingInFlight(o: Observation): boolean {
  const last = o.status.lastOperation;
  if (last === undefined || OPERATION_TERMINAL.has(last.status)) return false;
  // Tracked but not listed: while the service is busy it is surely still running.
  if (o.tracked === undefined) return o.service?.status === 'OPERATION_IN_PROGRESS';
  return !OPERATION_TERMINAL.has(o.tracked.status);
}

function trackedEndedBadly(o: Observation): boolean {
  const last = o.status.lastOperation;
  return (
    last !== undefined &&
    !OPERATION_TERMINAL.has(last.status) &&
    o.tracked !== undefined &&
    OPERATION_FAILED.has(o.tracked.status)
  );
}

/** When the recorded failed operation may be tried again, `after` it was recorded. */
function retryAt(o: Observation, after: number): number {
  return (o.status.operationFailure?.since.getTime() ?? 0) + after;
}

/**
 * Drift: what someone else changed. While this generation is Ready, what changed in AWS since the last pass
 * recorded it (a spec edit or a connector rotation changes what is wanted, not what AWS has); otherwise,
 * when the service's newest operation is an update this object did not start, every difference from spec.
 */
function drift(o: Observation): string[] {
  if (o.service === undefined) return [];
  if (o.status.readyForGeneration && o.status.network !== undefined) {
    return networkDifferences(o.service.network, o.status.network);
  }
  return o.foreignUpdate ? differences(o) : [];
}

function wanted(o: Observation): DesiredNetwork | undefined {
  return o.deleting ? detachedNetwork(o) : desiredNetwork(o);
}

function differences(o: Observation): string[] {
  const want = wanted(o);
  return want === undefined ? [] : networkDifferences(o.service?.network, want);
}

function describeNetwork(o: Observation): string {
  const n = o.service?.network;
  if (n === undefined) return 'unknown';
  const egress = n.egressType === 'VPC' ? `VPC through ${n.vpcConnectorArn ?? '?'}` : 'DEFAULT';
  return `egress ${egress}, ${n.isPubliclyAccessible ? 'public' : 'private'} ingress, ${n.ipAddressType}`;
}

function serviceName(o: Observation): string {
  return o.service?.name ?? o.serviceArn.split('/')[1] ?? o.serviceArn;
}

const guards = {
  isDeleting: (o: Observation) => o.deleting,
  hasFinalizer: (o: Observation) => o.hasFinalizer,
  notPermitted: (o: Observation) => o.notPermitted !== undefined,
  retains: (o: Observation) => o.deletionPolicy === 'Retain',
  serviceGone: (o: Observation) => (o.serviceRead && o.service === undefined) || o.status.serviceGone,
  ownedByOther: (o: Observation) => o.owner.kind === 'other',
  unclaimed: (o: Observation) => o.owner.kind === 'none',
  ownedByUs: (o: Observation) => o.owner.kind === 'us',
  claimedEarlier: (o: Observation) => o.earlierClaimant !== undefined,
  operationInFlight: trackingInFlight,
  operationEndedBadly: trackedEndedBadly,
  failedForThisGeneration: (o: Observation) => awaitingSpecChange(o.status.failure, o.generation, o.now),
  detachFailedRecently: (o: Observation) =>
    o.status.operationFailure !== undefined && o.now.getTime() < retryAt(o, DETACH_RETRY_MS),
  operationFailedForThisGeneration: (o: Observation) =>
    o.status.operationFailure !== undefined &&
    o.status.operationFailure.generation === o.generation &&
    o.now.getTime() - o.status.operationFailure.since.getTime() < FAILED_OPERATION_RETRY_MS,
  serviceNotUpdatable: (o: Observation) => !UPDATABLE.has(o.service?.status ?? ''),
  waitingForConnector: (o: Observation) =>
    o.desiredEgress.type === 'VPC' && o.desiredEgress.connector.state !== 'usable',
  networkDiffers: (o: Observation) => differences(o).length > 0,
} as const;

export type GuardName = keyof typeof guards;

const none = (): Record<string, never> => ({});
const R = ServiceNetworkingReason;

const chart = defineStatechart({
  id: 'serviceNetworking',
  guards,
  domain: domainConditions,
  states: {
    released: {
      description: 'Being deleted without our finalizer: nothing left to do.',
      when: ['isDeleting', '!hasFinalizer'],
      action: 'awaitRemoval',
      params: none,
      report: () => reconciling(R.Deleting, 'The object is being deleted.'),
    },
    releasingUnpermitted: {
      description: 'The namespace may not manage the service: the operator never touched it, let go.',
      when: ['isDeleting', 'notPermitted', '!ownedByUs'],
      action: 'release',
      params: () => ({ why: 'the service is not granted to this namespace and was left untouched' }),
      report: () =>
        reconciling(
          R.Deleting,
          'The service is not granted to this namespace and was left untouched; nothing to undo.',
        ),
      finalizer: 'remove',
    },
    releasingGone: {
      description: 'AWS no longer knows the service: nothing to detach.',
      when: ['isDeleting', 'serviceGone'],
      action: 'release',
      params: () => ({ why: 'the service no longer exists' }),
      report: () => reconciling(R.Deleting, 'The service no longer exists; nothing to detach.'),
      finalizer: 'remove',
    },
    releasingForeign: {
      description: 'The service belongs to another owner: never touch it.',
      when: ['isDeleting', 'ownedByOther'],
      action: 'release',
      params: () => ({ why: 'the service belongs to another owner' }),
      report: () => reconciling(R.Deleting, 'The service belongs to another owner; nothing to undo.'),
      finalizer: 'remove',
    },
    waitingToDetach: {
      description: 'An operation is in flight on the service: detach after it ends.',
      when: ['isDeleting', 'operationInFlight'],
      action: 'trackOperation',
      params: (o: Observation) => (o.tracked === undefined ? {} : { operation: o.tracked }),
      report: (o: Observation) =>
        reconciling(
          R.OperationInProgress,
          `Waiting for operation ${guarded(o.status.lastOperation).id} on service ${serviceName(o)} to end before letting go.`,
          Requeue.operation,
        ),
    },
    detachFailed: {
      description: 'The detach failed or rolled back: the connector is still attached; retry with backoff.',
      when: ['isDeleting', 'operationEndedBadly'],
      action: 'reportOperationFailed',
      params: (o: Observation) => ({ operation: guarded(o.tracked) }),
      report: (o: Observation) =>
        reconciling(
          R.OperationFailed,
          `Detaching service ${serviceName(o)} ended ${guarded(o.tracked).status}; it keeps ${describeNetwork(o)}. Retrying.`,
          Requeue.serviceBusy,
        ),
    },
    waitingToRetryDetach: {
      description: 'A detach failed moments ago: try again after a pause, not at once.',
      when: ['isDeleting', 'detachFailedRecently'],
      action: 'waitForService',
      params: (o: Observation) => ({ status: o.service?.status ?? '' }),
      report: (o: Observation) =>
        reconciling(
          R.OperationFailed,
          `Detaching service ${serviceName(o)} ended ${o.status.lastOperation?.status ?? ''}; it keeps ${describeNetwork(o)}. Trying again shortly.`,
          Math.max(Requeue.operation, retryAt(o, DETACH_RETRY_MS) - o.now.getTime()),
        ),
    },
    waitingForServiceToDetach: {
      description: 'The service cannot be updated now (another operation, or a failed state).',
      when: ['isDeleting', 'ownedByUs', '!retains', 'networkDiffers', 'serviceNotUpdatable'],
      action: 'waitForService',
      params: (o: Observation) => ({ status: o.service?.status ?? '' }),
      report: (o: Observation) =>
        reconciling(
          R.ServiceNotUpdatable,
          `Service ${serviceName(o)} is ${o.service?.status ?? ''}; detaching waits until it can be updated.`,
          Requeue.serviceBusy,
        ),
    },
    detaching: {
      description: 'deletionPolicy Detach: return egress to DEFAULT (ingress and IP type as they are).',
      when: ['isDeleting', 'ownedByUs', '!retains', 'networkDiffers'],
      action: 'updateNetwork',
      params: (o: Observation) => ({
        arn: o.serviceArn,
        network: guarded(detachedNetwork(o)),
        drift: [],
        detach: true,
      }),
      report: (o: Observation) =>
        reconciling(
          R.Detaching,
          `Detaching service ${serviceName(o)}: egress back to DEFAULT.`,
          Requeue.operation,
        ),
    },
    unclaiming: {
      description: 'Detached (or retained): remove the ownership tags, the last AWS call.',
      when: ['isDeleting', 'ownedByUs'],
      action: 'unclaimService',
      params: (o: Observation) => ({ arn: o.serviceArn, keys: Object.keys(o.ownerTags) }),
      report: (o: Observation) =>
        reconciling(R.Deleting, `Removing this object's ownership tags from service ${serviceName(o)}.`),
    },
    releasing: {
      description: 'Nothing of ours is left on the service: let the object go.',
      when: ['isDeleting'],
      action: 'release',
      params: (o: Observation) => ({
        why:
          o.deletionPolicy === 'Retain'
            ? 'deletionPolicy is Retain: the service keeps its network configuration'
            : 'the service is detached',
      }),
      report: (o: Observation) =>
        reconciling(
          o.deletionPolicy === 'Retain' ? R.Retained : R.Deleting,
          o.deletionPolicy === 'Retain'
            ? `deletionPolicy is Retain: service ${serviceName(o)} keeps ${describeNetwork(o)}.`
            : `Service ${serviceName(o)} is detached; removing the finalizer.`,
        ),
      finalizer: 'remove',
    },
    notPermitted: {
      description: 'Tenancy: the namespace is not granted this service; no AWS call at all.',
      when: ['notPermitted'],
      action: 'reportNotPermitted',
      params: (o: Observation) => ({ why: guarded(o.notPermitted) }),
      report: (o: Observation) => stalled(R.NotPermitted, guarded(o.notPermitted), Requeue.notPermitted),
    },
    addingFinalizer: {
      description: 'Fence deletion before changing anything in AWS.',
      when: ['!hasFinalizer'],
      action: 'addFinalizer',
      params: none,
      report: () => reconciling(R.AddingFinalizer, 'Adding the finalizer before changing anything in AWS.'),
      finalizer: 'add',
    },
    awaitingSpecChange: {
      description: 'AWS refused this generation (invalid input, access): wait for an edit, retry rarely.',
      when: ['failedForThisGeneration'],
      action: 'waitForSpecChange',
      params: none,
      report: (o: Observation) => {
        const failure = guarded(o.status.failure);
        return stalled(
          failure.reason,
          failure.message,
          Math.max(Requeue.operation, failure.since.getTime() + TERMINAL_RETRY_MS - o.now.getTime()),
        );
      },
    },
    serviceNotFound: {
      description: 'AWS does not know the service (deleted out of band, or a wrong ARN).',
      when: ['serviceGone'],
      action: 'reportServiceGone',
      params: none,
      report: (o: Observation) =>
        stalled(
          R.ServiceNotFound,
          `App Runner service ${o.serviceArn} does not exist (or is DELETED); the operator never creates services and a deleted one never returns. Delete this object (no AWS call is needed).`,
        ),
    },
    ownedElsewhere: {
      description: 'The service’s tags name another owner: never update it.',
      when: ['ownedByOther'],
      action: 'reportConflict',
      params: (o: Observation) => ({ owner: o.owner.kind === 'other' ? o.owner.who : '' }),
      report: (o: Observation) =>
        stalled(
          R.Conflict,
          `Service ${serviceName(o)} is managed by ${o.owner.kind === 'other' ? o.owner.who : ''}; only one ServiceNetworking may manage a service. Delete one of them.`,
          Requeue.conflict,
        ),
    },
    claimedByEarlier: {
      description: 'An older object of this cluster names the same unclaimed service: it goes first.',
      when: ['unclaimed', 'claimedEarlier'],
      action: 'reportConflict',
      params: (o: Observation) => ({ owner: `ServiceNetworking ${guarded(o.earlierClaimant)}` }),
      report: (o: Observation) =>
        stalled(
          R.Conflict,
          `Service ${serviceName(o)} is claimed by ServiceNetworking ${guarded(o.earlierClaimant)}, created earlier; only one ServiceNetworking may manage a service. Delete one of them.`,
          Requeue.conflict,
        ),
    },
    waitingForConnectorToClaim: {
      description:
        'Unclaimed, through a VpcConnector that has no ACTIVE connector (or does not exist): claim nothing yet.',
      when: ['unclaimed', 'waitingForConnector'],
      action: 'waitForConnector',
      params: waitForConnectorParams,
      report: (o: Observation) => waitingForConnectorReport(o),
    },
    claiming: {
      description: 'No owner recorded on the service: tag it with this object’s identity first.',
      when: ['unclaimed'],
      action: 'claimService',
      params: (o: Observation) => ({ arn: o.serviceArn, tags: o.ownerTags }),
      report: (o: Observation) =>
        reconciling(R.Claiming, `Recording this object as the owner of service ${serviceName(o)}.`),
    },
    trackingOperation: {
      description: 'The operation this object started is running.',
      when: ['operationInFlight'],
      action: 'trackOperation',
      params: (o: Observation) => (o.tracked === undefined ? {} : { operation: o.tracked }),
      report: (o: Observation) =>
        reconciling(
          R.OperationInProgress,
          `Operation ${guarded(o.status.lastOperation).id} on service ${serviceName(o)} is ${o.tracked?.status ?? 'IN_PROGRESS'}.`,
          Requeue.operation,
        ),
    },
    operationFailed: {
      description: 'The operation this object started failed or rolled back (invariant 5).',
      when: ['operationEndedBadly'],
      action: 'reportOperationFailed',
      params: (o: Observation) => ({ operation: guarded(o.tracked) }),
      report: (o: Observation) => failedReport(o, guarded(o.tracked).status),
    },
    awaitingRetry: {
      description:
        'A failed or rolled-back update of this generation: wait for an edit, or retry much later.',
      when: ['operationFailedForThisGeneration'],
      action: 'waitForSpecChange',
      params: none,
      report: (o: Observation) =>
        failedReport(
          o,
          o.status.lastOperation?.status ?? 'FAILED',
          Math.max(Requeue.operation, retryAt(o, FAILED_OPERATION_RETRY_MS) - o.now.getTime()),
        ),
    },
    waitingForService: {
      description: 'The service is busy or in a state App Runner cannot update (invariant 4).',
      when: ['networkDiffers', 'serviceNotUpdatable'],
      action: 'waitForService',
      params: (o: Observation) => ({ status: o.service?.status ?? '' }),
      report: (o: Observation) =>
        reconciling(
          o.service?.status === 'OPERATION_IN_PROGRESS' ? R.OperationInProgress : R.ServiceNotUpdatable,
          `Service ${serviceName(o)} is ${o.service?.status ?? ''}; its network configuration changes once it can be updated.`,
          Requeue.serviceBusy,
        ),
    },
    waitingForConnector: {
      description: 'Egress VPC through a VpcConnector that has no ACTIVE connector yet.',
      when: ['waitingForConnector'],
      action: 'waitForConnector',
      params: waitForConnectorParams,
      report: (o: Observation) => waitingForConnectorReport(o),
    },
    updating: {
      description: 'AWS differs from spec: send the complete network configuration (UpdateService).',
      when: ['networkDiffers'],
      action: 'updateNetwork',
      params: (o: Observation) => ({
        arn: o.serviceArn,
        network: guarded(desiredNetwork(o)),
        drift: drift(o),
        detach: false,
      }),
      report: (o: Observation) =>
        reconciling(
          R.Updating,
          `Updating service ${serviceName(o)}: ${differences(o).join(', ')} ${differences(o).length === 1 ? 'differs' : 'differ'} from spec.`,
          Requeue.operation,
        ),
    },
    ready: {
      description: 'AWS matches the spec.',
      when: [],
      action: 'reportReady',
      params: none,
      // A service still shown in motion (its operation just ended): look again, so that the service status
      // recorded settles without waiting for a resync.
      report: (o: Observation) =>
        ready(
          o.desiredEgress.type === 'VPC' ? R.Attached : R.Detached,
          `Service ${serviceName(o)} has ${describeNetwork(o)}.`,
          o.service?.status === 'OPERATION_IN_PROGRESS' ? Requeue.operation : undefined,
        ),
    },
  } satisfies Record<string, StateSpec<Observation, GuardName, ActionParams>>,
});

export const serviceNetworkingMachine = chart.machine;
/** Every state `deciding` routes to, in routing order. */
export const STATE_NAMES = chart.stateNames;
export type StateName = (typeof STATE_NAMES)[number];
export type Decision = ChartDecision<StateName, ActionParams>;

function waitForConnectorParams(o: Observation): ActionParams['waitForConnector'] {
  return { why: o.desiredEgress.connector.state === 'waiting' ? o.desiredEgress.connector.why : '' };
}

/**
 * Waiting is not Stalled: the VpcConnector may simply be applied later (any order, as GitOps tools apply). A
 * service is claimed only once it can be attached, so a reference to a missing object writes nothing to AWS.
 */
function waitingForConnectorReport(o: Observation): Report {
  return reconciling(
    R.WaitingForConnector,
    `${waitForConnectorParams(o).why}; service ${serviceName(o)} is attached once it is ACTIVE.`,
    Requeue.connector,
  );
}

function failedReport(o: Observation, status: string, requeueAfterMs = FAILED_OPERATION_RETRY_MS): Report {
  return stalled(
    status === 'ROLLBACK_SUCCEEDED' ? R.RolledBack : R.OperationFailed,
    `Updating service ${serviceName(o)} ended ${status} (operation ${o.status.lastOperation?.id ?? ''}); AWS kept ${describeNetwork(o)}. ` +
      `Check the service's events in App Runner, then change the spec; the operator tries this generation again after ${FAILED_OPERATION_RETRY_MS / 60_000} minutes.`,
    requeueAfterMs,
  );
}

function domainConditions(state: string, o: Observation, report: Report): DecidedCondition[] {
  if (!o.deleting) return [];
  const blocked =
    state === 'waitingToDetach' ||
    state === 'detachFailed' ||
    state === 'waitingToRetryDetach' ||
    state === 'waitingForServiceToDetach';
  return [
    blocked
      ? {
          type: ConditionType.DeletionBlocked,
          status: 'True',
          reason: report.reason,
          message: report.message,
        }
      : {
          type: ConditionType.DeletionBlocked,
          status: 'False',
          reason: R.NotBlocked,
          message: 'Nothing blocks deletion.',
        },
  ];
}

/** The pure decision for one pass. Executes nothing. */
export function decide(observation: Observation): Decision {
  return chart.decide(observation);
}
