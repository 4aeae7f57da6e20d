// The typed error vocabulary of a reconcile and the ONE mapping from an outcome to what the work queue
// does (STYLE.md §6). A reconciler throws one of these, usually wrapping the cause
// (`new TransientError('Could not describe the service', { cause })`); `classify` decides.
import type { ReconcileResult } from './types.ts';

/** The label values of `controller_runtime_reconcile_total{result}`. */
export type ReconcileResultLabel = 'success' | 'error' | 'requeue' | 'requeue_after';

/**
 * What the queue does with a key after a reconcile.
 * - `forget`: converged; reset the key's backoff and wait for the next change or resync.
 * - `requeueAfter`: an expected wait; reset the backoff and look again after `delayMs`.
 * - `backoff`: retry with the key's exponential backoff, waiting at least `minDelayMs`.
 * - `drop`: do not retry until the object changes (the reconciler has already reported why in status).
 *
 * `result` is the metric label; `error` is set when the outcome counts as a reconcile error, `terminal`
 * and `panic` when it also counts in those metrics.
 */
export type QueueAction =
  | { readonly type: 'forget'; readonly result: 'success' }
  | {
      readonly type: 'requeueAfter';
      readonly result: 'requeue_after';
      readonly delayMs: number;
      readonly reason?: string;
    }
  | {
      readonly type: 'backoff';
      readonly result: 'requeue' | 'error';
      readonly minDelayMs: number;
      readonly error: Error;
      readonly panic: boolean;
    }
  | { readonly type: 'drop'; readonly result: 'error'; readonly error: Error; readonly terminal: true };

interface ErrorOptions {
  cause?: unknown;
}

/**
 * Not an error but an expected wait ("the connector is still being created"): requeue after `delayMs`
 * without growing the backoff and without counting an error. ACK's `requeue.NeededAfter`.
 */
export class RequeueAfterError extends Error {
  override readonly name = 'RequeueAfterError';
  readonly delayMs: number;
  /** A CamelCase reason, for logs. */
  readonly reason: string;
  constructor(delayMs: number, reason: string, options?: ErrorOptions) {
    super(`Requeue after ${delayMs} ms: ${reason}`, options);
    this.delayMs = delayMs;
    this.reason = reason;
  }
}

/** A failure that may pass by itself (a 5xx, a timeout, a reset connection): retry with per-key backoff. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

/**
 * The remote side asked us to slow down (HTTP 429, AWS ThrottlingException): retry with backoff, and not
 * before `retryAfterMs` when the server said how long to wait.
 */
export class ThrottledError extends Error {
  override readonly name = 'ThrottledError';
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: ErrorOptions & { retryAfterMs?: number }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/**
 * A write lost an optimistic-concurrency race (HTTP 409 on a resourceVersion): the cache is behind. Retry
 * soon with a fresh read; not a reconcile error.
 */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/**
 * Retrying cannot help until the object changes (invalid input AWS rejected, access denied). The
 * reconciler has already surfaced it in status (`Stalled`). controller-runtime's `TerminalError`.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

/**
 * Exceptions that mean a bug in the reconciler rather than a condition of the world. They are retried
 * with backoff like any error, and counted as panics so that they stand out.
 */
function isProgrammingError(err: unknown): boolean {
  return (
    !(err instanceof Error) ||
    err instanceof TypeError ||
    err instanceof ReferenceError ||
    err instanceof RangeError ||
    err instanceof SyntaxError ||
    err instanceof EvalError
  );
}

/** An HTTP status carried by a client error (`@kubernetes/client-node`'s ApiException has `code`). */
function httpStatus(err: Error): number | undefined {
  const code: unknown = (err as { code?: unknown }).code;
  return typeof code === 'number' && code >= 100 && code < 600 ? code : undefined;
}

type Typed = RequeueAfterError | TransientError | ThrottledError | ConflictError | TerminalError;

/** The outermost typed error in the `cause` chain, or an untyped client error read as its HTTP status. */
function findTyped(err: unknown): Typed | undefined {
  const seen = new Set<unknown>();
  for (let current: unknown = err; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    if (
      current instanceof RequeueAfterError ||
      current instanceof TransientError ||
      current instanceof ThrottledError ||
      current instanceof ConflictError ||
      current instanceof TerminalError
    ) {
      return current;
    }
    const status = httpStatus(current);
    if (status === 409) return new ConflictError(current.message, { cause: current });
    if (status === 429) return new ThrottledError(current.message, { cause: current });
  }
  return undefined;
}

/**
 * The single place that decides what the queue does with a thrown error. The outermost typed error in
 * the `cause` chain wins, so a reconciler may wrap a typed error with context. Anything untyped is
 * transient; a programming error (TypeError, a thrown non-Error, ...) is transient and counted as a panic.
 */
export function classify(err: unknown): QueueAction {
  const error =
    err instanceof Error ? err : new Error(`Non-error value thrown: ${String(err)}`, { cause: err });
  const typed = findTyped(err);
  if (typed instanceof RequeueAfterError) {
    return {
      type: 'requeueAfter',
      result: 'requeue_after',
      delayMs: Math.max(0, typed.delayMs),
      reason: typed.reason,
    };
  }
  if (typed instanceof TerminalError) return { type: 'drop', result: 'error', error, terminal: true };
  if (typed instanceof ConflictError) {
    return { type: 'backoff', result: 'requeue', minDelayMs: 0, error, panic: false };
  }
  if (typed instanceof ThrottledError) {
    return {
      type: 'backoff',
      result: 'error',
      minDelayMs: Math.max(0, typed.retryAfterMs ?? 0),
      error,
      panic: false,
    };
  }
  if (typed instanceof TransientError)
    return { type: 'backoff', result: 'error', minDelayMs: 0, error, panic: false };
  return { type: 'backoff', result: 'error', minDelayMs: 0, error, panic: isProgrammingError(err) };
}

/** What the queue does after a reconcile that returned normally. */
export function classifyResult(result: ReconcileResult | undefined): QueueAction {
  const delayMs = result?.requeueAfterMs ?? 0;
  return delayMs > 0
    ? { type: 'requeueAfter', result: 'requeue_after', delayMs }
    : { type: 'forget', result: 'success' };
}
