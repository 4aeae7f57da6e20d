// Builders and fakes shared by the controller and operator tests: the two kinds' objects and what AWS shows
// of them (each with overrides for what a case is about), the constants they are made of, and literal fakes
// of the caches, the AWS gateway, the Kubernetes patch client and the Event recorder that record what a pass
// asked of them. A fixture that more than one test file needs lives here, once.
import type { ObjectMeta } from '../../src/api/common.ts';
import {
  ALLOWED_SERVICES_ANNOTATION,
  API_VERSION,
  FINALIZER,
  OwnershipTag,
} from '../../src/api/constants.ts';
import type { ServiceNetworking, ServiceNetworkingStatus } from '../../src/api/servicenetworking.ts';
import type { VpcConnector } from '../../src/api/vpcconnector.ts';
import type { AwsErrorFacts } from '../../src/aws/errors.ts';
import type {
  AppRunnerGateway,
  AwsGateway,
  ConnectorObservation,
  NetworkObservation,
  OperationObservation,
  ServiceLinkedRoleGateway,
  ServiceObservation,
  ServiceStatus,
} from '../../src/aws/gateway.ts';
import type {
  NamespaceGrant,
  ServiceNetworkingSettings,
} from '../../src/controllers/servicenetworking/observe.ts';
import type { ReconcilerSettings } from '../../src/controllers/vpcconnector/reconciler.ts';
import type { Condition } from '../../src/runtime/conditions.ts';
import type { CustomObjectPatcher } from '../../src/runtime/custom-objects.ts';
import type { EventInput, EventRecorder } from '../../src/runtime/events.ts';
import { discardLogger } from '../../src/runtime/logging.ts';
import type { InformerSource, ReconcileContext } from '../../src/runtime/types.ts';
import { fakeSource } from './runtime/support.ts';

// ---- Time ----

export const NOW = new Date('2026-11-27T12:00:00Z');
export const MIN = 60_000;
export const ago = (ms: number): Date => new Date(NOW.getTime() - ms);

// ---- AWS identifiers ----

export const ACCOUNT = '123456789012';
export const SUBNET = 'subnet-0123456789abcdef0';
export const OTHER_SUBNET = 'subnet-0fedcba9876543210';
export const SECURITY_GROUP = 'sg-0123456789abcdef0';

const connectorArn = (name: string, id: string): string =>
  `arn:aws:apprunner:us-east-1:${ACCOUNT}:vpcconnector/${name}/1/${id.repeat(32)}`;
/** The connector of vpcc(). */
export const CONNECTOR_ARN = connectorArn('team-a-web', 'a');
/** The connector a rotation of vpcc() creates. */
export const ROTATED_CONNECTOR_ARN = connectorArn('team-a-web-g3', 'b');
/** A connector the operator knows nothing of. */
export const OTHER_CONNECTOR_ARN = connectorArn('rogue', 'b');

const serviceArn = (name: string): string =>
  `arn:aws:apprunner:us-east-1:${ACCOUNT}:service/${name}/8fe1e10304f84fd2b0df550fe98a71fa`;
/** The service of svcnet(). */
export const SERVICE_ARN = serviceArn('payments');
/** Another service of the same account and region. */
export const OTHER_SERVICE_ARN = serviceArn('legacy');

const ownershipTags = (name: string) => ({
  [OwnershipTag.cluster]: 'prod',
  [OwnershipTag.namespace]: 'team-a',
  [OwnershipTag.name]: name,
});
/** The ownership tags of vpcc() in cluster prod. */
export const VPCC_TAGS = ownershipTags('web');
/** The ownership tags of svcnet() in cluster prod. */
export const SVCNET_TAGS = ownershipTags('payments');

// ---- Settings ----

export const vpcConnectorSettings: ReconcilerSettings = {
  clusterName: 'prod',
  defaultRegion: 'us-east-1',
  serviceLinkedRoleDeletion: 'Never',
  managedRegions: [],
};

export const serviceNetworkingSettings: ServiceNetworkingSettings = {
  clusterName: 'prod',
  tenancy: 'Namespaced',
};

// ---- Kubernetes objects ----

interface Overrides<Spec, Status> {
  metadata?: Partial<ObjectMeta>;
  spec?: Partial<Spec>;
  status?: Status;
}

/** VpcConnector team-a/web: managed, one subnet, Rotate and Delete, with its finalizer and no status. */
export function vpcc(overrides: Overrides<VpcConnector['spec'], VpcConnector['status']> = {}): VpcConnector {
  const object: VpcConnector = {
    apiVersion: API_VERSION,
    kind: 'VpcConnector',
    metadata: {
      name: 'web',
      namespace: 'team-a',
      uid: 'uid-1',
      generation: 1,
      resourceVersion: '100',
      finalizers: [FINALIZER],
      ...overrides.metadata,
    },
    spec: {
      subnets: [SUBNET],
      updatePolicy: 'Rotate',
      deletionPolicy: 'Delete',
      managementPolicy: 'Manage',
      ...overrides.spec,
    },
  };
  if (overrides.status !== undefined) object.status = overrides.status;
  return object;
}

/** vpcc() once it records its connector ACTIVE: what a ServiceNetworking referencing it can use. */
export const activeConnector = (): VpcConnector =>
  vpcc({ status: { vpcConnectorArn: CONNECTOR_ARN, awsStatus: 'ACTIVE', region: 'us-east-1' } });

/** ServiceNetworking team-a/payments: VPC egress through VpcConnector web, Detach, with its finalizer. */
export function svcnet(
  overrides: Overrides<ServiceNetworking['spec'], ServiceNetworking['status']> = {},
): ServiceNetworking {
  const object: ServiceNetworking = {
    apiVersion: API_VERSION,
    kind: 'ServiceNetworking',
    metadata: {
      name: 'payments',
      namespace: 'team-a',
      uid: 'uid-a',
      generation: 2,
      resourceVersion: '100',
      creationTimestamp: '2026-11-20T10:00:00Z',
      finalizers: [FINALIZER],
      ...overrides.metadata,
    },
    spec: {
      serviceArn: SERVICE_ARN,
      egress: { type: 'VPC', vpcConnectorRef: { name: 'web' } },
      deletionPolicy: 'Detach',
      ...overrides.spec,
    },
  };
  if (overrides.status !== undefined) object.status = overrides.status;
  return object;
}

/** Namespace `name` with `value` in its allowed-services annotation; without the annotation when undefined. */
export const grant = (value?: string, name = 'team-a'): NamespaceGrant =>
  value === undefined ? { name } : { name, annotations: { [ALLOWED_SERVICES_ANNOTATION]: value } };

/** A condition as a previous pass wrote it (message `m`). */
export const condition = (
  type: string,
  status: 'True' | 'False',
  reason: string,
  observedGeneration: number,
  lastTransitionTime = '2026-11-27T11:50:00Z',
): Condition => ({ type, status, reason, message: 'm', observedGeneration, lastTransitionTime });

/** The condition of `type` in a status, if any. */
export const conditionOf = <C extends { type: string }>(
  status: { conditions?: readonly C[] } | undefined,
  type: string,
): C | undefined => status?.conditions?.find((c) => c.type === type);

/** The UpdateService svcnet() started, as its status records it. */
export const lastOperation = (status: string): NonNullable<ServiceNetworkingStatus['lastOperation']> => ({
  id: 'op-1',
  type: 'UPDATE_SERVICE',
  status,
});

// ---- What AWS shows ----

/** The connector of vpcc() as AWS describes it: ACTIVE, one subnet, vpcc()'s ownership tags. */
export function awsConnector(overrides: Partial<ConnectorObservation> = {}): ConnectorObservation {
  return {
    arn: CONNECTOR_ARN,
    name: 'team-a-web',
    revision: 1,
    status: 'ACTIVE',
    subnets: [SUBNET],
    securityGroups: [],
    tags: VPCC_TAGS,
    ...overrides,
  };
}

/** A service's network as App Runner creates it: DEFAULT egress, public ingress, IPv4. */
export const DEFAULT_PUBLIC: NetworkObservation = {
  egressType: 'DEFAULT',
  isPubliclyAccessible: true,
  ipAddressType: 'IPV4',
};
/** The network of a service attached through vpcc()'s connector, public, IPv4. */
export const ATTACHED: NetworkObservation = {
  ...DEFAULT_PUBLIC,
  egressType: 'VPC',
  vpcConnectorArn: CONNECTOR_ARN,
};

/** Service `name` (payments unless said) as App Runner describes it: RUNNING, with the DEFAULT_PUBLIC network. */
export function awsService(
  overrides: { name?: string; status?: ServiceStatus; network?: Partial<NetworkObservation> } = {},
): ServiceObservation {
  const name = overrides.name ?? 'payments';
  return {
    arn: serviceArn(name),
    name,
    region: 'us-east-1',
    status: overrides.status ?? 'RUNNING',
    network: { ...DEFAULT_PUBLIC, ...overrides.network },
  };
}

/** The UpdateService svcnet() started (op-1, two minutes ago), as ListOperations shows it. */
export const operation = (status: OperationObservation['status']): OperationObservation => ({
  id: 'op-1',
  type: 'UPDATE_SERVICE',
  status,
  startedAt: ago(2 * MIN),
});

/** What AWS said in a refusal, as the gateway's typed errors carry it. */
export const awsFacts = (operation: string, code: string, message: string): AwsErrorFacts => ({
  service: 'apprunner',
  operation,
  code,
  httpStatus: 400,
  message,
});

// ---- Fakes ----

/** An informer cache that has synced and holds `items`. */
export function cache<T extends { metadata: { name?: string; namespace?: string } }>(
  items: T[],
): InformerSource<T> {
  const fake = fakeSource(items);
  fake.synced = true;
  return fake.source;
}

export type GatewayVerbs = Partial<AppRunnerGateway & ServiceLinkedRoleGateway>;

/**
 * The read verbs of an AWS that holds these connectors (the ACTIVE ones listed, tags read apart, as AWS does)
 * and these services (listed as summaries, described one by one).
 */
export function awsHolding(
  world: { connectors?: readonly ConnectorObservation[]; services?: readonly ServiceObservation[] } = {},
): GatewayVerbs {
  const connectors = world.connectors ?? [];
  const services = world.services ?? [];
  const untagged = ({ tags: _tags, ...connector }: ConnectorObservation): ConnectorObservation => connector;
  return {
    listConnectors: () => Promise.resolve(connectors.filter((c) => c.status === 'ACTIVE').map(untagged)),
    describeConnector: (arn) => Promise.resolve(connectors.find((c) => c.arn === arn)),
    listTags: (arn) => Promise.resolve(connectors.find((c) => c.arn === arn)?.tags ?? {}),
    listServiceSummaries: () =>
      Promise.resolve(services.map(({ arn, name, status, updatedAt }) => ({ arn, name, status, updatedAt }))),
    describeService: (arn) => Promise.resolve(services.find((s) => s.arn === arn)),
  };
}

/** A gateway whose every verb fails unless the test gives it; calls are recorded by name, in order. */
export function fakeGateway(verbs: GatewayVerbs): { gateway: AwsGateway; calls: string[] } {
  const calls: string[] = [];
  const call = <A extends unknown[], R>(
    name: keyof GatewayVerbs,
    impl: ((...args: A) => Promise<R>) | undefined,
    args: A,
  ): Promise<R> => {
    calls.push(name);
    return impl === undefined ? Promise.reject(new Error(`unexpected AWS call ${name}`)) : impl(...args);
  };
  const gateway: AwsGateway = {
    appRunner: {
      listConnectors: (...a) => call('listConnectors', verbs.listConnectors, a),
      findConnectorByName: (...a) => call('findConnectorByName', verbs.findConnectorByName, a),
      describeConnector: (...a) => call('describeConnector', verbs.describeConnector, a),
      createConnector: (...a) => call('createConnector', verbs.createConnector, a),
      deleteConnector: (...a) => call('deleteConnector', verbs.deleteConnector, a),
      listServices: (...a) => call('listServices', verbs.listServices, a),
      listServiceSummaries: (...a) => call('listServiceSummaries', verbs.listServiceSummaries, a),
      describeService: (...a) => call('describeService', verbs.describeService, a),
      updateServiceNetwork: (...a) => call('updateServiceNetwork', verbs.updateServiceNetwork, a),
      listOperations: (...a) => call('listOperations', verbs.listOperations, a),
      tagResource: (...a) => call('tagResource', verbs.tagResource, a),
      untagResource: (...a) => call('untagResource', verbs.untagResource, a),
      listTags: (...a) => call('listTags', verbs.listTags, a),
    },
    serviceLinkedRole: {
      getRole: (...a) => call('getRole', verbs.getRole, a),
      ensureRole: (...a) => call('ensureRole', verbs.ensureRole, a),
      deleteRole: (...a) => call('deleteRole', verbs.deleteRole, a),
      getDeletionStatus: (...a) => call('getDeletionStatus', verbs.getDeletionStatus, a),
    },
  };
  return { gateway, calls };
}

export interface FakeClient<S> {
  client: CustomObjectPatcher;
  /** The merge patches of the status subresource, in order (a dropped key is `null`). */
  statusPatches: { status: S }[];
  /** The JSON patches of the object (finalizers), in order. */
  finalizerPatches: unknown[];
}

/**
 * A namespaced API client that records every patch and answers with `object` at a new resourceVersion;
 * cluster-scoped calls fail.
 */
export function fakeClient<S>(object: { metadata: object; status?: S }): FakeClient<S> {
  const statusPatches: { status: S }[] = [];
  const finalizerPatches: unknown[] = [];
  const answer = (): Promise<unknown> =>
    Promise.resolve({ ...object, metadata: { ...object.metadata, resourceVersion: '101' } });
  const client: CustomObjectPatcher = {
    patchNamespacedCustomObjectStatus: ({ body }: { body: { status: S } }) => {
      statusPatches.push(body);
      return answer();
    },
    patchNamespacedCustomObject: ({ body }: { body: unknown }) => {
      finalizerPatches.push(body);
      return answer();
    },
    patchClusterCustomObject: () => Promise.reject(new Error('cluster-scoped')),
    patchClusterCustomObjectStatus: () => Promise.reject(new Error('cluster-scoped')),
  };
  return { client, statusPatches, finalizerPatches };
}

/** An Event recorder that keeps what it is given. */
export function fakeEvents(): { recorder: EventRecorder; events: EventInput[] } {
  const events: EventInput[] = [];
  return { recorder: { record: (e) => events.push(e), flush: () => Promise.resolve() }, events };
}

/** The context of one reconcile: never aborted, logs discarded. */
export const reconcileContext = (): ReconcileContext => ({
  signal: new AbortController().signal,
  log: discardLogger,
});

/** The status a pass's merge patch leaves on an object that had none: the keys it set, without its nulls. */
export const statusAsWritten = <S extends object>(patch: S | undefined): S =>
  Object.fromEntries(Object.entries(patch ?? {}).filter(([, value]) => value !== null)) as S;
