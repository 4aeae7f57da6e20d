// The benchmark runner: for each N, a fresh environment (a real API server with the CRDs, the simulator
// as its own process, the operator as its own process), then the scenarios in order on the same objects:
// burst converge, restart (SIGKILL and a new process), steady state, edit latency, teardown. Returns
// figures; report.ts turns them into tables. Nothing here asserts a time.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { API_VERSION, GROUP, Kind, Plural, VERSION } from '../../src/api/constants.ts';
import type { SimulatorConfig } from '../../src/simulator/index.ts';
import {
  freePort,
  sleep,
  startEnv,
  startOperator,
  type Env,
  type LogLine,
  type OperatorProcess,
} from '../integration/operator/fixtures.ts';
import { revision } from '../harness/revision.ts';
import { delta, scrape, sumBy, type Scrape } from './metrics.ts';
import { Observer, type BenchKind, type WriteCounts, type WriteSample } from './observer.ts';
import {
  REGIONS,
  convergeBound,
  percentile,
  planWorkload,
  restartBound,
  teardownBound,
  type Bound,
  type OperationTimings,
  type RateBudget,
  type Workload,
} from './workload.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface BenchOptions {
  sizes: readonly number[];
  /** The operator's App Runner budget per region; the simulator's buckets are sized to match. */
  budget: RateBudget;
  /** The compressed resync of the steady-state scenario (and of the operator after the restart). */
  resyncMs: number;
  /** How long the steady state is observed. */
  steadyWindowMs: number;
  /** Single edits timed by the latency scenario. */
  edits: number;
  /**
   * How long burst converge, restart and teardown may take before the benchmark records them as unfinished
   * (and skips what depends on them): a fixed minute plus this per object.
   */
  timeoutMsPerObject: number;
  /** Replaces the per-object timeout with one fixed bound per phase. */
  phaseTimeoutMs?: number;
  log(line: string): void;
}

/** Simulator operation timings of the benchmark (the simulator's defaults, stated so they cannot drift). */
export const TIMINGS: OperationTimings = {
  operationPendingMs: 500,
  operationDurationMs: 3000,
  firstAssociationDelayMs: 5000,
};
/** Every AWS call takes this long in the simulator, plus up to the jitter. */
export const CALL_LATENCY = { fixedMs: 30, jitterMs: 40 };
/** The operator's IAM budget (its default); the simulator's buckets include it. */
export const IAM_BUDGET: RateBudget = { ratePerSecond: 2, burst: 5 };
export const CLUSTER_NAME = 'bench';

/**
 * The operator's flags for the benchmark, in one place: the limiter budget the bound is computed from, a
 * cluster-wide watch with single-tenant tenancy (the workload spans namespaces), and the resync.
 */
export function operatorFlags(options: BenchOptions, resyncMs: number, metricsPort: number): string[] {
  return [
    '--tenancy',
    'SingleTenant',
    '--apprunner-rate-limit',
    String(options.budget.ratePerSecond),
    '--apprunner-burst',
    String(options.budget.burst),
    '--iam-rate-limit',
    String(IAM_BUDGET.ratePerSecond),
    '--iam-burst',
    String(IAM_BUDGET.burst),
    '--resync-period',
    `${Math.round(resyncMs / 1000)}s`,
    '--metrics-port',
    String(metricsPort),
    '--log-level',
    'debug',
  ];
}

/**
 * The simulator: operation timings, a call latency, and per-account token buckets (one for reads, one for
 * mutations, across regions) as large as the operator's budget over every region plus IAM, so that an
 * operator within its budget is throttled only when delays on the way bunch its calls past the burst, and
 * one that exceeds its budget is throttled at once.
 */
export function simulatorConfig(budget: RateBudget): SimulatorConfig {
  const bucket = {
    ratePerSecond: budget.ratePerSecond * REGIONS.length + IAM_BUDGET.ratePerSecond,
    burst: budget.burst * REGIONS.length + IAM_BUDGET.burst,
  };
  return {
    timings: { ...TIMINGS },
    faults: { throttling: { read: bucket, mutate: bucket }, latency: { ...CALL_LATENCY } },
    behaviour: { connectorQuota: 100_000, callLogLimit: 500_000 },
  };
}

// ---- results ----

export interface AwsOperation {
  calls: number;
  /** Answers with an error, by code (throttles included). */
  errors: Record<string, number>;
  throttles: number;
}

export interface PhaseFigures {
  seconds: number;
  aws: Record<string, AwsOperation>;
  awsCalls: number;
  writes: WriteCounts;
  kubeWrites: number;
  /** SDK attempts beyond the first, by operation (from the operator's metrics). */
  sdkRetries: Record<string, number>;
  /** Work-queue retries (adds with a delay), by controller. */
  queueRetries: Record<string, number>;
  throttlesInStatus: number;
  /** Where the machine's CPU went during the phase (absent in results from before it was measured). */
  cpu?: CpuFigures;
  /** The first few status writes of the phase and what they changed. */
  writeSamples: WriteSample[];
}

/**
 * CPU time over a phase, from /proc: the operator's and the simulator's processes, and the whole machine
 * (every core; the rest is the kube-apiserver, etcd and the benchmark's own watches). A machine busy for
 * nearly `cores` x the phase's seconds was the limit, not AWS's rate.
 */
export interface CpuFigures {
  cores: number;
  operatorSeconds: number;
  simulatorSeconds: number;
  machineBusySeconds: number;
}

export interface Footprint {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
}

export interface SizeResult {
  n: number;
  workload: { connectors: number; networkings: number; namespaces: number; regions: number };
  /** How long a phase could take before it was recorded as unfinished. */
  phaseTimeoutSeconds: number;
  /** `completed` false: the phase did not finish within the timeout, and its figures stop there. */
  burst: PhaseFigures & { bound: Bound; completed: boolean; ready: number; peakRssBytes: number };
  /** The scenarios after an unfinished burst converge are not run (their starting point does not exist). */
  restart?: PhaseFigures & { bound: Bound; completed: boolean; verified: number };
  steady?: PhaseFigures & { windowSeconds: number; resyncSeconds: number; resyncs: number };
  latency?: {
    edits: number;
    toFirstCallMs: number[];
    toStatusMs: number[];
  };
  teardown?: PhaseFigures & { bound: Bound; completed: boolean; gone: number };
  footprint: { idle: Footprint; converged: Footprint; steady?: Footprint };
  simulatorViolations: number;
  /** Watches restarted from "now" after an expired version: Kubernetes writes may be undercounted. */
  expiredWatches: number;
  wallSeconds: number;
}

export interface BenchResult {
  startedAt: string;
  /** The code measured: commit, and whether src/ had uncommitted changes ('unknown' outside a git checkout). */
  revision: string;
  options: Omit<BenchOptions, 'log'>;
  timings: OperationTimings;
  callLatency: typeof CALL_LATENCY;
  simulatorBuckets: { ratePerSecond: number; burst: number };
  sizes: SizeResult[];
}

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const result: BenchResult = {
    startedAt: new Date().toISOString(),
    revision: revision(),
    options: {
      sizes: options.sizes,
      budget: options.budget,
      resyncMs: options.resyncMs,
      steadyWindowMs: options.steadyWindowMs,
      edits: options.edits,
      timeoutMsPerObject: options.timeoutMsPerObject,
      ...(options.phaseTimeoutMs === undefined ? {} : { phaseTimeoutMs: options.phaseTimeoutMs }),
    },
    timings: TIMINGS,
    callLatency: CALL_LATENCY,
    simulatorBuckets: simulatorConfig(options.budget).faults?.throttling?.read ?? {
      ratePerSecond: 0,
      burst: 0,
    },
    sizes: [],
  };
  for (const n of options.sizes) result.sizes.push(await runSize(n, options));
  return result;
}

// ---- the simulator process ----

interface SimProcess {
  url: string;
  pid: number | undefined;
  admin<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

async function startSimulatorProcess(config: SimulatorConfig): Promise<SimProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'apprunner-net-bench-'));
  const configPath = join(dir, 'simulator.json');
  writeFileSync(configPath, JSON.stringify(config));
  const child = spawn(
    join(root, 'node_modules', '.bin', 'node'),
    [join(root, 'bin', 'apprunner-net.js'), 'simulate', '--port', '0', '--config', configPath],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [first] = (await once(child.stdout, 'data')) as [Buffer];
  child.stdout.resume();
  const url = first.toString('utf8').trim().split('\n')[0] ?? '';
  const admin = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}${path}`, {
      method,
      signal: AbortSignal.timeout(60_000),
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    }).catch((err: unknown) => {
      throw new Error(`simulator ${method} ${path}: no answer within 60 s`, { cause: err });
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`simulator ${method} ${path}: HTTP ${response.status} ${text}`);
    return JSON.parse(text) as T;
  };
  return {
    url,
    pid: child.pid,
    admin,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface CallRecord {
  seq: number;
  time: string;
  caller: string;
  operation: string;
  params: Record<string, unknown>;
  status: number;
  errorCode?: string;
}

const THROTTLE_CODES = new Set(['ThrottlingException', 'Throttling', 'RequestLimitExceeded']);

/** Reads the simulator's audit log incrementally and counts the operator's calls by operation. */
class CallCounter {
  #cursor = 0;
  #aws: Record<string, AwsOperation> = {};
  /** Kept only while `keep` is set (the latency scenario needs times and parameters). */
  kept: CallRecord[] = [];
  keep = false;
  readonly #sim: SimProcess;

  constructor(sim: SimProcess) {
    this.#sim = sim;
  }

  async drain(): Promise<void> {
    const { calls } = await this.#sim.admin<{ calls: CallRecord[] }>(
      'GET',
      `/_sim/calls?since=${this.#cursor}`,
    );
    for (const call of calls) {
      this.#cursor = Math.max(this.#cursor, call.seq);
      if (!call.caller.startsWith('apprunner-net')) continue;
      const op = (this.#aws[call.operation] ??= { calls: 0, errors: {}, throttles: 0 });
      op.calls++;
      if (call.errorCode !== undefined) {
        op.errors[call.errorCode] = (op.errors[call.errorCode] ?? 0) + 1;
        if (THROTTLE_CODES.has(call.errorCode)) op.throttles++;
      }
      if (this.keep) this.kept.push(call);
    }
  }

  /** Drains, then returns the counts since the last take and starts again from zero. */
  async take(): Promise<Record<string, AwsOperation>> {
    await this.drain();
    const taken = this.#aws;
    this.#aws = {};
    return taken;
  }
}

// ---- the operator ----

interface Operator {
  process: OperatorProcess;
  metricsUrl: string;
  /** Log lines not yet consumed (the process's buffer is emptied as they are read). */
  takeLogs(): LogLine[];
}

async function launchOperator(
  env: Env,
  sim: SimProcess,
  options: BenchOptions,
  resyncMs: number,
): Promise<Operator> {
  const metricsPort = await freePort();
  const process = startOperator({
    kubeconfigPath: env.cluster.kubeconfigPath,
    endpoint: sim.url,
    namespace: undefined,
    clusterName: CLUSTER_NAME,
    args: operatorFlags(options, resyncMs, metricsPort),
    // node as the image runs it (Dockerfile ENTRYPOINT), so that the footprint is the one users get.
    nodeOptions: ['--max-semi-space-size=2'],
  });
  return {
    process,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    takeLogs: () => process.logs.splice(0),
  };
}

async function waitStarted(operator: Operator): Promise<void> {
  // Both controllers log "Started workers" once their caches have synced.
  await operator.process.waitForLog((l) => l.msg === 'Started workers', 'workers started', 60_000);
  await waitUntil(
    () => operator.process.logs.filter((l) => l.msg === 'Started workers').length >= 2,
    'both controllers started',
    60_000,
  );
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on every Linux architecture Node runs on). */
const USER_HZ = 100;

/** A process's user + system CPU seconds so far; 0 once it is gone. */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return 0;
  }
}

/** The machine's busy CPU seconds so far, summed over cores (everything but idle and iowait). */
function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return (ticks.reduce((sum, t) => sum + t, 0) - idle) / USER_HZ;
}

interface CpuMark {
  operatorPid: number | undefined;
  operator: number;
  simulator: number;
  machine: number;
}

function cpuMark(operatorPid: number | undefined, simulatorPid: number | undefined): CpuMark {
  return {
    operatorPid,
    operator: processCpuSeconds(operatorPid),
    simulator: processCpuSeconds(simulatorPid),
    machine: machineBusySeconds(),
  };
}

/** CPU between two marks; an operator replaced in between (restart) counts from its start. */
function cpuBetween(start: CpuMark, end: CpuMark): CpuFigures {
  return {
    cores: cpus().length,
    operatorSeconds: end.operator - (start.operatorPid === end.operatorPid ? start.operator : 0),
    simulatorSeconds: end.simulator - start.simulator,
    machineBusySeconds: end.machine - start.machine,
  };
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

async function footprint(operator: Operator): Promise<Footprint> {
  const s = await scrape(operator.metricsUrl);
  return {
    rssBytes: rssBytes(operator.process.pid),
    heapUsedBytes: sumBy(s, 'nodejs_heap_size_used_bytes')[''] ?? 0,
    heapTotalBytes: sumBy(s, 'nodejs_heap_size_total_bytes')[''] ?? 0,
  };
}

/** The operator's own counters, for differences over a phase of one process. */
function counters(s: Scrape): {
  attempts: Record<string, number>;
  calls: Record<string, number>;
  queueRetries: Record<string, number>;
} {
  return {
    attempts: sumBy(s, 'apprunner_net_aws_api_attempts_total', 'operation'),
    calls: sumBy(s, 'apprunner_net_aws_api_calls_total', 'operation'),
    queueRetries: sumBy(s, 'workqueue_retries_total', 'name'),
  };
}

type Counters = ReturnType<typeof counters>;
const zeroCounters: Counters = { attempts: {}, calls: {}, queueRetries: {} };

// ---- helpers ----

/** Like waitUntil, but a timeout is an outcome: false. */
async function settle(
  probe: () => boolean,
  timeoutMs: number,
  tick?: () => Promise<void> | void,
): Promise<boolean> {
  try {
    await waitUntil(probe, 'a phase', timeoutMs, tick);
    return true;
  } catch {
    return probe();
  }
}

async function waitUntil(
  probe: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
  tick?: () => Promise<void> | void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await tick?.();
    await sleep(250);
  }
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await work(item);
      }
    }),
  );
}

/** Retries a Kubernetes call on transient failures (429, 5xx, connection resets), a few times. */
async function kubeCall(call: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await call();
      return;
    } catch (err) {
      const code = (err as { code?: number }).code;
      const transient = code === undefined || code === 429 || code >= 500;
      if (!transient || attempt >= 5) throw err;
      await sleep(200 * attempt);
    }
  }
}

interface ObjectRef {
  kind: BenchKind;
  namespace: string;
  name: string;
  body: unknown;
}

function objectsOf(workload: Workload, services: Map<string, string>): ObjectRef[] {
  const subnets = (region: string): string[] => [1, 2, 3].map((i) => subnetId(region, i));
  const refs: ObjectRef[] = [];
  for (const g of workload.groups) {
    refs.push({
      kind: 'VpcConnector',
      namespace: g.namespace,
      name: g.connector,
      body: {
        apiVersion: API_VERSION,
        kind: Kind.VpcConnector,
        metadata: { name: g.connector, namespace: g.namespace },
        spec: {
          region: g.region,
          subnets: subnets(g.region),
          securityGroups: [securityGroupId(g.region)],
          tags: { team: g.namespace },
        },
      },
    });
    g.networkings.forEach((name, j) => {
      const serviceArn = services.get(`${g.region}/${g.services[j] ?? ''}`);
      if (serviceArn === undefined) throw new Error(`bench: service ${g.services[j] ?? ''} was not seeded`);
      refs.push({
        kind: 'ServiceNetworking',
        namespace: g.namespace,
        name,
        body: {
          apiVersion: API_VERSION,
          kind: Kind.ServiceNetworking,
          metadata: { name, namespace: g.namespace },
          spec: { serviceArn, egress: { type: 'VPC', vpcConnectorRef: { name: g.connector } } },
        },
      });
    });
  }
  return refs;
}

/** Deterministic EC2 ids per region: 17 hex digits after the prefix. */
function subnetId(region: string, i: number): string {
  return `subnet-0${(REGIONS.indexOf(region as (typeof REGIONS)[number]) + 1).toString(16)}${'0'.repeat(13)}${i.toString(16).padStart(2, '0')}`;
}
function securityGroupId(region: string): string {
  return `sg-0${(REGIONS.indexOf(region as (typeof REGIONS)[number]) + 1).toString(16)}${'0'.repeat(15)}`;
}

function seedDocument(workload: Workload): unknown {
  const regions: Record<string, unknown> = {};
  for (const region of REGIONS) {
    const services = workload.groups.filter((g) => g.region === region).flatMap((g) => g.services);
    regions[region] = {
      vpcs: [
        {
          vpcId: `vpc-0${(REGIONS.indexOf(region) + 1).toString(16)}${'0'.repeat(15)}`,
          subnets: [1, 2, 3].map((i) => ({ subnetId: subnetId(region, i) })),
          securityGroups: [{ groupId: securityGroupId(region), groupName: 'bench' }],
        },
      ],
      services: services.map((serviceName) => ({ serviceName })),
    };
  }
  return { serviceLinkedRole: true, regions };
}

const plural = (kind: BenchKind): string => Plural[kind];

// ---- one N ----

async function runSize(requested: number, options: BenchOptions): Promise<SizeResult> {
  const workload = planWorkload(requested);
  const { n } = workload;
  const log = (line: string): void => {
    options.log(`[N=${n}] ${line}`);
  };
  const wallStart = Date.now();
  const timeoutMs = options.phaseTimeoutMs ?? 60_000 + n * options.timeoutMsPerObject;
  log(
    `workload: ${workload.connectors} VpcConnectors, ${workload.networkings} ServiceNetworkings, ` +
      `${workload.namespaces.length} namespaces, ${REGIONS.length} regions`,
  );

  const env = await startEnv();
  const sim = await startSimulatorProcess(simulatorConfig(options.budget));
  const observer = new Observer(env.cluster.kubeConfig);
  let operator: Operator | undefined;
  try {
    const seeded = await sim.admin<{ services: { region: string; name: string; arn: string }[] }>(
      'POST',
      '/_sim/seed',
      seedDocument(workload),
    );
    const services = new Map(seeded.services.map((s) => [`${s.region}/${s.name}`, s.arn]));
    const core = env.cluster.kubeConfig.makeApiClient(CoreV1Api);
    const api = env.cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    for (const name of workload.namespaces) await core.createNamespace({ body: { metadata: { name } } });
    await observer.start();
    const calls = new CallCounter(sim);
    const refs = objectsOf(workload, services);
    const allIds = refs.map((r) => Observer.id(r.kind, `${r.namespace}/${r.name}`));

    // A phase's figures: AWS calls from the audit log, writes from the watch, retries from the metrics.
    let baseline: Counters = zeroCounters;
    let cpuStart = cpuMark(undefined, sim.pid);
    const beginPhase = async (): Promise<number> => {
      await calls.take();
      observer.takeWrites();
      observer.takeSamples();
      observer.throttlesInStatus = 0;
      baseline = operator === undefined ? zeroCounters : counters(await scrape(operator.metricsUrl));
      cpuStart = cpuMark(operator?.process.pid, sim.pid);
      return performance.now();
    };
    const endPhase = async (startedAt: number, endedAt = performance.now()): Promise<PhaseFigures> => {
      const cpu = cpuBetween(cpuStart, cpuMark(operator?.process.pid, sim.pid));
      const aws = await calls.take();
      const writes = observer.takeWrites();
      const now = operator === undefined ? zeroCounters : counters(await scrape(operator.metricsUrl));
      const attempts = delta(now.attempts, baseline.attempts);
      const callCounts = delta(now.calls, baseline.calls);
      const sdkRetries: Record<string, number> = {};
      for (const [op, a] of Object.entries(attempts)) {
        const retries = a - (callCounts[op] ?? 0);
        if (retries > 0) sdkRetries[op] = retries;
      }
      return {
        seconds: (endedAt - startedAt) / 1000,
        aws,
        awsCalls: Object.values(aws).reduce((sum, o) => sum + o.calls, 0),
        writes,
        kubeWrites: Object.values(writes).reduce((sum, v) => sum + v, 0),
        sdkRetries,
        queueRetries: delta(now.queueRetries, baseline.queueRetries),
        throttlesInStatus: observer.throttlesInStatus,
        cpu,
        writeSamples: observer.takeSamples(),
      };
    };
    const drainLogs = (): void => {
      operator?.takeLogs();
    };

    // Operator A: the default 10-minute resync, as shipped.
    operator = await launchOperator(env, sim, options, 600_000);
    await waitStarted(operator);
    await sleep(2_000);
    const idle = await footprint(operator);
    drainLogs();
    log(`operator started; idle RSS ${mb(idle.rssBytes)}`);

    // 1. Burst converge.
    const burstStart = await beginPhase();
    let peakRss = 0;
    const sampleRss = setInterval(() => {
      if (operator !== undefined) peakRss = Math.max(peakRss, rssBytes(operator.process.pid));
    }, 1_000);
    const creating = pool(refs, 16, async (ref) => {
      await kubeCall(() =>
        api.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: plural(ref.kind),
          namespace: ref.namespace,
          body: ref.body as object,
        }),
      );
    });
    const ready = (): number =>
      allIds.filter((id) => {
        const s = observer.objects.get(id);
        return s !== undefined && s.ready && !s.gone;
      }).length;
    let lastReport = Date.now();
    await creating;
    log(`created ${n} objects in ${((performance.now() - burstStart) / 1000).toFixed(1)} s`);
    let burstCompleted: boolean;
    try {
      burstCompleted = await settle(
        () => ready() === n,
        timeoutMs,
        async () => {
          drainLogs();
          if (Date.now() - lastReport > 15_000) {
            lastReport = Date.now();
            await calls.drain();
            log(
              `burst: ${ready()}/${n} Ready after ${((performance.now() - burstStart) / 1000).toFixed(0)} s`,
            );
          }
        },
      );
    } finally {
      clearInterval(sampleRss);
    }
    const burstFigures = await endPhase(burstStart);
    const burst = {
      ...burstFigures,
      bound: convergeBound(workload, options.budget, TIMINGS),
      completed: burstCompleted,
      ready: ready(),
      peakRssBytes: peakRss,
    };
    log(
      `burst converge: ${burst.seconds.toFixed(1)} s, ${burst.awsCalls} AWS calls, ${burst.kubeWrites} writes`,
    );
    await sleep(2_000);
    const converged = await footprint(operator);
    const { violations } = await sim.admin<{ violations: unknown[] }>('GET', '/_sim/violations');
    const sizeResult: SizeResult = {
      n,
      workload: {
        connectors: workload.connectors,
        networkings: workload.networkings,
        namespaces: workload.namespaces.length,
        regions: REGIONS.length,
      },
      phaseTimeoutSeconds: timeoutMs / 1000,
      burst,
      footprint: { idle, converged },
      simulatorViolations: violations.length,
      expiredWatches: observer.expiredWatches,
      wallSeconds: (Date.now() - wallStart) / 1000,
    };
    if (!burstCompleted) {
      log(`burst converge did not finish within ${timeoutMs / 1000} s; the other scenarios are skipped`);
      return sizeResult;
    }

    // 2. Restart: SIGKILL, then a new process (with the compressed resync, for the steady state after it).
    await operator.process.kill();
    operator = undefined;
    const restartStart = await beginPhase();
    operator = await launchOperator(env, sim, options, options.resyncMs);
    const verified = new Set<string>();
    const wanted = new Set(refs.map((r) => `${r.namespace}/${r.name}`));
    const consume = (): void => {
      for (const line of operator?.takeLogs() ?? []) {
        if (typeof line.msg === 'string' && line.msg.startsWith('Reconciled object')) {
          const key = `${String(line.namespace)}/${String(line.name)}`;
          if (wanted.has(key)) verified.add(key);
        }
      }
    };
    const restartCompleted = await settle(() => {
      consume();
      return verified.size === wanted.size;
    }, timeoutMs);
    const restartEnd = performance.now();
    const restart = {
      ...(await endPhase(restartStart, restartEnd)),
      bound: restartBound(workload, options.budget),
      completed: restartCompleted,
      verified: verified.size,
    };
    log(
      `restart: ${restart.seconds.toFixed(1)} s, ${restart.awsCalls} AWS calls, ${restart.kubeWrites} writes`,
    );

    // 3. Steady state: nothing changes; the compressed resync runs a few times.
    await sleep(2_000);
    drainLogs();
    const steadyStart = await beginPhase();
    let resyncs = 0;
    const steadyUntil = Date.now() + options.steadyWindowMs;
    await waitUntil(
      () => Date.now() >= steadyUntil,
      'the steady-state window',
      options.steadyWindowMs + 60_000,
      async () => {
        for (const line of operator?.takeLogs() ?? []) if (line.msg === 'Resynced all objects') resyncs++;
        await calls.drain();
      },
    );
    for (const line of operator.takeLogs()) if (line.msg === 'Resynced all objects') resyncs++;
    const steady = {
      ...(await endPhase(steadyStart)),
      windowSeconds: options.steadyWindowMs / 1000,
      resyncSeconds: options.resyncMs / 1000,
      // Both controllers log one line per resync.
      resyncs: resyncs / 2,
    };
    const steadyFootprint = await footprint(operator);
    log(`steady: ${steady.awsCalls} AWS calls and ${steady.kubeWrites} writes in ${steady.windowSeconds} s`);

    // 4. Latency of single edits on the idle operator: a tag change on one VpcConnector at a time.
    const latency = await measureEdits(workload, options.edits, api, observer, calls, drainLogs);
    log(
      `latency: ${latency.toStatusMs.length} edits, p50 to status ${percentile(latency.toStatusMs, 50) ?? '-'} ms`,
    );

    // 5. Teardown: delete everything at once.
    const teardownStart = await beginPhase();
    await pool(refs, 16, async (ref) => {
      await kubeCall(() =>
        api.deleteNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: plural(ref.kind),
          namespace: ref.namespace,
          name: ref.name,
        }),
      );
    });
    const gone = (): number => allIds.filter((id) => observer.objects.get(id)?.gone === true).length;
    lastReport = Date.now();
    const teardownCompleted = await settle(
      () => gone() === n,
      timeoutMs,
      async () => {
        drainLogs();
        if (Date.now() - lastReport > 15_000) {
          lastReport = Date.now();
          await calls.drain();
          log(
            `teardown: ${gone()}/${n} gone after ${((performance.now() - teardownStart) / 1000).toFixed(0)} s`,
          );
        }
      },
    );
    const teardown = {
      ...(await endPhase(teardownStart)),
      bound: teardownBound(workload, options.budget, TIMINGS),
      completed: teardownCompleted,
      gone: gone(),
    };
    log(
      `teardown: ${teardown.seconds.toFixed(1)} s, ${teardown.awsCalls} AWS calls, ${teardown.kubeWrites} writes`,
    );

    const after = await sim.admin<{ violations: unknown[] }>('GET', '/_sim/violations');
    return {
      ...sizeResult,
      restart,
      steady,
      latency,
      teardown,
      footprint: { idle, converged, steady: steadyFootprint },
      simulatorViolations: after.violations.length,
      expiredWatches: observer.expiredWatches,
      wallSeconds: (Date.now() - wallStart) / 1000,
    };
  } finally {
    observer.close();
    await operator?.process.stop();
    await sim.close();
    await env.stop();
  }
}

async function measureEdits(
  workload: Workload,
  edits: number,
  api: CustomObjectsApi,
  observer: Observer,
  calls: CallCounter,
  drainLogs: () => void,
): Promise<NonNullable<SizeResult['latency']>> {
  const toFirstCallMs: number[] = [];
  const toStatusMs: number[] = [];
  const count = Math.min(edits, workload.groups.length);
  const stride = Math.max(1, Math.floor(workload.groups.length / Math.max(1, count)));
  for (let i = 0; i < count; i++) {
    const group = workload.groups[(i * stride) % workload.groups.length];
    if (group === undefined) continue;
    const key = `${group.namespace}/${group.connector}`;
    const id = Observer.id('VpcConnector', key);
    const current = (await api.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: Plural.VpcConnector,
      namespace: group.namespace,
      name: group.connector,
    })) as { metadata: { generation: number }; status?: { vpcConnectorArn?: string } };
    const arn = current.status?.vpcConnectorArn ?? '';
    const generation = current.metadata.generation + 1;
    let seenAt: number | undefined;
    let statusAt: number | undefined;
    const stop = observer.onChange((_kind, state) => {
      if (`VpcConnector/${state.key}` !== id) return;
      if (seenAt === undefined && state.generation === generation) seenAt = Date.now();
      if (statusAt === undefined && state.ready && state.observedGeneration === generation)
        statusAt = Date.now();
    });
    await calls.drain();
    calls.keep = true;
    calls.kept = [];
    const patchedAt = Date.now();
    try {
      await api.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          plural: Plural.VpcConnector,
          namespace: group.namespace,
          name: group.connector,
          body: { spec: { tags: { team: group.namespace, edit: String(i) } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await waitUntil(() => statusAt !== undefined, `the status of edit ${i} of ${key}`, 60_000, drainLogs);
      await calls.drain();
    } finally {
      stop();
      calls.keep = false;
    }
    // The operator may see the event before the benchmark does: a call just before `seenAt` counts as 0.
    const watched = seenAt ?? patchedAt;
    const first = calls.kept.find(
      (c) => Date.parse(c.time) >= patchedAt && arn !== '' && JSON.stringify(c.params).includes(arn),
    );
    if (first !== undefined) toFirstCallMs.push(Math.max(0, Date.parse(first.time) - watched));
    toStatusMs.push((statusAt ?? watched) - watched);
    await sleep(500);
  }
  calls.kept = [];
  return { edits: count, toFirstCallMs, toStatusMs };
}

export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
