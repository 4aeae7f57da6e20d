// Kubernetes Events (events.k8s.io/v1) for state changes a human cares about, aggregated client-side as
// client-go's events library does: an Event that repeats (same object, type, reason, action and note) within
// the series window updates `series.count` and `series.lastObservedTime` of the Event already written
// instead of creating a new one. Recording never throws into the caller and never blocks it: failures are
// logged, because a lost Event must not fail a reconcile.
import { ApiException, PatchStrategy, setHeaderOptions, V1MicroTime } from '@kubernetes/client-node';

import { discardLogger, type Logger } from './logging.ts';
import { type Clock, systemClock } from './types.ts';

export type EventType = 'Normal' | 'Warning';

/** The object an Event is about. `uid` makes a recreated object's Events distinct from the old one's. */
export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
}

export interface EventInput {
  regarding: ObjectReference;
  type: EventType;
  /** CamelCase, why the action was taken (e.g. `ConnectorCreated`, `DeletionBlocked`). */
  reason: string;
  /** CamelCase, what was done or failed (e.g. `CreateVpcConnector`). */
  action: string;
  /** A sentence for a human; truncated to the API's 1 kB limit. */
  note: string;
  related?: ObjectReference;
}

/** What the recorder writes: the required fields of an events.k8s.io/v1 Event. */
export interface EventBody {
  apiVersion: 'events.k8s.io/v1';
  kind: 'Event';
  metadata: { name: string; namespace: string };
  eventTime: Date;
  type: EventType;
  reason: string;
  action: string;
  note: string;
  regarding: ObjectReference;
  related?: ObjectReference;
  reportingController: string;
  reportingInstance: string;
}

/** The series update sent as a JSON merge patch. */
export interface EventSeriesPatch {
  series: { count: number; lastObservedTime: Date };
}

/** The two Event calls the recorder makes: client-node's `EventsV1Api` satisfies it. */
export interface EventClient {
  createNamespacedEvent(param: { namespace: string; body: EventBody }): Promise<unknown>;
  patchNamespacedEvent(
    param: { name: string; namespace: string; body: EventSeriesPatch },
    options?: ReturnType<typeof setHeaderOptions>,
  ): Promise<unknown>;
}

export interface EventRecorderOptions {
  client: EventClient;
  /** `reportingController`, e.g. `apprunnernet.dev/apprunner-net`. */
  reportingController: string;
  /** `reportingInstance`: this replica (the pod name). */
  reportingInstance: string;
  /** Repeats closer together than this join the series. Default 6 minutes (client-go). */
  seriesWindowMs?: number;
  /** Where Events about cluster-scoped objects go. Default `default`. */
  clusterScopedNamespace?: string;
  /** Series tracked at once; the oldest are forgotten beyond it. Default 4096. */
  maxTracked?: number;
  clock?: Clock;
  log?: Logger;
}

export interface EventRecorder {
  /** Records an Event in the background; never throws. */
  record(event: EventInput): void;
  /** Resolves when every write started so far has finished (for shutdown and tests). */
  flush(): Promise<void>;
}

interface Series {
  name: string;
  namespace: string;
  count: number;
  lastObservedAt: number;
  /** Set while a write for this series is in flight; later repeats only bump `count`. */
  writing: Promise<void> | undefined;
  /** A repeat arrived while writing: one more patch is owed. */
  dirty: boolean;
}

const maxNoteBytes = 1024;
const maxReasonLength = 128;

export class KubernetesEventRecorder implements EventRecorder {
  readonly #client: EventClient;
  readonly #controller: string;
  readonly #instance: string;
  readonly #windowMs: number;
  readonly #clusterNamespace: string;
  readonly #maxTracked: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #series = new Map<string, Series>();
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: EventRecorderOptions) {
    this.#client = options.client;
    this.#controller = options.reportingController;
    this.#instance = options.reportingInstance;
    this.#windowMs = options.seriesWindowMs ?? 6 * 60_000;
    this.#clusterNamespace = options.clusterScopedNamespace ?? 'default';
    this.#maxTracked = options.maxTracked ?? 4096;
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.log ?? discardLogger).child({}, 'events');
  }

  record(event: EventInput): void {
    try {
      this.#record(event);
    } catch (err) {
      this.#log.error('Could not record an event', { reason: event.reason, err });
    }
  }

  async flush(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #record(event: EventInput): void {
    const now = this.#clock.now();
    const key = seriesKey(event);
    const existing = this.#series.get(key);
    if (existing !== undefined && now - existing.lastObservedAt <= this.#windowMs) {
      existing.count++;
      existing.lastObservedAt = now;
      if (existing.writing !== undefined) existing.dirty = true;
      else this.#track(existing, this.#patch(key, existing, event));
      return;
    }
    this.#forgetStale(now);
    const namespace = event.regarding.namespace ?? this.#clusterNamespace;
    const series: Series = {
      name: `${event.regarding.name ?? 'unknown'}.${(BigInt(now) * 1_000_000n).toString(16)}${randomSuffix()}`,
      namespace,
      count: 1,
      lastObservedAt: now,
      writing: undefined,
      dirty: false,
    };
    this.#series.set(key, series);
    this.#track(series, this.#create(key, series, event));
  }

  #track(series: Series, write: Promise<void>): void {
    const done = write.finally(() => {
      this.#inFlight.delete(done);
      if (series.writing === done) series.writing = undefined;
    });
    series.writing = done;
    this.#inFlight.add(done);
  }

  async #create(key: string, series: Series, event: EventInput): Promise<void> {
    const body: EventBody = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: series.name, namespace: series.namespace },
      eventTime: new V1MicroTime(series.lastObservedAt),
      type: event.type,
      reason: event.reason.slice(0, maxReasonLength),
      action: event.action.slice(0, maxReasonLength),
      note: truncateUtf8(event.note, maxNoteBytes),
      regarding: event.regarding,
      reportingController: this.#controller,
      reportingInstance: this.#instance,
    };
    if (event.related !== undefined) body.related = event.related;
    try {
      await this.#client.createNamespacedEvent({ namespace: series.namespace, body });
      this.#log.debug('Recorded an event', { reason: event.reason, object: describeRef(event.regarding) });
    } catch (err) {
      // Forget it, so that the next occurrence tries a fresh create rather than patching nothing.
      if (this.#series.get(key) === series) this.#series.delete(key);
      this.#log.error('Could not create an event', {
        reason: event.reason,
        object: describeRef(event.regarding),
        err,
      });
      return;
    }
    await this.#catchUp(key, series, event);
  }

  async #patch(key: string, series: Series, event: EventInput): Promise<void> {
    const sentCount = series.count;
    try {
      await this.#client.patchNamespacedEvent(
        {
          name: series.name,
          namespace: series.namespace,
          body: { series: { count: sentCount, lastObservedTime: new V1MicroTime(series.lastObservedAt) } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      if (this.#series.get(key) === series) this.#series.delete(key);
      if (err instanceof ApiException && err.code === 404) {
        // The API server expired the Event (its TTL is an hour by default): start a new one.
        this.#record(event);
      } else {
        this.#log.error('Could not update an event series', { reason: event.reason, err });
      }
      return;
    }
    await this.#catchUp(key, series, event);
  }

  /** Sends the repeats that arrived while the previous write was in flight, as one patch. */
  async #catchUp(key: string, series: Series, event: EventInput): Promise<void> {
    if (!series.dirty || this.#series.get(key) !== series) return;
    series.dirty = false;
    await this.#patch(key, series, event);
  }

  /** Drops series past their window, then the oldest ones while over the cap (Map order is insertion order). */
  #forgetStale(now: number): void {
    for (const [key, series] of this.#series) {
      if (now - series.lastObservedAt > this.#windowMs) this.#series.delete(key);
    }
    for (const key of this.#series.keys()) {
      if (this.#series.size < this.#maxTracked) break;
      this.#series.delete(key);
    }
  }
}

function seriesKey(event: EventInput): string {
  const r = event.regarding;
  return JSON.stringify([
    r.apiVersion,
    r.kind,
    r.namespace,
    r.name,
    r.uid,
    event.type,
    event.reason,
    event.action,
    event.note,
  ]);
}

function describeRef(ref: ObjectReference): string {
  return `${ref.kind ?? ''} ${ref.namespace === undefined ? '' : `${ref.namespace}/`}${ref.name ?? ''}`.trim();
}

/** Two replicas recording in the same microsecond must not collide on the name. */
function randomSuffix(): string {
  return Math.floor(Math.random() * 0xffff)
    .toString(16)
    .padStart(4, '0');
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let end = Math.min(text.length, maxBytes);
  while (end > 0 && Buffer.byteLength(text.slice(0, end)) > maxBytes - 3) end--;
  // A cut after the first half of a surrogate pair would leave a lone half, which is written as U+FFFD.
  if (isHighSurrogate(text.charCodeAt(end - 1))) end--;
  return `${text.slice(0, end)}...`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
