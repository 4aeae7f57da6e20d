// The simulator's knobs: timings, consistency windows, faults, pagination, policies and behaviour
// choices where AWS's behaviour is unknown. Every field is optional in SimulatorConfig; `resolveConfig`
// fills the defaults documented beside each field (and in README.md). Durations are milliseconds.

import type { PolicyDocument } from './policy.ts';

/** A token bucket: `burst` requests at once, refilled at `ratePerSecond`. */
export interface TokenBucketConfig {
  ratePerSecond: number;
  burst: number;
}

export interface ThrottlingConfig {
  /** Bucket for read calls (Describe*, List*, Get*). Default: none (unlimited). */
  read?: TokenBucketConfig | null;
  /** Bucket for mutating calls (everything else). Default: none (unlimited). */
  mutate?: TokenBucketConfig | null;
  /** Probability in [0,1] that a call is throttled at random. Default 0. */
  rate?: number;
  /** Throttle exactly the next N matching calls. Default 0. */
  next?: number;
  /** Restrict `rate` and `next` to these operations. Default: all. */
  operations?: string[];
}

export interface InternalErrorConfig {
  /** Probability in [0,1] of InternalServiceError (App Runner 500) / ServiceFailure (IAM 500) / InternalError (EC2 500). Default 0. */
  rate?: number;
  /** Fail exactly the next N matching calls. Default 0. */
  next?: number;
  /** Restrict to these operations. Default: all. */
  operations?: string[];
}

export interface LatencyConfig {
  /** Fixed delay added before answering every AWS call. Default 0. */
  fixedMs?: number;
  /** Extra uniformly random delay in [0, jitterMs). Default 0. */
  jitterMs?: number;
}

export interface OperationFaultConfig {
  /** Service ARNs whose every UpdateService operation gets this fault. Default []. */
  serviceArns?: string[];
  /** The next N UpdateService operations (any service) get this fault. Default 0. */
  next?: number;
}

/** How a failed UpdateService operation ends (the service is back on its old configuration in each case). */
export type UpdateFailureOutcome = 'ROLLBACK_SUCCEEDED' | 'ROLLBACK_FAILED' | 'FAILED';

export interface RollbackFaultConfig extends OperationFaultConfig {
  /**
   * Final operation status: ROLLBACK_SUCCEEDED and ROLLBACK_FAILED pass through ROLLBACK_IN_PROGRESS, FAILED
   * ends straight from IN_PROGRESS. Default 'ROLLBACK_SUCCEEDED'.
   */
  outcome?: UpdateFailureOutcome;
}

export interface FaultConfig {
  throttling?: ThrottlingConfig;
  internalError?: InternalErrorConfig;
  latency?: LatencyConfig;
  /** CreateVpcConnector answers AccessDeniedException when it would have to create the SLR. Default false. */
  accessDeniedOnSlrCreation?: boolean;
  /** SLR deletion tasks end FAILED even without connectors (Reason only, empty RoleUsageList). Default false. */
  slrDeletionFailure?: boolean;
  /** UpdateService operations that fail: ROLLBACK_IN_PROGRESS then ROLLBACK_SUCCEEDED/ROLLBACK_FAILED, or FAILED. */
  rollback?: RollbackFaultConfig;
  /** Operations (any type) that stay IN_PROGRESS for `timings.stuckOperationMs` (default: forever). */
  stuck?: OperationFaultConfig;
}

export interface TimingConfig {
  /** An operation is PENDING this long after it starts. Default 500. */
  operationPendingMs?: number;
  /** Then IN_PROGRESS this long (CREATE/UPDATE/PAUSE/RESUME/DELETE). Default 3000. */
  operationDurationMs?: number;
  /** Extra IN_PROGRESS time the first time a subnet+SG combination is associated. Default 5000. */
  firstAssociationDelayMs?: number;
  /** ROLLBACK_IN_PROGRESS duration. Default 2000. */
  rollbackDurationMs?: number;
  /** How long a stuck operation stays IN_PROGRESS; null = forever. Default null. */
  stuckOperationMs?: number | null;
  /** INACTIVE connectors stay describable this long after deletion, then ResourceNotFound. Default 600000. */
  inactiveConnectorRetentionMs?: number;
  /** DELETED services stay describable this long, then ResourceNotFound. Default 600000. */
  deletedServiceRetentionMs?: number;
  /** VPC ingress connections stay PENDING_CREATION / PENDING_UPDATE / PENDING_DELETION this long. Default 1000. */
  ingressConnectionPendingMs?: number;
  /** SLR deletion task: NOT_STARTED this long. Default 500. */
  slrDeletionNotStartedMs?: number;
  /** then IN_PROGRESS this long, then SUCCEEDED or FAILED. Default 2000. */
  slrDeletionInProgressMs?: number;
}

export interface ConsistencyConfig {
  /** A new connector is missing from ListVpcConnectors this long. Default 0. */
  connectorListDelayMs?: number;
  /** A new connector answers ResourceNotFoundException to DescribeVpcConnector this long. Default 0. */
  connectorDescribeDelayMs?: number;
  /**
   * DeleteVpcConnector answers INACTIVE at once, but DescribeVpcConnector and ListVpcConnectors show the
   * connector ACTIVE (no DeletedAt) this long after the delete (AWS deletes asynchronously). Default 0.
   */
  connectorDeleteDelayMs?: number;
  /**
   * ListTagsForResource answers a resource's tags as they were before its last tag change (its create,
   * TagResource, UntagResource) until this long after that change; a fresh resource reads as untagged. Default 0.
   */
  tagReadDelayMs?: number;
  /** After the SLR is created, GetRole answers NoSuchEntity this long. Default 0. */
  slrReadDelayMs?: number;
  /** A connector stays "in use" this long after the last service stopped using it. Default 0. */
  connectorReleaseLingerMs?: number;
}

export interface PaginationConfig {
  /** Page size when MaxResults is absent. Defaults: ListVpcConnectors 100, ListServices 20, ListOperations 20, EC2 describes 1000. */
  defaultPageSize?: Partial<Record<string, number>>;
  /** Probability in [0,1] that a page is cut short (still with a NextToken). Default 0. */
  shortPageRate?: number;
  /** Operations where short pages (and the empty pages below) may happen. Default ['ListServices']. */
  shortPageOperations?: string[];
  /** The first page of every listing of those operations is empty but carries a NextToken. Default false. */
  emptyFirstPage?: boolean;
  /** Probability in [0,1] that a page of those operations is empty (still with a NextToken) while items remain. Default 0. */
  emptyPageRate?: number;
}

/** What an UpdateService/CreateService with a connector in an unsupported Availability Zone does. */
export type UnsupportedZoneFailure = 'fail-operation' | 'invalid-request';

export interface BehaviourConfig {
  /** ListVpcConnectors also returns INACTIVE connectors (until purged). Default true. */
  listInactiveConnectors?: boolean;
  /** ListServices also returns DELETED services (until purged). Default false. */
  listDeletedServices?: boolean;
  /** Revision of a connector re-created with a used name: 'increment' (max+1) or 'restart' (1). Default 'increment'. */
  connectorRevisionOnReuse?: 'increment' | 'restart';
  /** DeleteVpcConnector of an INACTIVE (still describable) connector: 'not-found' or 'return-inactive'. Default 'not-found'. */
  deleteInactiveConnector?: 'not-found' | 'return-inactive';
  /** UpdateService with NetworkConfiguration present but a sub-structure omitted: 'preserve' it or 'reset' it to the default. Default 'preserve'. */
  omittedNetworkSubStructure?: 'preserve' | 'reset';
  /** With a caller policy, CreateVpcConnector also needs ec2:DescribeSubnets and ec2:DescribeSecurityGroups (App Runner validates them with the caller's permissions). Default true. */
  createVpcConnectorNeedsEc2Describe?: boolean;
  /** ACTIVE connectors allowed per region before ServiceQuotaExceededException (402). Default 50. */
  connectorQuota?: number;
  /** Two different callers mutating one resource within this window is a violation. Default 5000. */
  concurrentCallerWindowMs?: number;
  /** Entries kept in the audit log (oldest dropped first). Default 20000. */
  callLogLimit?: number;
  /**
   * Availability Zones (names like 'us-east-1e' or ids like 'use1-az3') App Runner cannot place a connector's
   * subnets in, per region. CreateVpcConnector accepts such subnets; a CreateService/UpdateService that
   * puts the service on such a connector fails. Replaced wholesale when set. Default {} (none).
   */
  unsupportedAvailabilityZones?: Record<string, string[]>;
  /**
   * 'fail-operation': the call is accepted and its operation fails (an update rolls back to ROLLBACK_SUCCEEDED,
   * a create ends FAILED / CREATE_FAILED); 'invalid-request': the call answers InvalidRequestException naming
   * the subnets. Default 'fail-operation'.
   */
  unsupportedAvailabilityZoneFailure?: UnsupportedZoneFailure;
}

/** A named set of knob values applied before the rest of a config (see `profileConfig`). */
export type ProfileName = 'default' | 'pessimistic';
export const profileNames: readonly ProfileName[] = ['default', 'pessimistic'];

export interface SimulatorConfig {
  /**
   * Applied first, every other field of the config on top of it. 'pessimistic' behaves like AWS at its least
   * convenient (see `pessimisticProfile`); 'default' puts those knobs back to their defaults. Default 'default'.
   */
  profile?: ProfileName;
  timings?: TimingConfig;
  consistency?: ConsistencyConfig;
  faults?: FaultConfig;
  pagination?: PaginationConfig;
  behaviour?: BehaviourConfig;
  /** Seed of the PRNG behind ids, fault dice and short pages. Default 1. */
  randomSeed?: number;
  /** Replaces AppRunnerNetworkingServiceRolePolicy (e.g. to prove a broken SLR policy shows). Default: the published policy. */
  slrPolicy?: PolicyDocument | null;
  /** When set, every AWS call is authorised against this identity policy. Default null (allow all). */
  callerPolicy?: PolicyDocument | null;
}

/** SimulatorConfig with every default filled in. */
export interface ResolvedConfig {
  /** The profile last applied (knobs set after it may differ from its values). */
  profile: ProfileName;
  timings: Required<TimingConfig>;
  consistency: Required<ConsistencyConfig>;
  faults: {
    throttling: {
      read: TokenBucketConfig | null;
      mutate: TokenBucketConfig | null;
      rate: number;
      next: number;
      operations: string[] | undefined;
    };
    internalError: { rate: number; next: number; operations: string[] | undefined };
    latency: Required<LatencyConfig>;
    accessDeniedOnSlrCreation: boolean;
    slrDeletionFailure: boolean;
    rollback: { serviceArns: string[]; next: number; outcome: UpdateFailureOutcome };
    stuck: { serviceArns: string[]; next: number };
  };
  pagination: {
    defaultPageSize: Record<string, number>;
    shortPageRate: number;
    shortPageOperations: string[];
    emptyFirstPage: boolean;
    emptyPageRate: number;
  };
  behaviour: Required<BehaviourConfig>;
  randomSeed: number;
  slrPolicy: PolicyDocument | null;
  callerPolicy: PolicyDocument | null;
}

export function defaultConfig(): ResolvedConfig {
  return {
    profile: 'default',
    timings: {
      operationPendingMs: 500,
      operationDurationMs: 3000,
      firstAssociationDelayMs: 5000,
      rollbackDurationMs: 2000,
      stuckOperationMs: null,
      inactiveConnectorRetentionMs: 600_000,
      deletedServiceRetentionMs: 600_000,
      ingressConnectionPendingMs: 1000,
      slrDeletionNotStartedMs: 500,
      slrDeletionInProgressMs: 2000,
    },
    consistency: {
      connectorListDelayMs: 0,
      connectorDescribeDelayMs: 0,
      connectorDeleteDelayMs: 0,
      tagReadDelayMs: 0,
      slrReadDelayMs: 0,
      connectorReleaseLingerMs: 0,
    },
    faults: {
      throttling: { read: null, mutate: null, rate: 0, next: 0, operations: undefined },
      internalError: { rate: 0, next: 0, operations: undefined },
      latency: { fixedMs: 0, jitterMs: 0 },
      accessDeniedOnSlrCreation: false,
      slrDeletionFailure: false,
      rollback: { serviceArns: [], next: 0, outcome: 'ROLLBACK_SUCCEEDED' },
      stuck: { serviceArns: [], next: 0 },
    },
    pagination: {
      defaultPageSize: {
        ListVpcConnectors: 100,
        ListServices: 20,
        ListOperations: 20,
        DescribeVpcs: 1000,
        DescribeSubnets: 1000,
        DescribeSecurityGroups: 1000,
        DescribeNetworkInterfaces: 1000,
      },
      shortPageRate: 0,
      shortPageOperations: ['ListServices'],
      emptyFirstPage: false,
      emptyPageRate: 0,
    },
    behaviour: {
      listInactiveConnectors: true,
      listDeletedServices: false,
      connectorRevisionOnReuse: 'increment',
      deleteInactiveConnector: 'not-found',
      omittedNetworkSubStructure: 'preserve',
      createVpcConnectorNeedsEc2Describe: true,
      connectorQuota: 50,
      concurrentCallerWindowMs: 5000,
      callLogLimit: 20_000,
      unsupportedAvailabilityZones: {},
      unsupportedAvailabilityZoneFailure: 'fail-operation',
    },
    randomSeed: 1,
    slrPolicy: null,
    callerPolicy: null,
  };
}

/**
 * AWS at its least convenient, yet short enough for tests (semantics.md §5.1-§5.7, §7.1, §11): deletes that
 * settle late, reads that lag creates and tag changes, ListServices pages that are empty or short while
 * services remain, an Availability Zone App Runner refuses, a lingering "in use", slower operations and a
 * little latency on every answer. Each value is an ordinary knob: set it after the profile to change it.
 */
export const pessimisticProfile: SimulatorConfig = {
  timings: {
    operationPendingMs: 1000,
    operationDurationMs: 6000,
    firstAssociationDelayMs: 10_000,
    rollbackDurationMs: 4000,
    ingressConnectionPendingMs: 3000,
    slrDeletionNotStartedMs: 1000,
    slrDeletionInProgressMs: 4000,
  },
  consistency: {
    connectorListDelayMs: 2000,
    connectorDescribeDelayMs: 2000,
    connectorDeleteDelayMs: 5000,
    tagReadDelayMs: 4000,
    slrReadDelayMs: 2000,
    connectorReleaseLingerMs: 3000,
  },
  faults: { latency: { fixedMs: 20, jitterMs: 40 } },
  pagination: {
    shortPageRate: 0.5,
    shortPageOperations: ['ListServices'],
    emptyFirstPage: true,
    emptyPageRate: 0.25,
  },
  behaviour: {
    listDeletedServices: true,
    omittedNetworkSubStructure: 'reset',
    unsupportedAvailabilityZones: { 'us-east-1': ['us-east-1e'] },
    unsupportedAvailabilityZoneFailure: 'fail-operation',
  },
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Fields a config replaces as a whole instead of merging into (documents and maps keyed by the user). */
const wholesale = new Set(['slrPolicy', 'callerPolicy', 'behaviour.unsupportedAvailabilityZones']);

/**
 * Deep-merges `patch` into `base` (objects merge, everything else replaces; `null` replaces too).
 * Used both to apply a SimulatorConfig to the defaults and for POST /_sim/faults in merge mode.
 * Policy documents and the unsupported-zone map replace wholesale rather than merge.
 */
export function mergeConfig(base: ResolvedConfig, patch: SimulatorConfig): ResolvedConfig {
  const merge = (b: unknown, p: unknown, path: string): unknown => {
    if (wholesale.has(path)) return p;
    if (isPlainObject(b) && isPlainObject(p)) {
      const out: Record<string, unknown> = { ...b };
      for (const [k, v] of Object.entries(p)) {
        if (v === undefined) continue;
        out[k] = merge(b[k], v, path === '' ? k : `${path}.${k}`);
      }
      return out;
    }
    return p;
  };
  return merge(base, patch, '') as ResolvedConfig;
}

/**
 * The knob values a profile stands for: the pessimistic profile's, or for 'default' every knob the
 * pessimistic profile sets back at its default, so switching profiles at runtime leaves no trace.
 */
export function profileConfig(name: ProfileName): SimulatorConfig {
  if (name === 'pessimistic') return structuredClone(pessimisticProfile);
  const pick = (like: unknown, from: unknown, path: string): unknown => {
    if (wholesale.has(path) || !isPlainObject(like) || !isPlainObject(from)) return structuredClone(from);
    return Object.fromEntries(
      Object.keys(like).map((k) => [k, pick(like[k], from[k], path === '' ? k : `${path}.${k}`)]),
    );
  };
  return pick(pessimisticProfile, defaultConfig(), '') as SimulatorConfig;
}

/** Applies `patch` over `base`: the profile it names first, then each of its other fields. */
export function resolveConfig(
  patch: SimulatorConfig,
  base: ResolvedConfig = defaultConfig(),
): ResolvedConfig {
  const profile = patch.profile;
  const start =
    profile !== undefined && profileNames.includes(profile)
      ? mergeConfig(base, profileConfig(profile))
      : base;
  return mergeConfig(start, patch);
}

/** Keys of a patch that no SimulatorConfig field has (typos would otherwise be ignored silently). */
export function unknownConfigKeys(patch: unknown): string[] {
  const shape = defaultConfig() as unknown as Record<string, unknown>;
  const bucket = { ratePerSecond: 0, burst: 0 };
  const faults = shape.faults as { throttling: Record<string, unknown> };
  faults.throttling.read = bucket;
  faults.throttling.mutate = bucket;
  const free = new Set([...wholesale, 'pagination.defaultPageSize']);
  const walk = (p: unknown, s: unknown, path: string): string[] => {
    if (free.has(path) || !isPlainObject(p) || !isPlainObject(s)) return [];
    return Object.entries(p).flatMap(([k, v]) => {
      const at = path === '' ? k : `${path}.${k}`;
      return k in s ? walk(v, s[k], at) : [at];
    });
  };
  return walk(patch, shape, '');
}

/** Rejects config shapes that would break the simulator later; returns problems as sentences. */
export function checkConfig(config: ResolvedConfig): string[] {
  const problems: string[] = [];
  const probability = (v: number, name: string): void => {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) problems.push(`${name} must be a number in [0, 1]`);
  };
  probability(config.faults.throttling.rate, 'faults.throttling.rate');
  probability(config.faults.internalError.rate, 'faults.internalError.rate');
  probability(config.pagination.shortPageRate, 'pagination.shortPageRate');
  probability(config.pagination.emptyPageRate, 'pagination.emptyPageRate');
  if (!profileNames.includes(config.profile)) {
    problems.push(`profile must be one of ${profileNames.join(', ')}`);
  }
  if (typeof config.pagination.emptyFirstPage !== 'boolean') {
    problems.push('pagination.emptyFirstPage must be true or false');
  }
  const zones = config.behaviour.unsupportedAvailabilityZones;
  if (
    !isPlainObject(zones) ||
    !Object.values(zones).every((l) => Array.isArray(l) && l.every((z) => typeof z === 'string'))
  ) {
    problems.push(
      'behaviour.unsupportedAvailabilityZones must map regions to lists of Availability Zone names or ids',
    );
  }
  const failures: readonly string[] = ['fail-operation', 'invalid-request'];
  if (!failures.includes(config.behaviour.unsupportedAvailabilityZoneFailure)) {
    problems.push(`behaviour.unsupportedAvailabilityZoneFailure must be one of ${failures.join(', ')}`);
  }
  for (const [k, v] of Object.entries(config.timings)) {
    if (v !== null && (typeof v !== 'number' || v < 0))
      problems.push(`timings.${k} must be a non-negative number`);
  }
  for (const [k, v] of Object.entries(config.consistency)) {
    if (typeof v !== 'number' || v < 0) problems.push(`consistency.${k} must be a non-negative number`);
  }
  const outcomes: readonly string[] = ['ROLLBACK_SUCCEEDED', 'ROLLBACK_FAILED', 'FAILED'];
  if (!outcomes.includes(config.faults.rollback.outcome)) {
    problems.push(`faults.rollback.outcome must be one of ${outcomes.join(', ')}`);
  }
  for (const b of [config.faults.throttling.read, config.faults.throttling.mutate]) {
    if (b !== null && !(b.ratePerSecond >= 0 && b.burst >= 1)) {
      problems.push('a throttling bucket needs ratePerSecond >= 0 and burst >= 1');
    }
  }
  return problems;
}
