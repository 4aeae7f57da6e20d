// The VpcConnector lifecycle as an XState v5 statechart, run as a pure decision function. The initial
// state `deciding` routes, through ordered `always` transitions with named guards over the Observation, to
// the one state that describes this pass; that state's entry action (with params) is the one thing the
// reconciler does. Nothing here executes: decide() returns the state, the action, the conditions and the
// requeue delay. No `after` timers: waits are work-queue delays, and every time comparison uses
// observation.now. Each route goes to its own state, so the states are the paths of the graph.
import { and, initialTransition, not, setup } from 'xstate';
import { ConditionType, OwnershipTag, VpcConnectorReason } from '../../api/constants.ts';
import { isNameOf, rotatedConnectorName } from '../../api/naming.ts';
import type { RoleDeletionObservation, Tags } from '../../aws/gateway.ts';
import type { Observation, SeenConnector } from './observe.ts';

/** How long a deletion AWS accepted may still read ACTIVE before the operator asks again. */
export const DELETE_CONFIRM_WINDOW_MS = 2 * 60_000;
/** How long after a FAILED service-linked role deletion task the operator starts a new one. */
export const ROLE_DELETION_RETRY_MS = 5 * 60_000;
/** How long the operator waits on a spec that AWS refused before trying it again anyway. */
export const TERMINAL_RETRY_MS = 10 * 60_000;

export const Requeue = {
  confirm: 5_000,
  usersToMove: 15_000,
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

export type ActionType = keyof ActionParams;
export type DecidedAction = { [K in ActionType]: { type: K; params: ActionParams[K] } }[ActionType];

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
    services: c.users,
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

/** Named guards: predicates over the observation. Their order in `deciding` is the policy. */
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
  failedForThisGeneration: (o: Observation) =>
    o.status.failure !== undefined &&
    o.status.failure.generation === o.generation &&
    o.now.getTime() - o.status.failure.since.getTime() < TERMINAL_RETRY_MS,
  roleMissing: (o: Observation) => o.role?.exists === false,
  retiringGone: (o: Observation) => o.status.retiring !== undefined && o.retiring?.active !== true,
  retiringInUse: (o: Observation) => (o.retiring?.users.length ?? 0) > 0,
  retiringDeletionAcceptedRecently: (o: Observation) =>
    o.retiring !== undefined && acceptedRecently(o.status.retiring?.deletionRequestedAt, o.now),
  hasRetiring: (o: Observation) => o.status.retiring !== undefined,
  nameTakenByUs: (o: Observation) => o.byName?.owned === true,
  nameTakenByOther: (o: Observation) => o.byName !== undefined && !o.byName.owned,
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

type GuardImpls = { [K in GuardName]: (args: { context: Observation }) => boolean };
const guardImpls = Object.fromEntries(
  Object.entries(guards).map(([name, predicate]) => [
    name,
    ({ context }: { context: Observation }) => predicate(context),
  ]),
) as GuardImpls;

/** Action implementations do nothing: the machine only decides; the reconciler acts. */
type ActionImpls = { [K in ActionType]: (args: unknown, params: ActionParams[K]) => void };
const decisionOnly = (): void => undefined;
const actionImpls: ActionImpls = {
  awaitRemoval: decisionOnly,
  addFinalizer: decisionOnly,
  removeFinalizer: decisionOnly,
  ensureServiceLinkedRole: decisionOnly,
  recordCreateIntent: decisionOnly,
  createConnector: decisionOnly,
  createReplacement: decisionOnly,
  adoptConnector: decisionOnly,
  reportNameConflict: decisionOnly,
  recreateAfterDrift: decisionOnly,
  rejectImmutableChange: decisionOnly,
  waitForSpecChange: decisionOnly,
  waitForUsersToMove: decisionOnly,
  deleteOldConnector: decisionOnly,
  waitForInactive: decisionOnly,
  waitForCreateToSettle: decisionOnly,
  completeRotation: decisionOnly,
  syncTags: decisionOnly,
  observeOnly: decisionOnly,
  reportReady: decisionOnly,
  blockDeletion: decisionOnly,
  deleteConnector: decisionOnly,
  retainOnDelete: decisionOnly,
  deleteServiceLinkedRole: decisionOnly,
  pollRoleDeletion: decisionOnly,
  reportRoleDeletionFailure: decisionOnly,
};

type Ctx = { context: Observation };
const none = (): Record<string, never> => ({});

export const vpcConnectorMachine = setup({
  types: { context: {} as Observation, input: {} as Observation },
  guards: guardImpls,
  actions: actionImpls,
}).createMachine({
  id: 'vpcConnector',
  context: ({ input }) => input,
  initial: 'deciding',
  states: {
    deciding: {
      description: 'Routes the observation to the state of this pass; the first guard that holds wins.',
      always: [
        // Deletion: detach first (others' finalizers), then delete connectors, then (opt-in) the role.
        { guard: and(['isDeleting', not('hasFinalizer')]), target: 'released' },
        { guard: and(['isDeleting', 'isObserveMode']), target: 'releasingObserved' },
        { guard: and(['isDeleting', 'retainsOnDelete']), target: 'retaining' },
        { guard: and(['isDeleting', 'deletionHasBlockers']), target: 'blockingDeletion' },
        { guard: and(['isDeleting', 'deletionAcceptedRecently']), target: 'waitingForDeletion' },
        { guard: and(['isDeleting', 'ownsActiveConnector']), target: 'deletingConnector' },
        { guard: and(['isDeleting', 'createIntentUnsettled']), target: 'settlingCreateIntent' },
        { guard: and(['isDeleting', 'roleDeletionRunning']), target: 'pollingRoleDeletion' },
        { guard: and(['isDeleting', 'roleDeletionFailedRecently']), target: 'roleDeletionFailed' },
        { guard: and(['isDeleting', 'roleDeletable']), target: 'deletingRole' },
        { guard: 'isDeleting', target: 'removingFinalizer' },
        // Observe: read-only, never a finalizer, never an AWS write.
        { guard: and(['isObserveMode', 'observedConnectorMissing']), target: 'observedMissing' },
        { guard: and(['isObserveMode', 'observedConnectorDiffers']), target: 'observedDiffers' },
        { guard: 'isObserveMode', target: 'observing' },
        // Manage.
        { guard: not('hasFinalizer'), target: 'addingFinalizer' },
        { guard: 'failedForThisGeneration', target: 'awaitingSpecChange' },
        { guard: 'roleMissing', target: 'ensuringRole' },
        // A rotation in progress finishes before anything else changes.
        { guard: 'retiringGone', target: 'completingRotation' },
        { guard: 'retiringInUse', target: 'waitingForUsersToMove' },
        { guard: 'retiringDeletionAcceptedRecently', target: 'waitingForOldConnectorDeletion' },
        { guard: 'hasRetiring', target: 'deletingOldConnector' },
        // Crash-safe create: intent first, then find by name, adopt only what the tags say is ours.
        { guard: 'nameTakenByUs', target: 'adopting' },
        { guard: 'nameTakenByOther', target: 'nameConflict' },
        { guard: 'rotationIntentRecorded', target: 'creatingReplacement' },
        { guard: 'createIntentRecorded', target: 'creatingConnector' },
        { guard: 'hasNoConnector', target: 'recordingCreateIntent' },
        // The connector in status.
        { guard: 'currentGone', target: 'recreatingAfterDrift' },
        { guard: 'currentForeign', target: 'foreignConnector' },
        { guard: 'immutableChangeRejected', target: 'rejectingChange' },
        { guard: 'immutableFieldsDiffer', target: 'recordingRotationIntent' },
        { guard: 'tagsDiffer', target: 'syncingTags' },
        { target: 'ready' },
      ],
    },
    released: {
      description: 'Being deleted without our finalizer: nothing left to do.',
      entry: { type: 'awaitRemoval', params: none },
    },
    releasingObserved: {
      description: 'Observe mode: the object goes, the connector stays untouched.',
      entry: { type: 'removeFinalizer', params: () => ({ why: 'managementPolicy is Observe' }) },
    },
    retaining: {
      description: 'deletionPolicy Retain: leave every connector in AWS and let the object go.',
      entry: {
        type: 'retainOnDelete',
        params: ({ context }: Ctx) => ({ arns: ownedActive(context).map((c) => c.arn) }),
      },
    },
    blockingDeletion: {
      description: 'ServiceNetworkings still reference the object or services still use its connector.',
      entry: {
        type: 'blockDeletion',
        params: ({ context }: Ctx) => ({
          serviceNetworkings: context.referencedBy,
          services: blockingUsers(context),
        }),
      },
    },
    waitingForDeletion: {
      description: 'AWS accepted the deletion; waiting for the connector to read INACTIVE.',
      entry: {
        type: 'waitForInactive',
        params: ({ context }: Ctx) => ({ arn: awaitingInactive(context)?.arn ?? '' }),
      },
    },
    deletingConnector: {
      description: 'Delete the next connector this object owns (nothing uses it any more).',
      entry: {
        type: 'deleteConnector',
        params: ({ context }: Ctx) => ({ arn: ownedActive(context)[0]?.arn ?? '' }),
      },
    },
    settlingCreateIntent: {
      description:
        'A create intent is recent and the name lookup is empty: a fresh connector may not be listed yet.',
      entry: {
        type: 'waitForCreateToSettle',
        params: ({ context }: Ctx) => ({ name: context.status.createIntent?.name ?? '' }),
      },
    },
    pollingRoleDeletion: {
      description: 'The service-linked role deletion task is running.',
      entry: {
        type: 'pollRoleDeletion',
        params: ({ context }: Ctx) => ({ taskId: context.status.roleDeletion?.taskId ?? '' }),
      },
    },
    roleDeletionFailed: {
      description: 'The role deletion task failed; a new one starts a few minutes after the last.',
      entry: {
        type: 'reportRoleDeletionFailure',
        params: ({ context }: Ctx) => {
          const params: ActionParams['reportRoleDeletionFailure'] = {
            taskId: context.status.roleDeletion?.taskId ?? '',
            usage: context.roleDeletion?.usage ?? [],
          };
          if (context.roleDeletion?.reason !== undefined) params.reason = context.roleDeletion.reason;
          return params;
        },
      },
    },
    deletingRole: {
      description: 'WhenUnused and no connector in any managed region: delete the service-linked role.',
      entry: { type: 'deleteServiceLinkedRole', params: none },
    },
    removingFinalizer: {
      description: 'Every owned connector is INACTIVE or gone (and the role settled): let the object go.',
      entry: { type: 'removeFinalizer', params: () => ({ why: 'every connector is deleted' }) },
    },
    observedMissing: {
      description: 'Observe mode: no ACTIVE connector by that name or ARN.',
      entry: { type: 'observeOnly', params: none },
    },
    observedDiffers: {
      description: 'Observe mode: the connector exists but does not match the subnets or groups in spec.',
      entry: { type: 'observeOnly', params: ({ context }: Ctx) => observedParams(context) },
    },
    observing: {
      description: 'Observe mode: the connector exists and matches.',
      entry: { type: 'observeOnly', params: ({ context }: Ctx) => observedParams(context) },
    },
    addingFinalizer: {
      description: 'Fence deletion before creating anything in AWS.',
      entry: { type: 'addFinalizer', params: none },
    },
    awaitingSpecChange: {
      description:
        'AWS refused this generation (invalid input, access, quota): wait for an edit, retry rarely.',
      entry: {
        type: 'waitForSpecChange',
        params: ({ context }: Ctx) => ({
          reason: context.status.failure?.reason ?? '',
          message: context.status.failure?.message ?? '',
        }),
      },
    },
    ensuringRole: {
      description: 'The App Runner networking service-linked role is absent: create it.',
      entry: { type: 'ensureServiceLinkedRole', params: none },
    },
    completingRotation: {
      description: 'The old connector is INACTIVE or gone: the rotation is over.',
      entry: {
        type: 'completeRotation',
        params: ({ context }: Ctx) => ({ retiredArn: context.status.retiring?.arn ?? '' }),
      },
    },
    waitingForUsersToMove: {
      description: 'Services still use the old connector; their ServiceNetworkings move them to the new one.',
      entry: {
        type: 'waitForUsersToMove',
        params: ({ context }: Ctx) => ({
          arn: context.retiring?.arn ?? '',
          services: context.retiring?.users ?? [],
        }),
      },
    },
    waitingForOldConnectorDeletion: {
      description: 'AWS accepted the deletion of the old connector; waiting for INACTIVE.',
      entry: {
        type: 'waitForInactive',
        params: ({ context }: Ctx) => ({ arn: context.retiring?.arn ?? '' }),
      },
    },
    deletingOldConnector: {
      description: 'Nothing uses the old connector any more: delete it.',
      entry: {
        type: 'deleteOldConnector',
        params: ({ context }: Ctx) => ({ arn: context.status.retiring?.arn ?? '' }),
      },
    },
    adopting: {
      description:
        'A connector with our name and our ownership tags exists (a create whose answer was lost).',
      entry: {
        type: 'adoptConnector',
        params: ({ context }: Ctx) => {
          const found = context.byName;
          const params: ActionParams['adoptConnector'] = {
            arn: found?.arn ?? '',
            name: found?.name ?? '',
            revision: found?.revision ?? 0,
          };
          if (context.status.createIntent?.replaces !== undefined)
            params.replaces = context.status.createIntent.replaces;
          return params;
        },
      },
    },
    nameConflict: {
      description:
        'The name is taken by a connector that is not this object’s (invariant 9): never adopt it.',
      entry: {
        type: 'reportNameConflict',
        params: ({ context }: Ctx) => ({
          name: context.byName?.name ?? '',
          arn: context.byName?.arn ?? '',
          owner: ownerOf(context.byName?.tags),
        }),
      },
    },
    creatingReplacement: {
      description: 'Rotation intent recorded and the new name is free: create the replacement.',
      entry: {
        type: 'createReplacement',
        params: ({ context }: Ctx) => ({
          ...createParams(context, context.status.createIntent?.name ?? context.desired.name),
          replaces: context.status.createIntent?.replaces ?? '',
        }),
      },
    },
    creatingConnector: {
      description: 'Create intent recorded and the name is free: create the connector.',
      entry: {
        type: 'createConnector',
        params: ({ context }: Ctx) =>
          createParams(context, context.status.createIntent?.name ?? context.desired.name),
      },
    },
    recordingCreateIntent: {
      description: 'No connector yet: record the intent to create one before calling AWS.',
      entry: {
        type: 'recordCreateIntent',
        params: ({ context }: Ctx) => ({ region: context.desired.region, name: context.desired.name }),
      },
    },
    recreatingAfterDrift: {
      description: 'The connector in status was deleted out of band: start over with a new create intent.',
      entry: {
        type: 'recreateAfterDrift',
        params: ({ context }: Ctx) => ({
          goneArn: context.status.arn ?? '',
          region: context.desired.region,
          name: context.desired.name,
        }),
      },
    },
    foreignConnector: {
      description: 'The connector in status does not carry this object’s ownership tags: never touch it.',
      entry: {
        type: 'reportNameConflict',
        params: ({ context }: Ctx) => ({
          name: context.current?.name ?? '',
          arn: context.current?.arn ?? '',
          owner: ownerOf(context.current?.tags),
        }),
      },
    },
    rejectingChange: {
      description:
        'An immutable field changed and the policy (or the field) forbids replacing the connector.',
      entry: {
        type: 'rejectImmutableChange',
        params: ({ context }: Ctx) => ({
          fields: regionChanged(context)
            ? ['region', ...immutableDifferences(context)]
            : immutableDifferences(context),
        }),
      },
    },
    recordingRotationIntent: {
      description: 'updatePolicy Rotate and an immutable field changed: record the replacement intent.',
      entry: {
        type: 'recordCreateIntent',
        params: ({ context }: Ctx) => ({
          region: context.desired.region,
          name: replacementName(context),
          replaces: context.current?.arn ?? '',
        }),
      },
    },
    syncingTags: {
      description: 'Tags in spec (or ownership tags) are missing or differ on the connector.',
      entry: {
        type: 'syncTags',
        params: ({ context }: Ctx) => ({ arn: context.current?.arn ?? '', tags: missingTags(context) }),
      },
    },
    ready: {
      description: 'AWS matches the spec.',
      entry: {
        type: 'reportReady',
        params: ({ context }: Ctx) =>
          context.current === undefined
            ? { arn: '', name: '', revision: 0, awsStatus: 'INACTIVE' as const, services: [] }
            : summary(context.current),
      },
    },
  },
});

function observedParams(o: Observation): ActionParams['observeOnly'] {
  return o.observed === undefined ? {} : { connector: summary(o.observed) };
}

/** Every state `deciding` routes to; a unit test checks this list against the machine. */
export const STATE_NAMES = [
  'released',
  'releasingObserved',
  'retaining',
  'blockingDeletion',
  'waitingForDeletion',
  'deletingConnector',
  'settlingCreateIntent',
  'pollingRoleDeletion',
  'roleDeletionFailed',
  'deletingRole',
  'removingFinalizer',
  'observedMissing',
  'observedDiffers',
  'observing',
  'addingFinalizer',
  'awaitingSpecChange',
  'ensuringRole',
  'completingRotation',
  'waitingForUsersToMove',
  'waitingForOldConnectorDeletion',
  'deletingOldConnector',
  'adopting',
  'nameConflict',
  'creatingReplacement',
  'creatingConnector',
  'recordingCreateIntent',
  'recreatingAfterDrift',
  'foreignConnector',
  'rejectingChange',
  'recordingRotationIntent',
  'syncingTags',
  'ready',
] as const;
export type StateName = (typeof STATE_NAMES)[number];

// ---- What each state reports: kstatus, domain conditions, requeue ----

export type KstatusKind = 'Ready' | 'Reconciling' | 'Stalled';

export interface DecidedCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export interface DecidedConditions {
  /** Apply with the runtime's markReady / markReconciling / markStalled (Ready carries the same reason). */
  kstatus: { kind: KstatusKind; reason: string; message: string };
  /** Domain conditions to set; a type absent here is left as it is. */
  domain: DecidedCondition[];
}

export interface Decision {
  state: StateName;
  /** Exactly one action per pass. */
  actions: DecidedAction[];
  conditions: DecidedConditions;
  /** Requeue after this delay (the pass is waiting on AWS or on other objects); undefined: only on change. */
  requeueAfterMs?: number;
}

interface Report {
  kind: KstatusKind;
  reason: string;
  message: string;
  requeueAfterMs?: number;
}

const list = (items: readonly string[]): string => items.join(', ');
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const reconciling = (reason: string, message: string, requeueAfterMs?: number): Report =>
  requeueAfterMs === undefined
    ? { kind: 'Reconciling', reason, message }
    : { kind: 'Reconciling', reason, message, requeueAfterMs };
const stalled = (reason: string, message: string, requeueAfterMs?: number): Report =>
  requeueAfterMs === undefined
    ? { kind: 'Stalled', reason, message }
    : { kind: 'Stalled', reason, message, requeueAfterMs };

const R = VpcConnectorReason;

const reports: { [S in StateName]: (o: Observation) => Report } = {
  released: () => reconciling(R.Deleting, 'The object is being deleted.'),
  releasingObserved: (o) =>
    reconciling(
      R.Deleting,
      `Observe mode: connector ${o.observed?.name ?? o.desired.name} is left untouched in AWS.`,
    ),
  retaining: (o) => {
    const arns = ownedActive(o).map((c) => c.arn);
    return reconciling(
      R.Retained,
      arns.length === 0
        ? 'deletionPolicy is Retain; no connector to leave behind.'
        : `deletionPolicy is Retain: leaving ${list(arns)} in AWS.`,
    );
  },
  blockingDeletion: (o) => reconciling(R.DeletionBlocked, blockersMessage(o), Requeue.deletionBlocked),
  waitingForDeletion: (o) =>
    reconciling(
      R.WaitingForDeletion,
      `Waiting for connector ${awaitingInactive(o)?.name ?? ''} to become INACTIVE.`,
      Requeue.confirm,
    ),
  deletingConnector: (o) =>
    reconciling(R.Deleting, `Deleting connector ${ownedActive(o)[0]?.name ?? ''}.`, Requeue.confirm),
  settlingCreateIntent: (o) => {
    const requestedAt = o.status.createIntent?.requestedAt.getTime() ?? o.now.getTime();
    return reconciling(
      R.WaitingForDeletion,
      `Making sure connector ${o.status.createIntent?.name ?? ''}, whose creation was requested moments ago, does not exist before letting the object go.`,
      Math.max(Requeue.confirm, requestedAt + DELETE_CONFIRM_WINDOW_MS - o.now.getTime()),
    );
  },
  pollingRoleDeletion: (o) =>
    reconciling(
      R.DeletingServiceLinkedRole,
      `Deleting the App Runner networking service-linked role (task ${o.status.roleDeletion?.taskId ?? ''} is ${o.roleDeletion?.status ?? 'pending'}).`,
      Requeue.roleDeletion,
    ),
  roleDeletionFailed: (o) => {
    const startedAt = o.status.roleDeletion?.startedAt.getTime() ?? o.now.getTime();
    const retryIn = Math.max(Requeue.confirm, startedAt + ROLE_DELETION_RETRY_MS - o.now.getTime());
    const usage = (o.roleDeletion?.usage ?? []).map((u) => `${u.region}: ${list(u.resources)}`);
    return reconciling(
      R.ServiceLinkedRoleDeletionFailed,
      `Deleting the service-linked role failed: "${o.roleDeletion?.reason ?? 'no reason given'}"` +
        (usage.length > 0 ? `; still used by ${usage.join('; ')}` : '') +
        `. Retrying in ${Math.ceil(retryIn / 60_000)} min; set --service-linked-role-deletion=Never to stop.`,
      retryIn,
    );
  },
  deletingRole: () =>
    reconciling(
      R.DeletingServiceLinkedRole,
      'No connector is left in any managed region: deleting the App Runner networking service-linked role.',
      Requeue.roleDeletion,
    ),
  removingFinalizer: () => reconciling(R.Deleting, 'Every connector is deleted; removing the finalizer.'),
  observedMissing: (o) =>
    stalled(
      R.ObservedConnectorNotFound,
      `Observe mode: no ACTIVE connector ${o.desired.name} in ${o.desired.region}; create it, or fix spec.vpcConnectorName or spec.vpcConnectorArn.`,
      Requeue.observedMissing,
    ),
  observedDiffers: (o) =>
    stalled(
      R.ObservedConnectorDiffers,
      `Observe mode: connector ${o.observed?.name ?? ''} has other ${list(observedDifferences(o))} than spec; the operator never changes an observed connector.`,
    ),
  observing: (o) => ({
    kind: 'Ready',
    reason: R.Observed,
    message: `Observing connector ${o.observed?.name ?? ''} (ACTIVE, used by ${plural(o.observed?.users.length ?? 0, 'service')}).`,
  }),
  addingFinalizer: () =>
    reconciling(R.AddingFinalizer, 'Adding the finalizer before creating anything in AWS.'),
  awaitingSpecChange: (o) => {
    const since = o.status.failure?.since.getTime() ?? o.now.getTime();
    return stalled(
      o.status.failure?.reason ?? R.InvalidInput,
      o.status.failure?.message ?? '',
      Math.max(Requeue.confirm, since + TERMINAL_RETRY_MS - o.now.getTime()),
    );
  },
  ensuringRole: () =>
    reconciling(R.CreatingServiceLinkedRole, 'Creating the App Runner networking service-linked role.'),
  completingRotation: (o) =>
    reconciling(
      R.Rotating,
      `Old connector ${o.status.retiring?.name ?? ''} is deleted; finishing the rotation.`,
    ),
  waitingForUsersToMove: (o) =>
    reconciling(
      R.WaitingForServicesToMove,
      `Rotating: waiting for ${plural(o.retiring?.users.length ?? 0, 'service')} to move off connector ${o.retiring?.name ?? ''}: ${list(o.retiring?.users ?? [])}.`,
      Requeue.usersToMove,
    ),
  waitingForOldConnectorDeletion: (o) =>
    reconciling(
      R.WaitingForDeletion,
      `Rotating: waiting for old connector ${o.retiring?.name ?? ''} to become INACTIVE.`,
      Requeue.confirm,
    ),
  deletingOldConnector: (o) =>
    reconciling(
      R.DeletingOldConnector,
      `Rotating: deleting old connector ${o.status.retiring?.name ?? ''}.`,
      Requeue.confirm,
    ),
  adopting: (o) =>
    reconciling(
      R.Adopting,
      `Adopting connector ${o.byName?.name ?? ''}, which carries this object's ownership tags.`,
    ),
  nameConflict: (o) =>
    stalled(
      R.NameConflict,
      `Connector name ${o.byName?.name ?? ''} in ${o.desired.region} is taken by ${ownerOf(o.byName?.tags)} (${o.byName?.arn ?? ''}); set another spec.vpcConnectorName or remove that connector.`,
      Requeue.conflict,
    ),
  creatingReplacement: (o) =>
    reconciling(R.Rotating, `Rotating: creating replacement connector ${o.status.createIntent?.name ?? ''}.`),
  creatingConnector: (o) =>
    reconciling(R.Creating, `Creating connector ${o.status.createIntent?.name ?? ''}.`),
  recordingCreateIntent: (o) =>
    reconciling(R.Creating, `Creating connector ${o.desired.name} in ${o.desired.region}.`),
  recreatingAfterDrift: (o) =>
    reconciling(
      R.DeletedOutOfBand,
      `Connector ${o.status.arn ?? ''} was deleted outside the operator; creating it again.`,
    ),
  foreignConnector: (o) =>
    stalled(
      R.NameConflict,
      `Connector ${o.current?.arn ?? ''} belongs to ${ownerOf(o.current?.tags)}, not to this object; the operator will not change or delete it.`,
      Requeue.conflict,
    ),
  rejectingChange: (o) => {
    const fields = regionChanged(o) ? ['region', ...immutableDifferences(o)] : immutableDifferences(o);
    return stalled(
      R.ImmutableFieldChanged,
      `spec.${fields.join(', spec.')} differ${fields.length === 1 ? 's' : ''} from connector ${o.current?.name ?? ''}, which cannot change in place` +
        (fields.includes('region')
          ? '; a connector cannot move region: create a new VpcConnector.'
          : '; set updatePolicy: Rotate to replace it, or restore the spec.'),
    );
  },
  recordingRotationIntent: (o) =>
    reconciling(
      R.Rotating,
      `Rotating: spec.${immutableDifferences(o).join(', spec.')} changed; creating ${replacementName(o)} to replace ${o.current?.name ?? ''}.`,
    ),
  syncingTags: (o) =>
    reconciling(
      R.UpdatingTags,
      `Updating tags ${list(Object.keys(missingTags(o)))} on connector ${o.current?.name ?? ''}.`,
    ),
  ready: (o) => ({
    kind: 'Ready',
    reason: R.Available,
    message: `Connector ${o.current?.name ?? ''} (revision ${o.current?.revision ?? 0}) is ACTIVE and used by ${plural(o.current?.users.length ?? 0, 'service')}.`,
  }),
};

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
      `App Runner ${users.length === 1 ? 'service' : 'services'} ${list(users)} still use the connector`,
    );
  return `Deletion waits: ${parts.join('; ')}.`;
}

function domainConditions(state: StateName, o: Observation, report: Report): DecidedCondition[] {
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
 * conditions to write and when to look again. Executes nothing.
 */
export function decide(observation: Observation): Decision {
  const [snapshot, executable] = initialTransition(vpcConnectorMachine, observation);
  const state = snapshot.value as StateName;
  const actions = executable.map((a) => ({ type: a.type, params: a.params }) as DecidedAction);
  const report = reports[state](observation);
  const decision: Decision = {
    state,
    actions,
    conditions: {
      kstatus: { kind: report.kind, reason: report.reason, message: report.message },
      domain: domainConditions(state, observation, report),
    },
  };
  if (report.requeueAfterMs !== undefined) decision.requeueAfterMs = report.requeueAfterMs;
  return decision;
}
