// The process-level composition: informers on every replica, controller workers only on the leader,
// probes and metrics, and the two ways a process ends. SIGTERM/SIGINT: stop taking work, let in-flight
// reconciles finish (bounded), release the lease, close servers, exit 0. Lease lost: abort in-flight
// reconciles and exit non-zero at once (controller-runtime's behaviour: never mutate without the lease).
import type { HealthCheck, HealthServer } from './health.ts';
import { startHealthServer } from './health.ts';
import { discardLogger } from './logging.ts';
import type { Logger } from './logging.ts';
import type { RuntimeMetrics } from './metrics.ts';
import type { InformerSource, Leadership } from './types.ts';

/** What the manager needs of a controller ({@link Controller} implements it). */
export interface ManagedController {
  readonly name: string;
  sources(): InformerSource<unknown>[];
  hasSynced(): boolean;
  healthProblem(): string | undefined;
  run(signal: AbortSignal): Promise<void>;
  abortInFlight(reason: unknown): void;
}

/** The part of `process` the manager uses; tests pass a fake to send signals and observe the exit. */
export interface ProcessHooks {
  on(signal: 'SIGTERM' | 'SIGINT', handler: () => void): unknown;
  off(signal: 'SIGTERM' | 'SIGINT', handler: () => void): unknown;
  exit(code: number): void;
}

export interface ManagerOptions {
  controllers: readonly ManagedController[];
  /** Lease-based leader election; `undefined` runs the workers at once (a single replica). */
  leadership?: Leadership;
  /** The lease name, for `leader_election_master_status{name}`. Default `apprunner-net`. */
  leaderElectionName?: string;
  metrics: RuntimeMetrics;
  log?: Logger;
  /** `/healthz` and `/readyz` server; with no `metrics` server below, it also serves `/metrics`. */
  probes?: { host?: string; port: number };
  /** A separate `/metrics` server. */
  metricsServer?: { host?: string; port: number };
  /**
   * Bound on each of releasing the lease and closing servers during shutdown; controllers bound their own
   * drain. Default 5 s.
   */
  shutdownTimeoutMs?: number;
  process?: ProcessHooks;
}

/** Resolves `promise`'s outcome, or `'timeout'` after `ms`. Never rejects. */
async function settleWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<'ok' | 'timeout' | { error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise.then(
        () => 'ok' as const,
        (error: unknown) => ({ error }),
      ),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => {
          resolve('timeout');
        }, ms).unref();
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function describeFailure(outcome: 'timeout' | { error: unknown }): Record<string, unknown> {
  return outcome === 'timeout' ? { reason: 'TimedOut' } : { error: outcome.error };
}

export class Manager {
  readonly #options: ManagerOptions;
  readonly #log: Logger;
  readonly #process: ProcessHooks;
  readonly #leaseName: string;
  readonly #shutdownTimeoutMs: number;
  readonly #sources: InformerSource<unknown>[];
  readonly #servers: HealthServer[] = [];
  readonly #onSigterm = (): void => {
    this.#onSignal('SIGTERM');
  };
  readonly #onSigint = (): void => {
    this.#onSignal('SIGINT');
  };
  #work: AbortController | undefined;
  #controllerRuns: Promise<void>[] = [];
  #stopping = false;
  #finished = false;
  #resolveExit: (code: number) => void = () => undefined;

  constructor(options: ManagerOptions) {
    this.#options = options;
    this.#log = (options.log ?? discardLogger).child({}, 'manager');
    this.#process = options.process ?? process;
    this.#leaseName = options.leaderElectionName ?? 'apprunner-net';
    this.#shutdownTimeoutMs = options.shutdownTimeoutMs ?? 5_000;
    // Controllers may share an informer (one's primary is another's secondary): start each once.
    this.#sources = [...new Set(options.controllers.flatMap((c) => c.sources()))];
  }

  /** Liveness checks: the process answers, and no informer reports a wedged watch. */
  healthChecks(): HealthCheck[] {
    return [
      { name: 'ping', check: () => undefined },
      ...this.#options.controllers.map((c) => ({
        name: `informers-${c.name}`,
        check: () => c.healthProblem(),
      })),
    ];
  }

  /** Readiness checks: caches synced and not shutting down. A standby replica is ready too. */
  readyChecks(): HealthCheck[] {
    return [
      { name: 'ping', check: () => undefined },
      {
        name: 'shutdown',
        check: () => (this.#stopping ? 'the process is shutting down' : undefined),
      },
      ...this.#options.controllers.map((c) => ({
        name: `informers-synced-${c.name}`,
        check: () => (c.hasSynced() ? undefined : `the caches of controller ${c.name} have not synced yet`),
      })),
    ];
  }

  /**
   * Starts everything and resolves with the exit code once the process should end; `exit(code)` has
   * then been called on the process hooks. Rejects only if a server cannot start.
   */
  async run(): Promise<number> {
    const exited = new Promise<number>((resolve) => {
      this.#resolveExit = resolve;
    });
    await this.#startServers();
    this.#process.on('SIGTERM', this.#onSigterm);
    this.#process.on('SIGINT', this.#onSigint);

    try {
      await Promise.all(this.#sources.map((source) => source.start()));
    } catch (err) {
      if (!this.#stopping) {
        this.#log.error('Could not start informers; exiting', { error: err });
        await this.#shutdown(1);
      }
      return exited;
    }
    if (this.#stopping) return exited;
    this.#log.info('Synced informer caches', { informers: this.#sources.length });

    const leadership = this.#options.leadership;
    if (leadership === undefined) {
      this.#log.info('Leader election is disabled; started reconciling');
      this.#startWork(new AbortController().signal);
    } else {
      this.#options.metrics.setLeader(this.#leaseName, false);
      this.#log.info('Started campaigning for leadership', { lease: this.#leaseName });
      leadership
        .run((signal) => {
          this.#onStartedLeading(signal);
        })
        .then(
          () => {
            if (!this.#stopping) this.#fatal('Leader election ended unexpectedly');
          },
          (err: unknown) => {
            if (!this.#stopping) this.#fatal('Leader election failed', err);
          },
        );
    }
    return exited;
  }

  /** Starts an orderly shutdown, as SIGTERM does. Resolves when it is done. */
  stop(): Promise<void> {
    return this.#shutdown(0);
  }

  #onSignal(signal: 'SIGTERM' | 'SIGINT'): void {
    if (this.#stopping) {
      // controller-runtime: a second signal means "now".
      this.#log.error('Received a second signal during shutdown; exiting at once', { signal });
      this.#exit(1);
      return;
    }
    this.#log.info('Received signal; shutting down', { signal });
    void this.#shutdown(0);
  }

  #onStartedLeading(signal: AbortSignal): void {
    if (this.#stopping) return;
    this.#options.metrics.setLeader(this.#leaseName, true);
    this.#log.info('Became leader; started reconciling', { lease: this.#leaseName });
    const onLost = (): void => {
      // Our own shutdown releases the lease, which aborts the signal too: that is not a loss.
      if (!this.#stopping) this.#leadershipLost();
    };
    if (signal.aborted) {
      onLost();
      return;
    }
    signal.addEventListener('abort', onLost, { once: true });
    this.#startWork(signal);
  }

  #startWork(leaderSignal: AbortSignal): void {
    if (this.#work !== undefined || leaderSignal.aborted) return;
    const work = new AbortController();
    this.#work = work;
    this.#controllerRuns = this.#options.controllers.map((c) =>
      c.run(work.signal).catch((err: unknown) => {
        this.#log.error('Controller failed', { controller: c.name, error: err });
      }),
    );
  }

  #leadershipLost(): void {
    this.#options.metrics.setLeader(this.#leaseName, false);
    this.#log.error('Lost leadership; exiting so that nothing is reconciled without the lease', {
      lease: this.#leaseName,
    });
    this.#stopping = true;
    this.#work?.abort();
    for (const c of this.#options.controllers) c.abortInFlight(new Error('Leadership lost'));
    for (const source of this.#sources) source.stop();
    this.#exit(1);
    // Only reached when `exit` returns (an embedding or a test): leave no campaign or server behind.
    void this.#release().then(() => this.#closeServers());
  }

  #fatal(msg: string, err?: unknown): void {
    this.#log.error(`${msg}; exiting`, { error: err });
    void this.#shutdown(1);
  }

  async #shutdown(code: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#work?.abort();
    // Each controller bounds its own drain, after which it aborts its reconciles and returns.
    await Promise.all(this.#controllerRuns);
    await this.#release();
    for (const source of this.#sources) source.stop();
    await this.#closeServers();
    this.#log.info('Shut down', { exitCode: code });
    this.#exit(code);
  }

  /** Stops campaigning and releases the lease if held, within the shutdown bound. */
  async #release(): Promise<void> {
    const leadership = this.#options.leadership;
    if (leadership === undefined) return;
    const released = await settleWithin(leadership.stop(), this.#shutdownTimeoutMs);
    if (released === 'ok') this.#log.info('Stopped leader election', { lease: this.#leaseName });
    else
      this.#log.error('Could not stop leader election', {
        lease: this.#leaseName,
        ...describeFailure(released),
      });
    this.#options.metrics.setLeader(this.#leaseName, false);
  }

  async #startServers(): Promise<void> {
    const { probes, metricsServer, metrics, log } = this.#options;
    try {
      if (probes !== undefined) {
        this.#servers.push(
          await startHealthServer({
            ...probes,
            probes: { healthz: this.healthChecks(), readyz: this.readyChecks() },
            registry: metricsServer === undefined ? metrics.registry : undefined,
            log,
          }),
        );
      }
      if (metricsServer !== undefined) {
        this.#servers.push(await startHealthServer({ ...metricsServer, registry: metrics.registry, log }));
      }
    } catch (err) {
      await this.#closeServers();
      throw err;
    }
  }

  /** The ports the servers listen on, in the order probes, metrics (for tests that bind port 0). */
  ports(): number[] {
    return this.#servers.map((s) => s.port);
  }

  async #closeServers(): Promise<void> {
    const servers = this.#servers.splice(0);
    const outcomes = await Promise.all(servers.map((s) => settleWithin(s.close(), this.#shutdownTimeoutMs)));
    for (const outcome of outcomes) {
      if (outcome !== 'ok') this.#log.error('Could not close a server', describeFailure(outcome));
    }
  }

  #exit(code: number): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#process.off('SIGTERM', this.#onSigterm);
    this.#process.off('SIGINT', this.#onSigint);
    this.#resolveExit(code);
    this.#process.exit(code);
  }
}
