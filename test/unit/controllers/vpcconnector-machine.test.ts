// The VpcConnector statechart through pure transitions: one table row per reason, every state reached, and
// a walk of the machine definition proving that no route out of `deciding` lacks a row.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OwnershipTag } from '../../../src/api/constants.ts';
import {
  CREATE_REFUSAL_CONFIRM_MS,
  READ_LAG_WINDOW_MS,
  DELETE_CONFIRM_WINDOW_MS,
  Requeue,
  ROLE_DELETION_RETRY_MS,
  STATE_NAMES,
  TERMINAL_RETRY_MS,
  decide,
  vpcConnectorMachine,
  type ActionType,
  type Decision,
  type KstatusKind,
  type StateName,
} from '../../../src/controllers/vpcconnector/machine.ts';
import type { Observation, SeenConnector } from '../../../src/controllers/vpcconnector/observe.ts';
import {
  CONNECTOR_ARN,
  MIN,
  NOW,
  OTHER_SERVICE_ARN,
  OTHER_SUBNET,
  ROTATED_CONNECTOR_ARN,
  SECURITY_GROUP,
  SERVICE_ARN,
  SUBNET,
  VPCC_TAGS,
  ago,
} from '../builders.ts';

// ---- Builders ----

const OTHER_CLUSTER_TAGS = { ...VPCC_TAGS, [OwnershipTag.cluster]: 'staging' };

function connector(overrides: Partial<SeenConnector> = {}): SeenConnector {
  return {
    arn: CONNECTOR_ARN,
    name: 'team-a-web',
    revision: 1,
    active: true,
    subnets: [SUBNET],
    securityGroups: [SECURITY_GROUP],
    tags: VPCC_TAGS,
    owned: true,
    users: [],
    ...overrides,
  };
}

const foreign = (overrides: Partial<SeenConnector> = {}): SeenConnector =>
  connector({ tags: OTHER_CLUSTER_TAGS, owned: false, ...overrides });

/** A managed connector that is ACTIVE and matches its spec: the steady state. */
function observation(overrides: Partial<Observation> = {}): Observation {
  return {
    now: NOW,
    namespace: 'team-a',
    name: 'web',
    generation: 2,
    deleting: false,
    hasFinalizer: true,
    updatePolicy: 'Rotate',
    deletionPolicy: 'Delete',
    managementPolicy: 'Manage',
    serviceLinkedRoleDeletion: 'Never',
    desired: {
      region: 'us-east-1',
      name: 'team-a-web',
      subnets: [SUBNET],
      securityGroups: [SECURITY_GROUP],
      tags: VPCC_TAGS,
    },
    status: { region: 'us-east-1', arn: CONNECTOR_ARN },
    current: connector(),
    referencedBy: [],
    ...overrides,
  };
}

/** A new object: finalizer present, nothing recorded, nothing in AWS. */
function fresh(overrides: Partial<Observation> = {}): Observation {
  const { current: _current, ...base } = observation({ status: {}, ...overrides });
  return overrides.current === undefined ? base : { ...base, current: overrides.current };
}

const deleting = (overrides: Partial<Observation> = {}): Observation =>
  observation({ deleting: true, ...overrides });

const withDesired = (desired: Partial<Observation['desired']>): Partial<Observation> => ({
  desired: { ...observation().desired, ...desired },
});

type Intent = NonNullable<Observation['status']['createIntent']>;
const intent = (name: string, replaces?: string): Intent =>
  replaces === undefined ? { name, requestedAt: ago(MIN) } : { name, requestedAt: ago(MIN), replaces };

// ---- The table ----

interface Case {
  name: string;
  given: Observation;
  state: StateName;
  action: ActionType;
  /** A subset of the action's params that must match. */
  params?: object;
  kstatus?: KstatusKind;
  requeueAfterMs?: number;
  message?: RegExp;
  finalizer?: Decision['finalizer'];
}

const cases: Case[] = [
  // Deletion
  {
    name: 'does nothing for an object being deleted without its finalizer',
    given: deleting({ hasFinalizer: false }),
    state: 'released',
    action: 'awaitRemoval',
  },
  {
    name: 'lets an Observe object go without touching the connector',
    given: deleting({ managementPolicy: 'Observe', observed: connector({ owned: false }) }),
    state: 'releasingObserved',
    action: 'removeFinalizer',
    params: { why: 'managementPolicy is Observe' },
  },
  {
    name: 'retains the connector under deletionPolicy Retain even while services use it',
    given: deleting({
      deletionPolicy: 'Retain',
      current: connector({ users: [SERVICE_ARN] }),
      referencedBy: ['web'],
    }),
    state: 'retaining',
    action: 'retainOnDelete',
    params: { arns: [CONNECTOR_ARN] },
    message: /leaving .*team-a-web.* in AWS/,
  },
  {
    name: 'blocks deletion while a ServiceNetworking references the object, and names it',
    given: deleting({ referencedBy: ['checkout'] }),
    state: 'blockingDeletion',
    action: 'blockDeletion',
    params: { serviceNetworkings: ['checkout'], services: [] },
    requeueAfterMs: Requeue.deletionBlocked,
    message: /ServiceNetworking team-a\/checkout still references it/,
  },
  {
    name: 'blocks deletion while an unmanaged App Runner service still uses the connector (invariant 1)',
    given: deleting({ current: connector({ users: [OTHER_SERVICE_ARN] }) }),
    state: 'blockingDeletion',
    action: 'blockDeletion',
    params: { serviceNetworkings: [], services: [OTHER_SERVICE_ARN] },
    message: /App Runner service .*legacy.* still uses the connector/,
  },
  {
    name: 'waits for INACTIVE when AWS accepted the deletion less than the confirm window ago',
    given: deleting({
      status: { region: 'us-east-1', arn: CONNECTOR_ARN, deletionRequestedAt: ago(30_000) },
    }),
    state: 'waitingForDeletion',
    action: 'waitForInactive',
    params: { arn: CONNECTOR_ARN },
    requeueAfterMs: Requeue.confirm,
  },
  {
    name: 'asks AWS again when the connector still reads ACTIVE a whole confirm window after the deletion',
    given: deleting({
      status: {
        region: 'us-east-1',
        arn: CONNECTOR_ARN,
        deletionRequestedAt: ago(DELETE_CONFIRM_WINDOW_MS),
      },
    }),
    state: 'deletingConnector',
    action: 'deleteConnector',
    params: { arn: CONNECTOR_ARN },
  },
  {
    name: 'waits on the connector whose deletion AWS accepted, not on another owned connector still ACTIVE',
    given: deleting({
      status: {
        region: 'us-east-1',
        arn: ROTATED_CONNECTOR_ARN,
        deletionRequestedAt: ago(30_000),
        retiring: { arn: CONNECTOR_ARN, name: 'team-a-web' },
      },
      current: connector({ arn: ROTATED_CONNECTOR_ARN, name: 'team-a-web-g3' }),
      retiring: connector(),
    }),
    state: 'waitingForDeletion',
    action: 'waitForInactive',
    params: { arn: ROTATED_CONNECTOR_ARN },
  },
  {
    name: 'keeps waiting on the retiring connector whose deletion AWS accepted once the current one reads INACTIVE',
    given: deleting({
      status: {
        region: 'us-east-1',
        arn: ROTATED_CONNECTOR_ARN,
        deletionRequestedAt: ago(30_000),
        retiring: { arn: CONNECTOR_ARN, name: 'team-a-web', deletionRequestedAt: ago(30_000) },
      },
      current: connector({ arn: ROTATED_CONNECTOR_ARN, name: 'team-a-web-g3', active: false }),
      retiring: connector(),
    }),
    state: 'waitingForDeletion',
    action: 'waitForInactive',
    params: { arn: CONNECTOR_ARN },
  },
  {
    name: 'deletes the current connector once the retiring one whose deletion AWS accepted reads INACTIVE',
    given: deleting({
      status: {
        region: 'us-east-1',
        arn: ROTATED_CONNECTOR_ARN,
        retiring: { arn: CONNECTOR_ARN, name: 'team-a-web', deletionRequestedAt: ago(30_000) },
      },
      current: connector({ arn: ROTATED_CONNECTOR_ARN, name: 'team-a-web-g3' }),
      retiring: connector({ active: false }),
    }),
    state: 'deletingConnector',
    action: 'deleteConnector',
    params: { arn: ROTATED_CONNECTOR_ARN },
  },
  {
    name: 'deletes the connector once nothing references or uses it',
    given: deleting(),
    state: 'deletingConnector',
    action: 'deleteConnector',
    params: { arn: CONNECTOR_ARN },
    kstatus: 'Reconciling',
  },
  {
    name: 'deletes a connector whose create answer was lost, found by name with our tags (no leak, invariant 2)',
    given: fresh({
      deleting: true,
      status: { region: 'us-east-1', createIntent: intent('team-a-web') },
      byName: connector({ arn: ROTATED_CONNECTOR_ARN }),
    }),
    state: 'deletingConnector',
    action: 'deleteConnector',
    params: { arn: ROTATED_CONNECTOR_ARN },
  },
  {
    name: 'deletes the retiring connector of an unfinished rotation before the current one',
    given: deleting({
      status: {
        region: 'us-east-1',
        arn: ROTATED_CONNECTOR_ARN,
        retiring: { arn: CONNECTOR_ARN, name: 'team-a-web' },
      },
      current: connector({ arn: ROTATED_CONNECTOR_ARN, name: 'team-a-web-g3' }),
      retiring: connector(),
    }),
    state: 'deletingConnector',
    action: 'deleteConnector',
    params: { arn: CONNECTOR_ARN },
  },
  {
    name: 'does not let the object go while the connector it created moments ago is not readable yet',
    given: observation({
      deleting: true,
      current: undefined,
      status: { region: 'us-east-1', arn: CONNECTOR_ARN, recordedAt: ago(5_000) },
    }),
    state: 'settlingNewConnector',
    action: 'waitForCreateToSettle',
  },
  {
    name: 'does not let the object go while a connector by our name shows no tags yet',
    given: fresh({
      deleting: true,
      status: { region: 'us-east-1', createIntent: { name: 'team-a-web', requestedAt: ago(5_000) } },
      byName: connector({ tags: {}, owned: false }),
    }),
    state: 'settlingTags',
    action: 'waitForCreateToSettle',
  },
  {
    name: 'waits out the confirm window before concluding that a just-requested create left no connector',
    given: fresh({ deleting: true, status: { region: 'us-east-1', createIntent: intent('team-a-web') } }),
    state: 'settlingCreateIntent',
    action: 'waitForCreateToSettle',
    params: { name: 'team-a-web' },
    requeueAfterMs: DELETE_CONFIRM_WINDOW_MS - MIN,
  },
  {
    name: 'lets the object go when a create intent older than the confirm window found no connector',
    given: fresh({
      deleting: true,
      status: {
        region: 'us-east-1',
        createIntent: { name: 'team-a-web', requestedAt: ago(DELETE_CONFIRM_WINDOW_MS) },
      },
    }),
    state: 'removingFinalizer',
    action: 'removeFinalizer',
  },
  {
    name: 'never deletes a connector in status whose tags say it is someone else’s (invariant 9)',
    given: deleting({ current: foreign() }),
    state: 'removingFinalizer',
    action: 'removeFinalizer',
  },
  {
    name: 'polls the service-linked role deletion task while it runs',
    given: deleting({
      serviceLinkedRoleDeletion: 'WhenUnused',
      current: connector({ active: false }),
      status: {
        region: 'us-east-1',
        arn: CONNECTOR_ARN,
        roleDeletion: { taskId: 'task-1', startedAt: ago(MIN) },
      },
      roleDeletion: { taskId: 'task-1', status: 'IN_PROGRESS', usage: [] },
      role: { exists: true },
      activeConnectorsInManagedRegions: 0,
    }),
    state: 'pollingRoleDeletion',
    action: 'pollRoleDeletion',
    params: { taskId: 'task-1' },
    requeueAfterMs: Requeue.roleDeletion,
  },
  {
    name: 'reports a failed role deletion with the AWS reason and usage, and retries minutes after it started',
    given: deleting({
      serviceLinkedRoleDeletion: 'WhenUnused',
      current: connector({ active: false }),
      status: {
        region: 'us-east-1',
        arn: CONNECTOR_ARN,
        roleDeletion: { taskId: 'task-1', startedAt: ago(MIN) },
      },
      roleDeletion: {
        taskId: 'task-1',
        status: 'FAILED',
        reason: 'Role is in use',
        usage: [
          { region: 'eu-west-1', resources: ['arn:aws:apprunner:eu-west-1:123456789012:vpcconnector/x/1/c'] },
        ],
      },
      role: { exists: true },
      activeConnectorsInManagedRegions: 0,
    }),
    state: 'roleDeletionFailed',
    action: 'reportRoleDeletionFailure',
    params: { taskId: 'task-1', reason: 'Role is in use' },
    requeueAfterMs: ROLE_DELETION_RETRY_MS - MIN,
    message: /"Role is in use"; still used by eu-west-1: /,
  },
  {
    name: 'starts a new role deletion task once the failed one is older than the retry delay',
    given: deleting({
      serviceLinkedRoleDeletion: 'WhenUnused',
      current: connector({ active: false }),
      status: {
        region: 'us-east-1',
        arn: CONNECTOR_ARN,
        roleDeletion: { taskId: 'task-1', startedAt: ago(ROLE_DELETION_RETRY_MS + 1) },
      },
      roleDeletion: { taskId: 'task-1', status: 'FAILED', usage: [] },
      role: { exists: true },
      activeConnectorsInManagedRegions: 0,
    }),
    state: 'deletingRole',
    action: 'deleteServiceLinkedRole',
  },
  {
    name: 'deletes the service-linked role under WhenUnused when no connector is left in any managed region',
    given: deleting({
      serviceLinkedRoleDeletion: 'WhenUnused',
      current: connector({ active: false }),
      role: { exists: true },
      activeConnectorsInManagedRegions: 0,
    }),
    state: 'deletingRole',
    action: 'deleteServiceLinkedRole',
  },
  {
    name: 'keeps the role under WhenUnused while connectors exist in another managed region (invariant 1)',
    given: deleting({
      serviceLinkedRoleDeletion: 'WhenUnused',
      current: connector({ active: false }),
      role: { exists: true },
      activeConnectorsInManagedRegions: 2,
    }),
    state: 'removingFinalizer',
    action: 'removeFinalizer',
  },
  {
    name: 'keeps the role under WhenUnused when the connector count was not read',
    given: deleting({
      serviceLinkedRoleDeletion: 'WhenUnused',
      current: connector({ active: false }),
      role: { exists: true },
    }),
    state: 'removingFinalizer',
    action: 'removeFinalizer',
  },
  {
    name: 'removes the finalizer once the connector reads INACTIVE',
    given: deleting({ current: connector({ active: false }) }),
    state: 'removingFinalizer',
    action: 'removeFinalizer',
    params: { why: 'every connector is deleted' },
    finalizer: 'remove',
  },
  {
    name: 'removes the finalizer once the role deletion succeeded and the role is gone',
    given: deleting({
      serviceLinkedRoleDeletion: 'WhenUnused',
      current: undefined,
      status: {
        region: 'us-east-1',
        arn: CONNECTOR_ARN,
        roleDeletion: { taskId: 'task-1', startedAt: ago(MIN) },
      },
      roleDeletion: { taskId: 'task-1', status: 'SUCCEEDED', usage: [] },
      role: { exists: false },
      activeConnectorsInManagedRegions: 0,
    }),
    state: 'removingFinalizer',
    action: 'removeFinalizer',
  },

  // Observe
  {
    name: 'reports Stalled when the connector to observe does not exist',
    given: fresh({ managementPolicy: 'Observe', hasFinalizer: false }),
    state: 'observedMissing',
    action: 'observeOnly',
    params: {},
    kstatus: 'Stalled',
    requeueAfterMs: Requeue.observedMissing,
  },
  {
    name: 'names the ARN, not a derived name, when the connector observed by ARN does not exist',
    given: fresh({ managementPolicy: 'Observe', hasFinalizer: false, observeArn: CONNECTOR_ARN }),
    state: 'observedMissing',
    action: 'observeOnly',
    kstatus: 'Stalled',
    message: new RegExp(
      `^Observe mode: connector ${CONNECTOR_ARN} does not exist or is not ACTIVE; fix spec\\.vpcConnectorArn\\.$`,
    ),
  },
  {
    name: 'reports Stalled without changing anything when the observed connector has other subnets',
    given: fresh({
      managementPolicy: 'Observe',
      ...withDesired({ subnets: [OTHER_SUBNET] }),
      observed: connector({ owned: false }),
    }),
    state: 'observedDiffers',
    action: 'observeOnly',
    kstatus: 'Stalled',
    message: /other subnets than spec/,
  },
  {
    name: 'observes a matching connector read-only, with no finalizer and no AWS write',
    given: fresh({
      managementPolicy: 'Observe',
      hasFinalizer: false,
      ...withDesired({ subnets: [], securityGroups: [] }),
      observed: connector({ owned: false, users: [SERVICE_ARN] }),
    }),
    state: 'observing',
    action: 'observeOnly',
    params: {
      connector: {
        arn: CONNECTOR_ARN,
        name: 'team-a-web',
        revision: 1,
        awsStatus: 'ACTIVE',
        services: [SERVICE_ARN],
      },
    },
    kstatus: 'Ready',
  },

  // Manage
  {
    name: 'adds the finalizer before anything else',
    given: fresh({ hasFinalizer: false, role: { exists: false } }),
    state: 'addingFinalizer',
    action: 'addFinalizer',
    finalizer: 'add',
  },
  {
    name: 'waits for a spec change after AWS refused this generation, instead of retrying (invariant 6)',
    given: fresh({
      status: {
        createIntent: intent('team-a-web'),
        failure: {
          reason: 'InvalidInput',
          message: 'AWS said: "subnet not found"',
          generation: 2,
          since: ago(MIN),
        },
      },
    }),
    state: 'awaitingSpecChange',
    action: 'waitForSpecChange',
    params: { reason: 'InvalidInput' },
    kstatus: 'Stalled',
    requeueAfterMs: TERMINAL_RETRY_MS - MIN,
  },
  {
    name: 'retries at once when the refused spec was an older generation',
    given: fresh({
      status: {
        createIntent: intent('team-a-web'),
        failure: { reason: 'InvalidInput', message: 'old', generation: 1, since: ago(MIN) },
      },
    }),
    state: 'creatingConnector',
    action: 'createConnector',
  },
  {
    name: 'retries a refused spec once the terminal retry delay has passed',
    given: fresh({
      status: {
        createIntent: intent('team-a-web'),
        failure: {
          reason: 'AccessDenied',
          message: 'denied',
          generation: 2,
          since: ago(TERMINAL_RETRY_MS + 1),
        },
      },
    }),
    state: 'creatingConnector',
    action: 'createConnector',
  },
  {
    name: 'creates the service-linked role when GetRole says it is absent',
    given: fresh({ role: { exists: false } }),
    state: 'ensuringRole',
    action: 'ensureServiceLinkedRole',
  },
  {
    name: 'finishes a rotation once the old connector reads INACTIVE',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: ROTATED_CONNECTOR_ARN,
        retiring: { arn: CONNECTOR_ARN, name: 'team-a-web' },
      },
      current: connector({ arn: ROTATED_CONNECTOR_ARN, name: 'team-a-web-g3' }),
      retiring: connector({ active: false }),
    }),
    state: 'completingRotation',
    action: 'completeRotation',
    params: { retiredArn: CONNECTOR_ARN },
  },
  {
    name: 'finishes a rotation when AWS no longer knows the old connector',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: ROTATED_CONNECTOR_ARN,
        retiring: { arn: CONNECTOR_ARN, name: 'team-a-web' },
      },
      current: connector({ arn: ROTATED_CONNECTOR_ARN, name: 'team-a-web-g3' }),
    }),
    state: 'completingRotation',
    action: 'completeRotation',
  },
  {
    name: 'waits for every service to move off the old connector before deleting it',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: ROTATED_CONNECTOR_ARN,
        retiring: { arn: CONNECTOR_ARN, name: 'team-a-web' },
      },
      current: connector({ arn: ROTATED_CONNECTOR_ARN, name: 'team-a-web-g3' }),
      retiring: connector({ users: [SERVICE_ARN] }),
    }),
    state: 'waitingForUsersToMove',
    action: 'waitForUsersToMove',
    params: { arn: CONNECTOR_ARN, services: [SERVICE_ARN] },
    requeueAfterMs: Requeue.usersToMove,
  },
  {
    name: 'waits for the old connector to read INACTIVE after AWS accepted its deletion',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: ROTATED_CONNECTOR_ARN,
        retiring: { arn: CONNECTOR_ARN, name: 'team-a-web', deletionRequestedAt: ago(10_000) },
      },
      current: connector({ arn: ROTATED_CONNECTOR_ARN, name: 'team-a-web-g3' }),
      retiring: connector(),
    }),
    state: 'waitingForOldConnectorDeletion',
    action: 'waitForInactive',
    params: { arn: CONNECTOR_ARN },
  },
  {
    name: 'deletes the old connector once no service uses it',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: ROTATED_CONNECTOR_ARN,
        retiring: { arn: CONNECTOR_ARN, name: 'team-a-web' },
      },
      current: connector({ arn: ROTATED_CONNECTOR_ARN, name: 'team-a-web-g3' }),
      retiring: connector(),
    }),
    state: 'deletingOldConnector',
    action: 'deleteOldConnector',
    params: { arn: CONNECTOR_ARN },
  },
  {
    name: 'adopts the connector found by name with our tags after a crash between intent and status (invariant 3)',
    given: fresh({
      status: { region: 'us-east-1', createIntent: intent('team-a-web') },
      byName: connector(),
    }),
    state: 'adopting',
    action: 'adoptConnector',
    params: { arn: CONNECTOR_ARN, name: 'team-a-web', revision: 1 },
  },
  {
    name: 'adopts a replacement found by name as the new connector and retires the old one',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: CONNECTOR_ARN,
        createIntent: intent('team-a-web-g3', CONNECTOR_ARN),
      },
      ...withDesired({ subnets: [OTHER_SUBNET] }),
      byName: connector({ arn: ROTATED_CONNECTOR_ARN, name: 'team-a-web-g3', subnets: [OTHER_SUBNET] }),
    }),
    state: 'adopting',
    action: 'adoptConnector',
    params: { arn: ROTATED_CONNECTOR_ARN, replaces: CONNECTOR_ARN },
  },
  {
    name: 'adopts our own connector by name when status was lost (no intent, no ARN)',
    given: fresh({ byName: connector() }),
    state: 'adopting',
    action: 'adoptConnector',
    params: { arn: CONNECTOR_ARN },
  },
  {
    name: 'looks again, instead of reporting a conflict, when a connector by our name shows no tags moments after our intent',
    given: fresh({
      status: { region: 'us-east-1', createIntent: { name: 'team-a-web', requestedAt: ago(5_000) } },
      byName: connector({ tags: {}, owned: false }),
    }),
    state: 'waitingForTags',
    action: 'waitForCreateToSettle',
    params: { name: 'team-a-web' },
    requeueAfterMs: Requeue.refusalLookup,
  },
  {
    name: 'reports a name taken by another cluster’s connector as Stalled and never adopts it (invariant 9)',
    given: fresh({ status: { region: 'us-east-1', createIntent: intent('team-a-web') }, byName: foreign() }),
    state: 'nameConflict',
    action: 'reportNameConflict',
    params: { name: 'team-a-web', arn: CONNECTOR_ARN, owner: 'VpcConnector team-a/web of cluster staging' },
    kstatus: 'Stalled',
    message: /taken by VpcConnector team-a\/web of cluster staging/,
  },
  {
    name: 'reports a name taken by an untagged connector as Stalled',
    given: fresh({ byName: connector({ tags: {}, owned: false }) }),
    state: 'nameConflict',
    action: 'reportNameConflict',
    params: { owner: 'a connector without ownership tags' },
  },
  {
    name: 'looks the name up again, without creating, while AWS refused the create moments ago',
    given: fresh({
      status: {
        region: 'us-east-1',
        createIntent: {
          ...intent('team-a-web'),
          refused: { at: ago(3_000), code: 'InvalidRequestException', message: 'nope' },
        },
      },
    }),
    state: 'confirmingCreateRefusal',
    action: 'waitForCreateToSettle',
    params: { name: 'team-a-web' },
    message: /InvalidRequestException "nope".*Looking the name up/,
    requeueAfterMs: Requeue.refusalLookup,
  },
  {
    name: 'adopts our connector found by name after AWS refused the create, whatever AWS said',
    given: fresh({
      status: {
        region: 'us-east-1',
        createIntent: {
          ...intent('team-a-web'),
          refused: { at: ago(3_000), code: 'InvalidRequestException', message: 'nope' },
        },
      },
      byName: connector(),
    }),
    state: 'adopting',
    action: 'adoptConnector',
    params: { arn: CONNECTOR_ARN },
  },
  {
    name: 'reports the refusal as Stalled InvalidInput once the lookups found nothing for the confirm window',
    given: fresh({
      status: {
        region: 'us-east-1',
        createIntent: {
          ...intent('team-a-web'),
          refused: {
            at: ago(CREATE_REFUSAL_CONFIRM_MS),
            code: 'InvalidRequestException',
            message: 'bad subnet',
          },
        },
      },
    }),
    state: 'createRefused',
    action: 'reportCreateRefused',
    params: { name: 'team-a-web', code: 'InvalidRequestException', message: 'bad subnet' },
    kstatus: 'Stalled',
    message: /AWS refused CreateVpcConnector: InvalidRequestException "bad subnet"/,
    requeueAfterMs: TERMINAL_RETRY_MS,
  },
  {
    name: 'creates the replacement once the rotation intent is recorded and the name is free',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: CONNECTOR_ARN,
        createIntent: intent('team-a-web-g3', CONNECTOR_ARN),
      },
      ...withDesired({ subnets: [OTHER_SUBNET] }),
    }),
    state: 'creatingReplacement',
    action: 'createReplacement',
    params: { name: 'team-a-web-g3', replaces: CONNECTOR_ARN, subnets: [OTHER_SUBNET], region: 'us-east-1' },
  },
  {
    // Found by the chaos suite (seed 10): the spec changed back before the replacement was created, and the
    // operator created a twin of the connector it was to replace, then moved every service onto it.
    name: 'drops a rotation whose spec changed back to the current connector instead of creating a twin',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: CONNECTOR_ARN,
        createIntent: intent('team-a-web-g3', CONNECTOR_ARN),
      },
    }),
    state: 'droppingRevertedRotation',
    action: 'dropRotationIntent',
    params: { name: 'team-a-web-g3' },
    message: /^The spec matches connector team-a-web again: dropped the rotation to team-a-web-g3\.$/,
  },
  {
    name: 'keeps a reverted rotation intent while a replacement created moments ago may not be listed yet',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: CONNECTOR_ARN,
        createIntent: { name: 'team-a-web-g3', requestedAt: ago(5_000), replaces: CONNECTOR_ARN },
      },
    }),
    state: 'settlingRevertedRotation',
    action: 'waitForCreateToSettle',
    params: { name: 'team-a-web-g3' },
    // Looks again when the read-lag window of the intent ends, not every refusal lookup.
    requeueAfterMs: READ_LAG_WINDOW_MS - 5_000,
    message:
      /^The spec matches connector team-a-web again: making sure replacement team-a-web-g3 was not created before dropping the rotation\.$/,
  },
  {
    name: 'creates the connector with ownership tags once the intent is recorded and the name is free',
    given: fresh({ status: { region: 'us-east-1', createIntent: intent('team-a-web') } }),
    state: 'creatingConnector',
    action: 'createConnector',
    params: { name: 'team-a-web', subnets: [SUBNET], securityGroups: [SECURITY_GROUP], tags: VPCC_TAGS },
  },
  {
    name: 'records the create intent before any create call',
    given: fresh({ role: { exists: true } }),
    state: 'recordingCreateIntent',
    action: 'recordCreateIntent',
    params: { region: 'us-east-1', name: 'team-a-web' },
  },
  {
    name: 'never recreates a connector it recorded moments ago that AWS does not show yet (reads lag a create)',
    given: observation({
      current: undefined,
      status: { region: 'us-east-1', arn: CONNECTOR_ARN, recordedAt: ago(5_000) },
    }),
    state: 'waitingForNewConnector',
    action: 'waitForCreateToSettle',
    requeueAfterMs: Requeue.refusalLookup,
  },
  {
    name: 'does not call its own fresh connector foreign while AWS shows no tags on it yet',
    given: observation({
      current: connector({ tags: {}, owned: false }),
      status: { region: 'us-east-1', arn: CONNECTOR_ARN, recordedAt: ago(3_000) },
    }),
    state: 'waitingForNewConnector',
    action: 'waitForCreateToSettle',
  },
  {
    name: 'takes a connector recorded longer ago than the read lag and now missing as deleted out of band',
    given: observation({
      current: undefined,
      status: { region: 'us-east-1', arn: CONNECTOR_ARN, recordedAt: ago(READ_LAG_WINDOW_MS) },
    }),
    state: 'recreatingAfterDrift',
    action: 'recreateAfterDrift',
  },
  {
    name: 'recreates a connector deleted out of band, starting with a new intent',
    given: observation({ current: undefined }),
    state: 'recreatingAfterDrift',
    action: 'recreateAfterDrift',
    params: { goneArn: CONNECTOR_ARN, name: 'team-a-web' },
  },
  {
    name: 'recreates a connector that reads INACTIVE although nobody here deleted it',
    given: observation({ current: connector({ active: false }) }),
    state: 'recreatingAfterDrift',
    action: 'recreateAfterDrift',
  },
  {
    name: 'refuses to manage a connector in status that carries another owner’s tags',
    given: observation({ current: foreign() }),
    state: 'foreignConnector',
    action: 'reportNameConflict',
    kstatus: 'Stalled',
  },
  {
    name: 'reports an immutable change under updatePolicy Reject as Stalled',
    given: observation({ updatePolicy: 'Reject', ...withDesired({ subnets: [SUBNET, OTHER_SUBNET] }) }),
    state: 'rejectingChange',
    action: 'rejectImmutableChange',
    params: { fields: ['subnets'] },
    kstatus: 'Stalled',
    message: /set updatePolicy: Rotate/,
  },
  {
    name: 'refuses a region change whatever the update policy',
    given: observation(withDesired({ region: 'us-west-2' })),
    state: 'rejectingChange',
    action: 'rejectImmutableChange',
    params: { fields: ['region'] },
    message: /cannot move region/,
  },
  {
    name: 'starts a rotation under a generation-suffixed name when subnets change',
    given: observation(withDesired({ subnets: [OTHER_SUBNET] })),
    state: 'recordingRotationIntent',
    action: 'recordCreateIntent',
    params: { name: 'team-a-web-g2', replaces: CONNECTOR_ARN },
  },
  {
    name: 'starts a rotation when the spec’s security groups differ from the connector’s',
    given: observation(withDesired({ securityGroups: ['sg-0fedcba9876543210'] })),
    state: 'recordingRotationIntent',
    action: 'recordCreateIntent',
    params: { name: 'team-a-web-g2', replaces: CONNECTOR_ARN },
    message: /spec\.securityGroups changed/,
  },
  {
    name: 'starts a rotation when a subnet is removed (the spec’s subnets a strict subset of the connector’s)',
    given: observation({
      current: connector({ subnets: [SUBNET, OTHER_SUBNET] }),
      ...withDesired({ subnets: [SUBNET] }),
    }),
    state: 'recordingRotationIntent',
    action: 'recordCreateIntent',
    message: /spec\.subnets changed/,
  },
  {
    name: 'starts a rotation when a security group is added to the connector’s',
    given: observation(withDesired({ securityGroups: [SECURITY_GROUP, 'sg-0fedcba9876543210'] })),
    state: 'recordingRotationIntent',
    action: 'recordCreateIntent',
    message: /spec\.securityGroups changed/,
  },
  {
    name: 'starts a rotation under the new spec name when the connector is renamed',
    given: observation(withDesired({ name: 'team-a-web-v2' })),
    state: 'recordingRotationIntent',
    action: 'recordCreateIntent',
    params: { name: 'team-a-web-v2', replaces: CONNECTOR_ARN },
  },
  {
    name: 'adds a spec tag missing on the connector',
    given: observation(withDesired({ tags: { ...VPCC_TAGS, team: 'payments' } })),
    state: 'syncingTags',
    action: 'syncTags',
    params: { arn: CONNECTOR_ARN, tags: { team: 'payments' } },
  },
  {
    name: 'reports Ready with the services using the connector',
    given: observation({ current: connector({ users: [SERVICE_ARN] }) }),
    state: 'ready',
    action: 'reportReady',
    params: { arn: CONNECTOR_ARN, revision: 1, awsStatus: 'ACTIVE', services: [SERVICE_ARN] },
    kstatus: 'Ready',
    message: /is ACTIVE and used by 1 service\./,
  },
  {
    name: 'reports Ready with the services AWS shows on the connector, and looks again while others are in motion',
    given: observation({
      current: connector({ users: [SERVICE_ARN, OTHER_SERVICE_ARN], attached: [SERVICE_ARN] }),
      servicesInMotion: true,
    }),
    state: 'ready',
    action: 'reportReady',
    params: { services: [SERVICE_ARN] },
    kstatus: 'Ready',
    message: /is ACTIVE and used by 1 service\./,
    requeueAfterMs: Requeue.usersSettle,
  },
  {
    name: 'does not compare security groups the spec leaves to the VPC default',
    given: observation(withDesired({ securityGroups: [] })),
    state: 'ready',
    action: 'reportReady',
  },
  {
    name: 'treats a connector named by an earlier rotation as matching the spec name',
    given: observation({ current: connector({ name: 'team-a-web-g7' }) }),
    state: 'ready',
    action: 'reportReady',
  },
  {
    // Adopting a connector found by name after status was lost records its ARN but no region.
    name: 'does not take a status that recorded no region for a region change',
    given: observation({ status: { arn: CONNECTOR_ARN } }),
    state: 'ready',
    action: 'reportReady',
  },
];

// ---- Tests ----

void describe('VpcConnector statechart', () => {
  for (const c of cases) {
    void it(c.name, () => {
      const decision = decide(c.given);
      assert.equal(decision.state, c.state);
      assert.equal(decision.actions.length, 1, 'one action per pass');
      const [action] = decision.actions;
      assert.equal(action?.type, c.action);
      if (c.params !== undefined) assert.partialDeepStrictEqual(action.params, c.params);
      if (c.kstatus !== undefined) assert.equal(decision.conditions.kstatus.kind, c.kstatus);
      if (c.requeueAfterMs !== undefined) assert.equal(decision.requeueAfterMs, c.requeueAfterMs);
      if (c.message !== undefined) assert.match(decision.conditions.kstatus.message, c.message);
      if (c.finalizer !== undefined) assert.equal(decision.finalizer, c.finalizer);
    });
  }

  void it('sets DeletionBlocked=True naming the blockers, and False once nothing blocks', () => {
    const blocked = decide(deleting({ referencedBy: ['checkout'] })).conditions.domain;
    assert.partialDeepStrictEqual(blocked, [
      { type: 'DeletionBlocked', status: 'True', reason: 'DeletionBlocked' },
    ]);
    assert.match(blocked[0]?.message ?? '', /team-a\/checkout/);
    const free = decide(deleting()).conditions.domain;
    assert.partialDeepStrictEqual(free, [{ type: 'DeletionBlocked', status: 'False', reason: 'NotBlocked' }]);
  });

  void it('reports ServiceLinkedRoleReady from GetRole when it was read, and leaves it alone otherwise', () => {
    assert.partialDeepStrictEqual(decide(fresh({ role: { exists: false } })).conditions.domain, [
      { type: 'ServiceLinkedRoleReady', status: 'False' },
    ]);
    assert.partialDeepStrictEqual(decide(fresh({ role: { exists: true } })).conditions.domain, [
      { type: 'ServiceLinkedRoleReady', status: 'True' },
    ]);
    assert.deepEqual(decide(observation()).conditions.domain, []);
  });

  void it('never asks for an AWS write in Observe mode, whatever AWS shows', () => {
    const writes: ActionType[] = [
      'createConnector',
      'createReplacement',
      'deleteConnector',
      'deleteOldConnector',
      'syncTags',
      'ensureServiceLinkedRole',
      'deleteServiceLinkedRole',
      'recordCreateIntent',
      'addFinalizer',
    ];
    const variants: Partial<Observation>[] = [
      {},
      { deleting: true },
      { observed: connector({ owned: false }) },
      { observed: connector({ active: false }) },
      { hasFinalizer: false, role: { exists: false } },
      { status: { createIntent: intent('team-a-web') }, byName: connector() },
    ];
    for (const variant of variants) {
      const decision = decide(observation({ managementPolicy: 'Observe', ...variant }));
      assert.ok(!writes.includes(decision.actions[0]?.type ?? 'awaitRemoval'), decision.state);
    }
  });

  void it('decides the same way twice for the same observation (no hidden clock or state)', () => {
    for (const c of cases) assert.deepEqual(decide(c.given), decide(c.given));
  });

  void it('has a table row for every route out of deciding (graph walk)', (t) => {
    const machineStates = Object.keys(vpcConnectorMachine.root.states).filter((s) => s !== 'deciding');
    const routes = vpcConnectorMachine.root.states.deciding?.always ?? [];
    const targets = routes.map((route) => route.target?.[0]?.key ?? '(none)');
    assert.equal(new Set(targets).size, targets.length, 'each route has its own target state');
    assert.deepEqual(
      [...targets].sort(),
      [...machineStates].sort(),
      'every state is reachable from deciding',
    );
    assert.deepEqual([...STATE_NAMES].sort(), [...machineStates].sort(), 'STATE_NAMES lists the machine');
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
