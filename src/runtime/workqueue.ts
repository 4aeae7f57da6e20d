// A work queue with client-go's semantics (util/workqueue): fair (FIFO), stingy (a key added many times
// before a worker takes it is processed once), never one key in two workers at once, and a key re-added
// while it is being processed comes back after `done`. On top: delayed adds, per-key exponential backoff
// and an overall token bucket (client-go's DefaultControllerRateLimiter), the workqueue metrics, and a
// background priority (as controller-runtime's priority queue gives resyncs): background keys are handed
// out only when no other key is ready, so a periodic re-check of thousands of keys does not delay a change.
import type { QueueMetrics, QueueMetricsProvider } from './metrics.ts';
import { systemClock } from './types.ts';
import type { Clock, TimerHandle } from './types.ts';

/** `background`: only when no `normal` key is ready (periodic re-checks). */
export type Priority = 'normal' | 'background';

export interface WorkQueueOptions {
  /** The queue's name in metrics (controller-runtime uses the controller's name). */
  name: string;
  clock?: Clock;
  /** First per-key backoff delay; doubles on every `addRateLimited` until `forget`. Default 5 ms. */
  baseDelayMs?: number;
  /** Cap of the per-key backoff. Default 1000 s. */
  maxDelayMs?: number;
  /** Overall rate of rate-limited adds, in keys per second; `Infinity` disables it. Default 10. */
  qps?: number;
  /** Burst of the overall token bucket. Default 100. */
  burst?: number;
  metrics?: QueueMetricsProvider;
}

const noMetrics: QueueMetrics = {
  added: () => undefined,
  retried: () => undefined,
  started: () => undefined,
  finished: () => undefined,
};

/**
 * golang.org/x/time/rate's reservation semantics: every call takes a token, going into debt if needed,
 * and the debt is the caller's delay. So a burst beyond `burst` is spread out at `qps`.
 */
class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;
  constructor(qps: number, burst: number, now: number) {
    this.#qps = qps;
    this.#burst = burst;
    this.#tokens = burst;
    this.#last = now;
  }
  reserve(now: number): number {
    if (this.#qps === Infinity) return 0;
    const elapsed = Math.max(0, now - this.#last);
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * this.#qps) / 1000);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.#qps;
  }
}

export class WorkQueue {
  readonly name: string;
  readonly #clock: Clock;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #bucket: TokenBucket;
  readonly #metrics: QueueMetrics;

  /** Keys ready for a worker, in order. Every key here is also in #dirty. */
  readonly #queue: string[] = [];
  /** Background keys ready for a worker, in order, handed out when #queue is empty. */
  readonly #background: string[] = [];
  /** Dirty keys whose every add so far was at background priority (queued in #background, or processing). */
  readonly #backgroundKeys = new Set<string>();
  /** Keys that need processing: queued, or re-added while being processed. */
  readonly #dirty = new Set<string>();
  /** Keys a worker holds, with the time it took them. */
  readonly #processing = new Map<string, number>();
  /** When each dirty key was first added, for the queue-duration metric. */
  readonly #addedAt = new Map<string, number>();
  /** Delayed adds, one per key: the earliest wins. */
  readonly #waiting = new Map<string, { readyAt: number; timer: TimerHandle }>();
  readonly #failures = new Map<string, number>();
  readonly #getters: ((key: string | undefined) => void)[] = [];
  readonly #drainers: (() => void)[] = [];
  #shuttingDown = false;

  constructor(options: WorkQueueOptions) {
    this.name = options.name;
    this.#clock = options.clock ?? systemClock;
    this.#baseDelayMs = options.baseDelayMs ?? 5;
    this.#maxDelayMs = options.maxDelayMs ?? 1_000_000;
    const qps = options.qps ?? 10;
    const burst = options.burst ?? 100;
    if (!(qps > 0) || !(burst >= 1)) throw new RangeError(`Invalid rate limit: qps ${qps}, burst ${burst}`);
    if (!(this.#baseDelayMs >= 0) || !(this.#maxDelayMs >= this.#baseDelayMs)) {
      throw new RangeError(`Invalid backoff: base ${this.#baseDelayMs} ms, cap ${this.#maxDelayMs} ms`);
    }
    this.#bucket = new TokenBucket(qps, burst, this.#clock.now());
    this.#metrics =
      options.metrics?.forQueue(this.name, {
        depth: () => this.len(),
        unfinishedWorkSeconds: () => {
          const now = this.#clock.now();
          let total = 0;
          for (const started of this.#processing.values()) total += now - started;
          return total / 1000;
        },
        longestRunningProcessorSeconds: () => {
          const now = this.#clock.now();
          let longest = 0;
          for (const started of this.#processing.values()) longest = Math.max(longest, now - started);
          return longest / 1000;
        },
      }) ?? noMetrics;
  }

  /**
   * Marks `key` as needing processing. A no-op if it already waits (except that a `normal` add moves a
   * background key ahead of the other background keys), or after shutdown.
   */
  add(key: string, priority: Priority = 'normal'): void {
    if (this.#shuttingDown) return;
    if (this.#dirty.has(key)) {
      if (priority === 'normal' && this.#backgroundKeys.delete(key) && !this.#processing.has(key)) {
        this.#background.splice(this.#background.indexOf(key), 1);
        this.#enqueue(key);
      }
      return;
    }
    this.#dirty.add(key);
    this.#addedAt.set(key, this.#clock.now());
    this.#metrics.added();
    if (priority === 'background') this.#backgroundKeys.add(key);
    // A key being processed is handed out again by `done`, never to a second worker now.
    if (this.#processing.has(key)) return;
    this.#enqueue(key);
  }

  /**
   * Waits for a key and marks it as being processed; the worker must call `done(key)` afterwards.
   * Resolves `undefined` once the queue is shut down: the worker should exit.
   */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    if (this.len() > 0) return Promise.resolve(this.#take());
    return new Promise((resolve) => {
      this.#getters.push(resolve);
    });
  }

  /** Ends the processing of `key`; if it was re-added meanwhile, it is queued again. */
  done(key: string): void {
    const started = this.#processing.get(key);
    if (started === undefined) return;
    this.#processing.delete(key);
    this.#metrics.finished((this.#clock.now() - started) / 1000);
    if (this.#dirty.has(key) && !this.#shuttingDown) this.#enqueue(key);
    if (this.#processing.size === 0)
      this.#drainers.splice(0).forEach((resolve) => {
        resolve();
      });
  }

  /** Adds `key` after `delayMs`. If it already waits, the earlier of the two times wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    this.#metrics.retried();
    const readyAt = this.#clock.now() + delayMs;
    const existing = this.#waiting.get(key);
    if (existing !== undefined) {
      if (existing.readyAt <= readyAt) return;
      this.#clock.clearTimeout(existing.timer);
    }
    const timer = this.#clock.setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, delayMs);
    this.#waiting.set(key, { readyAt, timer });
  }

  /**
   * Adds `key` after its backoff: `baseDelayMs * 2^numRequeues(key)`, capped at `maxDelayMs`, or later
   * if the overall token bucket is exhausted, and never earlier than `minDelayMs`. Returns the delay.
   */
  addRateLimited(key: string, minDelayMs = 0): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const backoff = Math.min(this.#baseDelayMs * 2 ** failures, this.#maxDelayMs);
    const delay = Math.max(backoff, this.#bucket.reserve(this.#clock.now()), minDelayMs);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the backoff of `key` (call after a success). Does not remove it from the queue. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** How many rate-limited adds `key` has had since its last `forget`. */
  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Keys ready for a worker, background ones included (not those being processed or waiting for a delay). */
  len(): number {
    return this.#queue.length + this.#background.length;
  }

  /** Keys currently held by workers. */
  processingCount(): number {
    return this.#processing.size;
  }

  isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Stops handing out keys: waiting and future `get` calls resolve `undefined`, adds are ignored and
   * pending delayed adds are cancelled. Unlike client-go, keys still queued are NOT handed out: a
   * stopping controller must stop taking work at once (e.g. when it lost its lease).
   */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#waiting.values()) this.#clock.clearTimeout(timer);
    this.#waiting.clear();
    this.#getters.splice(0).forEach((resolve) => {
      resolve(undefined);
    });
  }

  /** {@link shutDown}, then resolves once every key being processed has been marked `done`. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drainers.push(resolve);
    });
  }

  #enqueue(key: string): void {
    (this.#backgroundKeys.has(key) ? this.#background : this.#queue).push(key);
    const getter = this.#getters.shift();
    if (getter !== undefined) getter(this.#take());
  }

  #take(): string {
    const key = this.#queue.shift() ?? this.#background.shift();
    if (key === undefined) throw new Error('Work queue invariant broken: take from an empty queue');
    this.#backgroundKeys.delete(key);
    const now = this.#clock.now();
    this.#processing.set(key, now);
    this.#dirty.delete(key);
    this.#metrics.started((now - (this.#addedAt.get(key) ?? now)) / 1000);
    this.#addedAt.delete(key);
    return key;
  }
}
