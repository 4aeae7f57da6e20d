// The operator's only door to AWS: domain verbs over App Runner and IAM. Every verb is idempotent
// where AWS allows it and returns what it observed. Errors are the typed values of ./errors.ts, so a
// controller never inspects an SDK exception. Implementations: ./sdk-gateway.ts (the AWS SDK v3);
// one contract suite (test/contract/aws/) runs against it and the simulator.

export type ConnectorStatus = 'ACTIVE' | 'INACTIVE';
export type ServiceStatus =
  'CREATE_FAILED' | 'RUNNING' | 'DELETED' | 'DELETE_FAILED' | 'PAUSED' | 'OPERATION_IN_PROGRESS';
export type OperationStatus =
  | 'PENDING'
  | 'IN_PROGRESS'
  | 'FAILED'
  | 'SUCCEEDED'
  | 'ROLLBACK_IN_PROGRESS'
  | 'ROLLBACK_FAILED'
  | 'ROLLBACK_SUCCEEDED';
export type EgressType = 'DEFAULT' | 'VPC';
export type IpAddressType = 'IPV4' | 'DUAL_STACK';
export type Tags = Readonly<Record<string, string>>;

export interface ConnectorObservation {
  arn: string;
  name: string;
  revision: number;
  status: ConnectorStatus;
  subnets: readonly string[];
  securityGroups: readonly string[];
  createdAt?: Date;
  deletedAt?: Date;
  /** Present when the verb says it reads tags (findConnectorByName, describeConnector). */
  tags?: Tags;
}

export interface NetworkObservation {
  egressType: EgressType;
  /** Only when egressType is VPC. */
  vpcConnectorArn?: string;
  isPubliclyAccessible: boolean;
  ipAddressType: IpAddressType;
}

export interface ServiceObservation {
  arn: string;
  name: string;
  region: string;
  status: ServiceStatus;
  network: NetworkObservation;
  updatedAt?: Date;
  tags?: Tags;
  /**
   * While an operation is in flight (OPERATION_IN_PROGRESS), the network the service was settled on before it,
   * when the reader saw it: AWS still holds that connector until the operation ends, whatever the description
   * already shows. Absent: not known (any connector may still be held).
   */
  movingFrom?: { connectorArn?: string };
}

/** One entry of ListServices: what changed can be told from status and updatedAt, the network cannot. */
export interface ServiceSummary {
  arn: string;
  name: string;
  status: ServiceStatus;
  updatedAt?: Date;
}

export interface OperationObservation {
  id: string;
  type: string;
  status: OperationStatus;
  targetArn?: string;
  startedAt?: Date;
  endedAt?: Date;
}

export interface RoleObservation {
  exists: boolean;
  arn?: string;
}

export type RoleDeletionStatus = 'NOT_STARTED' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';

export interface RoleDeletionObservation {
  taskId: string;
  status: RoleDeletionStatus;
  reason?: string;
  usage: readonly { region: string; resources: readonly string[] }[];
}

export interface CreateConnectorInput {
  name: string;
  subnets: readonly string[];
  securityGroups: readonly string[];
  tags: Tags;
}

/** The full desired network configuration: the gateway always sends all three parts (semantics §5.8). */
export interface DesiredNetwork {
  egressType: EgressType;
  vpcConnectorArn?: string;
  isPubliclyAccessible: boolean;
  ipAddressType: IpAddressType;
}

/**
 * Optional per-call settings, accepted as the last argument of every verb. An aborted signal stops waiting
 * for a rate-limiter token or for the response and rejects with the signal's reason (not a gateway error).
 */
export interface CallOptions {
  signal?: AbortSignal;
}

/** Regional App Runner verbs; `region` is e.g. `us-east-1`. */
export interface AppRunnerGateway {
  /** Every ACTIVE connector in the region (pages until NextToken is absent; tolerates short pages). */
  listConnectors(region: string, options?: CallOptions): Promise<ConnectorObservation[]>;
  /** The ACTIVE connector with this name, with its tags; undefined when none. */
  findConnectorByName(
    region: string,
    name: string,
    options?: CallOptions,
  ): Promise<ConnectorObservation | undefined>;
  /** By full ARN, with its tags; undefined when AWS no longer knows it. INACTIVE is returned as such. */
  describeConnector(arn: string, options?: CallOptions): Promise<ConnectorObservation | undefined>;
  /**
   * Not idempotent in AWS (no client token): callers record intent first and find by name after a crash.
   * Throws ConnectorNameTakenError when an ACTIVE connector already holds the name.
   */
  createConnector(
    region: string,
    input: CreateConnectorInput,
    options?: CallOptions,
  ): Promise<ConnectorObservation>;
  /** Undefined when already gone. Throws ConnectorInUseError while any service uses it. */
  deleteConnector(arn: string, options?: CallOptions): Promise<ConnectorObservation | undefined>;
  /** Every service in the region, described (so network configuration is known). */
  listServices(region: string, options?: CallOptions): Promise<ServiceObservation[]>;
  /** Every service in the region as ListServices summarises it (pages only, no describe). DELETED ones are left out. */
  listServiceSummaries(region: string, options?: CallOptions): Promise<ServiceSummary[]>;
  /** Undefined when AWS does not know the service or reports it DELETED. */
  describeService(arn: string, options?: CallOptions): Promise<ServiceObservation | undefined>;
  /** Starts an UPDATE_SERVICE operation. Throws ServiceBusyError when an operation is in progress. */
  updateServiceNetwork(
    arn: string,
    network: DesiredNetwork,
    options?: CallOptions,
  ): Promise<{ service: ServiceObservation; operationId: string }>;
  /** Newest first, at most `limit` entries (default 20). */
  listOperations(arn: string, limit?: number, options?: CallOptions): Promise<OperationObservation[]>;
  tagResource(arn: string, tags: Tags, options?: CallOptions): Promise<void>;
  untagResource(arn: string, keys: readonly string[], options?: CallOptions): Promise<void>;
  listTags(arn: string, options?: CallOptions): Promise<Tags>;
}

/** The App Runner networking service-linked role (IAM is global). */
export interface ServiceLinkedRoleGateway {
  getRole(options?: CallOptions): Promise<RoleObservation>;
  /** "has been taken" (already exists) counts as success. */
  ensureRole(options?: CallOptions): Promise<RoleObservation>;
  /** Starts (or, while one is incomplete, returns) a deletion task; undefined when the role is absent. */
  deleteRole(options?: CallOptions): Promise<{ taskId: string } | undefined>;
  getDeletionStatus(taskId: string, options?: CallOptions): Promise<RoleDeletionObservation>;
}

export interface AwsGateway {
  appRunner: AppRunnerGateway;
  serviceLinkedRole: ServiceLinkedRoleGateway;
}
