// What the VpcConnector statechart tells a human and the reconciler, state by state: the exact condition
// message (it names the objects, ARNs and numbers someone acts on), the action's parameters and when to
// look again. The routing table itself is vpcconnector-machine.test.ts; these rows pin what each state says
// once routed, including the variants of a message (plural, optional parts, a missing owner tag).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OwnershipTag } from '../../../src/api/constants.ts';
import {
  CREATE_REFUSAL_CONFIRM_MS,
  DELETE_CONFIRM_WINDOW_MS,
  READ_LAG_WINDOW_MS,
  ROLE_DELETION_RETRY_MS,
  TERMINAL_RETRY_MS,
  decide,
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

/** A pure decision takes microseconds; the bound only keeps a broken case from hanging the run. */
const PURE = { timeout: 10_000 };

// ---- Fixtures: the steady state of vpcc() and variations of it ----

const STAGING_TAGS = { ...VPCC_TAGS, [OwnershipTag.cluster]: 'staging' };
const DESIRED_TAGS = VPCC_TAGS;

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

const rotated = (overrides: Partial<SeenConnector> = {}): SeenConnector =>
  connector({ arn: ROTATED_CONNECTOR_ARN, name: 'team-a-web-g3', ...overrides });

/** A connector whose tags AWS did not return. */
const { tags: _tags, ...untagged } = connector({ owned: false });

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
      tags: DESIRED_TAGS,
    },
    status: { region: 'us-east-1', arn: CONNECTOR_ARN },
    current: connector(),
    referencedBy: [],
    ...overrides,
  };
}

/** Nothing recorded and nothing in AWS. */
function fresh(overrides: Partial<Observation> = {}): Observation {
  const { current: _current, ...base } = observation({ status: {}, ...overrides });
  return overrides.current === undefined ? base : { ...base, current: overrides.current };
}

const deleting = (overrides: Partial<Observation> = {}): Observation =>
  observation({ deleting: true, ...overrides });

const desired = (changes: Partial<Observation['desired']>): Pick<Observation, 'desired'> => ({
  desired: { ...observation().desired, ...changes },
});

/** WhenUnused deletion past the connectors, with a role deletion task started a minute and a half ago. */
const roleTask = (deletion: NonNullable<Observation['roleDeletion']>): Observation =>
  deleting({
    serviceLinkedRoleDeletion: 'WhenUnused',
    current: connector({ active: false }),
    status: {
      region: 'us-east-1',
      arn: CONNECTOR_ARN,
      roleDeletion: { taskId: 'task-1', startedAt: ago(MIN + 30_000) },
    },
    roleDeletion: deletion,
    role: { exists: true },
    activeConnectorsInManagedRegions: 0,
  });

const refusedIntent = (refusedAgo: number) => ({
  region: 'us-east-1',
  createIntent: {
    name: 'team-a-web',
    requestedAt: ago(MIN),
    refused: { at: ago(refusedAgo), code: 'InvalidRequestException', message: 'bad subnet' },
  },
});

// ---- The table ----

interface Case {
  name: string;
  given: Observation;
  state: StateName;
  message: string;
  reason?: string;
  /** The action's parameters, exactly. */
  params?: object;
  /** Exactly; `null` when the state asks for no requeue. */
  requeueAfterMs?: number | null;
}

const cases: Case[] = [
  {
    name: 'says the object is going when it is deleted without our finalizer',
    given: deleting({ hasFinalizer: false }),
    state: 'released',
    message: 'The object is being deleted.',
    params: {},
    requeueAfterMs: null,
  },
  {
    name: 'names the observed connector it leaves untouched',
    given: deleting({ managementPolicy: 'Observe', observed: connector({ name: 'shared', owned: false }) }),
    state: 'releasingObserved',
    message: 'Observe mode: connector shared is left untouched in AWS.',
    params: { why: 'managementPolicy is Observe' },
  },
  {
    name: 'names the spec’s connector when the observed one is already gone',
    given: deleting({ managementPolicy: 'Observe' }),
    state: 'releasingObserved',
    message: 'Observe mode: connector team-a-web is left untouched in AWS.',
  },
  {
    name: 'lists every owned connector Retain leaves behind, the retiring one first',
    given: deleting({
      deletionPolicy: 'Retain',
      status: { region: 'us-east-1', arn: ROTATED_CONNECTOR_ARN },
      current: rotated(),
      retiring: connector(),
    }),
    state: 'retaining',
    message: `deletionPolicy is Retain: leaving ${CONNECTOR_ARN}, ${ROTATED_CONNECTOR_ARN} in AWS.`,
    params: { arns: [CONNECTOR_ARN, ROTATED_CONNECTOR_ARN] },
  },
  {
    name: 'says Retain has nothing to leave behind when no owned connector is ACTIVE',
    given: deleting({ deletionPolicy: 'Retain', current: connector({ active: false }) }),
    state: 'retaining',
    message: 'deletionPolicy is Retain; no connector to leave behind.',
    params: { arns: [] },
  },
  {
    name: 'lists a connector seen both in status and by name once when Retain leaves it behind',
    given: deleting({
      deletionPolicy: 'Retain',
      status: {
        region: 'us-east-1',
        arn: CONNECTOR_ARN,
        createIntent: { name: 'team-a-web', requestedAt: ago(MIN) },
      },
      byName: connector(),
    }),
    state: 'retaining',
    message: `deletionPolicy is Retain: leaving ${CONNECTOR_ARN} in AWS.`,
    params: { arns: [CONNECTOR_ARN] },
  },
  {
    name: 'names every referencing ServiceNetworking and every using service, in plural',
    given: deleting({
      referencedBy: ['checkout', 'payments'],
      current: connector({ users: [OTHER_SERVICE_ARN, SERVICE_ARN] }),
    }),
    state: 'blockingDeletion',
    message:
      `Deletion waits: ServiceNetworking team-a/checkout, team-a/payments still reference it; ` +
      `App Runner services ${OTHER_SERVICE_ARN}, ${SERVICE_ARN} still use the connector.`,
    params: { serviceNetworkings: ['checkout', 'payments'], services: [OTHER_SERVICE_ARN, SERVICE_ARN] },
    requeueAfterMs: 30_000,
  },
  {
    name: 'counts the users of the retiring connector too, once each',
    given: deleting({
      status: { region: 'us-east-1', arn: ROTATED_CONNECTOR_ARN },
      current: rotated({ users: [SERVICE_ARN] }),
      retiring: connector({ users: [SERVICE_ARN] }),
    }),
    state: 'blockingDeletion',
    message: `Deletion waits: App Runner service ${SERVICE_ARN} still uses the connector.`,
    params: { serviceNetworkings: [], services: [SERVICE_ARN] },
  },
  {
    name: 'names the services of the retiring and the current connector in sorted order',
    given: deleting({
      status: { region: 'us-east-1', arn: ROTATED_CONNECTOR_ARN },
      current: rotated({ users: [OTHER_SERVICE_ARN] }),
      retiring: connector({ users: [SERVICE_ARN] }),
    }),
    state: 'blockingDeletion',
    message: `Deletion waits: App Runner services ${OTHER_SERVICE_ARN}, ${SERVICE_ARN} still use the connector.`,
    params: { serviceNetworkings: [], services: [OTHER_SERVICE_ARN, SERVICE_ARN] },
  },
  {
    name: 'names the connector whose deletion AWS accepted moments ago',
    given: deleting({
      status: { region: 'us-east-1', arn: CONNECTOR_ARN, deletionRequestedAt: ago(30_000) },
    }),
    state: 'waitingForDeletion',
    message: 'Waiting for connector team-a-web to become INACTIVE.',
    params: { arn: CONNECTOR_ARN },
    requeueAfterMs: 5_000,
  },
  {
    name: 'waits on the retiring connector whose deletion AWS accepted, not on the current one',
    given: deleting({
      status: {
        region: 'us-east-1',
        arn: ROTATED_CONNECTOR_ARN,
        retiring: { arn: CONNECTOR_ARN, name: 'team-a-web', deletionRequestedAt: ago(30_000) },
      },
      current: rotated(),
      retiring: connector(),
    }),
    state: 'waitingForDeletion',
    message: 'Waiting for connector team-a-web to become INACTIVE.',
    params: { arn: CONNECTOR_ARN },
  },
  {
    name: 'names the connector it deletes',
    given: deleting(),
    state: 'deletingConnector',
    message: 'Deleting connector team-a-web.',
    params: { arn: CONNECTOR_ARN },
    requeueAfterMs: 5_000,
  },
  {
    name: 'waits for a connector recorded moments ago before deleting it',
    given: deleting({
      current: undefined,
      status: { region: 'us-east-1', arn: CONNECTOR_ARN, recordedAt: ago(5_000) },
    }),
    state: 'settlingNewConnector',
    message: `Connector ${CONNECTOR_ARN}, created moments ago, is not readable in AWS yet; deleting it once it is.`,
    params: { name: CONNECTOR_ARN },
    requeueAfterMs: 2_000,
  },
  {
    name: 'waits for the tags of a connector found by name before letting the object go',
    given: fresh({
      deleting: true,
      status: { region: 'us-east-1', createIntent: { name: 'team-a-web', requestedAt: ago(5_000) } },
      byName: connector({ tags: {}, owned: false }),
    }),
    state: 'settlingTags',
    message: 'Connector team-a-web shows no tags yet; deciding whose it is before letting the object go.',
    params: { name: 'team-a-web' },
    requeueAfterMs: 2_000,
  },
  {
    name: 'waits out the rest of the confirm window after a create intent',
    given: fresh({
      deleting: true,
      status: { region: 'us-east-1', createIntent: { name: 'team-a-web', requestedAt: ago(MIN) } },
    }),
    state: 'settlingCreateIntent',
    message:
      'Making sure connector team-a-web, whose creation was requested moments ago, does not exist before letting the object go.',
    params: { name: 'team-a-web' },
    requeueAfterMs: DELETE_CONFIRM_WINDOW_MS - MIN,
  },
  {
    name: 'looks again no sooner than the confirm delay when the window is nearly over',
    given: fresh({
      deleting: true,
      status: {
        region: 'us-east-1',
        createIntent: { name: 'team-a-web', requestedAt: ago(DELETE_CONFIRM_WINDOW_MS - 1_000) },
      },
    }),
    state: 'settlingCreateIntent',
    message:
      'Making sure connector team-a-web, whose creation was requested moments ago, does not exist before letting the object go.',
    requeueAfterMs: 5_000,
  },
  {
    name: 'names the running role deletion task and its status',
    given: roleTask({ taskId: 'task-1', status: 'NOT_STARTED', usage: [] }),
    state: 'pollingRoleDeletion',
    message: 'Deleting the App Runner networking service-linked role (task task-1 is NOT_STARTED).',
    params: { taskId: 'task-1' },
    requeueAfterMs: 10_000,
  },
  {
    name: 'quotes IAM’s reason and the resources that still use the role, and when it retries',
    given: roleTask({
      taskId: 'task-1',
      status: 'FAILED',
      reason: 'Role is in use',
      usage: [
        { region: 'eu-west-1', resources: ['connector-x', 'connector-y'] },
        { region: 'us-west-2', resources: ['connector-z'] },
      ],
    }),
    state: 'roleDeletionFailed',
    message:
      'Deleting the service-linked role failed: "Role is in use"; still used by eu-west-1: connector-x, connector-y; ' +
      'us-west-2: connector-z. Retrying in 4 min; set --service-linked-role-deletion=Never to stop.',
    params: {
      taskId: 'task-1',
      reason: 'Role is in use',
      usage: [
        { region: 'eu-west-1', resources: ['connector-x', 'connector-y'] },
        { region: 'us-west-2', resources: ['connector-z'] },
      ],
    },
    requeueAfterMs: ROLE_DELETION_RETRY_MS - MIN - 30_000,
  },
  {
    name: 'says when IAM gave no reason and names no usage when there is none',
    given: roleTask({ taskId: 'task-1', status: 'FAILED', usage: [] }),
    state: 'roleDeletionFailed',
    message:
      'Deleting the service-linked role failed: "no reason given". Retrying in 4 min; set --service-linked-role-deletion=Never to stop.',
    params: { taskId: 'task-1', usage: [] },
  },
  {
    name: 'says the role goes once no connector is left',
    given: deleting({
      serviceLinkedRoleDeletion: 'WhenUnused',
      current: connector({ active: false }),
      role: { exists: true },
      activeConnectorsInManagedRegions: 0,
    }),
    state: 'deletingRole',
    message:
      'No connector is left in any managed region: deleting the App Runner networking service-linked role.',
    params: {},
    requeueAfterMs: 10_000,
  },
  {
    name: 'says every connector is deleted when it lets the object go',
    given: deleting({ current: connector({ active: false }) }),
    state: 'removingFinalizer',
    message: 'Every connector is deleted; removing the finalizer.',
    params: { why: 'every connector is deleted' },
    requeueAfterMs: null,
  },
  {
    name: 'names the connector and region an Observe object looks for by name',
    given: fresh({ managementPolicy: 'Observe', hasFinalizer: false, ...desired({ region: 'eu-west-1' }) }),
    state: 'observedMissing',
    message:
      'Observe mode: no ACTIVE connector team-a-web in eu-west-1; create it, or fix spec.vpcConnectorName or spec.region.',
    params: {},
    requeueAfterMs: 60_000,
  },
  {
    name: 'names both fields in which an observed connector differs from spec',
    given: fresh({
      managementPolicy: 'Observe',
      ...desired({ subnets: [OTHER_SUBNET], securityGroups: ['sg-0fedcba9876543210'] }),
      observed: connector({ owned: false, users: [SERVICE_ARN] }),
    }),
    state: 'observedDiffers',
    message:
      'Observe mode: connector team-a-web has other subnets, securityGroups than spec; the operator never changes an observed connector.',
    params: {
      connector: {
        arn: CONNECTOR_ARN,
        name: 'team-a-web',
        revision: 1,
        awsStatus: 'ACTIVE',
        services: [SERVICE_ARN],
      },
    },
    requeueAfterMs: null,
  },
  {
    name: 'observes a connector whose security groups alone match, when spec names no subnets',
    given: fresh({
      managementPolicy: 'Observe',
      ...desired({ subnets: [], securityGroups: ['sg-0fedcba9876543210'] }),
      observed: connector({ owned: false }),
    }),
    state: 'observedDiffers',
    message:
      'Observe mode: connector team-a-web has other securityGroups than spec; the operator never changes an observed connector.',
  },
  {
    name: 'counts the services using an observed connector',
    given: fresh({
      managementPolicy: 'Observe',
      observed: connector({ owned: false, revision: 3, users: [OTHER_SERVICE_ARN, SERVICE_ARN] }),
    }),
    state: 'observing',
    message: 'Observing connector team-a-web (ACTIVE, used by 2 services).',
    params: {
      connector: {
        arn: CONNECTOR_ARN,
        name: 'team-a-web',
        revision: 3,
        awsStatus: 'ACTIVE',
        services: [OTHER_SERVICE_ARN, SERVICE_ARN],
      },
    },
  },
  {
    name: 'says one service, not one services',
    given: fresh({
      managementPolicy: 'Observe',
      observed: connector({ owned: false, users: [SERVICE_ARN] }),
    }),
    state: 'observing',
    message: 'Observing connector team-a-web (ACTIVE, used by 1 service).',
  },
  {
    name: 'fences deletion first',
    given: fresh({ hasFinalizer: false }),
    state: 'addingFinalizer',
    message: 'Adding the finalizer before creating anything in AWS.',
    params: {},
  },
  {
    name: 'repeats the recorded refusal and looks again when the terminal retry is due',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: CONNECTOR_ARN,
        failure: {
          reason: 'AccessDenied',
          message: 'AWS refused TagResource.',
          generation: 2,
          since: ago(MIN),
        },
      },
    }),
    state: 'awaitingSpecChange',
    reason: 'AccessDenied',
    message: 'AWS refused TagResource.',
    params: { reason: 'AccessDenied', message: 'AWS refused TagResource.' },
    requeueAfterMs: TERMINAL_RETRY_MS - MIN,
  },
  {
    name: 'looks again no sooner than the confirm delay when the terminal retry is nearly due',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: CONNECTOR_ARN,
        failure: {
          reason: 'QuotaExceeded',
          message: 'm',
          generation: 2,
          since: ago(TERMINAL_RETRY_MS - 1_000),
        },
      },
    }),
    state: 'awaitingSpecChange',
    reason: 'QuotaExceeded',
    message: 'm',
    requeueAfterMs: 5_000,
  },
  {
    name: 'says it creates the missing service-linked role',
    given: fresh({ role: { exists: false } }),
    state: 'ensuringRole',
    message: 'Creating the App Runner networking service-linked role.',
    params: {},
  },
  {
    name: 'names the old connector when the rotation is over',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: ROTATED_CONNECTOR_ARN,
        retiring: { arn: CONNECTOR_ARN, name: 'team-a-web' },
      },
      current: rotated(),
      retiring: connector({ active: false }),
    }),
    state: 'completingRotation',
    message: 'Old connector team-a-web is deleted; finishing the rotation.',
    params: { retiredArn: CONNECTOR_ARN },
  },
  {
    name: 'names the services still on the old connector',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: ROTATED_CONNECTOR_ARN,
        retiring: { arn: CONNECTOR_ARN, name: 'team-a-web' },
      },
      current: rotated(),
      retiring: connector({ users: [OTHER_SERVICE_ARN, SERVICE_ARN] }),
    }),
    state: 'waitingForUsersToMove',
    message: `Rotating: waiting for 2 services to move off connector team-a-web: ${OTHER_SERVICE_ARN}, ${SERVICE_ARN}.`,
    params: { arn: CONNECTOR_ARN, services: [OTHER_SERVICE_ARN, SERVICE_ARN] },
    requeueAfterMs: 15_000,
  },
  {
    name: 'waits for the old connector whose deletion AWS accepted',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: ROTATED_CONNECTOR_ARN,
        retiring: { arn: CONNECTOR_ARN, name: 'team-a-web', deletionRequestedAt: ago(30_000) },
      },
      current: rotated(),
      retiring: connector(),
    }),
    state: 'waitingForOldConnectorDeletion',
    message: 'Rotating: waiting for old connector team-a-web to become INACTIVE.',
    params: { arn: CONNECTOR_ARN },
    requeueAfterMs: 5_000,
  },
  {
    name: 'names the old connector it deletes',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: ROTATED_CONNECTOR_ARN,
        retiring: { arn: CONNECTOR_ARN, name: 'team-a-web' },
      },
      current: rotated(),
      retiring: connector(),
    }),
    state: 'deletingOldConnector',
    message: 'Rotating: deleting old connector team-a-web.',
    params: { arn: CONNECTOR_ARN },
    requeueAfterMs: 5_000,
  },
  {
    name: 'adopts the replacement of a rotation, keeping what it replaces',
    given: fresh({
      status: {
        region: 'us-east-1',
        createIntent: { name: 'team-a-web-g3', requestedAt: ago(MIN), replaces: CONNECTOR_ARN },
      },
      byName: rotated({ revision: 2 }),
    }),
    state: 'adopting',
    message: "Adopting connector team-a-web-g3, which carries this object's ownership tags.",
    params: { arn: ROTATED_CONNECTOR_ARN, name: 'team-a-web-g3', revision: 2, replaces: CONNECTOR_ARN },
    requeueAfterMs: null,
  },
  {
    name: 'adopts a first connector without a replaces parameter',
    given: fresh({
      status: { region: 'us-east-1', createIntent: { name: 'team-a-web', requestedAt: ago(MIN) } },
      byName: connector(),
    }),
    state: 'adopting',
    message: "Adopting connector team-a-web, which carries this object's ownership tags.",
    params: { arn: CONNECTOR_ARN, name: 'team-a-web', revision: 1 },
  },
  {
    name: 'looks again at a connector by our name that shows no tags moments after the intent',
    given: fresh({
      status: { region: 'us-east-1', createIntent: { name: 'team-a-web', requestedAt: ago(5_000) } },
      byName: connector({ tags: {}, owned: false }),
    }),
    state: 'waitingForTags',
    message:
      "Connector team-a-web shows no tags yet (AWS's tag reads lag a create); looking again before deciding whose it is.",
    params: { name: 'team-a-web' },
    requeueAfterMs: 2_000,
  },
  {
    name: 'names the owner, the region and the ARN of a connector that took our name',
    given: fresh({
      status: { region: 'us-east-1', createIntent: { name: 'team-a-web', requestedAt: ago(MIN) } },
      byName: connector({ tags: STAGING_TAGS, owned: false }),
    }),
    state: 'nameConflict',
    message:
      `Connector name team-a-web in us-east-1 is taken by VpcConnector team-a/web of cluster staging (${CONNECTOR_ARN}); ` +
      'set another spec.vpcConnectorName or remove that connector.',
    params: { name: 'team-a-web', arn: CONNECTOR_ARN, owner: 'VpcConnector team-a/web of cluster staging' },
    requeueAfterMs: 5 * MIN,
  },
  {
    name: 'calls a conflicting connector without ownership tags just that',
    given: fresh({
      status: {
        region: 'us-east-1',
        createIntent: { name: 'team-a-web', requestedAt: ago(READ_LAG_WINDOW_MS) },
      },
      byName: connector({ tags: {}, owned: false }),
    }),
    state: 'nameConflict',
    message:
      `Connector name team-a-web in us-east-1 is taken by a connector without ownership tags (${CONNECTOR_ARN}); ` +
      'set another spec.vpcConnectorName or remove that connector.',
  },
  {
    name: 'marks the ownership tags a conflicting connector lacks',
    given: fresh({
      status: { region: 'us-east-1', createIntent: { name: 'team-a-web', requestedAt: ago(MIN) } },
      byName: connector({ tags: { [OwnershipTag.cluster]: 'staging' }, owned: false }),
    }),
    state: 'nameConflict',
    message:
      `Connector name team-a-web in us-east-1 is taken by VpcConnector ?/? of cluster staging (${CONNECTOR_ARN}); ` +
      'set another spec.vpcConnectorName or remove that connector.',
  },
  {
    name: 'marks the cluster a conflicting connector does not name',
    given: fresh({
      byName: connector({
        tags: { [OwnershipTag.namespace]: 'team-a', [OwnershipTag.name]: 'web' },
        owned: false,
      }),
    }),
    state: 'nameConflict',
    message:
      `Connector name team-a-web in us-east-1 is taken by VpcConnector team-a/web of cluster ? (${CONNECTOR_ARN}); ` +
      'set another spec.vpcConnectorName or remove that connector.',
    params: { name: 'team-a-web', arn: CONNECTOR_ARN, owner: 'VpcConnector team-a/web of cluster ?' },
  },
  {
    name: 'names the owner of a conflicting connector that carries the namespace tag alone',
    given: fresh({ byName: connector({ tags: { [OwnershipTag.namespace]: 'team-a' }, owned: false }) }),
    state: 'nameConflict',
    message:
      `Connector name team-a-web in us-east-1 is taken by VpcConnector team-a/? of cluster ? (${CONNECTOR_ARN}); ` +
      'set another spec.vpcConnectorName or remove that connector.',
  },
  {
    name: 'names the owner of a conflicting connector that carries the name tag alone',
    given: fresh({ byName: connector({ tags: { [OwnershipTag.name]: 'web' }, owned: false }) }),
    state: 'nameConflict',
    message:
      `Connector name team-a-web in us-east-1 is taken by VpcConnector ?/web of cluster ? (${CONNECTOR_ARN}); ` +
      'set another spec.vpcConnectorName or remove that connector.',
  },
  {
    name: 'calls a conflicting connector whose tags AWS did not return one without ownership tags',
    given: fresh({ byName: untagged }),
    state: 'nameConflict',
    message:
      `Connector name team-a-web in us-east-1 is taken by a connector without ownership tags (${CONNECTOR_ARN}); ` +
      'set another spec.vpcConnectorName or remove that connector.',
    params: { name: 'team-a-web', arn: CONNECTOR_ARN, owner: 'a connector without ownership tags' },
  },
  {
    name: 'quotes AWS’s refusal of the create while it looks the name up',
    given: fresh({ status: refusedIntent(2_000) }),
    state: 'confirmingCreateRefusal',
    message:
      'AWS refused creating connector team-a-web: InvalidRequestException "bad subnet". ' +
      'Looking the name up before reporting it (a connector from an earlier attempt is refused the same way).',
    params: { name: 'team-a-web' },
    requeueAfterMs: 2_000,
  },
  {
    name: 'reports the refusal of the create once the lookups found nothing',
    given: fresh({ status: refusedIntent(CREATE_REFUSAL_CONFIRM_MS) }),
    state: 'createRefused',
    reason: 'InvalidInput',
    message:
      'AWS refused CreateVpcConnector: InvalidRequestException "bad subnet". ' +
      "Fix the spec or the operator's permissions; the operator retries this generation every 10 minutes.",
    params: { name: 'team-a-web', code: 'InvalidRequestException', message: 'bad subnet' },
    requeueAfterMs: TERMINAL_RETRY_MS,
  },
  {
    name: 'creates the replacement named in the intent with the spec’s fields',
    given: observation({
      status: {
        region: 'us-east-1',
        arn: CONNECTOR_ARN,
        createIntent: { name: 'team-a-web-g3', requestedAt: ago(MIN), replaces: CONNECTOR_ARN },
      },
      ...desired({ subnets: [OTHER_SUBNET] }),
    }),
    state: 'creatingReplacement',
    message: 'Rotating: creating replacement connector team-a-web-g3.',
    params: {
      region: 'us-east-1',
      name: 'team-a-web-g3',
      subnets: [OTHER_SUBNET],
      securityGroups: [SECURITY_GROUP],
      tags: DESIRED_TAGS,
      replaces: CONNECTOR_ARN,
    },
    requeueAfterMs: null,
  },
  {
    name: 'creates the connector named in the intent',
    given: fresh({
      status: { region: 'us-east-1', createIntent: { name: 'team-a-web', requestedAt: ago(MIN) } },
    }),
    state: 'creatingConnector',
    message: 'Creating connector team-a-web.',
    params: {
      region: 'us-east-1',
      name: 'team-a-web',
      subnets: [SUBNET],
      securityGroups: [SECURITY_GROUP],
      tags: DESIRED_TAGS,
    },
  },
  {
    name: 'records the intent to create under the spec’s name and region',
    given: fresh(desired({ region: 'eu-west-1' })),
    state: 'recordingCreateIntent',
    message: 'Creating connector team-a-web in eu-west-1.',
    params: { region: 'eu-west-1', name: 'team-a-web' },
  },
  {
    name: 'names the connector recorded moments ago that AWS does not show yet',
    given: observation({
      current: undefined,
      status: { region: 'us-east-1', arn: CONNECTOR_ARN, recordedAt: ago(5_000) },
    }),
    state: 'waitingForNewConnector',
    message: `Connector ${CONNECTOR_ARN} was created moments ago and AWS does not show it (or its tags) yet; looking again.`,
    params: { name: CONNECTOR_ARN },
    requeueAfterMs: 2_000,
  },
  {
    name: 'names the connector deleted out of band and what it creates instead',
    given: observation({ current: undefined, ...desired({ region: 'us-east-1', name: 'team-a-web-v2' }) }),
    state: 'recreatingAfterDrift',
    message: `Connector ${CONNECTOR_ARN} was deleted outside the operator; creating it again.`,
    params: { goneArn: CONNECTOR_ARN, region: 'us-east-1', name: 'team-a-web-v2' },
  },
  {
    name: 'names the owner of a foreign connector in status',
    given: observation({ current: connector({ tags: STAGING_TAGS, owned: false }) }),
    state: 'foreignConnector',
    message: `Connector ${CONNECTOR_ARN} belongs to VpcConnector team-a/web of cluster staging, not to this object; the operator will not change or delete it.`,
    params: { name: 'team-a-web', arn: CONNECTOR_ARN, owner: 'VpcConnector team-a/web of cluster staging' },
    requeueAfterMs: 5 * MIN,
  },
  {
    name: 'says which immutable field differs under Reject, in the singular',
    given: observation({ updatePolicy: 'Reject', ...desired({ subnets: [OTHER_SUBNET] }) }),
    state: 'rejectingChange',
    reason: 'ImmutableFieldChanged',
    message:
      'spec.subnets differs from connector team-a-web, which cannot change in place; set updatePolicy: Rotate to replace it, or restore the spec.',
    params: { fields: ['subnets'] },
    requeueAfterMs: null,
  },
  {
    name: 'lists every differing field under Reject, in the plural',
    given: observation({
      updatePolicy: 'Reject',
      ...desired({ subnets: [OTHER_SUBNET], securityGroups: ['sg-0fedcba9876543210'], name: 'renamed' }),
    }),
    state: 'rejectingChange',
    message:
      'spec.subnets, spec.securityGroups, spec.vpcConnectorName differ from connector team-a-web, which cannot change in place; ' +
      'set updatePolicy: Rotate to replace it, or restore the spec.',
    params: { fields: ['subnets', 'securityGroups', 'vpcConnectorName'] },
  },
  {
    name: 'puts the region first and says a connector cannot move region',
    given: observation(desired({ region: 'us-west-2', subnets: [OTHER_SUBNET] })),
    state: 'rejectingChange',
    message:
      'spec.region, spec.subnets differ from connector team-a-web, which cannot change in place; a connector cannot move region: create a new VpcConnector.',
    params: { fields: ['region', 'subnets'] },
  },
  {
    name: 'names the changed field, the replacement and the connector it replaces',
    given: observation(desired({ subnets: [OTHER_SUBNET] })),
    state: 'recordingRotationIntent',
    message: 'Rotating: spec.subnets changed; creating team-a-web-g2 to replace team-a-web.',
    params: { region: 'us-east-1', name: 'team-a-web-g2', replaces: CONNECTOR_ARN },
  },
  {
    name: 'lists the tags it adds or corrects',
    given: observation(desired({ tags: { ...DESIRED_TAGS, team: 'payments', tier: 'web' } })),
    state: 'syncingTags',
    message: 'Updating tags team, tier on connector team-a-web.',
    params: { arn: CONNECTOR_ARN, tags: { team: 'payments', tier: 'web' } },
  },
  {
    name: 'corrects a tag whose value differs',
    given: observation({
      current: connector({ tags: { ...VPCC_TAGS, team: 'old' } }),
      ...desired({ tags: { ...DESIRED_TAGS, team: 'new' } }),
    }),
    state: 'syncingTags',
    message: 'Updating tags team on connector team-a-web.',
    params: { arn: CONNECTOR_ARN, tags: { team: 'new' } },
  },
  {
    name: 'says Ready with the revision and no services',
    given: observation({ current: connector({ revision: 4 }) }),
    state: 'ready',
    reason: 'Available',
    message: 'Connector team-a-web (revision 4) is ACTIVE and used by 0 services.',
    params: { arn: CONNECTOR_ARN, name: 'team-a-web', revision: 4, awsStatus: 'ACTIVE', services: [] },
    requeueAfterMs: null,
  },
  {
    name: 'rotates when one of two subnets is replaced (same count, one in common)',
    given: observation({
      current: connector({ subnets: [SUBNET, 'subnet-0aaaaaaaaaaaaaaa1'] }),
      ...desired({ subnets: [SUBNET, OTHER_SUBNET] }),
    }),
    state: 'recordingRotationIntent',
    message: 'Rotating: spec.subnets changed; creating team-a-web-g2 to replace team-a-web.',
  },
  {
    name: 'names every changed field of a rotation',
    given: observation(desired({ subnets: [OTHER_SUBNET], securityGroups: ['sg-0fedcba9876543210'] })),
    state: 'recordingRotationIntent',
    message:
      'Rotating: spec.subnets, spec.securityGroups changed; creating team-a-web-g2 to replace team-a-web.',
  },
  {
    name: 'names only the references when no service uses the connector',
    given: deleting({ referencedBy: ['checkout'] }),
    state: 'blockingDeletion',
    message: 'Deletion waits: ServiceNetworking team-a/checkout still references it.',
  },
  {
    name: 'creates under the name the intent recorded, even after the spec’s name changed',
    given: fresh({
      ...desired({ name: 'team-a-web-v2' }),
      status: { region: 'us-east-1', createIntent: { name: 'team-a-web', requestedAt: ago(MIN) } },
    }),
    state: 'creatingConnector',
    message: 'Creating connector team-a-web.',
    params: {
      region: 'us-east-1',
      name: 'team-a-web',
      subnets: [SUBNET],
      securityGroups: [SECURITY_GROUP],
      tags: DESIRED_TAGS,
    },
  },
];

void describe('what each VpcConnector state reports', () => {
  for (const c of cases) {
    void it(c.name, PURE, () => {
      const decision = decide(c.given);
      assert.equal(decision.state, c.state);
      assert.equal(decision.conditions.kstatus.message, c.message);
      if (c.reason !== undefined) assert.equal(decision.conditions.kstatus.reason, c.reason);
      if (c.params !== undefined) assert.deepStrictEqual(decision.actions[0]?.params, c.params);
      if (c.requeueAfterMs !== undefined)
        assert.equal(decision.requeueAfterMs, c.requeueAfterMs ?? undefined);
    });
  }

  void it('marks DeletionBlocked with the failure report while the role deletion failed', PURE, () => {
    const decision = decide(roleTask({ taskId: 'task-1', status: 'FAILED', reason: 'in use', usage: [] }));
    assert.deepEqual(
      decision.conditions.domain.find((c) => c.type === 'DeletionBlocked'),
      {
        type: 'DeletionBlocked',
        status: 'True',
        reason: 'ServiceLinkedRoleDeletionFailed',
        message: decision.conditions.kstatus.message,
      },
    );
  });

  void it(
    'says nothing blocks deletion while it deletes, and reports the role only for Manage objects',
    PURE,
    () => {
      assert.deepEqual(decide(deleting()).conditions.domain, [
        {
          type: 'DeletionBlocked',
          status: 'False',
          reason: 'NotBlocked',
          message: 'Nothing blocks deletion.',
        },
      ]);
      assert.deepEqual(decide(fresh({ role: { exists: true } })).conditions.domain, [
        {
          type: 'ServiceLinkedRoleReady',
          status: 'True',
          reason: 'ServiceLinkedRolePresent',
          message: 'The App Runner networking service-linked role exists.',
        },
      ]);
      assert.deepEqual(decide(fresh({ role: { exists: false } })).conditions.domain, [
        {
          type: 'ServiceLinkedRoleReady',
          status: 'False',
          reason: 'ServiceLinkedRoleAbsent',
          message: 'The App Runner networking service-linked role does not exist.',
        },
      ]);
      const observed = fresh({ managementPolicy: 'Observe', role: { exists: true }, observed: connector() });
      assert.deepEqual(decide(observed).conditions.domain, []);
    },
  );
});
