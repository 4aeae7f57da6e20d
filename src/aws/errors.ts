// The gateway's typed errors and the ONE mapping from an AWS SDK exception to them. Each class extends the
// runtime error that says what the work queue does (src/runtime/errors.ts), so a controller never reads
// an SDK exception and the queue never learns about AWS. Codes, HTTP statuses and messages: semantics.md
// §6 (App Runner) and §8.3 (IAM).
import { RequeueAfterError, TerminalError, ThrottledError, TransientError } from '../runtime/errors.ts';

export type AwsServiceName = 'apprunner' | 'iam';

/** What AWS said, kept verbatim so that status conditions can quote it. */
export interface AwsErrorFacts {
  service: AwsServiceName;
  /** The API operation, e.g. `DeleteVpcConnector`. */
  operation: string;
  /** AWS's error code (`InvalidRequestException`, `NoSuchEntity`, ...), or a Node error code for network failures. */
  code: string;
  /** Absent when no HTTP response arrived. */
  httpStatus?: number;
  /** AWS's message, verbatim (may be empty). */
  message: string;
  requestId?: string;
}

/** How long a caller waits before looking again, by error class. */
export const AwsRetryDelayMs = {
  /** An App Runner operation is in flight; UpdateService refuses until it ends (semantics §5.8). */
  serviceBusy: 15_000,
  /** Another kind of InvalidStateException: the resource is mid-transition. */
  invalidState: 15_000,
  /** A quota only moves when a human raises it or frees resources: look again rarely. */
  quotaExceeded: 600_000,
  /** CreateVpcConnector found the name taken: ListVpcConnectors lags behind creates, so look it up again soon. */
  nameTaken: 2_000,
} as const;

function describe(facts: AwsErrorFacts): string {
  const status = facts.httpStatus === undefined ? '' : ` (HTTP ${facts.httpStatus})`;
  const text = facts.message === '' ? '' : `: "${facts.message}"`;
  return `${facts.operation} failed with ${facts.code}${status}${text}`;
}

/** The class name shows in logs; the runtime's bases declare their own literal `name`. */
function rename(error: Error, name: string): void {
  Object.defineProperty(error, 'name', {
    value: name,
    enumerable: false,
    configurable: true,
    writable: true,
  });
}

/** AWS asked us to slow down (ThrottlingException, Throttling, RequestLimitExceeded, HTTP 429). */
export class AwsThrottledError extends ThrottledError {
  readonly aws: AwsErrorFacts;
  constructor(aws: AwsErrorFacts, options: { cause: unknown; retryAfterMs?: number }) {
    super(describe(aws), options);
    rename(this, 'AwsThrottledError');
    this.aws = aws;
  }
}

/**
 * DeleteVpcConnector refused because a service still uses the connector. The reference can linger after
 * the last service let go (semantics §5.4), so this is retried with backoff rather than treated as final.
 */
export class ConnectorInUseError extends TransientError {
  readonly aws: AwsErrorFacts;
  constructor(aws: AwsErrorFacts, options: { cause: unknown }) {
    super(describe(aws), options);
    rename(this, 'ConnectorInUseError');
    this.aws = aws;
  }
}

/**
 * CreateVpcConnector refused a name an ACTIVE connector already holds (InvalidRequestException). Not bad
 * input: the lookup by name before the create can miss a connector that exists (ListVpcConnectors lags
 * behind creates, or a crash lost the create's answer), so the caller looks the name up again shortly and
 * then adopts the connector or reports the conflict (DESIGN.md §4.9).
 */
export class ConnectorNameTakenError extends RequeueAfterError {
  readonly aws: AwsErrorFacts;
  constructor(aws: AwsErrorFacts, options: { cause: unknown }) {
    super(AwsRetryDelayMs.nameTaken, 'NameTaken', options);
    rename(this, 'ConnectorNameTakenError');
    this.message = describe(aws);
    this.aws = aws;
  }
}

/** InvalidStateException: the resource is mid-transition; look again later. */
export class AwsInvalidStateError extends RequeueAfterError {
  readonly aws: AwsErrorFacts;
  constructor(aws: AwsErrorFacts, options: { cause: unknown; delayMs?: number; reason?: string }) {
    super(options.delayMs ?? AwsRetryDelayMs.invalidState, options.reason ?? 'AwsInvalidState', options);
    rename(this, 'AwsInvalidStateError');
    this.message = describe(aws);
    this.aws = aws;
  }
}

/** UpdateService (or DeleteService) refused while an operation is in progress: requeue, never force. */
export class ServiceBusyError extends AwsInvalidStateError {
  constructor(aws: AwsErrorFacts, options: { cause: unknown }) {
    super(aws, { ...options, delayMs: AwsRetryDelayMs.serviceBusy, reason: 'ServiceBusy' });
    rename(this, 'ServiceBusyError');
  }
}

/** AWS rejected the input (InvalidRequestException, IAM InvalidInput): terminal until the spec changes. */
export class AwsInvalidInputError extends TerminalError {
  readonly aws: AwsErrorFacts;
  constructor(aws: AwsErrorFacts, options: { cause: unknown }) {
    super(describe(aws), options);
    rename(this, 'AwsInvalidInputError');
    this.aws = aws;
  }
}

/** The credentials may not do this (AccessDeniedException, AccessDenied, UnauthorizedOperation, HTTP 403). */
export class AwsAccessDeniedError extends TerminalError {
  readonly aws: AwsErrorFacts;
  constructor(aws: AwsErrorFacts, options: { cause: unknown }) {
    super(describe(aws), options);
    rename(this, 'AwsAccessDeniedError');
    this.aws = aws;
  }
}

/**
 * An account quota is exhausted (App Runner ServiceQuotaExceededException 402, IAM LimitExceeded 409).
 * Report it as stalled, but look again every few minutes: a human may have raised the quota.
 */
export class AwsQuotaExceededError extends RequeueAfterError {
  readonly aws: AwsErrorFacts;
  constructor(aws: AwsErrorFacts, options: { cause: unknown }) {
    super(AwsRetryDelayMs.quotaExceeded, 'AwsQuotaExceeded', options);
    rename(this, 'AwsQuotaExceededError');
    this.message = describe(aws);
    this.aws = aws;
  }
}

/**
 * The resource vanished while a verb that does not treat absence as an answer was using it (e.g. tagging
 * a connector deleted out of band). The next pass observes afresh, so retry with backoff.
 */
export class AwsNotFoundError extends TransientError {
  readonly aws: AwsErrorFacts;
  constructor(aws: AwsErrorFacts, options: { cause: unknown }) {
    super(describe(aws), options);
    rename(this, 'AwsNotFoundError');
    this.aws = aws;
  }
}

/**
 * How a transient failure came about: `known` (a 5xx, InternalServiceErrorException, ServiceFailure, a
 * dropped connection or a timeout, which pass by themselves), `unreachable` (the endpoint's name does not
 * resolve: most often a region where App Runner does not run), or `unrecognised` (a code the gateway does
 * not know, e.g. a subscription or opt-in error of a new account). The last two are retried like the first,
 * but a human should hear of them when they persist.
 */
export type TransientKind = 'known' | 'unreachable' | 'unrecognised';

/** 5xx, InternalServiceErrorException, ServiceFailure, network failures: the SDK already retried. */
export class AwsTransientError extends TransientError {
  readonly aws: AwsErrorFacts;
  readonly kind: TransientKind;
  constructor(aws: AwsErrorFacts, options: { cause: unknown; kind?: TransientKind }) {
    super(describe(aws), options);
    rename(this, 'AwsTransientError');
    this.aws = aws;
    this.kind = options.kind ?? 'known';
  }
}

export type AwsError =
  | AwsThrottledError
  | ConnectorInUseError
  | ConnectorNameTakenError
  | AwsInvalidStateError
  | AwsInvalidInputError
  | AwsAccessDeniedError
  | AwsQuotaExceededError
  | AwsNotFoundError
  | AwsTransientError;

export function isAwsError(err: unknown): err is AwsError {
  return (
    err instanceof AwsThrottledError ||
    err instanceof ConnectorInUseError ||
    err instanceof ConnectorNameTakenError ||
    err instanceof AwsInvalidStateError ||
    err instanceof AwsInvalidInputError ||
    err instanceof AwsAccessDeniedError ||
    err instanceof AwsQuotaExceededError ||
    err instanceof AwsNotFoundError ||
    err instanceof AwsTransientError
  );
}

/** Throttling codes the SDKs' standard retry mode recognises (semantics §6), plus App Runner's likely one. */
const throttleCodes = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'SlowDown',
  // With the `Exception` suffix this is the SDKs' throttle; IAM's bare `LimitExceeded` is a quota.
  'LimitExceededException',
]);

const accessDeniedCodes = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidSignatureException',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
]);

const quotaCodes = new Set(['ServiceQuotaExceededException', 'LimitExceeded']);

const invalidInputCodes = new Set([
  'InvalidRequestException',
  'InvalidInput',
  'UnmodifiableEntity',
  'MalformedPolicyDocument',
  'ValidationException',
  'ValidationError',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'SerializationException',
]);

const notFoundCodes = new Set(['ResourceNotFoundException', 'NoSuchEntity']);

/** Node's network failures (undici and `node:net` codes) that mean no usable response arrived. */
const networkCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const inUseMessage = /is being used by other services/i;
/**
 * CreateVpcConnector's refusal of a taken name. AWS's text is not documented (semantics §5.1); the simulator
 * says `A VPC connector with the name <name> already exists: <arn>`.
 */
const nameTakenMessage = /already exists/i;

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
  $response?: { statusCode?: unknown; headers?: Record<string, unknown> };
}

/**
 * The JS SDK names IAM exceptions after their model shapes (`InvalidInputException`) and keeps the wire
 * code (`InvalidInput`) in `Code`; when `Code` is missing (an exception built by hand), this recovers it.
 */
const iamShapeCodes: Readonly<Record<string, string>> = {
  NoSuchEntityException: 'NoSuchEntity',
  InvalidInputException: 'InvalidInput',
  LimitExceededException: 'LimitExceeded',
  ServiceFailureException: 'ServiceFailure',
  UnmodifiableEntityException: 'UnmodifiableEntity',
  EntityAlreadyExistsException: 'EntityAlreadyExists',
  ConcurrentModificationException: 'ConcurrentModification',
};

/** `aws.protocols#…` namespaces and `:suffix`es are stripped the way botocore does (semantics §3.1). */
function bareCode(raw: string): string {
  const afterHash = raw.includes('#') ? raw.slice(raw.lastIndexOf('#') + 1) : raw;
  const colon = afterHash.indexOf(':');
  return colon >= 0 ? afterHash.slice(0, colon) : afterHash;
}

function readFacts(err: unknown, service: AwsServiceName, operation: string): AwsErrorFacts {
  const shape: SdkErrorShape = typeof err === 'object' && err !== null ? err : {};
  const status = shape.$metadata?.httpStatusCode ?? shape.$response?.statusCode;
  const networkCode = typeof shape.code === 'string' && networkCodes.has(shape.code) ? shape.code : undefined;
  const name = typeof shape.name === 'string' ? shape.name : 'UnknownError';
  const named =
    typeof shape.Code === 'string' ? shape.Code : service === 'iam' ? (iamShapeCodes[name] ?? name) : name;
  const requestId = shape.$metadata?.requestId;
  const facts: AwsErrorFacts = {
    service,
    operation,
    code: networkCode ?? bareCode(named),
    message: typeof shape.message === 'string' ? shape.message : String(err),
  };
  if (typeof status === 'number') facts.httpStatus = status;
  if (typeof requestId === 'string') facts.requestId = requestId;
  return facts;
}

function retryAfterMs(err: unknown): number | undefined {
  const headers = (err as SdkErrorShape | undefined)?.$response?.headers;
  const value = headers?.['retry-after'];
  if (typeof value !== 'string') return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/**
 * The one mapping from whatever the SDK threw (after its own retries) to a gateway error. Order matters:
 * throttling and access checks come before the generic 4xx classes because AWS reuses status 400 for all.
 * Everything else is transient: 5xx, InternalServiceErrorException, ServiceFailure, ConcurrentModification,
 * expired credentials (the provider refreshes them), network failures, and codes we do not recognise (an
 * unknown code is no proof that the input is bad, and the queue's capped backoff prevents a retry storm).
 */
export function toAwsError(err: unknown, service: AwsServiceName, operation: string): AwsError {
  if (isAwsError(err)) return err;
  const facts = readFacts(err, service, operation);
  const { code, httpStatus } = facts;
  const options = { cause: err };
  if (throttleCodes.has(code) || httpStatus === 429) {
    const after = retryAfterMs(err);
    return new AwsThrottledError(facts, after === undefined ? options : { ...options, retryAfterMs: after });
  }
  if (accessDeniedCodes.has(code) || httpStatus === 403) return new AwsAccessDeniedError(facts, options);
  if (quotaCodes.has(code) || httpStatus === 402) return new AwsQuotaExceededError(facts, options);
  if (
    code === 'InvalidRequestException' &&
    operation === 'DeleteVpcConnector' &&
    inUseMessage.test(facts.message)
  ) {
    return new ConnectorInUseError(facts, options);
  }
  // Before the generic InvalidRequestException below, which would make it terminal.
  if (
    code === 'InvalidRequestException' &&
    operation === 'CreateVpcConnector' &&
    nameTakenMessage.test(facts.message)
  ) {
    return new ConnectorNameTakenError(facts, options);
  }
  if (code === 'InvalidStateException') {
    return operation === 'UpdateService' || operation === 'DeleteService'
      ? new ServiceBusyError(facts, options)
      : new AwsInvalidStateError(facts, options);
  }
  if (notFoundCodes.has(code)) return new AwsNotFoundError(facts, options);
  if (invalidInputCodes.has(code)) return new AwsInvalidInputError(facts, options);
  return new AwsTransientError(facts, { ...options, kind: transientKind(code, httpStatus) });
}

/** Codes that are transient by nature (beyond 5xx statuses and network failures). */
const knownTransientCodes = new Set([
  'InternalServiceErrorException',
  'ServiceFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalError',
  'ConcurrentModification',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'RequestExpired',
]);

/** DNS failures: the endpoint does not exist (App Runner runs in a minority of regions). */
const unreachableCodes = new Set(['ENOTFOUND', 'EAI_AGAIN']);

function transientKind(code: string, httpStatus: number | undefined): TransientKind {
  if (unreachableCodes.has(code)) return 'unreachable';
  if (networkCodes.has(code) || knownTransientCodes.has(code)) return 'known';
  if (httpStatus !== undefined && httpStatus >= 500) return 'known';
  return 'unrecognised';
}
