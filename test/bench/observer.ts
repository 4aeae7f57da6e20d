// Watches both kinds and Events cluster-wide and keeps, for the benchmark: every object's last state (for
// "all Ready", "all gone"), when each change arrived (for latencies), and every Kubernetes write the
// operator made, by kind and operation. A write is a resourceVersion change seen on the watch; the
// benchmark's own writes (create, a spec edit, a delete that sets deletionTimestamp) are recognised and
// not counted, so everything else is the operator's.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, Plural, VERSION } from '../../src/api/constants.ts';

export type BenchKind = 'VpcConnector' | 'ServiceNetworking';

export interface ObjectState {
  kind: BenchKind;
  key: string;
  generation: number;
  observedGeneration: number | undefined;
  ready: boolean;
  finalizers: string;
  deleting: boolean;
  gone: boolean;
  /** JSON of status, to tell a status write from other writes. */
  status: string;
}

/** A write counter: "<Kind> <operation>" to count. */
export type WriteCounts = Record<string, number>;

/** What one status write changed: the top-level status fields, before and after (shortened). */
export interface WriteSample {
  write: string;
  key: string;
  changed: Record<string, { before: string; after: string }>;
}

const SAMPLES_PER_WINDOW = 3;
const shorten = (v: unknown): string => {
  const text = v === undefined ? 'absent' : JSON.stringify(v);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
};

function statusChanges(before: string, after: string): WriteSample['changed'] {
  const a = JSON.parse(before) as Record<string, unknown>;
  const b = JSON.parse(after) as Record<string, unknown>;
  const changed: WriteSample['changed'] = {};
  for (const field of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (JSON.stringify(a[field]) !== JSON.stringify(b[field])) {
      changed[field] = { before: shorten(a[field]), after: shorten(b[field]) };
    }
  }
  return changed;
}

interface WatchedObject {
  metadata?: {
    namespace?: string;
    name?: string;
    generation?: number;
    finalizers?: string[];
    deletionTimestamp?: unknown;
    resourceVersion?: string;
  };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; message?: string; observedGeneration?: number }[];
  };
}

type Listener = (kind: BenchKind, state: ObjectState, at: number) => void;

const kinds: readonly BenchKind[] = ['VpcConnector', 'ServiceNetworking'];
const THROTTLE_TEXT = /throttl|rate exceeded/i;

export class Observer {
  readonly objects = new Map<string, ObjectState>();
  #writes: WriteCounts = {};
  /** The resourceVersion of every Event seen, so that a watch reopened from the present (which first lists
   * every existing Event as ADDED) counts only Events written since. */
  readonly #eventVersions = new Map<string, string>();
  #samples: WriteSample[] = [];
  /** Status writes whose conditions quoted a throttling error. */
  throttlesInStatus = 0;
  /** Watch streams that ended and were reopened. */
  rewatches = 0;
  /** Watches that had to start again from "now" (changes may have been missed). */
  expiredWatches = 0;
  readonly #listeners = new Set<Listener>();
  readonly #aborts: AbortController[] = [];
  readonly #watch: Pick<Watch, 'watch'>;
  #closed = false;

  /** `watch`: client-node's Watch on `kubeConfig` unless given (a test's fake). */
  constructor(kubeConfig: KubeConfig, watch: Pick<Watch, 'watch'> = new Watch(kubeConfig)) {
    this.#watch = watch;
  }

  static id(kind: BenchKind, key: string): string {
    return `${kind}/${key}`;
  }

  /** Starts the watches (from "now": the cluster is expected to hold no bench objects yet). */
  async start(): Promise<void> {
    for (const kind of kinds) await this.#open(`/apis/${GROUP}/${VERSION}/${Plural[kind]}`, kind);
    await this.#open('/apis/events.k8s.io/v1/events', 'Event');
  }

  /** The writes counted since the last call (and resets the counters). */
  takeWrites(): WriteCounts {
    const taken = this.#writes;
    this.#writes = {};
    return taken;
  }

  /** The first few status writes since the last call, with what they changed (and resets them). */
  takeSamples(): WriteSample[] {
    const taken = this.#samples;
    this.#samples = [];
    return taken;
  }

  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  count(kind: BenchKind, predicate: (s: ObjectState) => boolean): number {
    let n = 0;
    for (const s of this.objects.values()) if (s.kind === kind && predicate(s)) n++;
    return n;
  }

  close(): void {
    this.#closed = true;
    for (const a of this.#aborts) a.abort();
  }

  #add(what: string): void {
    this.#writes[what] = (this.#writes[what] ?? 0) + 1;
  }

  async #open(path: string, kind: BenchKind | 'Event', resourceVersion?: string): Promise<void> {
    let last = resourceVersion;
    const abort = await this.#watch.watch(
      path,
      { allowWatchBookmarks: true, ...(last === undefined ? {} : { resourceVersion: last }) },
      (phase: string, raw: unknown) => {
        const obj = raw as WatchedObject;
        if (phase === 'ERROR') {
          // Most likely 410 Gone (the version was compacted): the reopened watch starts from now, and a
          // change in between is missed, which `expiredWatches` makes visible in the results.
          this.expiredWatches++;
          last = undefined;
          return;
        }
        last = obj.metadata?.resourceVersion ?? last;
        if (phase === 'BOOKMARK') return;
        if (kind === 'Event') {
          const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
          const version = obj.metadata?.resourceVersion ?? '';
          if (phase === 'DELETED') this.#eventVersions.delete(key);
          else if (this.#eventVersions.get(key) !== version) {
            this.#eventVersions.set(key, version);
            this.#add('Event');
          }
          return;
        }
        this.#apply(kind, phase, obj);
      },
      (err: unknown) => {
        if (this.#closed) return;
        // The API server ends watches after a while; reopen from the last version seen. A watch that
        // cannot be reopened leaves the benchmark waiting, and its phase timeout reports it.
        this.rewatches++;
        setTimeout(() => {
          this.#open(path, kind, last).catch((reopenErr: unknown) => {
            console.error(`bench: could not reopen the watch on ${path}:`, reopenErr, err);
          });
        }, 200);
      },
    );
    this.#aborts.push(abort);
  }

  #apply(kind: BenchKind, phase: string, obj: WatchedObject): void {
    const at = performance.now();
    const meta = obj.metadata ?? {};
    const key = `${meta.namespace ?? ''}/${meta.name ?? ''}`;
    const id = Observer.id(kind, key);
    const before = this.objects.get(id);
    const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
    const state: ObjectState = {
      kind,
      key,
      generation: meta.generation ?? 0,
      observedGeneration: obj.status?.observedGeneration,
      ready: ready?.status === 'True' && ready.observedGeneration === meta.generation,
      finalizers: (meta.finalizers ?? []).join(','),
      deleting: meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
      gone: phase === 'DELETED',
      status: JSON.stringify(obj.status ?? {}),
    };
    if (phase === 'MODIFIED' && before !== undefined) {
      const benchDelete = state.deleting && !before.deleting;
      const benchEdit = !state.deleting && state.generation !== before.generation;
      if (!benchDelete && !benchEdit) {
        if (state.finalizers !== before.finalizers) this.#add(`${kind} finalizer`);
        else if (state.status !== before.status) {
          this.#add(`${kind} status`);
          if (this.#samples.length < SAMPLES_PER_WINDOW) {
            this.#samples.push({
              write: `${kind} status`,
              key,
              changed: statusChanges(before.status, state.status),
            });
          }
        } else this.#add(`${kind} other`);
      }
      if (state.status !== before.status && THROTTLE_TEXT.test(state.status)) this.throttlesInStatus++;
    } else if (phase === 'DELETED' && before !== undefined && before.finalizers !== '') {
      // The object went because the operator removed the last finalizer: that update was its write.
      this.#add(`${kind} finalizer`);
    }
    this.objects.set(id, state);
    for (const listener of this.#listeners) listener(kind, state, at);
  }
}
