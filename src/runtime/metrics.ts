// Prometheus metrics with controller-runtime's names, labels and buckets, so that dashboards and alerts
// written for Go operators work unchanged. One Registry per process; other layers (the AWS gateway)
// register their own metrics into `registry`.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';
import type { ReconcileResultLabel } from './errors.ts';

/** controller-runtime's `controller_runtime_reconcile_time_seconds` buckets. */
export const reconcileTimeBuckets: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5,
  1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

/** client-go's workqueue latency buckets: `ExponentialBuckets(10e-9, 10, 12)`, 10 ns to 1000 s. */
export const workqueueLatencyBuckets: readonly number[] = exponentialBuckets(10e-9, 10, 12);

const reconcileResults: readonly ReconcileResultLabel[] = ['success', 'error', 'requeue', 'requeue_after'];

/** What a work queue reports about itself at scrape time. */
export interface QueueProbe {
  depth(): number;
  /** Seconds of work in progress that has not called `done`, summed over keys. */
  unfinishedWorkSeconds(): number;
  /** Seconds the longest-running key has been processing. */
  longestRunningProcessorSeconds(): number;
}

/** The events a work queue records. */
export interface QueueMetrics {
  added(): void;
  /** An add with a non-zero delay (`addAfter`, `addRateLimited`). */
  retried(): void;
  /** A key was handed to a worker after waiting `seconds` in the queue. */
  started(seconds: number): void;
  /** A worker called `done` after `seconds` of processing. */
  finished(seconds: number): void;
}

/** Hands each named queue its metrics; implemented by {@link RuntimeMetrics}. */
export interface QueueMetricsProvider {
  forQueue(name: string, probe: QueueProbe): QueueMetrics;
}

/** Records one controller's reconciles. */
export interface ControllerMetrics {
  reconciled(result: ReconcileResultLabel, seconds: number): void;
  errored(kind: { terminal: boolean; panic: boolean }): void;
  timedOut(): void;
  activeWorkers(delta: number): void;
}

export interface RuntimeMetrics extends QueueMetricsProvider {
  readonly registry: Registry;
  /** Pre-creates the controller's series at 0 and sets its maximum concurrency. */
  forController(name: string, maxConcurrentReconciles: number): ControllerMetrics;
  /** `leader_election_master_status{name}`: 1 while this replica holds the lease. */
  setLeader(name: string, isLeader: boolean): void;
}

export interface RuntimeMetricsOptions {
  registry?: Registry;
  /** Also register prom-client's process and Node.js metrics (controller-runtime exports Go's). Default false. */
  processMetrics?: boolean;
}

export function createRuntimeMetrics(options: RuntimeMetricsOptions = {}): RuntimeMetrics {
  const registry = options.registry ?? new Registry();
  if (options.processMetrics === true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const reconcileTotal = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Total number of reconciliations per controller',
    labelNames: ['controller', 'result'] as const,
    registers,
  });
  const reconcileErrors = new Counter({
    name: 'controller_runtime_reconcile_errors_total',
    help: 'Total number of reconciliation errors per controller',
    labelNames: ['controller'] as const,
    registers,
  });
  const terminalErrors = new Counter({
    name: 'controller_runtime_terminal_reconcile_errors_total',
    help: 'Total number of terminal reconciliation errors per controller',
    labelNames: ['controller'] as const,
    registers,
  });
  const panics = new Counter({
    name: 'controller_runtime_reconcile_panics_total',
    help: 'Total number of reconciliation panics per controller',
    labelNames: ['controller'] as const,
    registers,
  });
  const timeouts = new Counter({
    name: 'controller_runtime_reconcile_timeouts_total',
    help: 'Total number of reconciliation timeouts per controller',
    labelNames: ['controller'] as const,
    registers,
  });
  const reconcileTime = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Length of time per reconciliation per controller',
    labelNames: ['controller'] as const,
    buckets: [...reconcileTimeBuckets],
    registers,
  });
  const maxConcurrent = new Gauge({
    name: 'controller_runtime_max_concurrent_reconciles',
    help: 'Maximum number of concurrent reconciles per controller',
    labelNames: ['controller'] as const,
    registers,
  });
  const activeWorkers = new Gauge({
    name: 'controller_runtime_active_workers',
    help: 'Number of currently used workers per controller',
    labelNames: ['controller'] as const,
    registers,
  });

  const probes = new Map<string, QueueProbe>();
  const queueLabels = ['name', 'controller'] as const;
  new Gauge({
    name: 'workqueue_depth',
    help: 'Current depth of workqueue by workqueue and priority',
    labelNames: ['name', 'controller', 'priority'] as const,
    registers,
    collect() {
      for (const [name, probe] of probes) this.set({ name, controller: name, priority: '' }, probe.depth());
    },
  });
  const adds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue',
    labelNames: queueLabels,
    registers,
  });
  const retries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue',
    labelNames: queueLabels,
    registers,
  });
  const queueDuration = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: queueLabels,
    buckets: [...workqueueLatencyBuckets],
    registers,
  });
  const workDuration = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes',
    labelNames: queueLabels,
    buckets: [...workqueueLatencyBuckets],
    registers,
  });
  new Gauge({
    name: 'workqueue_unfinished_work_seconds',
    help:
      "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. " +
      'Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate ' +
      'at which this increases.',
    labelNames: queueLabels,
    registers,
    collect() {
      for (const [name, probe] of probes) this.set({ name, controller: name }, probe.unfinishedWorkSeconds());
    },
  });
  new Gauge({
    name: 'workqueue_longest_running_processor_seconds',
    help: 'How many seconds has the longest running processor for workqueue been running.',
    labelNames: queueLabels,
    registers,
    collect() {
      for (const [name, probe] of probes) {
        this.set({ name, controller: name }, probe.longestRunningProcessorSeconds());
      }
    },
  });
  const leader = new Gauge({
    name: 'leader_election_master_status',
    help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
    labelNames: ['name'] as const,
    registers,
  });

  return {
    registry,
    forQueue(name, probe) {
      // In controller-runtime the queue is named after its controller, and both labels carry that name.
      probes.set(name, probe);
      const labels = { name, controller: name };
      adds.inc(labels, 0);
      retries.inc(labels, 0);
      return {
        added: () => {
          adds.inc(labels);
        },
        retried: () => {
          retries.inc(labels);
        },
        started: (seconds) => {
          queueDuration.observe(labels, seconds);
        },
        finished: (seconds) => {
          workDuration.observe(labels, seconds);
        },
      };
    },
    forController(controller, maxConcurrentReconciles) {
      for (const result of reconcileResults) reconcileTotal.inc({ controller, result }, 0);
      reconcileErrors.inc({ controller }, 0);
      terminalErrors.inc({ controller }, 0);
      panics.inc({ controller }, 0);
      timeouts.inc({ controller }, 0);
      maxConcurrent.set({ controller }, maxConcurrentReconciles);
      activeWorkers.set({ controller }, 0);
      return {
        reconciled: (result, seconds) => {
          reconcileTotal.inc({ controller, result });
          reconcileTime.observe({ controller }, seconds);
        },
        errored: ({ terminal, panic }) => {
          reconcileErrors.inc({ controller });
          if (terminal) terminalErrors.inc({ controller });
          if (panic) panics.inc({ controller });
        },
        timedOut: () => {
          timeouts.inc({ controller });
        },
        activeWorkers: (delta) => {
          activeWorkers.inc({ controller }, delta);
        },
      };
    },
    setLeader(name, isLeader) {
      leader.set({ name }, isLeader ? 1 : 0);
    },
  };
}
