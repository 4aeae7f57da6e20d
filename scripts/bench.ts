// `npm run bench`: the operator's performance under load, measured end to end (a real API server, the
// simulator and the operator as separate processes), printed as tables and, for the full profile, written
// to docs/benchmarks.md. Scenarios, counting and bounds: test/bench/run.ts and docs/benchmarks.md.
//
//   npm run bench                             full profile (N = 100, 1,000, 5,000), writes docs/benchmarks.md
//   npm run bench -- --profile small          N = 20 in under two minutes (what CI runs); writes nothing
//   npm run bench -- --n 100,1000             chosen sizes (full-profile settings otherwise)
//   npm run bench -- --out /tmp/b.md --json /tmp/b.json
//   npm run bench -- --merge a.json,b.json --out docs/benchmarks.md   one report from runs saved with --json
// Tuning: --rate R and --burst B (the operator's App Runner budget per region; the simulator's buckets
// follow), --resync 30s, --window 120s (steady state), --edits 20, --phase-timeout 20m (how long burst
// converge, restart or teardown may take before it is reported unfinished; default 1 min + 1 s per object).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { parseDuration } from '../src/run-args.ts';
import { renderReport } from '../test/bench/report.ts';
import { runBench, type BenchOptions, type BenchResult } from '../test/bench/run.ts';

// The steady-state window of each profile is longer than the 30 s for which the operator's shared AWS view
// answers from one listing, so that at least one refresh falls inside it.
const profiles = {
  full: {
    sizes: [100, 1000, 5000],
    resync: '30s',
    window: '120s',
    edits: 20,
    perObjectMs: 1_000,
    out: 'docs/benchmarks.md',
  },
  small: { sizes: [20], resync: '8s', window: '32s', edits: 5, perObjectMs: 3_000, out: undefined },
} as const;

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'full' },
    n: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
    rate: { type: 'string', default: '20' },
    burst: { type: 'string', default: '20' },
    resync: { type: 'string' },
    window: { type: 'string' },
    edits: { type: 'string' },
    'phase-timeout': { type: 'string' },
    merge: { type: 'string' },
  },
});
const profileName = values.profile;
if (profileName !== 'full' && profileName !== 'small') {
  console.error(`--profile must be full or small, got "${profileName}"`);
  process.exit(2);
}
const profile = profiles[profileName];
const positive = (text: string, what: string): number => {
  const v = Number(text);
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`${what} must be a positive integer, got "${text}"`);
    process.exit(2);
  }
  return v;
};
const sizes =
  values.n === undefined ? [...profile.sizes] : values.n.split(',').map((t) => positive(t.trim(), '--n'));
const options: BenchOptions = {
  sizes,
  budget: { ratePerSecond: positive(values.rate, '--rate'), burst: positive(values.burst, '--burst') },
  resyncMs: parseDuration(values.resync ?? profile.resync),
  steadyWindowMs: parseDuration(values.window ?? profile.window),
  edits: values.edits === undefined ? profile.edits : positive(values.edits, '--edits'),
  timeoutMsPerObject: profile.perObjectMs,
  ...(values['phase-timeout'] === undefined
    ? {}
    : { phaseTimeoutMs: parseDuration(values['phase-timeout']) }),
  log: (line) => {
    console.error(`${new Date().toISOString().slice(11, 19)} ${line}`);
  },
};

const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(
  ' ',
);

/**
 * `--merge a.json,b.json`: one report from runs saved with --json (sizes measured separately, e.g. N = 5,000
 * on its own), provided they used the same budget and timings.
 */
function merged(paths: readonly string[]): { result: BenchResult; command: string } {
  const parts = paths.map((p) => JSON.parse(readFileSync(p, 'utf8')) as BenchResult & { command?: string });
  const [first] = parts;
  if (first === undefined) throw new Error('--merge needs at least one file');
  const same = (r: BenchResult): string =>
    JSON.stringify([
      r.options.budget,
      r.options.resyncMs,
      r.options.steadyWindowMs,
      r.timings,
      r.callLatency,
    ]);
  const odd = parts.find((r) => same(r) !== same(first));
  if (odd !== undefined) {
    console.error('--merge: the runs used different budgets, resyncs, windows or timings; not merging');
    process.exit(2);
  }
  return {
    result: { ...first, sizes: parts.flatMap((r) => r.sizes).sort((a, b) => a.n - b.n) },
    command: parts.map((r) => r.command ?? 'unknown').join('`, `'),
  };
}

const run =
  values.merge === undefined
    ? { result: await runBench(options), command }
    : merged(values.merge.split(',').map((p) => p.trim()));
// Formatted as the repository formats Markdown, so that `npm run format:check` accepts the written file.
const report = await format(renderReport(run.result, run.command), {
  ...(await resolveConfig(join(process.cwd(), 'docs', 'benchmarks.md'))),
  parser: 'markdown',
});
console.log(report);
const out = values.out ?? (values.merge === undefined ? profile.out : undefined);
if (out !== undefined) {
  writeFileSync(out, report);
  console.error(`wrote ${out}`);
}
if (values.json !== undefined) {
  writeFileSync(values.json, JSON.stringify({ ...run.result, command: run.command }, null, 1));
}
