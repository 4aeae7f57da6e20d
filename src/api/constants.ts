// Names that are part of the API contract: the group and kinds, the finalizer, the tag keys the operator
// puts on AWS resources, and the condition types and reasons users see in `kubectl get` and alerts.

export const GROUP = 'apprunnernet.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const CATEGORY = 'apprunner';

export const Kind = {
  VpcConnector: 'VpcConnector',
  ServiceNetworking: 'ServiceNetworking',
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export const Plural = {
  VpcConnector: 'vpcconnectors',
  ServiceNetworking: 'servicenetworkings',
} as const;

/** One finalizer for both kinds: it fences deletion until AWS shows the teardown finished. */
export const FINALIZER = `${GROUP}/finalizer`;

/**
 * Ownership tags on every AWS resource the operator creates or claims (invariant 9). A connector found by
 * name is this object's only when all three values match; anything else is someone else's.
 */
export const OwnershipTag = {
  cluster: `${GROUP}/cluster`,
  namespace: `${GROUP}/namespace`,
  name: `${GROUP}/name`,
} as const;

/** Tag keys under this prefix are reserved for the operator; the schema refuses them in spec.tags. */
export const RESERVED_TAG_PREFIX = `${GROUP}/`;

/**
 * Namespace annotation through which a cluster admin lists (comma-separated) the App Runner service names
 * or ARNs that ServiceNetworking objects in that namespace may manage (invariant 10).
 */
export const ALLOWED_SERVICES_ANNOTATION = `${GROUP}/allowed-services`;

export const ConditionType = {
  /** kstatus: True only when AWS matches the spec. */
  Ready: 'Ready',
  /** kstatus: work is in flight and progress is expected without a human. */
  Reconciling: 'Reconciling',
  /** kstatus: no progress without a human (invalid input AWS refused, access denied, a conflict). */
  Stalled: 'Stalled',
  /** VpcConnector: the App Runner networking service-linked role exists. */
  ServiceLinkedRoleReady: 'ServiceLinkedRoleReady',
  /** Either kind: deletion waits on the objects or AWS resources the message names. */
  DeletionBlocked: 'DeletionBlocked',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** Reasons of VpcConnector conditions. The Ready reason is always the most specific one at hand. */
export const VpcConnectorReason = {
  Available: 'Available',
  AddingFinalizer: 'AddingFinalizer',
  CreatingServiceLinkedRole: 'CreatingServiceLinkedRole',
  ServiceLinkedRolePresent: 'ServiceLinkedRolePresent',
  ServiceLinkedRoleAbsent: 'ServiceLinkedRoleAbsent',
  Creating: 'Creating',
  Adopting: 'Adopting',
  NameConflict: 'NameConflict',
  DeletedOutOfBand: 'DeletedOutOfBand',
  Rotating: 'Rotating',
  WaitingForServicesToMove: 'WaitingForServicesToMove',
  DeletingOldConnector: 'DeletingOldConnector',
  ImmutableFieldChanged: 'ImmutableFieldChanged',
  UpdatingTags: 'UpdatingTags',
  Observed: 'Observed',
  ObservedConnectorNotFound: 'ObservedConnectorNotFound',
  ObservedConnectorDiffers: 'ObservedConnectorDiffers',
  Deleting: 'Deleting',
  WaitingForDeletion: 'WaitingForDeletion',
  DeletionBlocked: 'DeletionBlocked',
  NotBlocked: 'NotBlocked',
  Retained: 'Retained',
  DeletingServiceLinkedRole: 'DeletingServiceLinkedRole',
  ServiceLinkedRoleDeletionFailed: 'ServiceLinkedRoleDeletionFailed',
  // Set by the reconciler when AWS refuses an action; the machine waits for a spec change (invariant 6).
  InvalidInput: 'InvalidInput',
  AccessDenied: 'AccessDenied',
  QuotaExceeded: 'QuotaExceeded',
  ConnectorInUse: 'ConnectorInUse',
  Throttled: 'Throttled',
  AwsError: 'AwsError',
} as const;
export type VpcConnectorReason = (typeof VpcConnectorReason)[keyof typeof VpcConnectorReason];

/** Reasons of ServiceNetworking conditions. */
export const ServiceNetworkingReason = {
  Attached: 'Attached',
  Detached: 'Detached',
  AddingFinalizer: 'AddingFinalizer',
  Claiming: 'Claiming',
  Updating: 'Updating',
  OperationInProgress: 'OperationInProgress',
  OperationFailed: 'OperationFailed',
  RolledBack: 'RolledBack',
  WaitingForConnector: 'WaitingForConnector',
  ServiceNotFound: 'ServiceNotFound',
  ServiceNotUpdatable: 'ServiceNotUpdatable',
  NotPermitted: 'NotPermitted',
  Conflict: 'Conflict',
  Deleting: 'Deleting',
  Detaching: 'Detaching',
  NotBlocked: 'NotBlocked',
  Retained: 'Retained',
  InvalidInput: 'InvalidInput',
  AccessDenied: 'AccessDenied',
  QuotaExceeded: 'QuotaExceeded',
} as const;
export type ServiceNetworkingReason = (typeof ServiceNetworkingReason)[keyof typeof ServiceNetworkingReason];
