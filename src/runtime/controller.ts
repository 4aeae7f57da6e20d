// A generic controller: informers enqueue keys (never events), N workers take keys from a work queue and
// call the reconcile function, and `classify` turns each outcome into a queue action. The controller
// knows nothing of the kind it reconciles beyond how to read an object's key.
import { randomUUID } from 'node:crypto';
import { classify, classifyResult } from './errors.ts';
import type { QueueAction } from './errors.ts';
import { discardLogger } from './logging.ts';
import type { Logger } from './logging.ts';
import type { ControllerMetrics, RuntimeMetrics } from './metrics.ts';
import { keyToString, parseKey, systemClock } from './types.ts';
import type { Clock, InformerSource, ObjectKey, ReconcileFn, TimerHandle } from './types.ts';
import { WorkQueue, type Priority } from './workqueue.ts';

/**
 * A secondary source whose changes enqueue the keys of primary objects (e.g. a ServiceNetworking change
 * enqueues the VpcConnector it references). Build one with {@link watch}.
 */
export interface SecondaryWatch {
  readonly source: InformerSource<unknown>;
  readonly map: (obj: unknown) => readonly ObjectKey[];
}

/** Types a secondary watch: `map` receives the source's objects. */
export function watch<U>(source: InformerSource<U>, map: (obj: U) => readonly ObjectKey[]): SecondaryWatch {
  return {
    source,
    map: (obj) => map(obj as U),
  };
}

export interface ControllerOptions<T> {
  /** Names the controller in logs and metrics (controller-runtime: the lower-case kind). */
  name: string;
  /** The kind this controller reconciles; its objects' keys are what reconcile receives. */
  source: InformerSource<T>;
  reconcile: ReconcileFn;
  /** Reads a key from an object. Default: `metadata.namespace` and `metadata.name`. */
  keyOf?: (obj: T) => ObjectKey | undefined;
  watches?: readonly SecondaryWatch[];
  /** Workers, i.e. reconciles that may run at once (each on a different key). Default 1. */
  concurrency?: number;
  /** Every period, every key of `source` is enqueued again; 0 disables. Default 10 hours (controller-runtime's SyncPeriod). */
  resyncPeriodMs?: number;
  /** A reconcile running longer than this has its signal aborted and is counted as a timeout; 0 disables. Default 0. */
  reconcileTimeoutMs?: number;
  /**
   * After the run signal fires, how long in-flight reconciles may take before their signal is aborted.
   * Default 20 s: with the manager's release bound it fits Kubernetes' default 30 s termination grace.
   */
  drainTimeoutMs?: number;
  /** Per-key backoff and overall rate limit of rate-limited requeues (see {@link WorkQueue}). */
  queue?: { baseDelayMs?: number; maxDelayMs?: number; qps?: number; burst?: number };
  clock?: Clock;
  metrics?: RuntimeMetrics;
  log?: Logger;
}

const noControllerMetrics: ControllerMetrics = {
  reconciled: () => undefined,
  errored: () => undefined,
  timedOut: () => undefined,
  activeWorkers: () => undefined,
};

/** The key of a Kubernetes object, from its metadata; `undefined` when it has no name. */
export function metadataKey(obj: unknown): ObjectKey | undefined {
  const metadata = (obj as { metadata?: { name?: unknown; namespace?: unknown } } | undefined)?.metadata;
  if (typeof metadata?.name !== 'string' || metadata.name === '') return undefined;
  return typeof metadata.namespace === 'string' && metadata.namespace !== ''
    ? { namespace: metadata.namespace, name: metadata.name }
    : { name: metadata.name };
}

export class Controller<T = unknown> {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly #source: InformerSource<T>;
  readonly #watches: readonly SecondaryWatch[];
  readonly #reconcile: ReconcileFn;
  readonly #keyOf: (obj: T) => ObjectKey | undefined;
  readonly #concurrency: number;
  readonly #resyncPeriodMs: number;
  readonly #reconcileTimeoutMs: number;
  readonly #drainTimeoutMs: number;
  readonly #clock: Clock;
  readonly #metrics: ControllerMetrics;
  readonly #log: Logger;
  /** Abort controllers of the reconciles in flight, by key. */
  readonly #inFlight = new Map<string, AbortController>();
  #state: 'idle' | 'running' | 'stopped' = 'idle';

  constructor(options: ControllerOptions<T>) {
    this.name = options.name;
    this.#source = options.source;
    this.#watches = options.watches ?? [];
    this.#reconcile = options.reconcile;
    this.#keyOf = options.keyOf ?? metadataKey;
    this.#concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(this.#concurrency) || this.#concurrency < 1) {
      throw new RangeError(
        `Controller ${this.name}: concurrency must be a positive integer, got ${this.#concurrency}`,
      );
    }
    this.#resyncPeriodMs = options.resyncPeriodMs ?? 10 * 60 * 60 * 1000;
    this.#reconcileTimeoutMs = options.reconcileTimeoutMs ?? 0;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 20_000;
    this.#clock = options.clock ?? systemClock;
    this.#metrics = options.metrics?.forController(this.name, this.#concurrency) ?? noControllerMetrics;
    this.#log = (options.log ?? discardLogger).child({ controller: this.name }, this.name);
    this.queue = new WorkQueue({
      name: this.name,
      clock: this.#clock,
      metrics: options.metrics,
      ...options.queue,
    });

    this.#source.onChange((obj) => {
      this.#enqueue(this.#keyOf(obj));
    });
    for (const { source, map } of this.#watches) {
      source.onChange((obj) => {
        // A mapping bug must not break the informer that delivers the event to every handler.
        try {
          for (const key of map(obj)) this.#enqueue(key);
        } catch (err) {
          this.#log.error('Could not map a watched object to keys', { error: err });
        }
      });
    }
  }

  /** Every informer this controller reads; the manager starts each once. */
  sources(): InformerSource<unknown>[] {
    return [this.#source, ...this.#watches.map((w) => w.source)];
  }

  hasSynced(): boolean {
    return this.sources().every((source) => source.hasSynced());
  }

  /** Why an informer of this controller is wedged, or `undefined` when none is. */
  healthProblem(): string | undefined {
    for (const source of this.sources()) {
      const problem = source.healthProblem?.();
      if (problem !== undefined) return problem;
    }
    return undefined;
  }

  /** Keys whose reconcile is running now. */
  inFlightKeys(): string[] {
    return [...this.#inFlight.keys()];
  }

  /**
   * Runs the workers until `signal` fires, then stops taking work and lets in-flight reconciles finish;
   * after `drainTimeoutMs` their signals are aborted and this resolves without waiting further. Call it
   * once, after the sources have synced: it starts by enqueuing every key the cache holds.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`Controller ${this.name} was already started`);
    this.#state = 'running';
    if (signal.aborted) {
      this.#state = 'stopped';
      this.queue.shutDown();
      return;
    }
    this.#log.info('Started workers', { workers: this.#concurrency });
    this.#enqueueAll();
    let resyncTimer: TimerHandle;
    const scheduleResync = (): void => {
      if (this.#resyncPeriodMs <= 0) return;
      resyncTimer = this.#clock.setTimeout(() => {
        this.#log.debug('Resynced all objects', { objects: this.#source.list().length });
        this.#enqueueAll('background');
        scheduleResync();
      }, this.#resyncPeriodMs);
    };
    scheduleResync();

    const workers = Array.from({ length: this.#concurrency }, () => this.#work());
    await new Promise<void>((resolve) => {
      signal.addEventListener(
        'abort',
        () => {
          resolve();
        },
        { once: true },
      );
    });
    if (resyncTimer !== undefined) this.#clock.clearTimeout(resyncTimer);
    this.#state = 'stopped';
    this.queue.shutDown();
    const inFlight = this.inFlightKeys();
    this.#log.info('Stopped taking work; waiting for in-flight reconciles', { inFlight: inFlight.length });

    let drainTimer: TimerHandle;
    const drained = await Promise.race([
      Promise.all(workers).then(() => true),
      new Promise<boolean>((resolve) => {
        drainTimer = this.#clock.setTimeout(() => {
          resolve(false);
        }, this.#drainTimeoutMs);
      }),
    ]);
    this.#clock.clearTimeout(drainTimer);
    if (drained) {
      this.#log.info('Stopped workers');
    } else {
      this.#log.error('Reconciles did not finish within the drain timeout; aborted them', {
        drainTimeoutMs: this.#drainTimeoutMs,
        keys: this.inFlightKeys(),
      });
      this.abortInFlight(new Error('Drain timeout expired'));
    }
  }

  /** Aborts the signal of every in-flight reconcile now (e.g. on loss of leadership). */
  abortInFlight(reason: unknown): void {
    for (const abort of this.#inFlight.values()) abort.abort(reason);
  }

  #enqueue(key: ObjectKey | undefined, priority: Priority = 'normal'): void {
    // Only a running controller queues keys: a standby replica keeps none, and `run` enqueues every key.
    if (key === undefined || this.#state !== 'running') return;
    this.queue.add(keyToString(key), priority);
  }

  /** Every key the cache holds; a resync's at background priority, behind changes and requeues. */
  #enqueueAll(priority: Priority = 'normal'): void {
    for (const obj of this.#source.list()) this.#enqueue(this.#keyOf(obj), priority);
  }

  async #work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.#process(key);
      } catch (err) {
        // #process handles every outcome; reaching here is a runtime bug, which must not kill the worker.
        this.#log.error('Worker failed unexpectedly', { key, error: err });
      } finally {
        this.queue.done(key);
      }
    }
  }

  async #process(key: string): Promise<void> {
    const objectKey = parseKey(key);
    const log = this.#log.child({
      namespace: objectKey.namespace,
      name: objectKey.name,
      reconcileID: randomUUID(),
    });
    const abort = new AbortController();
    this.#inFlight.set(key, abort);
    const outcome = { timedOut: false };
    const timeout =
      this.#reconcileTimeoutMs > 0
        ? this.#clock.setTimeout(() => {
            outcome.timedOut = true;
            abort.abort(new Error(`Reconcile timed out after ${this.#reconcileTimeoutMs} ms`));
          }, this.#reconcileTimeoutMs)
        : undefined;
    this.#metrics.activeWorkers(1);
    const started = this.#clock.now();
    let action: QueueAction;
    try {
      action = classifyResult(await this.#reconcile(objectKey, { signal: abort.signal, log }));
    } catch (err) {
      action = classify(err);
    } finally {
      if (timeout !== undefined) this.#clock.clearTimeout(timeout);
      this.#inFlight.delete(key);
      this.#metrics.activeWorkers(-1);
    }
    this.#metrics.reconciled(action.result, (this.#clock.now() - started) / 1000);
    if (outcome.timedOut) this.#metrics.timedOut();
    this.#apply(key, action, log);
  }

  /** Carries out a queue action; the decision itself was made by `classify`. */
  #apply(key: string, action: QueueAction, log: Logger): void {
    switch (action.type) {
      case 'forget':
        this.queue.forget(key);
        log.debug('Reconciled object');
        return;
      case 'requeueAfter':
        this.queue.forget(key);
        this.queue.addAfter(key, action.delayMs);
        log.debug('Reconciled object; requeued after a delay', {
          requeueAfterMs: action.delayMs,
          reason: action.reason,
        });
        return;
      case 'backoff': {
        if (action.result === 'error') this.#metrics.errored({ terminal: false, panic: action.panic });
        const delayMs = this.queue.addRateLimited(key, action.minDelayMs);
        const values = { error: action.error, retryInMs: delayMs, requeues: this.queue.numRequeues(key) };
        if (action.panic) {
          log.error('Reconcile threw an unexpected exception; requeued with backoff', {
            ...values,
            stack: action.error.stack,
          });
        } else if (action.result === 'error') {
          log.error('Reconcile failed; requeued with backoff', values);
        } else {
          log.debug('Reconcile lost a write conflict; requeued', values);
        }
        return;
      }
      case 'drop':
        this.#metrics.errored({ terminal: true, panic: false });
        this.queue.forget(key);
        log.error('Reconcile failed with a terminal error; not retrying until the object changes', {
          error: action.error,
        });
        return;
    }
  }
}
