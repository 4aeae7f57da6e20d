// A list-watch cache of one resource path (core, built-in or custom), hardened against the failure modes
// of @kubernetes/client-node 2.0.1.
//
// Why not its ListWatch: on any error other than 410 it calls the error callbacks and stops for good; its
// own stop() (and every restart) aborts the live request, whose AbortError then reaches those callbacks;
// a late abort of the previous watch can cancel the next one, since both share one `request` field; and
// start() resolves even when the list failed. None of that can be fixed from outside without races, so
// this file owns the loop and the cache and uses client-node only for what it does well: the streaming
// `Watch` (auth, TLS, line parsing, a 30 s inactivity timeout) and the caller's list call.
//
// The loop: list (fills the cache, diffing against what it held), then watch from the list's
// resourceVersion. Every attempt has a generation number; callbacks of an older attempt are ignored, so an
// aborted request can never disturb its successor. Errors restart the loop after a jittered, capped
// exponential backoff; a clean end or the client's inactivity timeout re-watches at once from the last
// resourceVersion; 410 Gone relists. A watchdog restarts (and relists) an attempt that has delivered
// nothing for `silenceTimeoutMs`, which covers a half-open connection and a list that never answers.
import {
  CustomObjectsApi,
  type KubernetesListObject,
  type KubernetesObject,
  type KubeConfig,
  Watch,
} from '@kubernetes/client-node';

import type { CustomResourceType } from './custom-objects.ts';
import { discardLogger, type Logger } from './logging.ts';
import { type Clock, type InformerSource, systemClock, type TimerHandle } from './types.ts';

export type ChangeType = 'add' | 'update' | 'delete';

/** The streaming call of client-node's `Watch`; tests pass a fake. */
export interface WatchStarter {
  watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController>;
}

export interface InformerOptions<T extends KubernetesObject> {
  /**
   * The collection's path: `/api/v1/namespaces/ns/configmaps`, `/apis/group/version/plural`, ... The same
   * collection `list` reads.
   */
  path: string;
  /** Lists the collection (e.g. `() => customObjects.listClusterCustomObject({...})`). */
  list: () => Promise<KubernetesListObject<T>>;
  /** Builds the client-node `Watch`. Required unless `watch` is given. */
  kubeConfig?: KubeConfig;
  watch?: WatchStarter;
  labelSelector?: string;
  fieldSelector?: string;
  /** Names the informer in logs and health messages. Default: the path. */
  name?: string;
  /** Re-deliver every cached object as 'update' this often; 0 disables. Default 10 minutes. */
  resyncPeriodMs?: number;
  /** Restart (and relist) when nothing at all has arrived for this long. Default 5 minutes. */
  silenceTimeoutMs?: number;
  /** First retry delay after an error. Default 1 s. */
  initialBackoffMs?: number;
  /** Retry delay cap. Default 30 s. */
  maxBackoffMs?: number;
  /** Server-side watch timeout; default a random 5..10 minutes (client-go), to spread reconnects. */
  watchTimeoutSeconds?: number;
  clock?: Clock;
  log?: Logger;
  random?: () => number;
}

/** What /healthz and tests can read about an informer. */
export interface InformerStatus {
  synced: boolean;
  /** Clock time of the last sign of life: a watch event, a bookmark or a successful list. */
  lastEventAt: number | undefined;
  /** Attempts started after the first: errors, watchdog restarts, 410s and clean re-watches. */
  restarts: number;
  watchdogRestarts: number;
  consecutiveFailures: number;
  lastError: string | undefined;
}

export const informerDefaults = {
  resyncPeriodMs: 10 * 60_000,
  silenceTimeoutMs: 5 * 60_000,
  initialBackoffMs: 1_000,
  maxBackoffMs: 30_000,
} as const;

/** A watch that ended sooner than this without delivering anything counts as a failure (no hot loop). */
const minHealthyWatchMs = 1_000;

type Phase = 'idle' | 'listing' | 'watching' | 'waiting' | 'stopped';

export class Informer<T extends KubernetesObject> implements InformerSource<T> {
  readonly #path: string;
  readonly #listFn: () => Promise<KubernetesListObject<T>>;
  readonly #watch: WatchStarter;
  readonly #labelSelector: string | undefined;
  readonly #fieldSelector: string | undefined;
  readonly #name: string;
  readonly #resyncPeriodMs: number;
  readonly #silenceTimeoutMs: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #watchTimeoutSeconds: number | undefined;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #random: () => number;

  readonly #cache = new Map<string, T>();
  readonly #handlers: ((obj: T, change: ChangeType) => void)[] = [];
  #resourceVersion = '';
  #phase: Phase = 'idle';
  #generation = 0;
  #request: AbortController | undefined;
  #retryTimer: TimerHandle;
  #watchdogTimer: TimerHandle;
  #resyncTimer: TimerHandle;
  #synced = false;
  #firstSync: { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } | undefined;
  #lastEventAt: number | undefined;
  /** When the watchdog started counting: the last sign of life or the last watchdog restart. */
  #quietSince = 0;
  #restarts = 0;
  #watchdogRestarts = 0;
  #failures = 0;
  #lastError: string | undefined;

  constructor(options: InformerOptions<T>) {
    this.#path = options.path;
    this.#listFn = options.list;
    if (options.watch !== undefined) this.#watch = options.watch;
    else if (options.kubeConfig !== undefined) this.#watch = new Watch(options.kubeConfig);
    else throw new Error('An informer needs a kubeConfig or a watch.');
    this.#labelSelector = options.labelSelector;
    this.#fieldSelector = options.fieldSelector;
    this.#name = options.name ?? options.path;
    this.#resyncPeriodMs = options.resyncPeriodMs ?? informerDefaults.resyncPeriodMs;
    this.#silenceTimeoutMs = options.silenceTimeoutMs ?? informerDefaults.silenceTimeoutMs;
    this.#initialBackoffMs = options.initialBackoffMs ?? informerDefaults.initialBackoffMs;
    this.#maxBackoffMs = options.maxBackoffMs ?? informerDefaults.maxBackoffMs;
    this.#watchTimeoutSeconds = options.watchTimeoutSeconds;
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.log ?? discardLogger).child({ informer: this.#name });
    this.#random = options.random ?? Math.random;
  }

  /** Starts the loop; resolves after the first successful list, rejects only if stopped before that. */
  start(): Promise<void> {
    if (this.#phase !== 'idle' && this.#phase !== 'stopped') {
      return this.#firstSync?.promise ?? Promise.resolve();
    }
    if (!this.#synced) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#firstSync = { promise, resolve, reject };
    }
    this.#phase = 'waiting';
    this.#lastEventAt ??= this.#clock.now();
    this.#quietSince = this.#clock.now();
    this.#armWatchdog();
    this.#armResync();
    void this.#attempt(++this.#generation);
    return this.#firstSync?.promise ?? Promise.resolve();
  }

  stop(): void {
    if (this.#phase === 'stopped' || this.#phase === 'idle') return;
    this.#phase = 'stopped';
    this.#generation++;
    this.#abortRequest();
    for (const timer of [this.#retryTimer, this.#watchdogTimer, this.#resyncTimer]) {
      this.#clock.clearTimeout(timer);
    }
    this.#firstSync?.reject(new Error(`Informer ${this.#name} was stopped before its first list.`));
    this.#firstSync = undefined;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(cacheKey(namespace, name));
  }

  onChange(handler: (obj: T, change: ChangeType) => void): void {
    this.#handlers.push(handler);
  }

  status(): InformerStatus {
    return {
      synced: this.#synced,
      lastEventAt: this.#lastEventAt,
      restarts: this.#restarts,
      watchdogRestarts: this.#watchdogRestarts,
      consecutiveFailures: this.#failures,
      lastError: this.#lastError,
    };
  }

  /**
   * Wedged means silent for twice the watchdog period: the watchdog has already restarted it once and
   * even the relist brought nothing back.
   */
  healthProblem(): string | undefined {
    if (this.#phase === 'idle' || this.#phase === 'stopped' || this.#lastEventAt === undefined)
      return undefined;
    const silentMs = this.#clock.now() - this.#lastEventAt;
    if (silentMs <= 2 * this.#silenceTimeoutMs) return undefined;
    const cause = this.#lastError === undefined ? '' : ` (last error: ${this.#lastError})`;
    return `Informer ${this.#name} has heard nothing from the API server for ${Math.round(silentMs / 1000)} s${cause}.`;
  }

  /** One list (when there is no resourceVersion to resume from) and one watch. */
  async #attempt(generation: number): Promise<void> {
    if (this.#resourceVersion === '') {
      this.#phase = 'listing';
      let list: KubernetesListObject<T>;
      try {
        list = await this.#listFn();
      } catch (err) {
        if (generation === this.#generation) this.#fail(generation, 'list', err);
        return;
      }
      if (generation !== this.#generation) return;
      this.#replace(list);
    }
    this.#phase = 'watching';
    const startedAt = this.#clock.now();
    let delivered = 0;
    let gone = false;
    const query: Record<string, string | number | boolean | undefined> = {
      resourceVersion: this.#resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: this.#watchTimeoutSeconds ?? Math.floor(300 * (1 + this.#random())),
      labelSelector: this.#labelSelector,
      fieldSelector: this.#fieldSelector,
    };
    const onEvent = (phase: string, obj: unknown): void => {
      if (generation !== this.#generation) return;
      if (phase === 'ERROR') {
        // A Status object; 410 Expired means our resourceVersion is too old: relist.
        const code = (obj as { code?: unknown } | null)?.code;
        gone ||= code === 410;
        this.#lastError = `watch ERROR event: ${JSON.stringify(obj)}`;
        return;
      }
      delivered++;
      this.#applyEvent(phase, obj as T);
    };
    const onDone = (err: unknown): void => {
      if (generation !== this.#generation) return;
      this.#request = undefined;
      if (gone || statusCodeOf(err) === 410) {
        this.#log.debug('Relisting: the watch resourceVersion expired');
        this.#resourceVersion = '';
        this.#next(generation, 0);
      } else if (err !== null && err !== undefined && !isTimeout(err)) {
        this.#fail(generation, 'watch', err);
      } else if (delivered === 0 && this.#clock.now() - startedAt < minHealthyWatchMs && !isTimeout(err)) {
        this.#fail(generation, 'watch', new Error('the watch ended at once without events'));
      } else {
        // A clean end (server timeout) or the client's inactivity timeout: resume from where we were.
        this.#next(generation, 0);
      }
    };
    try {
      const request = await this.#watch.watch(this.#path, query, onEvent, onDone);
      if (generation === this.#generation) this.#request = request;
      else request.abort();
    } catch (err) {
      if (generation === this.#generation) this.#fail(generation, 'watch', err);
    }
  }

  #replace(list: KubernetesListObject<T>): void {
    const fresh = new Map<string, T>();
    for (const item of list.items) fresh.set(keyOf(item), slim(item));
    const changes: [T, ChangeType][] = [];
    for (const [key, old] of this.#cache) {
      if (!fresh.has(key)) changes.push([old, 'delete']);
    }
    for (const [key, item] of fresh) {
      const old = this.#cache.get(key);
      if (old === undefined) changes.push([item, 'add']);
      else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion)
        changes.push([item, 'update']);
    }
    this.#cache.clear();
    for (const [key, item] of fresh) this.#cache.set(key, item);
    this.#resourceVersion = list.metadata?.resourceVersion ?? '';
    this.#alive();
    this.#failures = 0;
    if (!this.#synced) {
      this.#synced = true;
      this.#log.info('Synced the cache', { objects: fresh.size });
      this.#firstSync?.resolve();
      this.#firstSync = undefined;
    }
    for (const [obj, change] of changes) this.#emit(obj, change);
  }

  #applyEvent(phase: string, received: T): void {
    const obj = slim(received);
    this.#alive();
    this.#failures = 0;
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined && rv !== '') this.#resourceVersion = rv;
    const key = keyOf(obj);
    switch (phase) {
      case 'ADDED':
      case 'MODIFIED': {
        const old = this.#cache.get(key);
        this.#cache.set(key, obj);
        if (old === undefined) this.#emit(obj, 'add');
        else if (old.metadata?.resourceVersion !== rv) this.#emit(obj, 'update');
        break;
      }
      case 'DELETED':
        if (this.#cache.delete(key)) this.#emit(obj, 'delete');
        break;
      default:
        // BOOKMARK: only the resourceVersion moves.
        break;
    }
  }

  #emit(obj: T, change: ChangeType): void {
    for (const handler of this.#handlers) {
      try {
        handler(obj, change);
      } catch (err) {
        this.#log.error('A change handler threw', { change, object: keyOf(obj), err });
      }
    }
  }

  #alive(): void {
    this.#lastEventAt = this.#clock.now();
    this.#quietSince = this.#lastEventAt;
  }

  #fail(generation: number, stage: 'list' | 'watch', err: unknown): void {
    this.#failures++;
    this.#lastError = `${stage}: ${describeError(err)}`;
    const ceiling = Math.min(this.#maxBackoffMs, this.#initialBackoffMs * 2 ** (this.#failures - 1));
    // "Equal jitter": at least half the ceiling, so retries from many replicas spread but never collapse to 0.
    const delay = Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
    this.#log.error(stage === 'list' ? 'Could not list; retrying' : 'The watch failed; retrying', {
      err: describeError(err),
      retryInMs: delay,
      failures: this.#failures,
    });
    this.#next(generation, delay);
  }

  #next(generation: number, delayMs: number): void {
    if (generation !== this.#generation) return;
    this.#abortRequest();
    const next = ++this.#generation;
    this.#restarts++;
    this.#phase = 'waiting';
    this.#clock.clearTimeout(this.#retryTimer);
    if (delayMs === 0) {
      void this.#attempt(next);
      return;
    }
    this.#retryTimer = this.#clock.setTimeout(() => {
      if (next === this.#generation) void this.#attempt(next);
    }, delayMs);
  }

  #abortRequest(): void {
    const request = this.#request;
    this.#request = undefined;
    request?.abort();
  }

  #armWatchdog(): void {
    const period = Math.max(1, Math.floor(this.#silenceTimeoutMs / 4));
    this.#watchdogTimer = this.#clock.setTimeout(() => {
      this.#checkSilence();
      if (this.#phase !== 'stopped') this.#armWatchdog();
    }, period);
  }

  #checkSilence(): void {
    // While backing off, silence is expected and the retry timer is already due.
    if (this.#phase !== 'listing' && this.#phase !== 'watching') return;
    const quietMs = this.#clock.now() - this.#quietSince;
    if (quietMs < this.#silenceTimeoutMs) return;
    this.#watchdogRestarts++;
    this.#log.info('Restarted a silent watch', { silentForMs: quietMs, phase: this.#phase });
    this.#resourceVersion = '';
    this.#quietSince = this.#clock.now();
    this.#next(this.#generation, 0);
  }

  #armResync(): void {
    if (this.#resyncPeriodMs <= 0) return;
    this.#resyncTimer = this.#clock.setTimeout(() => {
      if (this.#synced) for (const obj of this.list()) this.#emit(obj, 'update');
      if (this.#phase !== 'stopped') this.#armResync();
    }, this.#resyncPeriodMs);
  }
}

function cacheKey(namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

/**
 * The object as the cache keeps it: without `metadata.managedFields`, which nothing here reads and which is
 * often the larger part of an object (server-side apply's bookkeeping of every field's manager).
 */
function slim<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
  return obj;
}

function keyOf(obj: KubernetesObject): string {
  return cacheKey(obj.metadata?.namespace, obj.metadata?.name ?? '');
}

function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { statusCode, code } = err as { statusCode?: unknown; code?: unknown };
  if (typeof statusCode === 'number') return statusCode;
  return typeof code === 'number' ? code : undefined;
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && err.name === 'TimeoutError';
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const status = statusCodeOf(err);
    return status === undefined ? err.message : `${status} ${err.message}`;
  }
  return String(err);
}

/**
 * An informer for a custom resource: one namespace when `namespace` is given, else every namespace (or the
 * whole cluster for a cluster-scoped kind).
 */
export function customResourceInformer<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  resource: CustomResourceType,
  options: Omit<InformerOptions<T>, 'path' | 'list' | 'kubeConfig'> & { namespace?: string } = {},
): Informer<T> {
  const { namespace, ...rest } = options;
  const { group, version, plural } = resource;
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const scoped = resource.namespaced && namespace !== undefined;
  const path = scoped
    ? `/apis/${group}/${version}/namespaces/${namespace}/${plural}`
    : `/apis/${group}/${version}/${plural}`;
  // CustomObjectsApi types custom objects as `object`; the list at this path is a list of T.
  const list = (): Promise<KubernetesListObject<T>> =>
    (scoped
      ? api.listNamespacedCustomObject({ group, version, namespace, plural })
      : api.listClusterCustomObject({ group, version, plural })) as Promise<KubernetesListObject<T>>;
  return new Informer<T>({ name: `${plural}.${group}`, ...rest, kubeConfig, path, list });
}
