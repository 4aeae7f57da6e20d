// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics: a lease is held while its
// holder renews it; a follower takes it over only after it has seen the same record, unchanged, for the
// whole lease duration BY ITS OWN CLOCK (so clock skew between replicas does not matter); every write is
// guarded by the resourceVersion it read, and a 409 means another replica won the race.
//
// The leader's AbortSignal is aborted the moment renewal has failed for `renewDeadlineMs` (a timer, not
// the end of a hanging request), which is shorter than the lease duration: a deposed leader stops
// mutating before any follower can consider the lease expired.
import { ApiException, V1MicroTime } from '@kubernetes/client-node';

import { discardLogger, type Logger } from './logging.ts';
import { type Clock, type Leadership, systemClock, type TimerHandle } from './types.ts';

/** The fields of a coordination.k8s.io/v1 Lease the elector reads and writes. */
export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** MicroTime fields are written as V1MicroTime and read back as strings (client-node does not parse them). */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: Date | string;
  renewTime?: Date | string;
  leaseTransitions?: number;
}

/**
 * The three Lease calls the elector makes: `CoordinationV1Api` from client-node satisfies it, and a fake in
 * tests is a literal object.
 */
export interface LeaseClient {
  readNamespacedLease(param: { name: string; namespace: string }): Promise<Lease>;
  createNamespacedLease(param: { namespace: string; body: Lease }): Promise<Lease>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: Lease }): Promise<Lease>;
}

export interface LeaderElectionOptions {
  client: LeaseClient;
  namespace: string;
  /** The Lease's name, shared by every replica of one operator. */
  name: string;
  /** Unique per replica (pod name plus a random suffix): two replicas with one identity would both lead. */
  identity: string;
  /** How long a follower waits, from its last observed change, before taking over. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up leading. Default 10 s. */
  renewDeadlineMs?: number;
  /** Interval between attempts (acquire attempts are jittered up to 2.2 times this). Default 2 s. */
  retryPeriodMs?: number;
  clock?: Clock;
  log?: Logger;
  /** Source of jitter in [0, 1). */
  random?: () => number;
}

export const leaderElectionDefaults = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
} as const;

/** client-go's JitterFactor for the acquire loop. */
const acquireJitter = 1.2;

interface Observation {
  lease: Lease;
  /** The record's identity (holder, times, transitions), to tell a renewal from silence. */
  record: string;
  /** Our clock when we first saw this record. */
  observedAt: number;
}

interface Term {
  controller: AbortController;
  deadline: TimerHandle;
}

export class LeaseLeaderElector implements Leadership {
  readonly #client: LeaseClient;
  readonly #namespace: string;
  readonly #name: string;
  readonly #identity: string;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #random: () => number;

  #observed: Observation | undefined;
  #term: Term | undefined;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(options: LeaderElectionOptions) {
    this.#client = options.client;
    this.#namespace = options.namespace;
    this.#name = options.name;
    this.#identity = options.identity;
    this.#leaseDurationMs = options.leaseDurationMs ?? leaderElectionDefaults.leaseDurationMs;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? leaderElectionDefaults.renewDeadlineMs;
    this.#retryPeriodMs = options.retryPeriodMs ?? leaderElectionDefaults.retryPeriodMs;
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.log ?? discardLogger).child({
      lease: `${options.namespace}/${options.name}`,
      identity: options.identity,
    });
    this.#random = options.random ?? Math.random;
    if (!(this.#retryPeriodMs < this.#renewDeadlineMs && this.#renewDeadlineMs < this.#leaseDurationMs)) {
      throw new Error('Leader election needs retryPeriod < renewDeadline < leaseDuration.');
    }
  }

  run(onStartedLeading: (signal: AbortSignal) => void): Promise<void> {
    if (this.#loop !== undefined) throw new Error('This elector is already running.');
    this.#stopping = false;
    this.#loop = this.#campaign(onStartedLeading);
    return this.#loop;
  }

  isLeader(): boolean {
    return this.#term !== undefined;
  }

  /**
   * Aborts the current term at once, then lets the campaign end and release the lease. Waits at most the
   * renew deadline: a hanging API server must not hold up shutdown, and mutation has already stopped.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#endTerm('stopped');
    this.#wake?.();
    const loop = this.#loop;
    if (loop === undefined) return;
    let timer: TimerHandle;
    const timeout = new Promise<void>((resolve) => {
      timer = this.#clock.setTimeout(resolve, this.#renewDeadlineMs);
    });
    await Promise.race([loop, timeout]);
    this.#clock.clearTimeout(timer);
  }

  // Accessors rather than field reads: the fields change across awaits, which flow analysis cannot see.
  #isStopping(): boolean {
    return this.#stopping;
  }

  #currentTerm(): Term | undefined {
    return this.#term;
  }

  async #campaign(onStartedLeading: (signal: AbortSignal) => void): Promise<void> {
    this.#log.info('Started campaigning for the lease');
    while (!this.#isStopping()) {
      const attemptStartedAt = this.#clock.now();
      const acquired = await this.#tryAcquireOrRenew();
      if (acquired && !this.#isStopping()) {
        this.#startTerm(onStartedLeading, attemptStartedAt);
        await this.#renewWhileLeading();
      } else if (!this.#isStopping()) {
        await this.#sleep(this.#retryPeriodMs * (1 + acquireJitter * this.#random()));
      }
    }
    await this.#release();
    this.#loop = undefined;
  }

  /** The renew deadline counts from when the winning request was sent: the lease may be that old already. */
  #startTerm(onStartedLeading: (signal: AbortSignal) => void, acquiredAt: number): void {
    const controller = new AbortController();
    this.#term = { controller, deadline: this.#armDeadline(acquiredAt) };
    this.#log.info('Became the leader');
    try {
      onStartedLeading(controller.signal);
    } catch (err) {
      this.#log.error('The leading callback threw', { err });
    }
  }

  /** Renews every retry period until the term ends (deadline missed, lease taken, or stop). */
  async #renewWhileLeading(): Promise<void> {
    while (this.#currentTerm() !== undefined && !this.#isStopping()) {
      await this.#sleep(this.#retryPeriodMs);
      const term = this.#currentTerm();
      if (term === undefined || this.#isStopping()) return;
      const attemptStartedAt = this.#clock.now();
      const renewed = await this.#tryAcquireOrRenew();
      if (this.#currentTerm() !== term) return;
      if (renewed) {
        this.#clock.clearTimeout(term.deadline);
        term.deadline = this.#armDeadline(attemptStartedAt);
      } else if (this.#heldByOther()) {
        // Someone else holds a valid lease: waiting out the deadline would only prolong two leaders.
        this.#endTerm(`lease taken by ${this.#observed?.lease.spec?.holderIdentity ?? 'another replica'}`);
      }
    }
  }

  #armDeadline(renewedAt: number): TimerHandle {
    const remaining = renewedAt + this.#renewDeadlineMs - this.#clock.now();
    return this.#clock.setTimeout(
      () => {
        this.#endTerm(`failed to renew within ${this.#renewDeadlineMs} ms`);
        this.#wake?.();
      },
      Math.max(0, remaining),
    );
  }

  #endTerm(reason: string): void {
    const term = this.#term;
    if (term === undefined) return;
    this.#term = undefined;
    this.#clock.clearTimeout(term.deadline);
    term.controller.abort(new Error(`Leadership lost: ${reason}`));
    this.#log.info('Stopped leading', { reason });
  }

  /** One attempt to create, take over or renew the lease. True when the API now names us holder. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    let lease: Lease;
    try {
      lease = await this.#client.readNamespacedLease({ name: this.#name, namespace: this.#namespace });
    } catch (err) {
      if (statusOf(err) !== 404) {
        this.#log.error('Could not read the lease', { err });
        return false;
      }
      return this.#create();
    }
    const now = this.#clock.now();
    this.#observe(lease, now);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const ours = holder === this.#identity;
    if (holder !== '' && !ours && !this.#expired(now)) return false;
    const next: LeaseSpec = {
      ...spec,
      holderIdentity: this.#identity,
      leaseDurationSeconds: Math.ceil(this.#leaseDurationMs / 1000),
      // The value read back is a string; it is written back unchanged to keep its microseconds.
      acquireTime: ours && spec.acquireTime !== undefined ? spec.acquireTime : new V1MicroTime(now),
      renewTime: new V1MicroTime(now),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (ours ? 0 : 1),
    };
    try {
      const written = await this.#client.replaceNamespacedLease({
        name: this.#name,
        namespace: this.#namespace,
        body: { ...lease, spec: next },
      });
      this.#observe(written, this.#clock.now());
      if (!ours) this.#log.info('Acquired the lease', { previousHolder: holder === '' ? undefined : holder });
      return true;
    } catch (err) {
      if (statusOf(err) === 409) this.#log.debug('Lost a race for the lease', { holder });
      else this.#log.error('Could not write the lease', { err });
      return false;
    }
  }

  async #create(): Promise<boolean> {
    const now = this.#clock.now();
    try {
      const created = await this.#client.createNamespacedLease({
        namespace: this.#namespace,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.#name, namespace: this.#namespace },
          spec: {
            holderIdentity: this.#identity,
            leaseDurationSeconds: Math.ceil(this.#leaseDurationMs / 1000),
            acquireTime: new V1MicroTime(now),
            renewTime: new V1MicroTime(now),
            leaseTransitions: 0,
          },
        },
      });
      this.#observe(created, this.#clock.now());
      this.#log.info('Created the lease');
      return true;
    } catch (err) {
      if (statusOf(err) === 409) this.#log.debug('Lost the race to create the lease');
      else this.#log.error('Could not create the lease', { err });
      return false;
    }
  }

  #observe(lease: Lease, now: number): void {
    const spec = lease.spec ?? {};
    const record = JSON.stringify([
      spec.holderIdentity ?? '',
      spec.leaseDurationSeconds ?? 0,
      timeText(spec.acquireTime),
      timeText(spec.renewTime),
      spec.leaseTransitions ?? 0,
    ]);
    if (this.#observed?.record !== record) this.#observed = { lease, record, observedAt: now };
    else this.#observed = { ...this.#observed, lease };
  }

  #expired(now: number): boolean {
    const observed = this.#observed;
    if (observed === undefined) return true;
    const seconds = observed.lease.spec?.leaseDurationSeconds ?? Math.ceil(this.#leaseDurationMs / 1000);
    return observed.observedAt + seconds * 1000 <= now;
  }

  #heldByOther(): boolean {
    const holder = this.#observed?.lease.spec?.holderIdentity ?? '';
    return holder !== '' && holder !== this.#identity && !this.#expired(this.#clock.now());
  }

  /** Gives the lease up so a follower need not wait out the lease duration (client-go's ReleaseOnCancel). */
  async #release(): Promise<void> {
    const lease = this.#observed?.lease;
    if (lease?.spec?.holderIdentity !== this.#identity) return;
    const now = new V1MicroTime(this.#clock.now());
    try {
      const written = await this.#client.replaceNamespacedLease({
        name: this.#name,
        namespace: this.#namespace,
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
          },
        },
      });
      this.#observe(written, this.#clock.now());
      this.#log.info('Released the lease');
    } catch (err) {
      // 409: someone wrote the lease since we last did, so it is no longer ours to release.
      if (statusOf(err) === 409)
        this.#log.info('Did not release the lease: it changed since it was last renewed');
      else this.#log.error('Could not release the lease', { err });
    }
  }

  /** Waits, unless stop() or a lost term wakes the campaign first. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        this.#clock.clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

function timeText(value: Date | string | undefined): string {
  return value instanceof Date ? value.toISOString() : (value ?? '');
}
