// `npm run chaos -- [--profile short|long] [--seed N] [--report FILE]`: one chaos run (test/chaos/runner.ts),
// its report printed, and written to FILE (default for the long profile: docs/chaos.md). Exits 1 on any
// invariant violation, 2 on a usage error.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { profiles } from '../test/chaos/profiles.ts';
import { renderReport } from '../test/chaos/report.ts';
import { runChaos } from '../test/chaos/runner.ts';
import { revision } from '../test/harness/revision.ts';

const MACHINE = process.env.APPRUNNER_NET_MACHINE ?? 'polyglot, 2 cores, 24 GiB';

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'short' },
    seed: { type: 'string' },
    report: { type: 'string' },
  },
});
const name = values.profile;
if (name !== 'short' && name !== 'long') {
  console.error(`--profile must be short or long, got "${name}"`);
  process.exit(2);
}
const seed = values.seed === undefined ? Math.floor(Math.random() * 1_000_000) : Number(values.seed);
if (!Number.isInteger(seed) || seed < 0) {
  console.error(`--seed must be a non-negative integer, got "${values.seed ?? ''}"`);
  process.exit(2);
}
const profile = profiles[name];
// Read before the run: the report describes the code that ran.
const code = revision();
console.log(`chaos: ${profile.name} profile, seed ${seed}`);
const report = await runChaos({
  profile,
  seed,
  log: (line) => {
    console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
  },
});
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Formatted as the repository formats Markdown, so that `npm run format:check` accepts the written file.
const text = await format(renderReport(report, `${MACHINE} (operator code ${code})`), {
  ...(await resolveConfig(join(root, 'docs', 'chaos.md'))),
  parser: 'markdown',
});
console.log(`\n${text}`);
const target = values.report ?? (profile.name === 'long' ? join(root, 'docs', 'chaos.md') : undefined);
if (target !== undefined) {
  writeFileSync(target, text);
  console.log(`report written to ${target}`);
}
if (report.violations.length > 0) {
  console.error(`chaos: ${report.violations.length} invariant violation(s)`);
  process.exit(1);
}
console.log('chaos: no invariant violation');
