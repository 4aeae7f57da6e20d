// Shared vocabulary of the controller runtime: keys, results, the informer and leadership contracts, and
// the clock every time-dependent part takes so that tests can drive time by hand.
import type { Logger } from './logging.ts';

/**
 * What a reconcile is asked to converge: the identity of one object, never the event that caused it.
 * `namespace` is absent for cluster-scoped objects.
 */
export interface ObjectKey {
  readonly namespace?: string;
  readonly name: string;
}

/** The string form of a key: `namespace/name`, or `name` for a cluster-scoped object. */
export function keyToString(key: ObjectKey): string {
  return key.namespace === undefined || key.namespace === '' ? key.name : `${key.namespace}/${key.name}`;
}

/** Inverse of {@link keyToString}. Kubernetes names never contain `/`, so the first one separates. */
export function parseKey(text: string): ObjectKey {
  const slash = text.indexOf('/');
  return slash < 0 ? { name: text } : { namespace: text.slice(0, slash), name: text.slice(slash + 1) };
}

/**
 * What a successful reconcile asks of the queue. `requeueAfterMs > 0` means "look again after this
 * long" (an expected wait, e.g. an AWS operation in progress); absent or 0 means "converged, wait for
 * the next change or resync".
 */
export interface ReconcileResult {
  readonly requeueAfterMs?: number;
}

/** Per-call context of a reconcile. */
export interface ReconcileContext {
  /** Aborted when the reconcile must stop mutating: the drain timeout expired or leadership was lost. */
  readonly signal: AbortSignal;
  /** Bound to the controller, the object's namespace and name, and a reconcile id. */
  readonly log: Logger;
}

/**
 * Converges one object. Throw the typed errors of `errors.ts` to say what the queue should do; any
 * other exception is retried with backoff.
 */
export type ReconcileFn = (key: ObjectKey, ctx: ReconcileContext) => Promise<ReconcileResult>;

/** An informer-like cache of one kind. Implemented by `informer.ts`; fakes in tests are literal objects. */
export interface InformerSource<T> {
  /** Starts list and watch; resolves after the first list has filled the cache. */
  start(): Promise<void>;
  stop(): void;
  hasSynced(): boolean;
  list(): T[];
  get(namespace: string | undefined, name: string): T | undefined;
  /** Registers a handler; every registered handler sees every change. */
  onChange(handler: (obj: T, change: 'add' | 'update' | 'delete') => void): void;
  /**
   * Optional liveness probe: `undefined` when the watch is working, otherwise a sentence saying why it is
   * wedged. `/healthz` fails while any source reports a problem.
   */
  healthProblem?(): string | undefined;
}

/** Lease-based leader election. Implemented by `leader-election.ts`. */
export interface Leadership {
  /**
   * Campaigns until stopped. Calls `onStartedLeading` each time the lease is acquired; its signal is
   * aborted when the lease is lost or released.
   */
  run(onStartedLeading: (signal: AbortSignal) => void): Promise<void>;
  isLeader(): boolean;
  /** Stops campaigning and releases the lease if held. */
  stop(): Promise<void>;
}

/** Opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/** Time and timers, injectable so that tests use a fake clock instead of sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock. Timers are unref'd: a pending retry never keeps the process alive by itself. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
