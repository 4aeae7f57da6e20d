// The VpcConnector lifecycle as a statechart (the runtime's defineStatechart compiles the table below into
// XState v5), run as a pure decision function: the observation routes to the one state that describes this
// pass, and that state's action (with params) is the one thing the reconciler does. Nothing here executes.
// No `after` timers: waits are work-queue delays, and every time comparison uses observation.now. Each
// route goes to its own state, so the states are the paths of the graph.
import { ConditionType, OwnershipTag, VpcConnectorReason } from '../../api/constants.ts';
import { isNameOf, rotatedConnectorName } from '../../api/naming.ts';
import type { RoleDeletionObservation, Tags } from '../../aws/gateway.ts';
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
import type { Observation, SeenConnector } from './observe.ts';

/** How long a deletion AWS accepted may still read ACTIVE before the operator asks again. */
export const DELETE_CONFIRM_WINDOW_MS = 2 * 60_000;
/** How long after a FAILED service-linked role deletion task the operator starts a new one. */
export const ROLE_DELETION_RETRY_MS = 5 * 60_000;
export { TERMINAL_RETRY_MS };
/**
 * How long after AWS refused a create as invalid the operator keeps looking the name up before reporting the
 * refusal: a connector an earlier attempt created (its answer lost, or not listed yet) is refused the same
 * way, whatever AWS's words.
 */
export const CREATE_REFUSAL_CONFIRM_MS = 10_000;
/**
 * How long AWS's reads may lag a create (DescribeVpcConnector not finding the connector yet, a name lookup
 * finding it without its tags) before the operator takes what it reads at its word.
 */
export const READ_LAG_WINDOW_MS = 60_000;

export const Requeue = {
  confirm: 5_000,
  refusalLookup: 2_000,
  usersToMove: 15_000,
  /** Ready while services of the region are in motion: the users reported may still change. */
  usersSettle: 15_000,
  deletionBlocked: 30_000,
  roleDeletion: 10_000,
  observedMissing: 60_000,
  conflict: 5 * 60_000,
} as const;

/** The parameters of each action the reconciler may be asked to perform. */
export interface ActionParams {
  /** Deleting without our finalizer: the API server removes the object; nothing to do. */
  awaitRemoval: Record<string, never>;
  addFinalizer: Record<string, never>;
  removeFinalizer: { why: string };
  ensureServiceLinkedRole: Record<string, never>;
  /** Write status.createIntent (and status.region) before any create call (invariant 3). */
  recordCreateIntent: { region: string; name: string; replaces?: string };
  createConnector: CreateParams;
  createReplacement: CreateParams & { replaces: string };
  /** Record the connector as this object's (status.vpcConnectorArn; retiring = replaces), clear the intent. */
  adoptConnector: { arn: string; name: string; revision: number; replaces?: string };
  reportNameConflict: { name: string; arn: string; owner: string };
  /** Event, clear status.vpcConnectorArn and record a create intent for `name`, in one status write. */
  recreateAfterDrift: { goneArn: string; region: string; name: string };
  rejectImmutableChange: { fields: readonly string[] };
  waitForSpecChange: { reason: string; message: string };
  waitForUsersToMove: { arn: string; services: readonly string[] };
  /** DeleteVpcConnector; on success record status.retiring.deletionRequestedAt (see waitForInactive). */
  deleteOldConnector: { arn: string };
  waitForInactive: { arn: string };
  /** A create may have happened moments ago that a name lookup does not show yet: look again later. */
  waitForCreateToSettle: { name: string };
  /** The spec matches the connector a rotation was to replace again, and no replacement exists: clear the intent. */
  dropRotationIntent: { name: string };
  /** The name lookups found nothing after AWS refused the create: drop the intent, report the refusal. */
  reportCreateRefused: { name: string; code: string; message: string };
  /** Clear status.retiring: the rotation is over. */
  completeRotation: { retiredArn: string };
  /** TagResource with these entries (added or changed). */
  syncTags: { arn: string; tags: Tags };
  /** Record what AWS shows (Observe mode never mutates AWS). */
  observeOnly: { connector?: ConnectorSummary };
  reportReady: ConnectorSummary;
  blockDeletion: { serviceNetworkings: readonly string[]; services: readonly string[] };
  /**
   * DeleteVpcConnector (ConnectorInUseError is retried with backoff); on success record deletionRequestedAt
   * on status, or on status.retiring when `arn` is the retiring connector.
   */
  deleteConnector: { arn: string };
  /** Event naming what stays in AWS, then remove the finalizer. */
  retainOnDelete: { arns: readonly string[] };
  /** DeleteServiceLinkedRole; record status.serviceLinkedRoleDeletion { taskId, startedAt: now }. */
  deleteServiceLinkedRole: Record<string, never>;
  pollRoleDeletion: { taskId: string };
  reportRoleDeletionFailure: { taskId: string; reason?: string; usage: RoleDeletionObservation['usage'] };
}

export interface CreateParams {
  region: string;
  name: string;
  subnets: readonly string[];
  securityGroups: readonly string[];
  tags: Tags;
}

export interface ConnectorSummary {
  arn: string;
  name: string;
  revision: number;
  awsStatus: 'ACTIVE' | 'INACTIVE';
  services: readonly string[];
}

export type { KstatusKind } from '../../runtime/index.ts';
export type ActionType = keyof ActionParams;
export type DecidedAction = ActionOf<ActionParams>;

// ---- Facts derived from the observation (shared by guards, params and messages) ----

const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x) => b.includes(x));

/** The connector in status, when AWS shows it ACTIVE and its tags say it is this object's. */
function ownedCurrent(o: Observation): SeenConnector | undefined {
  return o.current?.active === true && o.current.owned ? o.current : undefined;
}

/** Every ACTIVE connector this object owns, in the order deletion removes them. */
function ownedActive(o: Observation): SeenConnector[] {
  const candidates = [o.retiring, o.current, o.byName];
  const result: SeenConnector[] = [];
  for (const c of candidates) {
    if (c?.active === true && c.owned && !result.some((r) => r.arn === c.arn)) result.push(c);
  }
  return result;
}

function blockingUsers(o: Observation): string[] {
  return [...new Set(ownedActive(o).flatMap((c) => c.users))].sort();
}

function acceptedRecently(requestedAt: Date | undefined, now: Date): boolean {
  return requestedAt !== undefined && now.getTime() - requestedAt.getTime() < DELETE_CONFIRM_WINDOW_MS;
}

/** The connector whose deletion AWS accepted but which still reads ACTIVE, within the confirm window. */
function awaitingInactive(o: Observation): SeenConnector | undefined {
  const current = ownedActive(o).find((c) => c.arn === o.status.arn);
  if (current !== undefined && acceptedRecently(o.status.deletionRequestedAt, o.now)) return current;
  const retiring = ownedActive(o).find((c) => c.arn === o.status.retiring?.arn);
  if (retiring !== undefined && acceptedRecently(o.status.retiring?.deletionRequestedAt, o.now))
    return retiring;
  return undefined;
}

function immutableDifferences(o: Observation): string[] {
  const current = ownedCurrent(o);
  if (current === undefined) return [];
  const fields: string[] = [];
  if (!sameSet(o.desired.subnets, current.subnets)) fields.push('subnets');
  if (o.desired.securityGroups.length > 0 && !sameSet(o.desired.securityGroups, current.securityGroups)) {
    fields.push('securityGroups');
  }
  if (!isNameOf(current.name, o.desired.name)) fields.push('vpcConnectorName');
  return fields;
}

function regionChanged(o: Observation): boolean {
  return o.status.region !== undefined && o.desired.region !== o.status.region;
}

function missingTags(o: Observation): Tags {
  const actual = ownedCurrent(o)?.tags;
  if (actual === undefined) return {};
  return Object.fromEntries(Object.entries(o.desired.tags).filter(([key, value]) => actual[key] !== value));
}

/** The name of the connector that replaces the current one: the new spec name, or a rotation of it. */
function replacementName(o: Observation): string {
  const current = ownedCurrent(o);
  return current !== undefined && !isNameOf(current.name, o.desired.name)
    ? o.desired.name
    : rotatedConnectorName(o.desired.name, o.generation);
}

function observedDifferences(o: Observation): string[] {
  const c = o.observed;
  if (c === undefined) return [];
  const fields: string[] = [];
  if (o.desired.subnets.length > 0 && !sameSet(o.desired.subnets, c.subnets)) fields.push('subnets');
  if (o.desired.securityGroups.length > 0 && !sameSet(o.desired.securityGroups, c.securityGroups)) {
    fields.push('securityGroups');
  }
  return fields;
}

function summary(c: SeenConnector): ConnectorSummary {
  return {
    arn: c.arn,
    name: c.name,
    revision: c.revision,
    awsStatus: c.active ? 'ACTIVE' : 'INACTIVE',
    services: c.attached ?? c.users,
  };
}

function createParams(o: Observation, name: string): CreateParams {
  return {
    region: o.desired.region,
    name,
    subnets: o.desired.subnets,
    securityGroups: o.desired.securityGroups,
    tags: o.desired.tags,
  };
}

function ownerOf(tags: Tags | undefined): string {
  const cluster = tags?.[OwnershipTag.cluster];
  const namespace = tags?.[OwnershipTag.namespace];
  const name = tags?.[OwnershipTag.name];
  if (cluster === undefined && namespace === undefined && name === undefined)
    return 'a connector without ownership tags';
  return `VpcConnector ${namespace ?? '?'}/${name ?? '?'} of cluster ${cluster ?? '?'}`;
}
/** Named guards: predicates over the observation. Their use in the table's order is the policy. */
const guards = {
  isDeleting: (o: Observation) => o.deleting,
  hasFinalizer: (o: Observation) => o.hasFinalizer,
  isObserveMode: (o: Observation) => o.managementPolicy === 'Observe',
  retainsOnDelete: (o: Observation) => o.deletionPolicy === 'Retain',
  deletionHasBlockers: (o: Observation) => o.referencedBy.length > 0 || blockingUsers(o).length > 0,
  deletionAcceptedRecently: (o: Observation) => awaitingInactive(o) !== undefined,
  ownsActiveConnector: (o: Observation) => ownedActive(o).length > 0,
  createIntentUnsettled: (o: Observation) =>
    o.status.createIntent !== undefined &&
    o.byName === undefined &&
    o.now.getTime() - o.status.createIntent.requestedAt.getTime() < DELETE_CONFIRM_WINDOW_MS,
  roleDeletionRunning: (o: Observation) =>
    o.roleDeletion?.status === 'NOT_STARTED' || o.roleDeletion?.status === 'IN_PROGRESS',
  roleDeletionFailedRecently: (o: Observation) =>
    o.roleDeletion?.status === 'FAILED' &&
    o.status.roleDeletion !== undefined &&
    o.now.getTime() - o.status.roleDeletion.startedAt.getTime() < ROLE_DELETION_RETRY_MS,
  roleDeletable: (o: Observation) =>
    o.serviceLinkedRoleDeletion === 'WhenUnused' &&
    o.role?.exists === true &&
    o.activeConnectorsInManagedRegions === 0,
  observedConnectorMissing: (o: Observation) => o.observed?.active !== true,
  observedConnectorDiffers: (o: Observation) => observedDifferences(o).length > 0,
  failedForThisGeneration: (o: Observation) => awaitingSpecChange(o.status.failure, o.generation, o.now),
  roleMissing: (o: Observation) => o.role?.exists === false,
  retiringGone: (o: Observation) => o.status.retiring !== undefined && o.retiring?.active !== true,
  retiringInUse: (o: Observation) => (o.retiring?.users.length ?? 0) > 0,
  retiringDeletionAcceptedRecently: (o: Observation) =>
    o.retiring !== undefined && acceptedRecently(o.status.retiring?.deletionRequestedAt, o.now),
  hasRetiring: (o: Observation) => o.status.retiring !== undefined,
  nameTakenByUs: (o: Observation) => o.byName?.owned === true,
  nameTakenByOther: (o: Observation) => o.byName !== undefined && !o.byName.owned,
  currentNotVisibleYet: (o: Observation) =>
    o.status.arn !== undefined &&
    (o.current === undefined || (o.current.active && Object.keys(o.current.tags ?? {}).length === 0)) &&
    o.status.recordedAt !== undefined &&
    o.now.getTime() - o.status.recordedAt.getTime() < READ_LAG_WINDOW_MS,
  nameTakenWithoutTagsYet: (o: Observation) =>
    o.byName !== undefined &&
    !o.byName.owned &&
    Object.keys(o.byName.tags ?? {}).length === 0 &&
    o.status.createIntent !== undefined &&
    o.now.getTime() - o.status.createIntent.requestedAt.getTime() < READ_LAG_WINDOW_MS,
  createRefusedRecently: (o: Observation) =>
    o.status.createIntent?.refused !== undefined &&
    o.byName === undefined &&
    o.now.getTime() - o.status.createIntent.refused.at.getTime() < CREATE_REFUSAL_CONFIRM_MS,
  createRefused: (o: Observation) => o.status.createIntent?.refused !== undefined && o.byName === undefined,
  // The spec changed back while a rotation waited for its create: the connector it was to replace matches again.
  rotationIntentReverted: (o: Observation) =>
    o.status.createIntent?.replaces !== undefined &&
    o.byName === undefined &&
    o.current?.active === true &&
    o.current.owned &&
    o.current.arn === o.status.createIntent.replaces &&
    immutableDifferences(o).length === 0,
  createIntentRecent: (o: Observation) =>
    o.status.createIntent !== undefined &&
    o.now.getTime() - o.status.createIntent.requestedAt.getTime() < READ_LAG_WINDOW_MS,
  rotationIntentRecorded: (o: Observation) => o.status.createIntent?.replaces !== undefined,
  createIntentRecorded: (o: Observation) => o.status.createIntent !== undefined && o.status.arn === undefined,
  hasNoConnector: (o: Observation) => o.status.arn === undefined,
  currentGone: (o: Observation) => o.current?.active !== true,
  currentForeign: (o: Observation) => o.current?.owned === false,
  immutableChangeRejected: (o: Observation) =>
    regionChanged(o) || (o.updatePolicy === 'Reject' && immutableDifferences(o).length > 0),
  immutableFieldsDiffer: (o: Observation) => immutableDifferences(o).length > 0,
  tagsDiffer: (o: Observation) => Object.keys(missingTags(o)).length > 0,
} as const;

export type GuardName = keyof typeof guards;

const none = (): Record<string, never> => ({});
const list = (items: readonly string[]): string => items.join(', ');
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const R = VpcConnectorReason;

/**
 * The states in routing order: each block is its route (`when`), its one action with parameters, and its
 * report. Deletion first (detach is others' finalizers, then connectors, then the opt-in role), then Observe
 * mode (read-only), then Manage: a rotation in progress finishes before anything else changes, and a create
 * records intent, finds by name and adopts only what the tags say is ours.
 */
const chart = defineStatechart({
  id: 'vpcConnector',
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
    releasingObserved: {
      description: 'Observe mode: the object goes, the connector stays untouched.',
      when: ['isDeleting', 'isObserveMode'],
      action: 'removeFinalizer',
      params: () => ({ why: 'managementPolicy is Observe' }),
      report: (o: Observation) =>
        reconciling(
          R.Deleting,
          `Observe mode: connector ${o.observed?.name ?? o.desired.name} is left untouched in AWS.`,
        ),
      finalizer: 'remove',
    },
    retaining: {
      description: 'deletionPolicy Retain: leave every connector in AWS and let the object go.',
      when: ['isDeleting', 'retainsOnDelete'],
      action: 'retainOnDelete',
      params: (o: Observation) => ({ arns: ownedActive(o).map((c) => c.arn) }),
      report: (o: Observation) => {
        const arns = ownedActive(o).map((c) => c.arn);
        return reconciling(
          R.Retained,
          arns.length === 0
            ? 'deletionPolicy is Retain; no connector to leave behind.'
            : `deletionPolicy is Retain: leaving ${list(arns)} in AWS.`,
        );
      },
      finalizer: 'remove',
    },
    blockingDeletion: {
      description: 'ServiceNetworkings still reference the object or services still use its connector.',
      when: ['isDeleting', 'deletionHasBlockers'],
      action: 'blockDeletion',
      params: (o: Observation) => ({ serviceNetworkings: o.referencedBy, services: blockingUsers(o) }),
      report: (o: Observation) => reconciling(R.DeletionBlocked, blockersMessage(o), Requeue.deletionBlocked),
    },
    waitingForDeletion: {
      description: 'AWS accepted the deletion; waiting for the connector to read INACTIVE.',
      when: ['isDeleting', 'deletionAcceptedRecently'],
      action: 'waitForInactive',
      params: (o: Observation) => ({ arn: guarded(awaitingInactive(o)).arn }),
      report: (o: Observation) =>
        reconciling(
          R.WaitingForDeletion,
          `Waiting for connector ${guarded(awaitingInactive(o)).name} to become INACTIVE.`,
          Requeue.confirm,
        ),
    },
    deletingConnector: {
      description: 'Delete the next connector this object owns (nothing uses it any more).',
      when: ['isDeleting', 'ownsActiveConnector'],
      action: 'deleteConnector',
      params: (o: Observation) => ({ arn: guarded(ownedActive(o)[0]).arn }),
      report: (o: Observation) =>
        reconciling(R.Deleting, `Deleting connector ${guarded(ownedActive(o)[0]).name}.`, Requeue.confirm),
    },
    settlingNewConnector: {
      description:
        'Deleting moments after a create: the connector is not readable yet, so it cannot be taken for gone.',
      when: ['isDeleting', 'currentNotVisibleYet'],
      action: 'waitForCreateToSettle',
      params: (o: Observation) => ({ name: guarded(o.status.arn) }),
      report: (o: Observation) =>
        reconciling(
          R.WaitingForDeletion,
          `Connector ${guarded(o.status.arn)}, created moments ago, is not readable in AWS yet; deleting it once it is.`,
          Requeue.refusalLookup,
        ),
    },
    settlingTags: {
      description:
        'Deleting while a connector by our name shows no tags yet: they may still be on their way.',
      when: ['isDeleting', 'nameTakenWithoutTagsYet'],
      action: 'waitForCreateToSettle',
      params: (o: Observation) => ({ name: guarded(o.byName).name }),
      report: (o: Observation) =>
        reconciling(
          R.WaitingForDeletion,
          `Connector ${guarded(o.byName).name} shows no tags yet; deciding whose it is before letting the object go.`,
          Requeue.refusalLookup,
        ),
    },
    settlingCreateIntent: {
      description:
        'A create intent is recent and the name lookup is empty: a fresh connector may not be listed yet.',
      when: ['isDeleting', 'createIntentUnsettled'],
      action: 'waitForCreateToSettle',
      params: (o: Observation) => ({ name: guarded(o.status.createIntent).name }),
      report: (o: Observation) => {
        const intent = guarded(o.status.createIntent);
        return reconciling(
          R.WaitingForDeletion,
          `Making sure connector ${intent.name}, whose creation was requested moments ago, does not exist before letting the object go.`,
          Math.max(
            Requeue.confirm,
            intent.requestedAt.getTime() + DELETE_CONFIRM_WINDOW_MS - o.now.getTime(),
          ),
        );
      },
    },
    pollingRoleDeletion: {
      description: 'The service-linked role deletion task is running.',
      when: ['isDeleting', 'roleDeletionRunning'],
      action: 'pollRoleDeletion',
      params: (o: Observation) => ({ taskId: guarded(o.status.roleDeletion).taskId }),
      report: (o: Observation) =>
        reconciling(
          R.DeletingServiceLinkedRole,
          `Deleting the App Runner networking service-linked role (task ${guarded(o.status.roleDeletion).taskId} is ${guarded(o.roleDeletion).status}).`,
          Requeue.roleDeletion,
        ),
    },
    roleDeletionFailed: {
      description: 'The role deletion task failed; a new one starts a few minutes after the last.',
      when: ['isDeleting', 'roleDeletionFailedRecently'],
      action: 'reportRoleDeletionFailure',
      params: (o: Observation) => {
        const task = guarded(o.roleDeletion);
        const params: ActionParams['reportRoleDeletionFailure'] = {
          taskId: guarded(o.status.roleDeletion).taskId,
          usage: task.usage,
        };
        if (task.reason !== undefined) params.reason = task.reason;
        return params;
      },
      report: (o: Observation) => {
        const task = guarded(o.roleDeletion);
        const startedAt = guarded(o.status.roleDeletion).startedAt.getTime();
        const retryIn = Math.max(Requeue.confirm, startedAt + ROLE_DELETION_RETRY_MS - o.now.getTime());
        const usage = task.usage.map((u) => `${u.region}: ${list(u.resources)}`);
        return reconciling(
          R.ServiceLinkedRoleDeletionFailed,
          `Deleting the service-linked role failed: "${task.reason ?? 'no reason given'}"` +
            (usage.length > 0 ? `; still used by ${usage.join('; ')}` : '') +
            `. Retrying in ${Math.ceil(retryIn / 60_000)} min; set --service-linked-role-deletion=Never to stop.`,
          retryIn,
        );
      },
    },
    deletingRole: {
      description: 'WhenUnused and no connector in any managed region: delete the service-linked role.',
      when: ['isDeleting', 'roleDeletable'],
      action: 'deleteServiceLinkedRole',
      params: none,
      report: () =>
        reconciling(
          R.DeletingServiceLinkedRole,
          'No connector is left in any managed region: deleting the App Runner networking service-linked role.',
          Requeue.roleDeletion,
        ),
    },
    removingFinalizer: {
      description: 'Every owned connector is INACTIVE or gone (and the role settled): let the object go.',
      when: ['isDeleting'],
      action: 'removeFinalizer',
      params: () => ({ why: 'every connector is deleted' }),
      report: () => reconciling(R.Deleting, 'Every connector is deleted; removing the finalizer.'),
      finalizer: 'remove',
    },
    observedMissing: {
      description: 'Observe mode: no ACTIVE connector by that name or ARN.',
      when: ['isObserveMode', 'observedConnectorMissing'],
      action: 'observeOnly',
      params: none,
      report: (o: Observation) =>
        stalled(
          R.ObservedConnectorNotFound,
          o.observeArn === undefined
            ? `Observe mode: no ACTIVE connector ${o.desired.name} in ${o.desired.region}; create it, or fix spec.vpcConnectorName or spec.region.`
            : `Observe mode: connector ${o.observeArn} does not exist or is not ACTIVE; fix spec.vpcConnectorArn.`,
          Requeue.observedMissing,
        ),
    },
    observedDiffers: {
      description: 'Observe mode: the connector exists but does not match the subnets or groups in spec.',
      when: ['isObserveMode', 'observedConnectorDiffers'],
      action: 'observeOnly',
      params: observedParams,
      report: (o: Observation) =>
        stalled(
          R.ObservedConnectorDiffers,
          `Observe mode: connector ${guarded(o.observed).name} has other ${list(observedDifferences(o))} than spec; the operator never changes an observed connector.`,
        ),
    },
    observing: {
      description: 'Observe mode: the connector exists and matches.',
      when: ['isObserveMode'],
      action: 'observeOnly',
      params: observedParams,
      report: (o: Observation) => {
        const observed = guarded(o.observed);
        return ready(
          R.Observed,
          `Observing connector ${observed.name} (ACTIVE, used by ${plural(observed.users.length, 'service')}).`,
        );
      },
    },
    addingFinalizer: {
      description: 'Fence deletion before creating anything in AWS.',
      when: ['!hasFinalizer'],
      action: 'addFinalizer',
      params: none,
      report: () => reconciling(R.AddingFinalizer, 'Adding the finalizer before creating anything in AWS.'),
      finalizer: 'add',
    },
    awaitingSpecChange: {
      description:
        'AWS refused this generation (invalid input, access, quota): wait for an edit, retry rarely.',
      when: ['failedForThisGeneration'],
      action: 'waitForSpecChange',
      params: (o: Observation) => {
        const failure = guarded(o.status.failure);
        return { reason: failure.reason, message: failure.message };
      },
      report: (o: Observation) => {
        const failure = guarded(o.status.failure);
        return stalled(
          failure.reason,
          failure.message,
          Math.max(Requeue.confirm, failure.since.getTime() + TERMINAL_RETRY_MS - o.now.getTime()),
        );
      },
    },
    ensuringRole: {
      description: 'The App Runner networking service-linked role is absent: create it.',
      when: ['roleMissing'],
      action: 'ensureServiceLinkedRole',
      params: none,
      report: () =>
        reconciling(R.CreatingServiceLinkedRole, 'Creating the App Runner networking service-linked role.'),
    },
    completingRotation: {
      description: 'The old connector is INACTIVE or gone: the rotation is over.',
      when: ['retiringGone'],
      action: 'completeRotation',
      params: (o: Observation) => ({ retiredArn: guarded(o.status.retiring).arn }),
      report: (o: Observation) =>
        reconciling(
          R.Rotating,
          `Old connector ${guarded(o.status.retiring).name} is deleted; finishing the rotation.`,
        ),
    },
    waitingForUsersToMove: {
      description: 'Services still use the old connector; their ServiceNetworkings move them to the new one.',
      when: ['retiringInUse'],
      action: 'waitForUsersToMove',
      params: (o: Observation) => {
        const retiring = guarded(o.retiring);
        return { arn: retiring.arn, services: retiring.users };
      },
      report: (o: Observation) => {
        const retiring = guarded(o.retiring);
        return reconciling(
          R.WaitingForServicesToMove,
          `Rotating: waiting for ${plural(retiring.users.length, 'service')} to move off connector ${retiring.name}: ${list(retiring.users)}.`,
          Requeue.usersToMove,
        );
      },
    },
    waitingForOldConnectorDeletion: {
      description: 'AWS accepted the deletion of the old connector; waiting for INACTIVE.',
      when: ['retiringDeletionAcceptedRecently'],
      action: 'waitForInactive',
      params: (o: Observation) => ({ arn: guarded(o.retiring).arn }),
      report: (o: Observation) =>
        reconciling(
          R.WaitingForDeletion,
          `Rotating: waiting for old connector ${guarded(o.retiring).name} to become INACTIVE.`,
          Requeue.confirm,
        ),
    },
    deletingOldConnector: {
      description: 'Nothing uses the old connector any more: delete it.',
      when: ['hasRetiring'],
      action: 'deleteOldConnector',
      params: (o: Observation) => ({ arn: guarded(o.status.retiring).arn }),
      report: (o: Observation) =>
        reconciling(
          R.DeletingOldConnector,
          `Rotating: deleting old connector ${guarded(o.status.retiring).name}.`,
          Requeue.confirm,
        ),
    },
    adopting: {
      description:
        'A connector with our name and our ownership tags exists (a create whose answer was lost).',
      when: ['nameTakenByUs'],
      action: 'adoptConnector',
      params: (o: Observation) => {
        const found = guarded(o.byName);
        const params: ActionParams['adoptConnector'] = {
          arn: found.arn,
          name: found.name,
          revision: found.revision,
        };
        if (o.status.createIntent?.replaces !== undefined) params.replaces = o.status.createIntent.replaces;
        return params;
      },
      report: (o: Observation) =>
        reconciling(
          R.Adopting,
          `Adopting connector ${guarded(o.byName).name}, which carries this object's ownership tags.`,
        ),
    },
    waitingForTags: {
      description:
        'A connector by our name shows no tags yet, moments after our create intent: AWS may not show them yet.',
      when: ['nameTakenWithoutTagsYet'],
      action: 'waitForCreateToSettle',
      params: (o: Observation) => ({ name: guarded(o.byName).name }),
      report: (o: Observation) =>
        reconciling(
          R.Adopting,
          `Connector ${guarded(o.byName).name} shows no tags yet (AWS's tag reads lag a create); looking again before deciding whose it is.`,
          Requeue.refusalLookup,
        ),
    },
    nameConflict: {
      description:
        'The name is taken by a connector that is not this object’s (invariant 9): never adopt it.',
      when: ['nameTakenByOther'],
      action: 'reportNameConflict',
      params: (o: Observation) => {
        const taken = guarded(o.byName);
        return { name: taken.name, arn: taken.arn, owner: ownerOf(taken.tags) };
      },
      report: (o: Observation) => {
        const taken = guarded(o.byName);
        return stalled(
          R.NameConflict,
          `Connector name ${taken.name} in ${o.desired.region} is taken by ${ownerOf(taken.tags)} (${taken.arn}); set another spec.vpcConnectorName or remove that connector.`,
          Requeue.conflict,
        );
      },
    },
    confirmingCreateRefusal: {
      description:
        'AWS refused the create as invalid moments ago and the name lookup is empty: look again before telling.',
      when: ['createRefusedRecently'],
      action: 'waitForCreateToSettle',
      params: (o: Observation) => ({ name: guarded(o.status.createIntent).name }),
      report: (o: Observation) => {
        const intent = guarded(o.status.createIntent);
        const refused = guarded(intent.refused);
        return reconciling(
          R.Creating,
          `AWS refused creating connector ${intent.name}: ${refused.code} "${refused.message}". ` +
            'Looking the name up before reporting it (a connector from an earlier attempt is refused the same way).',
          Requeue.refusalLookup,
        );
      },
    },
    createRefused: {
      description: 'No connector by that name turned up: the refusal is about the spec; wait for an edit.',
      when: ['createRefused'],
      action: 'reportCreateRefused',
      params: (o: Observation) => {
        const intent = guarded(o.status.createIntent);
        const refused = guarded(intent.refused);
        return { name: intent.name, code: refused.code, message: refused.message };
      },
      report: (o: Observation) => {
        const refused = guarded(guarded(o.status.createIntent).refused);
        return stalled(
          R.InvalidInput,
          `AWS refused CreateVpcConnector: ${refused.code} "${refused.message}". Fix the spec or the operator's permissions; the operator retries this generation every ${TERMINAL_RETRY_MS / 60_000} minutes.`,
          TERMINAL_RETRY_MS,
        );
      },
    },
    settlingRevertedRotation: {
      description:
        'The spec changed back before the replacement showed up; a create may have happened that reads do not show yet.',
      when: ['rotationIntentReverted', 'createIntentRecent'],
      action: 'waitForCreateToSettle',
      params: (o: Observation) => ({ name: guarded(o.status.createIntent).name }),
      report: (o: Observation) => {
        const intent = guarded(o.status.createIntent);
        return reconciling(
          R.Rotating,
          `The spec matches connector ${guarded(o.current).name} again: making sure replacement ${intent.name} was not created before dropping the rotation.`,
          Math.max(
            Requeue.refusalLookup,
            intent.requestedAt.getTime() + READ_LAG_WINDOW_MS - o.now.getTime(),
          ),
        );
      },
    },
    droppingRevertedRotation: {
      description:
        'The spec changed back and no replacement exists: drop the rotation instead of creating a twin.',
      when: ['rotationIntentReverted'],
      action: 'dropRotationIntent',
      params: (o: Observation) => ({ name: guarded(o.status.createIntent).name }),
      report: (o: Observation) =>
        reconciling(
          R.Rotating,
          `The spec matches connector ${guarded(o.current).name} again: dropped the rotation to ${guarded(o.status.createIntent).name}.`,
          Requeue.refusalLookup,
        ),
    },
    creatingReplacement: {
      description: 'Rotation intent recorded and the new name is free: create the replacement.',
      when: ['rotationIntentRecorded'],
      action: 'createReplacement',
      params: (o: Observation) => {
        const intent = guarded(o.status.createIntent);
        return { ...createParams(o, intent.name), replaces: guarded(intent.replaces) };
      },
      report: (o: Observation) =>
        reconciling(
          R.Rotating,
          `Rotating: creating replacement connector ${guarded(o.status.createIntent).name}.`,
        ),
    },
    creatingConnector: {
      description: 'Create intent recorded and the name is free: create the connector.',
      when: ['createIntentRecorded'],
      action: 'createConnector',
      params: (o: Observation) => createParams(o, guarded(o.status.createIntent).name),
      report: (o: Observation) =>
        reconciling(R.Creating, `Creating connector ${guarded(o.status.createIntent).name}.`),
    },
    recordingCreateIntent: {
      description: 'No connector yet: record the intent to create one before calling AWS.',
      when: ['hasNoConnector'],
      action: 'recordCreateIntent',
      params: (o: Observation) => ({ region: o.desired.region, name: o.desired.name }),
      report: (o: Observation) =>
        reconciling(R.Creating, `Creating connector ${o.desired.name} in ${o.desired.region}.`),
    },
    waitingForNewConnector: {
      description:
        'The connector recorded moments ago is not readable yet (reads lag a create): never recreate it.',
      when: ['currentNotVisibleYet'],
      action: 'waitForCreateToSettle',
      params: (o: Observation) => ({ name: guarded(o.status.arn) }),
      report: (o: Observation) =>
        reconciling(
          R.Creating,
          `Connector ${guarded(o.status.arn)} was created moments ago and AWS does not show it (or its tags) yet; looking again.`,
          Requeue.refusalLookup,
        ),
    },
    recreatingAfterDrift: {
      description: 'The connector in status was deleted out of band: start over with a new create intent.',
      when: ['currentGone'],
      action: 'recreateAfterDrift',
      params: (o: Observation) => ({
        goneArn: guarded(o.status.arn),
        region: o.desired.region,
        name: o.desired.name,
      }),
      report: (o: Observation) =>
        reconciling(
          R.DeletedOutOfBand,
          `Connector ${guarded(o.status.arn)} was deleted outside the operator; creating it again.`,
        ),
    },
    foreignConnector: {
      description: 'The connector in status does not carry this object’s ownership tags: never touch it.',
      when: ['currentForeign'],
      action: 'reportNameConflict',
      params: (o: Observation) => {
        const current = guarded(o.current);
        return { name: current.name, arn: current.arn, owner: ownerOf(current.tags) };
      },
      report: (o: Observation) => {
        const current = guarded(o.current);
        return stalled(
          R.NameConflict,
          `Connector ${current.arn} belongs to ${ownerOf(current.tags)}, not to this object; the operator will not change or delete it.`,
          Requeue.conflict,
        );
      },
    },
    rejectingChange: {
      description:
        'An immutable field changed and the policy (or the field) forbids replacing the connector.',
      when: ['immutableChangeRejected'],
      action: 'rejectImmutableChange',
      params: (o: Observation) => ({ fields: rejectedFields(o) }),
      report: (o: Observation) => {
        const fields = rejectedFields(o);
        return stalled(
          R.ImmutableFieldChanged,
          `spec.${fields.join(', spec.')} differ${fields.length === 1 ? 's' : ''} from connector ${guarded(o.current).name}, which cannot change in place` +
            (fields.includes('region')
              ? '; a connector cannot move region: create a new VpcConnector.'
              : '; set updatePolicy: Rotate to replace it, or restore the spec.'),
        );
      },
    },
    recordingRotationIntent: {
      description: 'updatePolicy Rotate and an immutable field changed: record the replacement intent.',
      when: ['immutableFieldsDiffer'],
      action: 'recordCreateIntent',
      params: (o: Observation) => ({
        region: o.desired.region,
        name: replacementName(o),
        replaces: guarded(o.current).arn,
      }),
      report: (o: Observation) =>
        reconciling(
          R.Rotating,
          `Rotating: spec.${immutableDifferences(o).join(', spec.')} changed; creating ${replacementName(o)} to replace ${guarded(o.current).name}.`,
        ),
    },
    syncingTags: {
      description: 'Tags in spec (or ownership tags) are missing or differ on the connector.',
      when: ['tagsDiffer'],
      action: 'syncTags',
      params: (o: Observation) => ({ arn: guarded(o.current).arn, tags: missingTags(o) }),
      report: (o: Observation) =>
        reconciling(
          R.UpdatingTags,
          `Updating tags ${list(Object.keys(missingTags(o)))} on connector ${guarded(o.current).name}.`,
        ),
    },
    ready: {
      description: 'AWS matches the spec.',
      when: [],
      action: 'reportReady',
      params: (o: Observation) => summary(guarded(o.current)),
      // While a service of the region is in motion, the users counted may change without an event: look again.
      report: (o: Observation) => {
        const current = guarded(o.current);
        return ready(
          R.Available,
          `Connector ${current.name} (revision ${current.revision}) is ACTIVE and used by ${plural((current.attached ?? current.users).length, 'service')}.`,
          o.servicesInMotion === true ? Requeue.usersSettle : undefined,
        );
      },
    },
  } satisfies Record<string, StateSpec<Observation, GuardName, ActionParams>>,
});

export const vpcConnectorMachine = chart.machine;
/** Every state `deciding` routes to, in routing order. */
export const STATE_NAMES = chart.stateNames;
export type StateName = (typeof STATE_NAMES)[number];
export type Decision = ChartDecision<StateName, ActionParams>;

function observedParams(o: Observation): ActionParams['observeOnly'] {
  return { connector: summary(guarded(o.observed)) };
}

function rejectedFields(o: Observation): string[] {
  return regionChanged(o) ? ['region', ...immutableDifferences(o)] : immutableDifferences(o);
}

function blockersMessage(o: Observation): string {
  const parts: string[] = [];
  if (o.referencedBy.length > 0) {
    parts.push(
      `ServiceNetworking ${list(o.referencedBy.map((n) => `${o.namespace}/${n}`))} still reference${o.referencedBy.length === 1 ? 's' : ''} it`,
    );
  }
  const users = blockingUsers(o);
  if (users.length > 0)
    parts.push(
      `App Runner ${users.length === 1 ? 'service' : 'services'} ${list(users)} still ${users.length === 1 ? 'uses' : 'use'} the connector`,
    );
  return `Deletion waits: ${parts.join('; ')}.`;
}

function domainConditions(state: string, o: Observation, report: Report): DecidedCondition[] {
  const conditions: DecidedCondition[] = [];
  if (o.managementPolicy === 'Manage' && o.role !== undefined) {
    conditions.push(
      o.role.exists
        ? {
            type: ConditionType.ServiceLinkedRoleReady,
            status: 'True',
            reason: R.ServiceLinkedRolePresent,
            message: 'The App Runner networking service-linked role exists.',
          }
        : {
            type: ConditionType.ServiceLinkedRoleReady,
            status: 'False',
            reason: R.ServiceLinkedRoleAbsent,
            message: 'The App Runner networking service-linked role does not exist.',
          },
    );
  }
  if (o.deleting) {
    const blocked = state === 'blockingDeletion' || state === 'roleDeletionFailed';
    conditions.push(
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
    );
  }
  return conditions;
}

/**
 * The pure decision for one pass: the state the observation routes to, the one action to perform, the
 * conditions to write, the finalizer change and when to look again. Executes nothing.
 */
export function decide(observation: Observation): Decision {
  return chart.decide(observation);
}
