// Observe: what one reconcile pass of a VpcConnector knows, as plain data. `readPlan` says which AWS reads
// the reconciler makes for an object; `observe` folds the object, the ServiceNetworkings of its namespace
// and those reads into the Observation the machine decides on. Both are pure: no client, no clock.
import { FINALIZER, OwnershipTag } from '../../api/constants.ts';
import { defaultConnectorName } from '../../api/naming.ts';
import type { ServiceNetworking } from '../../api/servicenetworking.ts';
import type {
  ManagementPolicy,
  UpdatePolicy,
  VpcConnector,
  VpcConnectorDeletionPolicy,
} from '../../api/vpcconnector.ts';
import type {
  ConnectorObservation,
  RoleDeletionObservation,
  RoleObservation,
  ServiceObservation,
  Tags,
} from '../../aws/gateway.ts';
import type { Freshness } from '../shared/aws-view.ts';
import { recordedFailure, type RecordedFailure } from '../shared/failures.ts';

export type { RecordedFailure } from '../shared/failures.ts';

export type ServiceLinkedRoleDeletion = 'Never' | 'WhenUnused';

/** Operator-wide settings (flags of `apprunner-net run`). */
export interface OperatorSettings {
  /** The ownership tag value; two clusters sharing an account must differ. */
  clusterName: string;
  /** The region of objects without spec.region. */
  defaultRegion: string;
  serviceLinkedRoleDeletion: ServiceLinkedRoleDeletion;
}

/** The AWS reads one pass needs; each absent entry is a read the reconciler skips. */
export interface ReadPlan {
  region: string;
  /**
   * How current the shared view of connectors must be: `fresh` for a pass that may delete a connector
   * (deleting, or retiring one in a rotation), and for one about to create (a lookup by name decides whether
   * a create already happened); `settled` otherwise.
   */
  freshness: Freshness;
  /**
   * How current the region's services must be: `fresh` only for a pass that may delete a connector, whose
   * reads decide that nothing uses it. A create decides nothing from the services, and a fresh listing of a
   * large region costs a call per 20 services.
   */
  servicesFreshness: Freshness;
  /** describeConnector of the connector in status (drift, users, tags). */
  currentArn?: string;
  /** describeConnector of the connector a rotation is retiring. */
  retiringArn?: string;
  /** findConnectorByName: the name a recorded create intent, or the first create, would use. */
  findName?: string;
  /** Observe mode: describeConnector of spec.vpcConnectorArn, else findConnectorByName of this name. */
  observeArn?: string;
  observeName?: string;
  /** listServices(region): always, because users decide rotation and deletion and fill status.services. */
  listServices: true;
  /** getRole: before the first create, and while deleting under WhenUnused. */
  role: boolean;
  /** getDeletionStatus of the role deletion task in status. */
  roleDeletionTaskId?: string;
  /** listConnectors in every managed region: only when deleting the role is in question. */
  connectorsInManagedRegions: boolean;
}

/** What the reconciler read, following the ReadPlan. */
export interface AwsReads {
  current?: ConnectorObservation;
  retiring?: ConnectorObservation;
  byName?: ConnectorObservation;
  observed?: ConnectorObservation;
  services: readonly ServiceObservation[];
  role?: RoleObservation;
  roleDeletion?: RoleDeletionObservation;
  connectorsInManagedRegions?: readonly ConnectorObservation[];
}

/** A connector seen in AWS, with whether its tags say it is this object's and who uses it. */
export interface SeenConnector {
  arn: string;
  name: string;
  revision: number;
  active: boolean;
  subnets: readonly string[];
  securityGroups: readonly string[];
  tags?: Tags;
  owned: boolean;
  /** ARNs of the services whose egress uses this connector, or may still (an operation in flight). */
  users: readonly string[];
  /**
   * ARNs of the services whose network configuration names this connector: what status reports. Absent: the
   * same as `users`.
   */
  attached?: readonly string[];
}

export interface Observation {
  now: Date;
  namespace: string;
  name: string;
  generation: number;
  deleting: boolean;
  hasFinalizer: boolean;
  updatePolicy: UpdatePolicy;
  deletionPolicy: VpcConnectorDeletionPolicy;
  managementPolicy: ManagementPolicy;
  serviceLinkedRoleDeletion: ServiceLinkedRoleDeletion;
  desired: {
    region: string;
    /** spec.vpcConnectorName, or the default derived from namespace and name. */
    name: string;
    subnets: readonly string[];
    /** Empty: the VPC default group, which the spec cannot name, so it is not compared. */
    securityGroups: readonly string[];
    /** spec.tags plus the ownership tags. */
    tags: Tags;
  };
  status: {
    region?: string;
    arn?: string;
    createIntent?: {
      name: string;
      requestedAt: Date;
      replaces?: string;
      /** AWS refused the create as invalid input (`code` and `message` quoted later if nothing turns up). */
      refused?: { at: Date; code: string; message: string };
    };
    retiring?: { arn: string; name: string; deletionRequestedAt?: Date };
    deletionRequestedAt?: Date;
    /** When the connector in status was recorded (created or adopted). */
    recordedAt?: Date;
    roleDeletion?: { taskId: string; startedAt: Date };
    failure?: RecordedFailure;
  };
  current?: SeenConnector;
  retiring?: SeenConnector;
  /** Found by the name of the create intent (or the first create): adopt when owned, conflict when not. */
  byName?: SeenConnector;
  /** Observe mode: the connector named by spec.vpcConnectorArn or spec.vpcConnectorName. */
  observed?: SeenConnector;
  /** Observe mode by ARN: spec.vpcConnectorArn, which reports name (desired.name is then only a default). */
  observeArn?: string;
  /** ServiceNetworkings of this namespace whose egress references this object by name. */
  referencedBy: readonly string[];
  role?: RoleObservation;
  roleDeletion?: RoleDeletionObservation;
  /** ACTIVE connectors in all managed regions (any owner); undefined when not read. */
  activeConnectorsInManagedRegions?: number;
  /**
   * Some service of the region has an operation in flight: which connector it ends on is not known yet, so
   * the users reported now may change without any event (look again soon).
   */
  servicesInMotion?: boolean;
}

/** Where the connector lives: the region recorded at creation wins over a later spec or default. */
export function connectorRegion(object: VpcConnector, settings: OperatorSettings): string {
  return object.status?.region ?? object.spec.region ?? observedArnRegion(object) ?? settings.defaultRegion;
}

/** Observe by ARN: the region the ARN names (a CEL rule makes spec.region, when set, agree with it). */
function observedArnRegion(object: VpcConnector): string | undefined {
  if (object.spec.managementPolicy !== 'Observe') return undefined;
  return object.spec.vpcConnectorArn?.split(':')[3];
}

export function desiredName(object: VpcConnector): string {
  return object.spec.vpcConnectorName ?? defaultConnectorName(namespaceOf(object), nameOf(object));
}

export function ownershipTags(object: VpcConnector, settings: OperatorSettings): Tags {
  return {
    [OwnershipTag.cluster]: settings.clusterName,
    [OwnershipTag.namespace]: namespaceOf(object),
    [OwnershipTag.name]: nameOf(object),
  };
}

export function readPlan(object: VpcConnector, settings: OperatorSettings): ReadPlan {
  const status = object.status ?? {};
  const deleting = object.metadata.deletionTimestamp !== undefined;
  const roleDeletion = deleting && settings.serviceLinkedRoleDeletion === 'WhenUnused';
  const mayDelete = deleting || status.retiring !== undefined;
  const plan: ReadPlan = {
    // status.region pins the region the connector was created in, whatever the default becomes.
    region: connectorRegion(object, settings),
    freshness: mayDelete || status.createIntent !== undefined ? 'fresh' : 'settled',
    servicesFreshness: mayDelete ? 'fresh' : 'settled',
    listServices: true,
    role: false,
    connectorsInManagedRegions: roleDeletion,
  };
  if (object.spec.managementPolicy === 'Observe') {
    if (object.spec.vpcConnectorArn !== undefined) plan.observeArn = object.spec.vpcConnectorArn;
    else plan.observeName = desiredName(object);
    return plan;
  }
  if (status.vpcConnectorArn !== undefined) plan.currentArn = status.vpcConnectorArn;
  if (status.retiring !== undefined) plan.retiringArn = status.retiring.arn;
  if (status.createIntent !== undefined) plan.findName = status.createIntent.name;
  else if (status.vpcConnectorArn === undefined) plan.findName = desiredName(object);
  plan.role = roleDeletion || (!deleting && status.vpcConnectorArn === undefined);
  if (status.serviceLinkedRoleDeletion !== undefined)
    plan.roleDeletionTaskId = status.serviceLinkedRoleDeletion.taskId;
  return plan;
}

export interface ObserveInput {
  object: VpcConnector;
  /** The ServiceNetworkings of the object's namespace (others are ignored). */
  serviceNetworkings: readonly ServiceNetworking[];
  aws: AwsReads;
  settings: OperatorSettings;
  now: Date;
}

export function observe({ object, serviceNetworkings, aws, settings, now }: ObserveInput): Observation {
  const status = object.status ?? {};
  const namespace = namespaceOf(object);
  const name = nameOf(object);
  const ownership = ownershipTags(object, settings);
  const seen = (connector: ConnectorObservation | undefined): SeenConnector | undefined =>
    connector === undefined ? undefined : see(connector, ownership, aws.services);

  const observation: Observation = {
    now,
    namespace,
    name,
    generation: object.metadata.generation ?? 0,
    deleting: object.metadata.deletionTimestamp !== undefined,
    hasFinalizer: object.metadata.finalizers?.includes(FINALIZER) ?? false,
    updatePolicy: object.spec.updatePolicy,
    deletionPolicy: object.spec.deletionPolicy,
    managementPolicy: object.spec.managementPolicy,
    serviceLinkedRoleDeletion: settings.serviceLinkedRoleDeletion,
    desired: {
      region: object.spec.region ?? status.region ?? observedArnRegion(object) ?? settings.defaultRegion,
      name: desiredName(object),
      subnets: object.spec.subnets ?? [],
      securityGroups: object.spec.securityGroups ?? [],
      tags: { ...object.spec.tags, ...ownership },
    },
    status: {},
    referencedBy: serviceNetworkings
      .filter((sn) => (sn.metadata.namespace ?? namespace) === namespace)
      .filter((sn) => sn.spec.egress.type === 'VPC' && sn.spec.egress.vpcConnectorRef?.name === name)
      .map((sn) => sn.metadata.name ?? '')
      .sort(),
  };

  if (object.spec.managementPolicy === 'Observe' && object.spec.vpcConnectorArn !== undefined) {
    observation.observeArn = object.spec.vpcConnectorArn;
  }
  if (status.region !== undefined) observation.status.region = status.region;
  if (status.vpcConnectorArn !== undefined) observation.status.arn = status.vpcConnectorArn;
  if (status.createIntent !== undefined) {
    const { name: intentName, requestedAt, replaces, refused } = status.createIntent;
    observation.status.createIntent = { name: intentName, requestedAt: new Date(requestedAt) };
    if (replaces !== undefined) observation.status.createIntent.replaces = replaces;
    if (refused !== undefined) {
      observation.status.createIntent.refused = { ...refused, at: new Date(refused.at) };
    }
  }
  if (status.retiring !== undefined) {
    const { arn, name: retiringName, deletionRequestedAt } = status.retiring;
    observation.status.retiring = { arn, name: retiringName };
    if (deletionRequestedAt !== undefined) {
      observation.status.retiring.deletionRequestedAt = new Date(deletionRequestedAt);
    }
  }
  if (status.deletionRequestedAt !== undefined) {
    observation.status.deletionRequestedAt = new Date(status.deletionRequestedAt);
  }
  if (status.recordedAt !== undefined) observation.status.recordedAt = new Date(status.recordedAt);
  if (status.serviceLinkedRoleDeletion !== undefined) {
    observation.status.roleDeletion = {
      taskId: status.serviceLinkedRoleDeletion.taskId,
      startedAt: new Date(status.serviceLinkedRoleDeletion.startedAt),
    };
  }
  const failure = recordedFailure(status.conditions);
  if (failure !== undefined) observation.status.failure = failure;

  const current = seen(aws.current);
  if (current !== undefined) observation.current = current;
  const retiring = seen(aws.retiring);
  if (retiring !== undefined) observation.retiring = retiring;
  // A name lookup means something only while no connector is recorded or a create intent is pending.
  const byName =
    status.createIntent !== undefined || status.vpcConnectorArn === undefined ? seen(aws.byName) : undefined;
  if (byName !== undefined && byName.active) observation.byName = byName;
  const observed = seen(aws.observed);
  if (observed !== undefined) observation.observed = observed;
  if (aws.role !== undefined) observation.role = aws.role;
  if (
    aws.roleDeletion !== undefined &&
    aws.roleDeletion.taskId === status.serviceLinkedRoleDeletion?.taskId
  ) {
    observation.roleDeletion = aws.roleDeletion;
  }
  if (aws.services.some((s) => s.status === 'OPERATION_IN_PROGRESS')) observation.servicesInMotion = true;
  if (aws.connectorsInManagedRegions !== undefined) {
    observation.activeConnectorsInManagedRegions = aws.connectorsInManagedRegions.filter(
      (c) => c.status === 'ACTIVE',
    ).length;
  }
  return observation;
}

function see(
  connector: ConnectorObservation,
  ownership: Tags,
  services: readonly ServiceObservation[],
): SeenConnector {
  const seen: SeenConnector = {
    arn: connector.arn,
    name: connector.name,
    revision: connector.revision,
    active: connector.status === 'ACTIVE',
    subnets: connector.subnets,
    securityGroups: connector.securityGroups,
    owned: Object.entries(ownership).every(([key, value]) => connector.tags?.[key] === value),
    // While an operation is in flight, DescribeService already shows the new network configuration but AWS
    // still counts the service as a user of the connector it is moving off (semantics §5.4). AWS does not say
    // which: the shared view knows it when it saw the service settled before (`movingFrom`); otherwise a busy
    // service counts as a user of every connector until its operation ends.
    users: services
      .filter(
        (s) =>
          (s.network.egressType === 'VPC' && s.network.vpcConnectorArn === connector.arn) ||
          (s.status === 'OPERATION_IN_PROGRESS' &&
            (s.movingFrom === undefined || s.movingFrom.connectorArn === connector.arn)),
      )
      .map((s) => s.arn)
      .sort(),
    attached: services
      .filter((s) => s.network.egressType === 'VPC' && s.network.vpcConnectorArn === connector.arn)
      .map((s) => s.arn)
      .sort(),
  };
  if (connector.tags !== undefined) seen.tags = connector.tags;
  return seen;
}

function namespaceOf(object: VpcConnector): string {
  return object.metadata.namespace ?? 'default';
}

function nameOf(object: VpcConnector): string {
  return object.metadata.name ?? '';
}
