// The one test command (`npm test`): typecheck, lint, then every test file under test/ with node's test
// runner. `npm test -- unit` runs only test/unit. Ends with the plain summary line CI reads.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseBackend } from '../test/harness/cluster.ts';
import { ensureBinaries, hasGo } from '../test/harness/control-plane.ts';

const suite = process.argv[2] ?? 'all';
const suites: Record<string, string[]> = {
  unit: ['test/unit/**/*.test.ts'],
  contract: ['test/contract/**/*.test.ts'],
  integration: ['test/integration/**/*.test.ts'],
  all: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts', 'test/integration/**/*.test.ts'],
};
const globs = suites[suite];
if (globs === undefined) {
  console.error(`unknown suite "${suite}"; use one of: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}

function run(label: string, cmd: string, args: string[]): void {
  const started = Date.now();
  const result = spawnSync(cmd, args, { stdio: 'inherit' });
  console.log(
    `${label}: ${result.status === 0 ? 'ok' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)}s`,
  );
  if (result.status !== 0) {
    console.log('0 passed, 1 failed');
    process.exit(result.status ?? 1);
  }
}

if (suite === 'all') {
  run('typecheck', 'npx', ['--no-install', 'tsc', '--noEmit', '-p', 'tsconfig.json']);
  run('lint', 'npx', ['--no-install', 'eslint', '.']);
}

// Build the control plane once, before test files start in parallel, so a cold cache shows up as one
// clearly labelled step rather than as the first integration test taking minutes.
if (globs.some((glob) => glob.startsWith('test/integration')) && chooseBackend() === 'go') {
  const started = Date.now();
  await ensureBinaries((line) => {
    console.log(line);
  });
  console.log(`control plane binaries: ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

// The other Go tools the integration tests drive (helm for the chart, the GitOps checker with gopher-lua and
// kstatus), built the same way, once, up front; each script reuses what its cache already has.
if (globs.some((glob) => glob.startsWith('test/integration')) && hasGo()) {
  for (const [label, script] of [
    ['helm', 'scripts/build-helm.sh'],
    ['gitops-check', 'scripts/build-gitops-check.sh'],
  ] as const) {
    const started = Date.now();
    const built = spawnSync('bash', [script], { stdio: ['ignore', 'ignore', 'inherit'] });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    // A failed build is not fatal here: the tests that need the tool build it again and report why.
    console.log(`${label}: ${built.status === 0 ? 'ready' : 'FAILED to build'} in ${seconds}s`);
  }
}

const outDir = mkdtempSync(join(tmpdir(), 'apprunner-net-test-'));
const tap = join(outDir, 'results.tap');
const started = Date.now();
const result = spawnSync(
  process.execPath,
  [
    '--test',
    // No test may hang CI: one that runs longer than this fails (the slowest today takes about 2 minutes).
    `--test-timeout=${process.env.APPRUNNER_NET_TEST_TIMEOUT_MS ?? '600000'}`,
    `--test-concurrency=${process.env.APPRUNNER_NET_TEST_CONCURRENCY ?? '2'}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...globs,
  ],
  { stdio: 'inherit' },
);
const text = readFileSync(tap, 'utf8');
const count = (name: string): number => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
rmSync(outDir, { recursive: true, force: true });
const passed = count('pass');
const failed = count('fail') + count('cancelled');
const skipped = count('skipped');
console.log(`tests finished in ${((Date.now() - started) / 1000).toFixed(1)}s`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(result.status ?? 1);
