// The benchmark's figures as Markdown: printed by `npm run bench` and written to docs/benchmarks.md.
// Pure: the result in, text out.
import type { AwsOperation, BenchResult, PhaseFigures, SizeResult } from './run.ts';
import { mb } from './run.ts';
import { REGIONS, percentile, planWorkload, restartBound, type Bound } from './workload.ts';

const MACHINE = 'polyglot, 2 cores, 24 GiB';

/** The targets of issue 10, checked at every N (each names the N it is stated for). */
export interface TargetCheck {
  n: number;
  target: string;
  met: boolean;
  /** The measured figure against the target, and by how much it is missed. */
  detail: string;
}

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]): string => `| ${cells.map(String).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const fixed = (v: number, digits = 1): string => v.toFixed(digits);
const ratio = (seconds: number, bound: Bound): string =>
  bound.seconds > 0 ? `${fixed(seconds / bound.seconds, 2)}x` : '-';
const ms = (v: number | undefined): string => (v === undefined ? '-' : `${Math.round(v)} ms`);

function errorsText(op: AwsOperation): string {
  const entries = Object.entries(op.errors);
  return entries.length === 0 ? '-' : entries.map(([code, count]) => `${code} ${count}`).join(', ');
}

/** AWS calls by operation over a phase, per object, with errors and retries. */
function awsTable(phase: PhaseFigures, n: number): string {
  const ops = Object.entries(phase.aws).sort((a, b) => b[1].calls - a[1].calls);
  const rows = ops.map(([name, op]) => [
    name,
    op.calls,
    fixed(op.calls / n, 2),
    errorsText(op),
    op.throttles,
    phase.sdkRetries[name] ?? 0,
  ]);
  rows.push([
    '**total**',
    phase.awsCalls,
    fixed(phase.awsCalls / n, 2),
    '',
    ops.reduce((s, [, o]) => s + o.throttles, 0),
    Object.values(phase.sdkRetries).reduce((s, v) => s + v, 0),
  ]);
  return table(['AWS operation', 'calls', 'per object', 'errors', 'throttles', 'SDK retries'], rows);
}

function writesTable(phase: PhaseFigures, n: number): string {
  const rows: (string | number)[][] = Object.entries(phase.writes)
    .sort((a, b) => b[1] - a[1])
    .map(([what, count]) => [what, count, fixed(count / n, 2)]);
  rows.push(['**total**', phase.kubeWrites, fixed(phase.kubeWrites / n, 2)]);
  const retries = Object.entries(phase.queueRetries)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `${table(['Kubernetes write', 'count', 'per object'], rows)}\n\nWork-queue retries (delayed re-adds): ${retries === '' ? 'none' : retries}.`;
}

/** For phases that should write nothing: what the first status writes changed. */
function unexpectedWrites(phase: PhaseFigures): string {
  if (phase.kubeWrites === 0 || phase.writeSamples.length === 0) return '';
  const lines = phase.writeSamples.flatMap((sample) => [
    `- ${sample.write} of ${sample.key}:`,
    ...Object.entries(sample.changed).map(
      ([field, c]) => `  - \`${field}\`: \`${c.before}\` → \`${c.after}\``,
    ),
  ]);
  return `\n\nThe first status writes, and what they changed:\n\n${lines.join('\n')}`;
}

export function checkTargets(result: BenchResult): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const s of result.sizes) {
    const check = (target: string, met: boolean, detail: string): void => {
      checks.push({ n: s.n, target, met, detail });
    };
    const notRun = 'not run: burst converge did not finish';
    const within = (
      label: string,
      phase: (PhaseFigures & { bound: Bound; completed: boolean }) | undefined,
    ): void => {
      const target = `${label} within 1.2x the lower bound (stated for N = 1,000), no throttling error in status`;
      if (phase === undefined) {
        check(target, false, notRun);
        return;
      }
      const r = phase.seconds / phase.bound.seconds;
      check(
        target,
        phase.completed && r <= 1.2 && phase.throttlesInStatus === 0,
        (phase.completed ? '' : `did not finish within ${fixed(s.phaseTimeoutSeconds, 0)} s; `) +
          `${fixed(phase.seconds)} s against ${fixed(phase.bound.seconds)} s: ${fixed(r, 2)}x` +
          (r > 1.2 ? `, ${fixed(r / 1.2, 1)}x over the target` : '') +
          `; ${phase.throttlesInStatus} status writes quoted a throttle`,
      );
    };
    within('Burst converge', s.burst);
    within('Teardown', s.teardown);
    const pages = restartBound(planWorkload(s.n), result.options.budget).minCalls;
    const steady = s.steady;
    if (steady === undefined) {
      check('Steady state: zero Kubernetes writes', false, notRun);
      check('Steady state: AWS reads per resync ≈ List pages, not per object', false, notRun);
    } else {
      const perResync = steady.resyncs > 0 ? steady.awsCalls / steady.resyncs : steady.awsCalls;
      check(
        'Steady state: zero Kubernetes writes',
        steady.kubeWrites === 0,
        `${steady.kubeWrites} writes in ${steady.windowSeconds} s`,
      );
      check(
        'Steady state: AWS reads per resync ≈ List pages (+ services that need a describe), not per object',
        perResync <= pages * 1.5,
        `${fixed(perResync)} calls per resync pass (${fixed(perResync / s.n, 2)} per object) against ` +
          `${pages} List pages` +
          (perResync > pages * 1.5 ? `: ${fixed(perResync / pages, 1)}x` : ''),
      );
    }
    const restart = s.restart;
    const restartTarget =
      'Restart (stated for N = 5,000): every object verified, no write, only the batched reads';
    if (restart === undefined) check(restartTarget, false, notRun);
    else {
      check(
        restartTarget,
        restart.verified === s.n && restart.kubeWrites === 0 && restart.awsCalls <= pages * 1.5,
        `${restart.verified}/${s.n} verified, ${restart.kubeWrites} writes, ${restart.awsCalls} AWS calls ` +
          `against ${pages} List pages` +
          (restart.awsCalls > pages * 1.5 ? ` (${fixed(restart.awsCalls / pages, 1)}x)` : ''),
      );
    }
    const rss = Math.max(
      s.footprint.converged.rssBytes,
      s.footprint.steady?.rssBytes ?? 0,
      s.burst.peakRssBytes,
    );
    const limit = 200 * 1024 * 1024;
    check(
      'RSS under 200 MB (stated for N = 5,000)',
      rss < limit,
      `peak ${mb(rss)}` + (rss >= limit ? `, ${mb(rss - limit)} over` : ''),
    );
  }
  return checks;
}

/** The operations with the most calls per object in a phase beyond the minimum a bound counts. */
function largestCosts(phase: PhaseFigures | undefined, n: number, count = 3): string {
  if (phase === undefined) return 'not run';
  return (
    Object.entries(phase.aws)
      .sort((a, b) => b[1].calls - a[1].calls)
      .slice(0, count)
      .map(([op, o]) => `${op} ${fixed(o.calls / n, 2)}/object`)
      .join(', ') || 'no calls'
  );
}

type Timed = PhaseFigures & { bound: Bound; completed: boolean };

/** How busy the machine and the operator were over a phase, as a share of what the phase's seconds allow. */
function cpuText(phase: PhaseFigures): string | undefined {
  const { cpu } = phase;
  if (cpu === undefined || phase.seconds <= 0) return undefined;
  const share = (seconds: number, cores: number): string =>
    `${fixed((100 * seconds) / (phase.seconds * cores), 0)}%`;
  const rest = cpu.machineBusySeconds - cpu.operatorSeconds - cpu.simulatorSeconds;
  return (
    `CPU over the phase: the machine ${fixed(cpu.machineBusySeconds)} s of ${fixed(phase.seconds * cpu.cores)} s ` +
    `(${share(cpu.machineBusySeconds, cpu.cores)} of ${cpu.cores} cores); the operator ${fixed(cpu.operatorSeconds)} s ` +
    `(${share(cpu.operatorSeconds, 1)} of one core, ${fixed((1000 * cpu.operatorSeconds) / Math.max(1, phase.awsCalls + phase.kubeWrites), 1)} ms ` +
    `per AWS call or Kubernetes write), the simulator ${fixed(cpu.simulatorSeconds)} s, everything else ` +
    `(kube-apiserver, etcd, the benchmark's watches) ${fixed(rest)} s.`
  );
}

function summaryRow(label: string, phase: Timed | undefined, n: number): (string | number)[] {
  if (phase === undefined) return [label, 'not run', '-', '-', '-', '-', '-', '-'];
  return [
    label,
    phase.completed ? `${fixed(phase.seconds)} s` : `unfinished after ${fixed(phase.seconds, 0)} s`,
    `${fixed(phase.bound.seconds)} s`,
    ratio(phase.seconds, phase.bound),
    phase.awsCalls,
    fixed(phase.awsCalls / n, 2),
    phase.kubeWrites,
    fixed(phase.kubeWrites / n, 2),
  ];
}

function steadySection(steady: NonNullable<SizeResult['steady']>, n: number): string {
  const perHour = (calls: number): number => Math.round((calls * 3600) / steady.windowSeconds);
  const passes = steady.resyncs;
  const perPass = (calls: number): string => (passes > 0 ? fixed(calls / passes, 1) : '-');
  const atDefault = (calls: number): string | number => (passes > 0 ? Math.round((calls / passes) * 6) : '-');
  const rows: (string | number)[][] = Object.entries(steady.aws)
    .sort((a, b) => b[1].calls - a[1].calls)
    .map(([op, o]) => [op, o.calls, perPass(o.calls), perHour(o.calls), atDefault(o.calls)]);
  rows.push([
    '**total**',
    steady.awsCalls,
    perPass(steady.awsCalls),
    perHour(steady.awsCalls),
    atDefault(steady.awsCalls),
  ]);
  return [
    `### Steady state (resync compressed to ${steady.resyncSeconds} s, ${passes} resync passes observed)`,
    '',
    table(
      [
        'AWS operation',
        `calls in ${steady.windowSeconds} s`,
        'per resync pass',
        `per hour at the ${steady.resyncSeconds} s resync`,
        'per hour at the 10 min default (6 passes)',
      ],
      rows,
    ),
    '',
    writesTable(steady, n) + unexpectedWrites(steady),
  ].join('\n');
}

function latencySection(lat: NonNullable<SizeResult['latency']>): string {
  return [
    '### Latency',
    '',
    table(
      ['Edit (tag change on one VpcConnector)', 'samples', 'p50', 'p99'],
      [
        [
          'watch event to the first AWS call for it',
          lat.toFirstCallMs.length,
          ms(percentile(lat.toFirstCallMs, 50)),
          ms(percentile(lat.toFirstCallMs, 99)),
        ],
        [
          'watch event to Ready status of the new generation',
          lat.toStatusMs.length,
          ms(percentile(lat.toStatusMs, 50)),
          ms(percentile(lat.toStatusMs, 99)),
        ],
      ],
    ),
  ].join('\n');
}

function sizeSection(s: SizeResult): string {
  const n = s.n;
  const timeout = s.phaseTimeoutSeconds;
  const summary = table(
    [
      'Scenario',
      'time',
      'lower bound',
      'ratio',
      'AWS calls',
      'per object',
      'Kubernetes writes',
      'per object',
    ],
    [
      summaryRow('Burst converge', s.burst, n),
      summaryRow('Teardown', s.teardown, n),
      summaryRow('Restart (SIGKILL, until all verified)', s.restart, n),
      s.steady === undefined
        ? ['Steady state', 'not run', '-', '-', '-', '-', '-', '-']
        : [
            `Steady state (${s.steady.windowSeconds} s observed)`,
            '-',
            '-',
            '-',
            s.steady.awsCalls,
            fixed(s.steady.awsCalls / n, 2),
            s.steady.kubeWrites,
            fixed(s.steady.kubeWrites / n, 2),
          ],
    ],
  );
  const timed: [string, Timed | undefined][] = [
    ['Burst converge', s.burst],
    ['Teardown', s.teardown],
    ['Restart', s.restart],
  ];
  const bounds = table(
    ['Scenario', 'minimum AWS calls', 'measured calls', 'calls / minimum', 'bound', 'how'],
    timed.flatMap(([label, p]) =>
      p === undefined
        ? []
        : [
            [
              label,
              p.bound.minCalls,
              p.awsCalls,
              `${fixed(p.awsCalls / p.bound.minCalls, 2)}x`,
              `${fixed(p.bound.seconds)} s`,
              p.bound.formula,
            ],
          ],
    ),
  );
  const fp = s.footprint;
  const footprintRows: (string | number)[][] = [
    ['idle, zero objects', mb(fp.idle.rssBytes), mb(fp.idle.heapUsedBytes), mb(fp.idle.heapTotalBytes)],
    ['peak during burst converge', mb(s.burst.peakRssBytes), '-', '-'],
    [
      `${n} objects, after burst converge`,
      mb(fp.converged.rssBytes),
      mb(fp.converged.heapUsedBytes),
      mb(fp.converged.heapTotalBytes),
    ],
  ];
  if (fp.steady !== undefined) {
    footprintRows.push([
      `${n} objects, steady (after a restart)`,
      mb(fp.steady.rssBytes),
      mb(fp.steady.heapUsedBytes),
      mb(fp.steady.heapTotalBytes),
    ]);
  }
  const phaseSection = (title: string, p: PhaseFigures | undefined, extra = ''): string[] => {
    if (p === undefined) return [];
    const cpu = cpuText(p);
    return [
      title,
      '',
      awsTable(p, n),
      '',
      writesTable(p, n) + extra,
      '',
      ...(cpu === undefined ? [] : [cpu, '']),
    ];
  };
  return [
    `## N = ${n.toLocaleString('en-US')}`,
    '',
    `${s.workload.connectors} VpcConnectors and ${s.workload.networkings} ServiceNetworkings (three per connector), ` +
      `${s.workload.namespaces} namespaces, ${s.workload.regions} regions. Wall time of this size: ` +
      `${fixed(s.wallSeconds / 60)} min. Simulator invariant violations: ${s.simulatorViolations}.` +
      (s.expiredWatches > 0
        ? ` ${s.expiredWatches} watches expired and restarted from the present: writes may be undercounted.`
        : '') +
      (s.burst.completed
        ? ''
        : ` Burst converge did not finish within ${fixed(timeout, 0)} s (${s.burst.ready}/${n} Ready), so ` +
          'restart, steady state, latency and teardown were not run.'),
    '',
    summary,
    '',
    bounds,
    '',
    ...phaseSection(`### Burst converge (${s.burst.ready}/${n} Ready)`, s.burst),
    ...phaseSection(`### Teardown (${s.teardown?.gone ?? 0}/${n} gone)`, s.teardown),
    ...phaseSection(
      `### Restart (${s.restart?.verified ?? 0}/${n} reconciled again)`,
      s.restart,
      s.restart === undefined ? '' : unexpectedWrites(s.restart),
    ),
    ...(s.steady === undefined ? [] : [steadySection(s.steady, n), '']),
    ...(s.latency === undefined ? [] : [latencySection(s.latency), '']),
    '### Footprint',
    '',
    table(['Operator process', 'RSS', 'heap used', 'heap total'], footprintRows),
  ].join('\n');
}

/**
 * Why a timed phase took what it took: either the AWS calls explain the time (at the budget, the calls alone
 * need nearly all of it), or the time went somewhere else (the operator's queue and workers, requeue delays,
 * the Kubernetes API), which fewer AWS calls would not fix.
 */
function timeNote(
  label: string,
  phase: Timed | undefined,
  n: number,
  result: BenchResult,
): string | undefined {
  if (phase === undefined) return undefined;
  const budget = result.options.budget.ratePerSecond * REGIONS.length;
  const callSeconds = phase.awsCalls / budget;
  const tail = (result.timings.operationPendingMs + result.timings.operationDurationMs) / 1000;
  const costs = `Largest AWS costs per object: ${largestCosts(phase, n)}`;
  if (phase.seconds <= 1.5 * (callSeconds + tail)) {
    return (
      `${label}: ${fixed(phase.seconds)} s, of which the ${phase.awsCalls} AWS calls need about ${fixed(callSeconds)} s ` +
      `at the budget (${budget}/s over ${REGIONS.length} regions): the time follows the calls. Closing the gap means fewer ` +
      `calls per object (${fixed(phase.awsCalls / n, 2)} against a minimum of ${fixed(phase.bound.minCalls / n, 2)}): ` +
      `serve these reads from the shared per-region snapshots. ${costs}.`
    );
  }
  const cpu = phase.cpu;
  const saturated = cpu !== undefined && cpu.machineBusySeconds >= 0.85 * phase.seconds * cpu.cores;
  const where =
    cpu === undefined
      ? 'the rest is spent outside AWS (the operator’s work queue and workers, requeue delays, ' +
        `${fixed(phase.kubeWrites / n, 2)} Kubernetes writes per object on a shared API server). Fewer AWS calls ` +
        'alone will not close it; look at requeue delays and concurrency first.'
      : saturated
        ? `the rest is CPU: the machine was busy ${fixed((100 * cpu.machineBusySeconds) / (phase.seconds * cpu.cores), 0)}% ` +
          `of its ${cpu.cores} cores, the operator alone ${fixed(cpu.operatorSeconds)} CPU-seconds ` +
          `(${fixed(phase.kubeWrites / n, 2)} Kubernetes writes per object on an API server sharing those cores). ` +
          'Less work per pass (fewer passes, fewer status writes, less CPU per decision) closes it, not fewer AWS calls.'
        : `the rest is waiting: the machine was busy only ${fixed((100 * cpu.machineBusySeconds) / (phase.seconds * cpu.cores), 0)}% ` +
          `of its ${cpu.cores} cores, so requeue delays and the operator’s concurrency hold it, not CPU or AWS.`;
  return (
    `${label}: ${fixed(phase.seconds)} s, but its ${phase.awsCalls} AWS calls need only about ${fixed(callSeconds)} s ` +
    `of the budget: ${where} ${costs}.`
  );
}

function targetsSection(result: BenchResult, checks: readonly TargetCheck[]): string {
  const rows = checks.map((c) => [`N = ${c.n}`, c.target, c.met ? 'met' : '**missed**', c.detail]);
  const notes: string[] = [];
  for (const s of result.sizes) {
    if (checks.every((c) => c.n !== s.n || c.met)) continue;
    const lines = [
      timeNote('burst converge', s.burst, s.n, result),
      timeNote('teardown', s.teardown, s.n, result),
      s.restart === undefined
        ? undefined
        : `restart: ${fixed(s.restart.awsCalls / s.n, 2)} AWS calls per object where the List pages would do ` +
          `(${largestCosts(s.restart, s.n)}), and ${s.restart.kubeWrites} status writes (what they changed is ` +
          'shown under Restart below).',
      s.steady === undefined
        ? undefined
        : `steady state: ${largestCosts(s.steady, s.n)} per ${s.steady.windowSeconds} s window.`,
    ].filter((l): l is string => l !== undefined);
    notes.push(`- N = ${s.n}:\n${lines.map((l) => `  - ${l}`).join('\n')}`);
  }
  return [
    '## Targets',
    '',
    table(['N', 'Target', 'Result', 'Measured'], rows),
    '',
    ...(notes.length === 0 ? [] : ['Where targets are missed, why (from the figures below):', '', ...notes]),
  ].join('\n');
}

/** `command` is how the run was started, shown in the file so that it can be repeated. */
export function renderReport(result: BenchResult, command: string): string {
  const o = result.options;
  const b = result.simulatorBuckets;
  const t = result.timings;
  const checks = checkTargets(result);
  return [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` on ${result.startedAt.slice(0, 10)} (${result.startedAt}), machine: ${MACHINE}. ` +
      `Command: \`${command}\`; operator code: ${result.revision}. Do not edit by hand: run the command ` +
      'again (`npm run bench`, the full profile, writes this file).',
    '',
    '## Setup',
    '',
    '- A real kube-apiserver and etcd (the integration-test harness), the AWS simulator and the operator, each ' +
      'its own process. The operator watches every namespace (`--tenancy SingleTenant`) and runs under node as ' +
      'the image runs it (`--max-semi-space-size=2`).',
    `- Rate: the operator's App Runner limiter at **${o.budget.ratePerSecond} requests/s per region, burst ` +
      `${o.budget.burst}** (\`--apprunner-rate-limit\`, \`--apprunner-burst\`), IAM at its default 2/s. The ` +
      `simulator throttles per account: one bucket for reads and one for mutations, each ${b.ratePerSecond}/s with ` +
      `a burst of ${b.burst} (every region's budget plus IAM's), so an operator within its budget is ` +
      'throttled only when delays on the way bunch its calls past the burst. The rate is chosen so that N = 5,000 runs in reasonable time here; the bounds scale with it.',
    `- Operation timings: PENDING ${t.operationPendingMs} ms, IN_PROGRESS ${t.operationDurationMs} ms, ` +
      `first association of a subnet+SG combination +${t.firstAssociationDelayMs} ms (compressed from AWS's ` +
      `minutes); every call ${result.callLatency.fixedMs}–${result.callLatency.fixedMs + result.callLatency.jitterMs} ms.`,
    '- Workload per N: groups of one VpcConnector and three ServiceNetworkings sharing it (each on its own seeded ' +
      'App Runner service), round-robin over us-east-1, us-west-2 and eu-west-1, at most 200 objects per ' +
      'namespace, created 16 at a time through the API.',
    '- Order on the same objects: burst converge (operator at the default 10 min resync), restart (SIGKILL, a new ' +
      `process with the resync compressed to ${o.resyncMs / 1000} s), steady state (${o.steadyWindowMs / 1000} s ` +
      `observed), ${o.edits} single edits one at a time, teardown (delete everything at once).`,
    '- Counting: AWS calls and error codes from the simulator’s audit log (the operator’s calls only); SDK ' +
      'retries and work-queue retries from the operator’s metrics; Kubernetes writes from a watch on both kinds ' +
      'and on Events (every resourceVersion change that is not the benchmark’s own create, edit or delete); ' +
      '"verified" after a restart = a "Reconciled object" log line for the object from the new process; RSS from ' +
      '/proc, heap from the operator’s `nodejs_heap_size_*` metrics.',
    '- Lower bound: the fewest calls (one create or delete per connector, one UpdateService per ' +
      'ServiceNetworking, the List pages) at the limiter’s rate per region, plus the operation time that cannot ' +
      'overlap. A ratio of 1.0x is the best any operator could do under this budget.',
    '',
    targetsSection(result, checks),
    '',
    ...result.sizes.map(sizeSection),
    '',
  ].join('\n');
}
