// Observe: what one pass of a ServiceNetworking knows, as plain data. `readPlan` says which AWS reads the
// pass makes (none for a service the namespace is not granted, or one already seen deleted); `observe`
// folds the object, the caches (its namespace's grant, the VpcConnector it references, the other
// ServiceNetworkings naming the same service) and those reads into the Observation the machine decides on.
// Both are pure: no client, no clock.
import { ALLOWED_SERVICES_ANNOTATION, FINALIZER, OwnershipTag } from '../../api/constants.ts';
import type {
  EgressType,
  IpAddressType,
  ServiceNetworking,
  ServiceNetworkingDeletionPolicy,
} from '../../api/servicenetworking.ts';
import type { VpcConnector } from '../../api/vpcconnector.ts';
import type {
  ConnectorObservation,
  NetworkObservation,
  OperationObservation,
  ServiceObservation,
  Tags,
} from '../../aws/gateway.ts';
import { recordedFailure, type RecordedFailure } from '../shared/failures.ts';

/** Who may manage which service (DESIGN.md invariant 10). */
export type Tenancy = 'Namespaced' | 'SingleTenant';

export interface ServiceNetworkingSettings {
  /** The ownership tag value for the cluster; two clusters sharing an account must differ. */
  clusterName: string;
  tenancy: Tenancy;
  /** When set, services of any other account are refused before any AWS call. */
  accountId?: string;
}

/** A Namespace as the tenancy check reads it. */
export interface NamespaceGrant {
  name: string;
  annotations?: Readonly<Record<string, string>>;
}

/**
 * Operation statuses after which nothing is tracked. NOT_LISTED is the operator's own: the tracked operation
 * no longer appears among the service's latest ones and the service is not busy, so it ended long ago.
 */
export const OPERATION_TERMINAL: ReadonlySet<string> = new Set([
  'SUCCEEDED',
  'NOT_LISTED',
  'FAILED',
  'ROLLBACK_SUCCEEDED',
  'ROLLBACK_FAILED',
]);
export const OPERATION_FAILED: ReadonlySet<string> = new Set([
  'FAILED',
  'ROLLBACK_SUCCEEDED',
  'ROLLBACK_FAILED',
]);

export interface ReadPlan {
  serviceArn: string;
  region: string;
  /** DescribeService (served by the shared view); false when the pass needs nothing from AWS. */
  service: boolean;
  /** The service's tags (ownership): once known, the view answers from memory. */
  tags: boolean;
  /** ListOperations: only while an operation is tracked or the service reports one in progress. */
  operations: boolean;
  /** spec.egress.vpcConnectorArn, looked up in AWS (the view's listing) before the service is touched. */
  connectorArn?: string;
}

export interface AwsReads {
  /** Undefined when not read, or when AWS does not know the service or reports it DELETED. */
  service?: ServiceObservation;
  serviceRead: boolean;
  tags?: Tags;
  operations?: readonly OperationObservation[];
  /** The connector of spec.egress.vpcConnectorArn as AWS shows it (`observed` absent: AWS does not know it). */
  namedConnector?: { observed?: ConnectorObservation };
}

/** The network configuration the spec asks for, completed from what AWS shows. */
export interface DesiredNetwork extends NetworkObservation {
  egressType: EgressType;
}

/** Where the connector the spec names stands. */
export type ConnectorState =
  { state: 'none' } | { state: 'usable'; arn: string; via: string } | { state: 'waiting'; why: string };

export interface Observation {
  now: Date;
  namespace: string;
  name: string;
  generation: number;
  deleting: boolean;
  hasFinalizer: boolean;
  deletionPolicy: ServiceNetworkingDeletionPolicy;
  serviceArn: string;
  /** Undefined when permitted; else why not (NotPermitted). */
  notPermitted?: string;
  /** The ownership tags this object puts on its service. */
  ownerTags: Tags;
  /** Another object that claims the service first (same cluster), when the service names no owner yet. */
  earlierClaimant?: string;
  serviceRead: boolean;
  service?: ServiceObservation;
  /** Who the service's tags name: this object, nobody, or someone else (described). */
  owner: { kind: 'us' } | { kind: 'none' } | { kind: 'other'; who: string };
  desiredEgress: { type: EgressType; connector: ConnectorState };
  ingress?: boolean;
  ipAddressType?: IpAddressType;
  /** The operation this object started and tracks, as ListOperations shows it (undefined: not listed). */
  tracked?: OperationObservation;
  /** The service's newest listed operation is an update this object did not start (someone else's change). */
  foreignUpdate: boolean;
  status: {
    lastOperation?: { id: string; type: string; status: string };
    /** The network configuration the last pass recorded (what AWS showed then). */
    network?: NetworkObservation;
    /** The service was seen gone in an earlier pass. */
    serviceGone: boolean;
    /** This generation was Ready before: a difference now is drift. */
    readyForGeneration: boolean;
    failure?: RecordedFailure;
    /** The last UpdateService of this object failed or rolled back, for this generation, at this time. */
    operationFailure?: { generation: number; since: Date };
  };
}

/** `arn:aws:apprunner:<region>:<account>:service/<name>/<id>` → its parts. */
export function serviceArnParts(arn: string): { region: string; account: string; name: string } {
  const parts = arn.split(':');
  return {
    region: parts[3] ?? '',
    account: parts[4] ?? '',
    name: (parts[5] ?? '').split('/')[1] ?? '',
  };
}

export function ownershipTags(object: ServiceNetworking, settings: ServiceNetworkingSettings): Tags {
  return {
    [OwnershipTag.cluster]: settings.clusterName,
    [OwnershipTag.namespace]: object.metadata.namespace ?? '',
    [OwnershipTag.name]: object.metadata.name ?? '',
  };
}

/**
 * Whether the object's namespace may manage its service: undefined when it may, else a sentence saying
 * why not. A grant entry is `*`, a service name (in the operator's account) or a full service ARN.
 */
export function tenancyRefusal(
  object: ServiceNetworking,
  namespace: NamespaceGrant | undefined,
  settings: ServiceNetworkingSettings,
): string | undefined {
  const arn = object.spec.serviceArn;
  const { account, name } = serviceArnParts(arn);
  if (settings.accountId !== undefined && account !== settings.accountId) {
    return `Service ${arn} belongs to AWS account ${account}; this operator manages account ${settings.accountId} only.`;
  }
  if (settings.tenancy === 'SingleTenant') return undefined;
  const ns = object.metadata.namespace ?? '';
  const grant = namespace?.annotations?.[ALLOWED_SERVICES_ANNOTATION];
  const entries = (grant ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.some((e) => e === '*' || e === arn || e === name)) return undefined;
  return grant === undefined
    ? `Namespace ${ns} is not granted any App Runner service: a cluster admin lists the services it may manage in its ${ALLOWED_SERVICES_ANNOTATION} annotation.`
    : `Namespace ${ns} is not granted service ${name} (${ALLOWED_SERVICES_ANNOTATION}: "${grant}").`;
}

function isDeleting(object: ServiceNetworking): boolean {
  return object.metadata.deletionTimestamp !== undefined;
}

export function readPlan(object: ServiceNetworking, permitted: boolean): ReadPlan {
  const serviceArn = object.spec.serviceArn;
  const region = serviceArnParts(serviceArn).region;
  const status = object.status;
  // Nothing to read for a service this namespace may not touch (unless, while deleting, this object managed
  // it before the grant was taken away: it still undoes what it did), nor for one already seen DELETED: an
  // App Runner service ARN carries a unique id, so a deleted service never comes back.
  const managedBefore = isDeleting(object) && status?.serviceName !== undefined;
  const service = (permitted || managedBefore) && status?.serviceStatus !== 'DELETED';
  const tracking =
    status?.lastOperation !== undefined && !OPERATION_TERMINAL.has(status.lastOperation.status);
  const plan: ReadPlan = {
    serviceArn,
    region,
    service,
    tags: service,
    operations: service && (tracking || status?.serviceStatus === 'OPERATION_IN_PROGRESS'),
  };
  // A connector named by ARN must exist before the service is claimed or pointed at it (a detach needs none).
  const arn = object.spec.egress.type === 'VPC' ? object.spec.egress.vpcConnectorArn : undefined;
  if (service && arn !== undefined && !isDeleting(object)) plan.connectorArn = arn;
  return plan;
}

/** How the referenced VpcConnector stands: usable once it records an ACTIVE connector (also mid-rotation). */
function connectorState(
  object: ServiceNetworking,
  connector: VpcConnector | undefined,
  aws: AwsReads,
): ConnectorState {
  const egress = object.spec.egress;
  if (egress.type === 'DEFAULT') return { state: 'none' };
  if (egress.vpcConnectorArn !== undefined) {
    const arn = egress.vpcConnectorArn;
    const observed = aws.namedConnector?.observed;
    if (aws.namedConnector !== undefined && observed === undefined) {
      return {
        state: 'waiting',
        why: `Connector ${arn} (spec.egress.vpcConnectorArn) does not exist in AWS`,
      };
    }
    if (observed !== undefined && observed.status !== 'ACTIVE') {
      return {
        state: 'waiting',
        why: `Connector ${arn} (spec.egress.vpcConnectorArn) is ${observed.status} in AWS`,
      };
    }
    return { state: 'usable', arn, via: 'spec.egress.vpcConnectorArn' };
  }
  const name = egress.vpcConnectorRef?.name ?? '';
  if (connector === undefined) return { state: 'waiting', why: `VpcConnector ${name} does not exist` };
  const arn = connector.status?.vpcConnectorArn;
  if (arn === undefined || connector.status?.awsStatus !== 'ACTIVE') {
    // A Stalled VpcConnector needs a human before this object can progress: say so, not "yet".
    const stalled = connector.status?.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True');
    return stalled === undefined
      ? { state: 'waiting', why: `VpcConnector ${name} has no ACTIVE connector yet` }
      : {
          state: 'waiting',
          why: `VpcConnector ${name} is Stalled (${stalled.reason}) with no ACTIVE connector`,
        };
  }
  return { state: 'usable', arn, via: `VpcConnector ${name}` };
}

function ownerOf(tags: Tags | undefined, ours: Tags): Observation['owner'] {
  const cluster = tags?.[OwnershipTag.cluster];
  const namespace = tags?.[OwnershipTag.namespace];
  const name = tags?.[OwnershipTag.name];
  if (cluster === undefined && namespace === undefined && name === undefined) return { kind: 'none' };
  if (
    cluster === ours[OwnershipTag.cluster] &&
    namespace === ours[OwnershipTag.namespace] &&
    name === ours[OwnershipTag.name]
  ) {
    return { kind: 'us' };
  }
  return {
    kind: 'other',
    who: `ServiceNetworking ${namespace ?? '?'}/${name ?? '?'} of cluster ${cluster ?? '?'}`,
  };
}

/** The first live claimant of the same service among the other objects of the cache (creation order). */
function earlierClaimant(
  object: ServiceNetworking,
  others: readonly ServiceNetworking[],
): string | undefined {
  const key = (o: ServiceNetworking): string =>
    `${o.metadata.creationTimestamp ?? ''} ${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
  const mine = key(object);
  const first = others
    .filter(
      (o) =>
        o.spec.serviceArn === object.spec.serviceArn &&
        o.metadata.deletionTimestamp === undefined &&
        o.metadata.uid !== object.metadata.uid &&
        key(o) < mine,
    )
    .sort((a, b) => (key(a) < key(b) ? -1 : 1))[0];
  return first === undefined ? undefined : `${first.metadata.namespace ?? ''}/${first.metadata.name ?? ''}`;
}

export interface ObserveInput {
  object: ServiceNetworking;
  namespace: NamespaceGrant | undefined;
  /** The VpcConnector spec.egress.vpcConnectorRef names, when it is in the cache. */
  connector: VpcConnector | undefined;
  /**
   * The ServiceNetworkings of the cache (any namespace) whose namespace may manage their service: only they
   * can claim one first (an ungranted object never blocks a granted one).
   */
  serviceNetworkings: readonly ServiceNetworking[];
  aws: AwsReads;
  settings: ServiceNetworkingSettings;
  now: Date;
}

export function observe(input: ObserveInput): Observation {
  const { object, aws, settings, now } = input;
  const status = object.status;
  const ownerTags = ownershipTags(object, settings);
  const generation = object.metadata.generation ?? 0;
  const conditions = status?.conditions;
  const ready = conditions?.find((c) => c.type === 'Ready');
  const observation: Observation = {
    now,
    namespace: object.metadata.namespace ?? '',
    name: object.metadata.name ?? '',
    generation,
    deleting: isDeleting(object),
    hasFinalizer: object.metadata.finalizers?.includes(FINALIZER) ?? false,
    deletionPolicy: object.spec.deletionPolicy,
    serviceArn: object.spec.serviceArn,
    ownerTags,
    serviceRead: aws.serviceRead,
    owner: ownerOf(aws.tags, ownerTags),
    desiredEgress: { type: object.spec.egress.type, connector: connectorState(object, input.connector, aws) },
    foreignUpdate:
      aws.operations?.[0]?.type === 'UPDATE_SERVICE' && aws.operations[0].id !== status?.lastOperation?.id,
    status: {
      serviceGone: status?.serviceStatus === 'DELETED',
      readyForGeneration: ready?.status === 'True' && ready.observedGeneration === generation,
    },
  };
  const refusal = tenancyRefusal(object, input.namespace, settings);
  if (refusal !== undefined) observation.notPermitted = refusal;
  if (aws.service !== undefined) observation.service = aws.service;
  if (object.spec.ingress !== undefined) observation.ingress = object.spec.ingress.isPubliclyAccessible;
  if (object.spec.ipAddressType !== undefined) observation.ipAddressType = object.spec.ipAddressType;
  const claimant = earlierClaimant(object, input.serviceNetworkings);
  if (claimant !== undefined) observation.earlierClaimant = claimant;
  if (status?.network !== undefined) observation.status.network = status.network;
  const last = status?.lastOperation;
  if (last !== undefined) {
    observation.status.lastOperation = { id: last.id, type: last.type, status: last.status };
    const tracked = aws.operations?.find((op) => op.id === last.id);
    if (tracked !== undefined) observation.tracked = tracked;
  }
  const failure = recordedFailure(conditions);
  if (failure !== undefined) observation.status.failure = failure;
  // Recorded as Stalled (a failed update) or, while deleting, Reconciling (a failed detach, retried).
  const stalled = conditions?.find(
    (c) =>
      (c.type === 'Stalled' || c.type === 'Reconciling') &&
      c.status === 'True' &&
      (c.reason === 'OperationFailed' || c.reason === 'RolledBack'),
  );
  if (stalled !== undefined && last !== undefined && OPERATION_FAILED.has(last.status)) {
    // When AWS said the operation ended; else when the condition last changed (Reconciling may have been
    // True since before the failure, while deleting).
    const endedAt = status?.lastOperation?.endedAt;
    observation.status.operationFailure = {
      generation: stalled.observedGeneration ?? 0,
      since: new Date(endedAt ?? stalled.lastTransitionTime),
    };
  }
  return observation;
}

/** The complete configuration to send: spec's egress, spec's ingress and IP type or else the observed ones. */
export function desiredNetwork(o: Observation): DesiredNetwork | undefined {
  const observed = o.service?.network;
  if (observed === undefined) return undefined;
  const c = o.desiredEgress.connector;
  const network: DesiredNetwork = {
    egressType: o.desiredEgress.type,
    isPubliclyAccessible: o.ingress ?? observed.isPubliclyAccessible,
    ipAddressType: o.ipAddressType ?? observed.ipAddressType,
  };
  if (o.desiredEgress.type === 'VPC' && c.state === 'usable') network.vpcConnectorArn = c.arn;
  return network;
}

/** The same configuration with egress back to DEFAULT: what Detach leaves. */
export function detachedNetwork(o: Observation): DesiredNetwork | undefined {
  const observed = o.service?.network;
  if (observed === undefined) return undefined;
  return {
    egressType: 'DEFAULT',
    isPubliclyAccessible: observed.isPubliclyAccessible,
    ipAddressType: observed.ipAddressType,
  };
}

/** The fields in which AWS differs from `want`, by name. */
export function networkDifferences(
  observed: NetworkObservation | undefined,
  want: NetworkObservation,
): string[] {
  if (observed === undefined) return [];
  const fields: string[] = [];
  if (observed.egressType !== want.egressType) fields.push('egress type');
  else if (want.egressType === 'VPC' && observed.vpcConnectorArn !== want.vpcConnectorArn) {
    fields.push('egress connector');
  }
  if (observed.isPubliclyAccessible !== want.isPubliclyAccessible) fields.push('ingress');
  if (observed.ipAddressType !== want.ipAddressType) fields.push('IP address type');
  return fields;
}
