// The ServiceNetworking statechart through pure transitions: one table row per reason, every state reached
// with its action, kstatus report, requeue and finalizer change; the invariants checked over variants; and a
// walk of the machine definition proving that no route out of `deciding` lacks a row.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OperationObservation, ServiceObservation } from '../../../src/aws/gateway.ts';
import {
  DETACH_RETRY_MS,
  FAILED_OPERATION_RETRY_MS,
  Requeue,
  STATE_NAMES,
  decide,
  serviceNetworkingMachine,
  type DecidedAction,
  type StateName,
} from '../../../src/controllers/servicenetworking/machine.ts';
import type { DesiredNetwork, Observation } from '../../../src/controllers/servicenetworking/observe.ts';
import { TERMINAL_RETRY_MS } from '../../../src/controllers/shared/failures.ts';
import type { FinalizerChange, KstatusKind } from '../../../src/runtime/index.ts';
import {
  ATTACHED,
  CONNECTOR_ARN,
  DEFAULT_PUBLIC,
  MIN,
  NOW,
  OTHER_CONNECTOR_ARN,
  ROTATED_CONNECTOR_ARN,
  SERVICE_ARN,
  SVCNET_TAGS,
  ago,
  awsService,
  lastOperation,
  operation,
} from '../builders.ts';

// ---- Builders ----

const OTHER_OWNER = 'ServiceNetworking team-b/payments of cluster prod';
const NOT_GRANTED =
  'Namespace team-a is not granted service payments (apprunnernet.dev/allowed-services: "orders").';
const CONNECTOR_PENDING = 'VpcConnector web has no ACTIVE connector yet';

const ATTACHED_PRIVATE: ServiceObservation['network'] = { ...ATTACHED, isPubliclyAccessible: false };

/** The service of the steady state: RUNNING, attached through our connector (override the rest). */
const service = (
  overrides: { status?: ServiceObservation['status']; network?: Partial<ServiceObservation['network']> } = {},
): ServiceObservation => awsService({ ...overrides, network: { ...ATTACHED, ...overrides.network } });

/** Ready for this generation: permitted, claimed by us, RUNNING, VPC egress through the usable connector. */
function observation(overrides: Partial<Observation> = {}): Observation {
  return {
    now: NOW,
    namespace: 'team-a',
    name: 'payments',
    generation: 2,
    deleting: false,
    hasFinalizer: true,
    deletionPolicy: 'Detach',
    serviceArn: SERVICE_ARN,
    ownerTags: SVCNET_TAGS,
    serviceRead: true,
    service: service(),
    owner: { kind: 'us' },
    desiredEgress: {
      type: 'VPC',
      connector: { state: 'usable', arn: CONNECTOR_ARN, via: 'VpcConnector web' },
    },
    foreignUpdate: false,
    status: { serviceGone: false, readyForGeneration: true },
    ...overrides,
  };
}

/** The steady state without a service: AWS answered, and does not know it. */
function withoutService(overrides: Partial<Observation> = {}): Observation {
  const { service: _service, ...base } = observation(overrides);
  return base;
}

const deleting = (overrides: Partial<Observation> = {}): Observation =>
  observation({ deleting: true, ...overrides });

const status = (overrides: Partial<Observation['status']>): Pick<Observation, 'status'> => ({
  status: { serviceGone: false, readyForGeneration: true, ...overrides },
});

/** The UpdateService this object started (recorded IN_PROGRESS), as ListOperations now shows it. */
function tracking(listed: OperationObservation['status'] | undefined): Partial<Observation> {
  const recorded = status({ lastOperation: lastOperation('IN_PROGRESS') });
  return listed === undefined ? recorded : { ...recorded, tracked: operation(listed) };
}

/** A failed (or rolled-back) update recorded in status, Stalled since `since`, for `generation`. */
function failedEarlier(
  opStatus: 'FAILED' | 'ROLLBACK_SUCCEEDED',
  generation: number,
  since: Date,
): Pick<Observation, 'status'> {
  return status({
    lastOperation: lastOperation(opStatus),
    readyForGeneration: false,
    operationFailure: { generation, since },
  });
}

const vpcEgress = (connector: Observation['desiredEgress']['connector']): Observation['desiredEgress'] => ({
  type: 'VPC',
  connector,
});
const defaultEgress: Observation['desiredEgress'] = { type: 'DEFAULT', connector: { state: 'none' } };

// ---- The table ----

interface Case {
  name: string;
  given: Observation;
  state: StateName;
  action: DecidedAction['type'];
  /** The action's params, exactly (for updateNetwork, see `network`). */
  params: object;
  /** For updateNetwork: the complete network configuration sent, exactly. */
  network?: DesiredNetwork;
  kstatus: KstatusKind;
  reason: string;
  /** Absent: the decision must not requeue. */
  requeueAfterMs?: number;
  /** Absent: the decision must not touch the finalizer. */
  finalizer?: FinalizerChange;
  /** While deleting: DeletionBlocked's status (False unless set). */
  deletionBlocked?: 'True' | 'False';
  message?: RegExp;
}

const cases: Case[] = [
  // Deletion
  {
    name: 'does nothing for an object being deleted without its finalizer, even when not permitted',
    given: deleting({ hasFinalizer: false, notPermitted: NOT_GRANTED }),
    state: 'released',
    action: 'awaitRemoval',
    params: {},
    kstatus: 'Reconciling',
    reason: 'Deleting',
  },
  {
    name: 'lets a not-permitted object that never managed the service go with no AWS read or write (the plan read nothing)',
    given: withoutService({
      deleting: true,
      notPermitted: NOT_GRANTED,
      serviceRead: false,
      owner: { kind: 'none' },
    }),
    state: 'releasingUnpermitted',
    action: 'release',
    params: { why: 'the service is not granted to this namespace and was left untouched' },
    kstatus: 'Reconciling',
    reason: 'Deleting',
    finalizer: 'remove',
    message: /^The service is not granted to this namespace and was left untouched; nothing to undo\.$/,
  },
  {
    name: 'lets a not-permitted object go without touching a service whose tags name another owner',
    given: deleting({ notPermitted: NOT_GRANTED, owner: { kind: 'other', who: OTHER_OWNER } }),
    state: 'releasingUnpermitted',
    action: 'release',
    params: { why: 'the service is not granted to this namespace and was left untouched' },
    kstatus: 'Reconciling',
    reason: 'Deleting',
    finalizer: 'remove',
  },
  {
    name: 'still detaches a service tagged as its own when its grant was revoked before deletion',
    given: deleting({ notPermitted: NOT_GRANTED }),
    state: 'detaching',
    action: 'updateNetwork',
    params: { arn: SERVICE_ARN, drift: [], detach: true },
    network: DEFAULT_PUBLIC,
    kstatus: 'Reconciling',
    reason: 'Detaching',
    requeueAfterMs: Requeue.operation,
  },
  {
    name: 'still removes its ownership tags under Retain when its grant was revoked before deletion',
    given: deleting({ notPermitted: NOT_GRANTED, deletionPolicy: 'Retain' }),
    state: 'unclaiming',
    action: 'unclaimService',
    params: { arn: SERVICE_ARN, keys: Object.keys(SVCNET_TAGS) },
    kstatus: 'Reconciling',
    reason: 'Deleting',
  },
  {
    name: 'lets the object go when AWS answers that the service no longer exists, with no AWS action',
    given: withoutService({ deleting: true, owner: { kind: 'none' } }),
    state: 'releasingGone',
    action: 'release',
    params: { why: 'the service no longer exists' },
    kstatus: 'Reconciling',
    reason: 'Deleting',
    finalizer: 'remove',
    message: /no longer exists; nothing to detach/,
  },
  {
    name: 'lets the object go on a service recorded DELETED earlier, without reading AWS again',
    given: withoutService({
      deleting: true,
      serviceRead: false,
      owner: { kind: 'none' },
      ...status({ serviceGone: true }),
    }),
    state: 'releasingGone',
    action: 'release',
    params: { why: 'the service no longer exists' },
    kstatus: 'Reconciling',
    reason: 'Deleting',
    finalizer: 'remove',
  },
  {
    name: 'never detaches a service whose tags name another owner, and lets the object go',
    given: deleting({ owner: { kind: 'other', who: OTHER_OWNER } }),
    state: 'releasingForeign',
    action: 'release',
    params: { why: 'the service belongs to another owner' },
    kstatus: 'Reconciling',
    reason: 'Deleting',
    finalizer: 'remove',
  },
  {
    name: 'waits for its own operation to end before detaching, and says deletion is blocked',
    given: deleting({ service: service({ status: 'OPERATION_IN_PROGRESS' }), ...tracking('IN_PROGRESS') }),
    state: 'waitingToDetach',
    action: 'trackOperation',
    params: { operation: operation('IN_PROGRESS') },
    kstatus: 'Reconciling',
    reason: 'OperationInProgress',
    requeueAfterMs: Requeue.operation,
    deletionBlocked: 'True',
    message: /Waiting for operation op-1 on service payments to end before letting go\./,
  },
  {
    name: 'waits to detach while the service is busy and the tracked operation is not listed',
    given: deleting({ service: service({ status: 'OPERATION_IN_PROGRESS' }), ...tracking(undefined) }),
    state: 'waitingToDetach',
    action: 'trackOperation',
    params: {},
    kstatus: 'Reconciling',
    reason: 'OperationInProgress',
    requeueAfterMs: Requeue.operation,
    deletionBlocked: 'True',
  },
  {
    name: 'reports a failed detach as Reconciling (it retries), keeps deletion blocked and names what AWS kept',
    given: deleting(tracking('FAILED')),
    state: 'detachFailed',
    action: 'reportOperationFailed',
    params: { operation: operation('FAILED') },
    kstatus: 'Reconciling',
    reason: 'OperationFailed',
    requeueAfterMs: Requeue.serviceBusy,
    deletionBlocked: 'True',
    message: /ended FAILED; it keeps egress VPC through .*team-a-web.*, public ingress, IPV4\. Retrying\./,
  },
  {
    name: 'pauses after a detach failed 20 seconds ago, keeps deletion blocked, and looks again when the minute is up',
    given: deleting(failedEarlier('FAILED', 2, ago(20_000))),
    state: 'waitingToRetryDetach',
    action: 'waitForService',
    params: { status: 'RUNNING' },
    kstatus: 'Reconciling',
    reason: 'OperationFailed',
    requeueAfterMs: DETACH_RETRY_MS - 20_000,
    deletionBlocked: 'True',
    message:
      /^Detaching service payments ended FAILED; it keeps egress VPC through .*team-a-web.*, public ingress, IPV4\. Trying again shortly\.$/,
  },
  {
    name: 'waits at least 10 seconds after a detach that rolled back 55 seconds ago',
    given: deleting(failedEarlier('ROLLBACK_SUCCEEDED', 2, ago(55_000))),
    state: 'waitingToRetryDetach',
    action: 'waitForService',
    params: { status: 'RUNNING' },
    kstatus: 'Reconciling',
    reason: 'OperationFailed',
    requeueAfterMs: Requeue.operation,
    deletionBlocked: 'True',
  },
  {
    name: 'detaches again once a minute has passed since the failed detach',
    given: deleting(failedEarlier('FAILED', 2, ago(DETACH_RETRY_MS))),
    state: 'detaching',
    action: 'updateNetwork',
    params: { arn: SERVICE_ARN, drift: [], detach: true },
    network: DEFAULT_PUBLIC,
    kstatus: 'Reconciling',
    reason: 'Detaching',
    requeueAfterMs: Requeue.operation,
  },
  {
    name: 'waits to detach while someone else’s operation runs on the service (invariant 4)',
    given: deleting({ service: service({ status: 'OPERATION_IN_PROGRESS' }) }),
    state: 'waitingForServiceToDetach',
    action: 'waitForService',
    params: { status: 'OPERATION_IN_PROGRESS' },
    kstatus: 'Reconciling',
    reason: 'ServiceNotUpdatable',
    requeueAfterMs: Requeue.serviceBusy,
    deletionBlocked: 'True',
  },
  {
    name: 'detaches under Detach: egress back to DEFAULT, ingress and IP type kept as AWS shows them',
    given: deleting({
      service: service({ network: { isPubliclyAccessible: false, ipAddressType: 'DUAL_STACK' } }),
      ingress: true,
      ipAddressType: 'IPV4',
    }),
    state: 'detaching',
    action: 'updateNetwork',
    params: { arn: SERVICE_ARN, drift: [], detach: true },
    network: { egressType: 'DEFAULT', isPubliclyAccessible: false, ipAddressType: 'DUAL_STACK' },
    kstatus: 'Reconciling',
    reason: 'Detaching',
    requeueAfterMs: Requeue.operation,
    message: /Detaching service payments: egress back to DEFAULT\./,
  },
  {
    name: 'removes its ownership tags once the service is detached',
    given: deleting({ service: service({ network: DEFAULT_PUBLIC }) }),
    state: 'unclaiming',
    action: 'unclaimService',
    params: { arn: SERVICE_ARN, keys: Object.keys(SVCNET_TAGS) },
    kstatus: 'Reconciling',
    reason: 'Deleting',
  },
  {
    name: 'removes its ownership tags under Retain without detaching the service',
    given: deleting({ deletionPolicy: 'Retain' }),
    state: 'unclaiming',
    action: 'unclaimService',
    params: { arn: SERVICE_ARN, keys: Object.keys(SVCNET_TAGS) },
    kstatus: 'Reconciling',
    reason: 'Deleting',
  },
  {
    name: 'lets the object go once the service is detached and no longer tagged as ours',
    given: deleting({ owner: { kind: 'none' }, service: service({ network: DEFAULT_PUBLIC }) }),
    state: 'releasing',
    action: 'release',
    params: { why: 'the service is detached' },
    kstatus: 'Reconciling',
    reason: 'Deleting',
    finalizer: 'remove',
  },
  {
    name: 'lets the object go under Retain without updating the service, and says what it keeps',
    given: deleting({ deletionPolicy: 'Retain', owner: { kind: 'none' } }),
    state: 'releasing',
    action: 'release',
    params: { why: 'deletionPolicy is Retain: the service keeps its network configuration' },
    kstatus: 'Reconciling',
    reason: 'Retained',
    finalizer: 'remove',
    message: /service payments keeps egress VPC through .*team-a-web.*, public ingress, IPV4\./,
  },

  // Tenancy, finalizer, recorded refusals
  {
    name: 'reports NotPermitted as Stalled and never updates the service, even when its network differs',
    given: observation({
      notPermitted: NOT_GRANTED,
      hasFinalizer: false,
      service: service({ network: DEFAULT_PUBLIC }),
      status: { serviceGone: false, readyForGeneration: false },
    }),
    state: 'notPermitted',
    action: 'reportNotPermitted',
    params: { why: NOT_GRANTED },
    kstatus: 'Stalled',
    reason: 'NotPermitted',
    requeueAfterMs: Requeue.notPermitted,
    message: /not granted service payments/,
  },
  {
    name: 'adds the finalizer before changing anything in AWS',
    given: observation({ hasFinalizer: false, owner: { kind: 'none' } }),
    state: 'addingFinalizer',
    action: 'addFinalizer',
    params: {},
    kstatus: 'Reconciling',
    reason: 'AddingFinalizer',
    finalizer: 'add',
  },
  {
    name: 'waits for a spec change after AWS refused this generation one minute ago',
    given: observation({
      service: service({ network: DEFAULT_PUBLIC }),
      ...status({
        failure: {
          reason: 'AccessDenied',
          message: 'AWS refused UpdateService',
          generation: 2,
          since: ago(MIN),
        },
      }),
    }),
    state: 'awaitingSpecChange',
    action: 'waitForSpecChange',
    params: {},
    kstatus: 'Stalled',
    reason: 'AccessDenied',
    requeueAfterMs: TERMINAL_RETRY_MS - MIN,
    message: /^AWS refused UpdateService$/,
  },
  {
    name: 'reports a service AWS does not know as Stalled ServiceNotFound, and never looks again (a deleted service never returns)',
    given: withoutService(),
    state: 'serviceNotFound',
    action: 'reportServiceGone',
    params: {},
    kstatus: 'Stalled',
    reason: 'ServiceNotFound',
    message: /service\/payments\/.* does not exist .* a deleted one never returns\. Delete this object/,
  },

  // Ownership
  {
    name: 'reports a service owned by another object as a Conflict naming that owner',
    given: observation({ owner: { kind: 'other', who: OTHER_OWNER } }),
    state: 'ownedElsewhere',
    action: 'reportConflict',
    params: { owner: OTHER_OWNER },
    kstatus: 'Stalled',
    reason: 'Conflict',
    requeueAfterMs: Requeue.conflict,
    message: /is managed by ServiceNetworking team-b\/payments of cluster prod;/,
  },
  {
    name: 'reports a Conflict when an earlier object of the cluster names the same unclaimed service',
    given: observation({ owner: { kind: 'none' }, earlierClaimant: 'team-b/payments' }),
    state: 'claimedByEarlier',
    action: 'reportConflict',
    params: { owner: 'ServiceNetworking team-b/payments' },
    kstatus: 'Stalled',
    reason: 'Conflict',
    requeueAfterMs: Requeue.conflict,
    message: /claimed by ServiceNetworking team-b\/payments, created earlier/,
  },
  {
    name: 'claims nothing while the referenced VpcConnector is missing, so a dangling reference writes nothing to AWS',
    given: observation({
      owner: { kind: 'none' },
      desiredEgress: vpcEgress({ state: 'waiting', why: 'VpcConnector nowhere does not exist' }),
      service: service({ network: DEFAULT_PUBLIC }),
      status: { serviceGone: false, readyForGeneration: false },
    }),
    state: 'waitingForConnectorToClaim',
    action: 'waitForConnector',
    params: { why: 'VpcConnector nowhere does not exist' },
    kstatus: 'Reconciling',
    reason: 'WaitingForConnector',
    requeueAfterMs: Requeue.connector,
    message: /^VpcConnector nowhere does not exist; service payments is attached once it is ACTIVE\.$/,
  },
  {
    name: 'claims an unclaimed service with the ownership tags before any UpdateService',
    given: observation({
      owner: { kind: 'none' },
      service: service({ network: DEFAULT_PUBLIC }),
      status: { serviceGone: false, readyForGeneration: false },
    }),
    state: 'claiming',
    action: 'claimService',
    params: { arn: SERVICE_ARN, tags: SVCNET_TAGS },
    kstatus: 'Reconciling',
    reason: 'Claiming',
  },

  // The tracked operation
  {
    name: 'tracks its own operation while ListOperations shows it IN_PROGRESS',
    given: observation({ service: service({ status: 'OPERATION_IN_PROGRESS' }), ...tracking('IN_PROGRESS') }),
    state: 'trackingOperation',
    action: 'trackOperation',
    params: { operation: operation('IN_PROGRESS') },
    kstatus: 'Reconciling',
    reason: 'OperationInProgress',
    requeueAfterMs: Requeue.operation,
    message: /Operation op-1 on service payments is IN_PROGRESS\./,
  },
  {
    name: 'keeps tracking while the service is busy and its operation is not listed yet',
    given: observation({ service: service({ status: 'OPERATION_IN_PROGRESS' }), ...tracking(undefined) }),
    state: 'trackingOperation',
    action: 'trackOperation',
    params: {},
    kstatus: 'Reconciling',
    reason: 'OperationInProgress',
    requeueAfterMs: Requeue.operation,
  },
  {
    name: 'stops tracking an operation that is no longer listed once the service is not busy',
    given: observation({ service: service({ status: 'RUNNING' }), ...tracking(undefined) }),
    state: 'ready',
    action: 'reportReady',
    params: {},
    kstatus: 'Ready',
    reason: 'Attached',
  },
  {
    name: 'reports a FAILED operation as Stalled OperationFailed, retried after 30 minutes',
    given: observation({ service: service({ network: DEFAULT_PUBLIC }), ...tracking('FAILED') }),
    state: 'operationFailed',
    action: 'reportOperationFailed',
    params: { operation: operation('FAILED') },
    kstatus: 'Stalled',
    reason: 'OperationFailed',
    requeueAfterMs: FAILED_OPERATION_RETRY_MS,
    message: /ended FAILED \(operation op-1\); AWS kept egress DEFAULT, public ingress, IPV4\./,
  },
  {
    name: 'reports a rolled-back operation as Stalled RolledBack, never Ready, even when the network matches (invariant 5)',
    given: observation(tracking('ROLLBACK_SUCCEEDED')),
    state: 'operationFailed',
    action: 'reportOperationFailed',
    params: { operation: operation('ROLLBACK_SUCCEEDED') },
    kstatus: 'Stalled',
    reason: 'RolledBack',
    requeueAfterMs: FAILED_OPERATION_RETRY_MS,
  },
  {
    name: 'reports ROLLBACK_FAILED as OperationFailed',
    given: observation(tracking('ROLLBACK_FAILED')),
    state: 'operationFailed',
    action: 'reportOperationFailed',
    params: { operation: operation('ROLLBACK_FAILED') },
    kstatus: 'Stalled',
    reason: 'OperationFailed',
    requeueAfterMs: FAILED_OPERATION_RETRY_MS,
  },
  {
    name: 'does not update again when this generation’s update failed 29 minutes ago, and looks again in the minute left',
    given: observation({
      service: service({ network: DEFAULT_PUBLIC }),
      ...failedEarlier('FAILED', 2, ago(29 * MIN)),
    }),
    state: 'awaitingRetry',
    action: 'waitForSpecChange',
    params: {},
    kstatus: 'Stalled',
    reason: 'OperationFailed',
    requeueAfterMs: MIN,
    message: /tries this generation again after 30 minutes/,
  },
  {
    name: 'keeps a rolled-back update of this generation Stalled RolledBack, not Ready, although AWS matches, for the 29 minutes left',
    given: observation(failedEarlier('ROLLBACK_SUCCEEDED', 2, ago(MIN))),
    state: 'awaitingRetry',
    action: 'waitForSpecChange',
    params: {},
    kstatus: 'Stalled',
    reason: 'RolledBack',
    requeueAfterMs: FAILED_OPERATION_RETRY_MS - MIN,
  },
  {
    name: 'waits at least 10 seconds when the 30 minutes after a failed update are nearly up',
    given: observation({
      service: service({ network: DEFAULT_PUBLIC }),
      ...failedEarlier('FAILED', 2, ago(FAILED_OPERATION_RETRY_MS - 5_000)),
    }),
    state: 'awaitingRetry',
    action: 'waitForSpecChange',
    params: {},
    kstatus: 'Stalled',
    reason: 'OperationFailed',
    requeueAfterMs: Requeue.operation,
  },

  // Waiting, updating, ready
  {
    name: 'waits while the service reports OPERATION_IN_PROGRESS, and never updates it then (invariant 4)',
    given: observation({
      service: service({ status: 'OPERATION_IN_PROGRESS', network: DEFAULT_PUBLIC }),
      status: { serviceGone: false, readyForGeneration: false },
    }),
    state: 'waitingForService',
    action: 'waitForService',
    params: { status: 'OPERATION_IN_PROGRESS' },
    kstatus: 'Reconciling',
    reason: 'OperationInProgress',
    requeueAfterMs: Requeue.serviceBusy,
  },
  {
    name: 'waits while the service is in a state App Runner cannot update (DELETE_FAILED)',
    given: observation({ service: service({ status: 'DELETE_FAILED', network: DEFAULT_PUBLIC }) }),
    state: 'waitingForService',
    action: 'waitForService',
    params: { status: 'DELETE_FAILED' },
    kstatus: 'Reconciling',
    reason: 'ServiceNotUpdatable',
    requeueAfterMs: Requeue.serviceBusy,
  },
  {
    name: 'waits for the referenced VpcConnector to have an ACTIVE connector before attaching',
    given: observation({
      desiredEgress: vpcEgress({ state: 'waiting', why: CONNECTOR_PENDING }),
      service: service({ network: DEFAULT_PUBLIC }),
      status: { serviceGone: false, readyForGeneration: false },
    }),
    state: 'waitingForConnector',
    action: 'waitForConnector',
    params: { why: CONNECTOR_PENDING },
    kstatus: 'Reconciling',
    reason: 'WaitingForConnector',
    requeueAfterMs: Requeue.connector,
    message:
      /^VpcConnector web has no ACTIVE connector yet; service payments is attached once it is ACTIVE\.$/,
  },
  {
    name: 'sends the complete configuration on the first apply, with no drift reported',
    given: observation({
      service: service({ network: DEFAULT_PUBLIC }),
      status: { serviceGone: false, readyForGeneration: false },
    }),
    state: 'updating',
    action: 'updateNetwork',
    params: { arn: SERVICE_ARN, drift: [], detach: false },
    network: ATTACHED,
    kstatus: 'Reconciling',
    reason: 'Updating',
    requeueAfterMs: Requeue.operation,
    message: /^Updating service payments: egress type differs from spec\.$/,
  },
  {
    name: 'reports no drift before this generation was Ready, although AWS differs from what status recorded',
    given: observation({
      service: service({ network: DEFAULT_PUBLIC }),
      ...status({ readyForGeneration: false, network: ATTACHED }),
    }),
    state: 'updating',
    action: 'updateNetwork',
    params: { arn: SERVICE_ARN, drift: [], detach: false },
    network: ATTACHED,
    kstatus: 'Reconciling',
    reason: 'Updating',
    requeueAfterMs: Requeue.operation,
  },
  {
    name: 'names every difference from spec as drift before this generation was Ready when someone else’s update is the newest operation',
    given: observation({
      foreignUpdate: true,
      ingress: false,
      service: service({ network: DEFAULT_PUBLIC }),
      status: { serviceGone: false, readyForGeneration: false },
    }),
    state: 'updating',
    action: 'updateNetwork',
    params: { arn: SERVICE_ARN, drift: ['egress type', 'ingress'], detach: false },
    network: ATTACHED_PRIVATE,
    kstatus: 'Reconciling',
    reason: 'Updating',
    requeueAfterMs: Requeue.operation,
  },
  {
    name: 'restores the spec when the connector was changed out of band while Ready, naming the drift',
    given: observation({
      service: service({ network: { vpcConnectorArn: OTHER_CONNECTOR_ARN } }),
      ...status({ network: ATTACHED }),
    }),
    state: 'updating',
    action: 'updateNetwork',
    params: { arn: SERVICE_ARN, drift: ['egress connector'], detach: false },
    network: ATTACHED,
    kstatus: 'Reconciling',
    reason: 'Updating',
    requeueAfterMs: Requeue.operation,
  },
  {
    name: 'keeps the observed ingress and IP type in the sent configuration when spec leaves them out',
    given: observation({
      service: service({
        network: { egressType: 'DEFAULT', isPubliclyAccessible: false, ipAddressType: 'DUAL_STACK' },
      }),
      status: { serviceGone: false, readyForGeneration: false },
    }),
    state: 'updating',
    action: 'updateNetwork',
    params: { arn: SERVICE_ARN, drift: [], detach: false },
    network: {
      egressType: 'VPC',
      vpcConnectorArn: CONNECTOR_ARN,
      isPubliclyAccessible: false,
      ipAddressType: 'DUAL_STACK',
    },
    kstatus: 'Reconciling',
    reason: 'Updating',
    requeueAfterMs: Requeue.operation,
  },
  {
    name: 'restores private ingress made public out of band while Ready, naming only that drift',
    given: observation({
      ingress: false,
      service: service({ network: { isPubliclyAccessible: true } }),
      ...status({ network: ATTACHED_PRIVATE }),
    }),
    state: 'updating',
    action: 'updateNetwork',
    params: { arn: SERVICE_ARN, drift: ['ingress'], detach: false },
    network: ATTACHED_PRIVATE,
    kstatus: 'Reconciling',
    reason: 'Updating',
    requeueAfterMs: Requeue.operation,
    message: /^Updating service payments: ingress differs from spec\.$/,
  },
  {
    name: 'moves to the VpcConnector’s rotated connector while Ready without calling it drift',
    given: observation({
      desiredEgress: vpcEgress({ state: 'usable', arn: ROTATED_CONNECTOR_ARN, via: 'VpcConnector web' }),
      ...status({ network: ATTACHED }),
    }),
    state: 'updating',
    action: 'updateNetwork',
    params: { arn: SERVICE_ARN, drift: [], detach: false },
    network: { ...ATTACHED, vpcConnectorArn: ROTATED_CONNECTOR_ARN },
    kstatus: 'Reconciling',
    reason: 'Updating',
    requeueAfterMs: Requeue.operation,
    message: /^Updating service payments: egress connector differs from spec\.$/,
  },
  {
    name: 'sends the spec’s ingress and IP type when set, and calls a spec change no drift although Ready',
    given: observation({ ingress: false, ipAddressType: 'DUAL_STACK', ...status({ network: ATTACHED }) }),
    state: 'updating',
    action: 'updateNetwork',
    params: { arn: SERVICE_ARN, drift: [], detach: false },
    network: {
      egressType: 'VPC',
      vpcConnectorArn: CONNECTOR_ARN,
      isPubliclyAccessible: false,
      ipAddressType: 'DUAL_STACK',
    },
    kstatus: 'Reconciling',
    reason: 'Updating',
    requeueAfterMs: Requeue.operation,
    message: /ingress, IP address type differ from spec\./,
  },
  {
    name: 'updates a RUNNING service again when the failed update was of an older generation',
    given: observation({
      generation: 3,
      service: service({ network: DEFAULT_PUBLIC }),
      ...failedEarlier('FAILED', 2, ago(MIN)),
    }),
    state: 'updating',
    action: 'updateNetwork',
    params: { arn: SERVICE_ARN, drift: [], detach: false },
    network: ATTACHED,
    kstatus: 'Reconciling',
    reason: 'Updating',
    requeueAfterMs: Requeue.operation,
  },
  {
    name: 'tries a failed update of this generation again once 30 minutes have passed',
    given: observation({
      service: service({ network: DEFAULT_PUBLIC }),
      ...failedEarlier('FAILED', 2, ago(FAILED_OPERATION_RETRY_MS)),
    }),
    state: 'updating',
    action: 'updateNetwork',
    params: { arn: SERVICE_ARN, drift: [], detach: false },
    network: ATTACHED,
    kstatus: 'Reconciling',
    reason: 'Updating',
    requeueAfterMs: Requeue.operation,
  },
  {
    name: 'tries again at once when AWS refused an older generation',
    given: observation({
      generation: 3,
      service: service({ network: DEFAULT_PUBLIC }),
      status: {
        serviceGone: false,
        readyForGeneration: false,
        failure: { reason: 'InvalidInput', message: 'old', generation: 2, since: ago(MIN) },
      },
    }),
    state: 'updating',
    action: 'updateNetwork',
    params: { arn: SERVICE_ARN, drift: [], detach: false },
    network: ATTACHED,
    kstatus: 'Reconciling',
    reason: 'Updating',
    requeueAfterMs: Requeue.operation,
  },
  {
    name: 'sends DEFAULT egress without a connector ARN when spec asks for DEFAULT',
    given: observation({
      desiredEgress: defaultEgress,
      status: { serviceGone: false, readyForGeneration: false },
    }),
    state: 'updating',
    action: 'updateNetwork',
    params: { arn: SERVICE_ARN, drift: [], detach: false },
    network: DEFAULT_PUBLIC,
    kstatus: 'Reconciling',
    reason: 'Updating',
    requeueAfterMs: Requeue.operation,
  },
  {
    name: 'reports Ready Attached when AWS matches the spec',
    given: observation(),
    state: 'ready',
    action: 'reportReady',
    params: {},
    kstatus: 'Ready',
    reason: 'Attached',
    message: /^Service payments has egress VPC through .*team-a-web.*, public ingress, IPV4\.$/,
  },
  {
    name: 'reports Ready Detached when spec and AWS both say DEFAULT egress',
    given: observation({ desiredEgress: defaultEgress, service: service({ network: DEFAULT_PUBLIC }) }),
    state: 'ready',
    action: 'reportReady',
    params: {},
    kstatus: 'Ready',
    reason: 'Detached',
  },
  {
    name: 'reports Ready for a later generation whose spec AWS already has, though the update of the one before rolled back',
    given: observation({
      generation: 3,
      desiredEgress: defaultEgress,
      service: service({ network: DEFAULT_PUBLIC }),
      ...failedEarlier('ROLLBACK_SUCCEEDED', 2, ago(MIN)),
    }),
    state: 'ready',
    action: 'reportReady',
    params: {},
    kstatus: 'Ready',
    reason: 'Detached',
  },
  {
    name: 'reports Ready once its operation SUCCEEDED and AWS matches the spec',
    given: observation(tracking('SUCCEEDED')),
    state: 'ready',
    action: 'reportReady',
    params: {},
    kstatus: 'Ready',
    reason: 'Attached',
  },
  {
    name: 'reports Ready while the service still shows its ended operation, and looks again so its status settles',
    given: observation({ ...tracking('SUCCEEDED'), service: service({ status: 'OPERATION_IN_PROGRESS' }) }),
    state: 'ready',
    action: 'reportReady',
    params: {},
    kstatus: 'Ready',
    reason: 'Attached',
    requeueAfterMs: Requeue.operation,
  },
];

// ---- Tests ----

void describe('ServiceNetworking statechart', () => {
  for (const c of cases) {
    void it(c.name, () => {
      const decision = decide(c.given);
      assert.equal(decision.state, c.state);
      assert.equal(decision.actions.length, 1, 'one action per pass');
      const [action] = decision.actions;
      assert.equal(action?.type, c.action);
      if (action.type === 'updateNetwork') {
        const { network, ...rest } = action.params;
        assert.deepStrictEqual(rest, c.params);
        assert.deepStrictEqual(network, c.network, 'the complete network configuration');
      } else {
        assert.equal(c.network, undefined, 'network is only for updateNetwork rows');
        assert.deepStrictEqual(action.params, c.params);
      }
      assert.equal(decision.conditions.kstatus.kind, c.kstatus);
      assert.equal(decision.conditions.kstatus.reason, c.reason);
      assert.equal(decision.requeueAfterMs, c.requeueAfterMs);
      assert.equal(decision.finalizer, c.finalizer);
      if (c.message !== undefined) assert.match(decision.conditions.kstatus.message, c.message);
      if (c.given.deleting) {
        assert.partialDeepStrictEqual(decision.conditions.domain, [
          { type: 'DeletionBlocked', status: c.deletionBlocked ?? 'False' },
        ]);
        assert.equal(decision.conditions.domain.length, 1);
      } else {
        assert.equal(c.deletionBlocked, undefined, 'DeletionBlocked is only set while deleting');
        assert.deepEqual(decision.conditions.domain, []);
      }
    });
  }

  void it('sets DeletionBlocked=True with the report’s reason and message, and False/NotBlocked otherwise', () => {
    const blocked = decide(deleting(tracking('IN_PROGRESS')));
    assert.deepStrictEqual(blocked.conditions.domain, [
      {
        type: 'DeletionBlocked',
        status: 'True',
        reason: 'OperationInProgress',
        message: blocked.conditions.kstatus.message,
      },
    ]);
    assert.deepStrictEqual(decide(deleting()).conditions.domain, [
      { type: 'DeletionBlocked', status: 'False', reason: 'NotBlocked', message: 'Nothing blocks deletion.' },
    ]);
  });

  void it('never starts an UpdateService while the service reports OPERATION_IN_PROGRESS (invariant 4)', () => {
    const busy = service({ status: 'OPERATION_IN_PROGRESS', network: DEFAULT_PUBLIC });
    const variants: Partial<Observation>[] = [
      {},
      { status: { serviceGone: false, readyForGeneration: false } },
      { deleting: true },
      { deleting: true, desiredEgress: defaultEgress, service: service({ status: 'OPERATION_IN_PROGRESS' }) },
      { ...tracking(undefined) },
      { ...tracking('SUCCEEDED') },
      { ...tracking('FAILED') },
      { ...failedEarlier('FAILED', 1, ago(MIN)) },
      { ingress: false, ipAddressType: 'DUAL_STACK' },
    ];
    for (const variant of variants) {
      const decision = decide(observation({ service: busy, ...variant }));
      assert.notEqual(decision.actions[0]?.type, 'updateNetwork', decision.state);
    }
  });

  void it('never reports Ready for this generation after its update failed or rolled back (invariant 5)', () => {
    for (const listed of ['FAILED', 'ROLLBACK_SUCCEEDED', 'ROLLBACK_FAILED'] as const) {
      for (const network of [ATTACHED, DEFAULT_PUBLIC]) {
        const given = observation({ service: service({ network }), ...tracking(listed) });
        assert.equal(
          decide(given).conditions.kstatus.kind,
          'Stalled',
          `${listed}, egress ${network.egressType}`,
        );
      }
    }
    for (const recorded of ['FAILED', 'ROLLBACK_SUCCEEDED'] as const) {
      const given = observation(failedEarlier(recorded, 2, ago(FAILED_OPERATION_RETRY_MS - 1)));
      assert.equal(decide(given).conditions.kstatus.kind, 'Stalled', recorded);
    }
  });

  void it('never calls AWS for a service the namespace is not granted, unless deleting one it still owns (invariant 10)', () => {
    const awsActions: DecidedAction['type'][] = ['claimService', 'unclaimService', 'updateNetwork'];
    // What the plan reads for a deleting object without status.serviceName: nothing (no service, no tags).
    const neverManaged = withoutService({ deleting: true, serviceRead: false, owner: { kind: 'none' } });
    const variants: Observation[] = [
      observation(),
      observation({ owner: { kind: 'none' } }),
      observation({ owner: { kind: 'other', who: OTHER_OWNER } }),
      observation({ service: service({ network: DEFAULT_PUBLIC }) }),
      observation({ owner: { kind: 'none' }, status: { serviceGone: false, readyForGeneration: false } }),
      neverManaged,
      { ...neverManaged, deletionPolicy: 'Retain' },
      { ...neverManaged, ...tracking(undefined) },
      deleting({ owner: { kind: 'other', who: OTHER_OWNER } }),
      deleting({ owner: { kind: 'none' } }),
    ];
    for (const variant of variants) {
      const decision = decide({ ...variant, notPermitted: NOT_GRANTED });
      assert.ok(!awsActions.includes(decision.actions[0]?.type ?? 'awaitRemoval'), decision.state);
    }
    // The grant was revoked after the object attached and tagged the service: it undoes what it did.
    assert.equal(decide(deleting({ notPermitted: NOT_GRANTED })).actions[0]?.type, 'updateNetwork');
  });

  void it('decides the same way twice for the same observation (no hidden clock or state)', () => {
    for (const c of cases) assert.deepEqual(decide(c.given), decide(c.given));
  });

  void it('has a table row for every route out of deciding (graph walk)', (t) => {
    const machineStates = Object.keys(serviceNetworkingMachine.root.states).filter((s) => s !== 'deciding');
    const routes = serviceNetworkingMachine.root.states.deciding?.always ?? [];
    const targets = routes.map((route) => route.target?.[0]?.key ?? '(none)');
    assert.equal(new Set(targets).size, targets.length, 'each route has its own target state');
    assert.deepEqual(
      [...targets].sort(),
      [...machineStates].sort(),
      'every state is reachable from deciding',
    );
    assert.deepEqual([...STATE_NAMES], targets, 'STATE_NAMES lists the machine in routing order');
    assert.equal(targets.at(-1), 'ready', 'the fallthrough is ready');
    assert.equal(routes.at(-1)?.guard, undefined, 'the fallthrough has no guard');
    const covered = new Set(cases.map((c) => c.state));
    const missing = targets.filter((target) => !covered.has(target));
    assert.deepEqual(missing, [], `routes without a table row: ${missing.join(', ')}`);
    const guards = new Set(routes.flatMap((route) => guardNames(route.guard)));
    t.diagnostic(
      `${routes.length} paths (deciding -> state) over ${guards.size} named guards, covered by ${cases.length} table rows`,
    );
  });
});

/** The named guards a route's guard refers to (through and/not). */
function guardNames(guard: unknown): string[] {
  if (guard === undefined) return [];
  if (typeof guard === 'string') return [guard];
  if (typeof guard === 'function') {
    const g = guard as { guards?: unknown[]; guard?: unknown };
    if (Array.isArray(g.guards)) return g.guards.flatMap(guardNames);
    if (g.guard !== undefined) return guardNames(g.guard);
  }
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return [String(guard.type)];
  return [];
}
