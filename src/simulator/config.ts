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
  /** A new connector is missing from ListVpcConnectors this long (Describe works at once). Default 0. */
  connectorListDelayMs?: number;
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
  /** Operations where short pages may happen. Default ['ListServices']. */
  shortPageOperations?: string[];
}

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
}

export interface SimulatorConfig {
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
  };
  behaviour: Required<BehaviourConfig>;
  randomSeed: number;
  slrPolicy: PolicyDocument | null;
  callerPolicy: PolicyDocument | null;
}

export function defaultConfig(): ResolvedConfig {
  return {
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
    consistency: { connectorListDelayMs: 0, slrReadDelayMs: 0, connectorReleaseLingerMs: 0 },
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
    },
    randomSeed: 1,
    slrPolicy: null,
    callerPolicy: null,
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Deep-merges `patch` into `base` (objects merge, everything else replaces; `null` replaces too).
 * Used both to apply a SimulatorConfig to the defaults and for POST /_sim/faults in merge mode.
 * Policy documents replace wholesale rather than merge.
 */
export function mergeConfig(base: ResolvedConfig, patch: SimulatorConfig): ResolvedConfig {
  const merge = (b: unknown, p: unknown, path: string): unknown => {
    if (path === 'slrPolicy' || path === 'callerPolicy') return p;
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

/** Keys of a patch that no SimulatorConfig field has (typos would otherwise be ignored silently). */
export function unknownConfigKeys(patch: unknown): string[] {
  const shape = defaultConfig() as unknown as Record<string, unknown>;
  const bucket = { ratePerSecond: 0, burst: 0 };
  const faults = shape.faults as { throttling: Record<string, unknown> };
  faults.throttling.read = bucket;
  faults.throttling.mutate = bucket;
  const free = new Set(['slrPolicy', 'callerPolicy', 'pagination.defaultPageSize']);
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
