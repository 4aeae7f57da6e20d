// The simulated account: plain JSON-serialisable records, so the state file is just this object.
// Times are epoch milliseconds from the injected clock. Progress of asynchronous work (operations,
// SLR deletion tasks, retention) is stored as planned timestamps and derived lazily by engine.ts.

export interface Tag {
  Key: string;
  Value: string;
}

/** A taggable App Runner resource; tag reads may lag its tag changes (consistency.tagReadDelayMs). */
export interface Tagged {
  tags: Tag[];
  /** What ListTagsForResource answers before `tagsReadableAt` (the tags before the latest changes). */
  tagsBefore?: Tag[];
  tagsReadableAt?: number;
}

export interface Vpc {
  id: string;
  cidrBlock: string;
  isDefault: boolean;
  tags: Tag[];
  createdAt: number;
}

export interface Subnet {
  id: string;
  vpcId: string;
  cidrBlock: string;
  availabilityZone: string;
  tags: Tag[];
  createdAt: number;
}

export interface SecurityGroup {
  id: string;
  vpcId: string;
  name: string;
  description: string;
  tags: Tag[];
  createdAt: number;
}

export interface NetworkInterface {
  id: string;
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
  securityGroups: string[];
  privateIpAddress: string;
  macAddress: string;
  description: string;
  tags: Tag[];
  /** Which service attachment created it (App Runner's own bookkeeping). */
  serviceArn: string;
  connectorArn: string;
  createdAt: number;
}

export interface Connector extends Tagged {
  arn: string;
  name: string;
  revision: number;
  subnets: string[];
  securityGroups: string[];
  vpcId: string;
  status: 'ACTIVE' | 'INACTIVE';
  createdAt: number;
  deletedAt?: number;
  /** ListVpcConnectors shows it from this instant (eventual-consistency knob). */
  listableAt: number;
  /** DescribeVpcConnector answers ResourceNotFound before this instant (absent: describable at once). */
  describableAt?: number;
  /** Deleted (INACTIVE), but Describe and List show it ACTIVE until this instant (asynchronous delete). */
  inactiveVisibleAt?: number;
}

export type EgressType = 'DEFAULT' | 'VPC';
export type IpAddressType = 'IPV4' | 'DUAL_STACK';

export interface NetworkConfiguration {
  egressType: EgressType;
  vpcConnectorArn?: string;
  isPubliclyAccessible: boolean;
  ipAddressType: IpAddressType;
  /**
   * No request has set the ingress yet (isPubliclyAccessible is then the default, true): Service answers
   * leave IngressConfiguration out, which means a public endpoint. Absent (as in older state files) = set.
   */
  ingressUnset?: boolean;
  /** No request has set IpAddressType yet (it is then IPV4): Service answers leave it out. */
  ipAddressTypeUnset?: boolean;
}

export type OperationType =
  | 'START_DEPLOYMENT'
  | 'CREATE_SERVICE'
  | 'PAUSE_SERVICE'
  | 'RESUME_SERVICE'
  | 'DELETE_SERVICE'
  | 'UPDATE_SERVICE';

export type OperationStatus =
  | 'PENDING'
  | 'IN_PROGRESS'
  | 'FAILED'
  | 'SUCCEEDED'
  | 'ROLLBACK_IN_PROGRESS'
  | 'ROLLBACK_FAILED'
  | 'ROLLBACK_SUCCEEDED';

export type OperationOutcome = 'SUCCEEDED' | 'FAILED' | 'ROLLBACK_SUCCEEDED' | 'ROLLBACK_FAILED';

export interface Operation {
  id: string;
  type: OperationType;
  targetArn: string;
  startedAt: number;
  /** PENDING until then. */
  inProgressAt: number;
  /** IN_PROGRESS until then (null = stuck forever). */
  workEndsAt: number | null;
  /** Terminal outcome planned at start (may turn into a rollback if an ENI action is denied). */
  outcome: OperationOutcome;
  /** For rollbacks: ROLLBACK_IN_PROGRESS until then. */
  rollbackEndsAt?: number;
  /** Set once the terminal effects were applied. */
  endedAt?: number;
  /** Network configuration before and after this operation (UPDATE_SERVICE). */
  previousNetwork?: NetworkConfiguration;
  nextNetwork?: NetworkConfiguration;
  /** The service status to return to on success (RUNNING or PAUSED). */
  settledStatus?: ServiceStatus;
  /** Status before the operation (to restore after a rollback). */
  previousStatus?: ServiceStatus;
  /** ENIs were already created for nextNetwork (done when IN_PROGRESS begins). */
  enisCreated?: boolean;
  /** Why the operation failed, if it did (shown in /_sim/state only). */
  failureReason?: string;
}

export type ServiceStatus =
  'CREATE_FAILED' | 'RUNNING' | 'DELETED' | 'DELETE_FAILED' | 'PAUSED' | 'OPERATION_IN_PROGRESS';

export interface Service extends Tagged {
  arn: string;
  id: string;
  name: string;
  url: string;
  status: ServiceStatus;
  createdAt: number;
  updatedAt: number;
  deletedAt?: number;
  /** What DescribeService shows (during an update: the configuration being applied). */
  network: NetworkConfiguration;
  /** Image source and the other opaque configuration blocks, stored as sent (defaults filled in). */
  sourceConfiguration: Record<string, unknown>;
  instanceConfiguration: Record<string, unknown>;
  healthCheckConfiguration: Record<string, unknown>;
  observabilityConfiguration?: Record<string, unknown>;
  encryptionConfiguration?: Record<string, unknown>;
  autoScalingConfigurationArn: string;
  /** Newest first. */
  operations: Operation[];
}

/** A connector reference that outlives the service's use of it (in-use linger). */
export interface ConnectorHold {
  connectorArn: string;
  serviceArn: string;
  until: number;
}

export interface RegionState {
  vpcs: Vpc[];
  subnets: Subnet[];
  securityGroups: SecurityGroup[];
  networkInterfaces: NetworkInterface[];
  connectors: Connector[];
  /** Highest revision ever used per connector name (survives purge). */
  connectorRevisions: Record<string, number>;
  services: Service[];
  holds: ConnectorHold[];
  /** subnet+SG combinations already associated once (no more first-association delay). */
  associatedCombinations: string[];
  /** VPC ingress connections (private endpoints into services). */
  ingressConnections: IngressConnection[];
}

export type IngressConnectionStatus =
  | 'AVAILABLE'
  | 'PENDING_CREATION'
  | 'PENDING_UPDATE'
  | 'PENDING_DELETION'
  | 'FAILED_CREATION'
  | 'FAILED_UPDATE'
  | 'FAILED_DELETION'
  | 'DELETED';

export interface IngressConnection extends Tagged {
  arn: string;
  name: string;
  serviceArn: string;
  domainName: string;
  vpcId: string;
  vpcEndpointId: string;
  status: IngressConnectionStatus;
  /** A PENDING_* status ends at this instant (settled lazily). */
  pendingUntil?: number;
  createdAt: number;
  deletedAt?: number;
}

export interface Role {
  name: string;
  path: string;
  arn: string;
  roleId: string;
  servicePrincipal: string;
  description: string;
  createdAt: number;
  /** GetRole answers NoSuchEntity before this instant (eventual-consistency knob). */
  readableAt: number;
}

export interface DeletionTask {
  id: string;
  roleName: string;
  submittedAt: number;
  inProgressAt: number;
  endsAt: number;
  status: 'NOT_STARTED' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';
  reason?: { reason: string; roleUsage: { region: string; resources: string[] }[] };
}

export interface Violation {
  time: string;
  invariant: string;
  caller: string;
  operation: string;
  resource: string;
  detail: string;
}

export interface World {
  version: 1;
  accountId: string;
  regions: Record<string, RegionState>;
  roles: Role[];
  deletionTasks: DeletionTask[];
  violations: Violation[];
  /** PRNG state, so a restarted simulator continues the same sequence. */
  prngState: number;
}

export function emptyRegion(): RegionState {
  return {
    vpcs: [],
    subnets: [],
    securityGroups: [],
    networkInterfaces: [],
    connectors: [],
    connectorRevisions: {},
    services: [],
    holds: [],
    ingressConnections: [],
    associatedCombinations: [],
  };
}

export function emptyWorld(accountId: string, prngState: number): World {
  return { version: 1, accountId, regions: {}, roles: [], deletionTasks: [], violations: [], prngState };
}

export function regionOf(world: World, region: string): RegionState {
  let r = world.regions[region];
  if (r === undefined) {
    r = emptyRegion();
    world.regions[region] = r;
  }
  return r;
}
