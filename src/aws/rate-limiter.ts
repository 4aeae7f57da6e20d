// Client-side token buckets that keep the operator under AWS's request rates. App Runner publishes no
// API rate limit (semantics §10), so the defaults are deliberately modest; a burst of objects after a
// restart then queues here instead of drawing ThrottlingException storms.
//
// One bucket per account+region for App Runner and one per account for IAM (IAM is global). Every SDK
// attempt, retries included, takes one token (see sdk-gateway.ts). Waiters are served strictly first in,
// first out, and a single timer is armed for the head of the queue: there is no polling.
import { systemClock } from '../runtime/types.ts';
import type { Clock } from '../runtime/types.ts';

export interface RateLimit {
  /** Tokens added per second (the sustained request rate). */
  ratePerSecond: number;
  /** Bucket size: how many requests may go out back to back after a quiet period. */
  burst: number;
}

/**
 * App Runner: 5 requests/s, bursts of 10. Well under what the console and Terraform generate, and enough
 * for a steady state that only lists and describes (invariant 8).
 */
export const defaultAppRunnerLimit: RateLimit = { ratePerSecond: 5, burst: 10 };
/** IAM is account-global and shared with every other tool in the account: 2 requests/s, bursts of 5. */
export const defaultIamLimit: RateLimit = { ratePerSecond: 2, burst: 5 };

interface Waiter {
  enqueuedAt: number;
  resolve: (waitedMs: number) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** The signal's reason when it is an Error (it is, unless a caller aborted with a plain value). */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('The operation was aborted', 'AbortError');
}

export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #refilledAt: number;
  readonly #queue: Waiter[] = [];
  #timer: unknown = undefined;

  constructor(limit: RateLimit, clock: Clock = systemClock) {
    if (!(limit.ratePerSecond > 0) || !(limit.burst >= 1)) {
      throw new RangeError(
        `a rate limit needs ratePerSecond > 0 and burst >= 1 (got ${limit.ratePerSecond}, ${limit.burst})`,
      );
    }
    this.#rate = limit.ratePerSecond;
    this.#burst = limit.burst;
    this.#clock = clock;
    this.#tokens = limit.burst;
    this.#refilledAt = clock.now();
  }

  /** Callers currently waiting for a token. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Whole tokens available right now (for diagnostics). */
  get available(): number {
    this.#refill();
    return Math.floor(this.#tokens);
  }

  /**
   * Resolves with the milliseconds the caller waited once it holds a token. A caller never overtakes an
   * earlier one, even when a token is free. An abort removes the caller from the queue and rejects with
   * the signal's reason; it consumes no token.
   */
  acquire(signal?: AbortSignal): Promise<number> {
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    this.#refill();
    if (this.#queue.length === 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      return Promise.resolve(0);
    }
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = {
        enqueuedAt: this.#clock.now(),
        resolve,
        reject,
        signal,
        onAbort: undefined,
      };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          this.#remove(waiter);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
      this.#arm();
    });
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = Math.max(0, now - this.#refilledAt);
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * this.#rate) / 1000);
    this.#refilledAt = now;
  }

  #remove(waiter: Waiter): void {
    const index = this.#queue.indexOf(waiter);
    if (index >= 0) this.#queue.splice(index, 1);
    if (this.#queue.length === 0) this.#disarm();
  }

  #disarm(): void {
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** One timer, set for the moment the next whole token exists. */
  #arm(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    const missing = Math.max(0, 1 - this.#tokens);
    const delay = Math.ceil((missing * 1000) / this.#rate);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#drain();
    }, delay);
  }

  #drain(): void {
    this.#refill();
    const now = this.#clock.now();
    // A timer may fire a hair early relative to float arithmetic; 1e-9 keeps it from re-arming for 0 ms.
    while (this.#queue.length > 0 && this.#tokens >= 1 - 1e-9) {
      const waiter = this.#queue.shift();
      if (waiter === undefined) break;
      this.#tokens = Math.max(0, this.#tokens - 1);
      if (waiter.signal !== undefined && waiter.onAbort !== undefined) {
        waiter.signal.removeEventListener('abort', waiter.onAbort);
      }
      waiter.resolve(now - waiter.enqueuedAt);
    }
    this.#arm();
  }
}

/**
 * The process-wide set of buckets, keyed by whatever identifies an account and a region. Every gateway
 * built with the same pool shares its buckets, so all reconciles in the process draw from one budget.
 */
export class RateLimiterPool {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #clock: Clock;
  readonly #limitFor: (key: string) => RateLimit;

  constructor(limitFor: (key: string) => RateLimit, clock: Clock = systemClock) {
    this.#limitFor = limitFor;
    this.#clock = clock;
  }

  bucket(key: string): TokenBucket {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.#limitFor(key), this.#clock);
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }

  /** [key, callers waiting] for every bucket (for a queue-length gauge). */
  entries(): [string, TokenBucket][] {
    return [...this.#buckets.entries()];
  }
}
