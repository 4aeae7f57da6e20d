// `npm run demo` as CI runs it: stdout is not a terminal, so the demo prints lines of what changed and the
// tables at the end of each phase. Each run gets its own TMPDIR, which holds every temporary directory the
// demo and its control plane create; after exit it must be empty, and no process may still name it (in its
// command line or its environment: kube-apiserver and etcd take their data directory as flags, the operator
// its KUBECONFIG).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { GROUP, Plural, VERSION } from '../../../src/api/constants.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const workDirs: string[] = [];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
}

interface DemoRun {
  pid: number;
  /** Its own TMPDIR. */
  tmp: string;
  output(): string;
  /** Resolves with the first match of `pattern` in the output; fails after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  exited(timeoutMs: number): Promise<Exit>;
  signal(name: NodeJS.Signals): void;
}

/** Starts the demo with stdout and stderr piped (no terminal), in a fresh TMPDIR. */
function startDemo(command: 'npm' | 'node', args: readonly string[]): DemoRun {
  const work = mkdtempSync(join(tmpdir(), 'apprunner-net-demo-test-'));
  workDirs.push(work);
  const tmp = join(work, 'tmp');
  mkdirSync(tmp);
  const demoArgs = ['--log-file', join(work, 'operator.log'), ...args];
  const [file, argv] =
    command === 'npm'
      ? ['npm', ['run', '--silent', 'demo', '--', ...demoArgs]]
      : [process.execPath, [join(root, 'scripts', 'demo.ts'), ...demoArgs]];
  const started = Date.now();
  const child = spawn(file, argv, {
    cwd: root,
    env: { ...process.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exit = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      resolve({ code, signal, ms: Date.now() - started });
    });
  });
  const bounded = <T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; output:\n${out}`));
      }, timeoutMs);
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  return {
    pid: child.pid ?? 0,
    tmp,
    output: () => out,
    waitFor: (pattern, timeoutMs) =>
      bounded(
        new Promise<RegExpExecArray>((resolve, reject) => {
          const check = (): void => {
            const match = pattern.exec(out);
            if (match !== null) {
              clearInterval(poll);
              resolve(match);
            } else if (child.exitCode !== null) {
              clearInterval(poll);
              reject(new Error(`the demo exited before printing ${String(pattern)}; output:\n${out}`));
            }
          };
          const poll = setInterval(check, 100);
        }),
        timeoutMs,
        `the demo to print ${String(pattern)}`,
      ),
    exited: (timeoutMs) => bounded(exit, timeoutMs, 'the demo to exit'),
    signal: (name) => child.kill(name),
  };
}

/** Processes (other than this one) whose command line (and, with `environment`, environment) contains `text`. */
function processesNaming(text: string, environment: boolean): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const named =
        cmdline.includes(text) ||
        (environment && readFileSync(`/proc/${pid}/environ`, 'utf8').includes(text));
      if (named) found.push(`${pid}: ${cmdline.slice(0, 200)}`);
    } catch {
      // The process ended while being read, or belongs to someone else.
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Nothing the demo started survives it: kube-apiserver and etcd (their data directory is a flag) and the
 * operator are gone when it exits, its temporary directories are removed, and within seconds no process
 * names its TMPDIR even in its environment. (The harness's control-plane watchdog, a shell that outlives
 * every plane to kill it should its parent die, ends about 6 s after the demo.)
 */
async function assertNothingLeft(run: DemoRun): Promise<void> {
  assert.deepEqual(
    processesNaming(run.tmp, false),
    [],
    'no process names the demo TMPDIR on its command line',
  );
  const operatorPid = /operator running in [\d.]+ s \(pid (\d+)\)/.exec(run.output())?.[1];
  if (operatorPid !== undefined) assert.equal(alive(Number(operatorPid)), false, 'the operator has exited');
  // npm keeps Node's module compile cache in TMPDIR; that one is npm's, not the demo's.
  assert.deepEqual(
    readdirSync(run.tmp).filter((entry) => entry !== 'node-compile-cache'),
    [],
    'every temporary directory is removed',
  );
  const deadline = Date.now() + 15_000;
  let left = processesNaming(run.tmp, true);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    left = processesNaming(run.tmp, true);
  }
  assert.deepEqual(left, [], 'no process names the demo TMPDIR in its environment 15 s later');
}

/** The output between the heading `[n/total]` and the next one. */
function phase(out: string, n: number): string {
  const start = out.search(new RegExp(`^\\[${n}/\\d\\] `, 'm'));
  assert.ok(start >= 0, `phase ${n} is printed`);
  const rest = out.slice(start + 1);
  const next = rest.search(/^\[\d\/\d\] /m);
  return next < 0 ? rest : rest.slice(0, next);
}

after(() => {
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
});

describe('npm run demo', { concurrency: false }, () => {
  test('runs every phase without a terminal, prints changes as lines and the teardown in order, and leaves nothing running', async () => {
    const run = startDemo('npm', []);
    const exit = await run.exited(9 * 60_000);
    const out = run.output();
    assert.equal(exit.code, 0, out);
    console.log(`demo: exit 0 in ${(exit.ms / 1000).toFixed(1)} s`);

    // No terminal: no cursor movement, and the operator's JSON logs go to the log file, not here.
    assert.ok(!out.includes('\u001b['), 'no ANSI escape sequences');
    assert.doesNotMatch(out, /"level":/, 'no operator log lines');

    // Apply: lines of what changed, then the table with all five objects Ready.
    const apply = phase(out, 2);
    assert.match(apply, /namespace\/team-a serverside-applied/);
    // The first line may already be Ready=True when the connector is created within one poll; before it
    // there is always the line for the object the operator has not yet written a status for.
    assert.match(apply, /\+\s*[\d.]+s {2}vpcc\/shared {2}Ready=(-|False) /, 'a change line before Ready');
    for (const row of [
      /^ {2}vpcc\s+private-db\s+True\s+Available\s+team-a-private-db ACTIVE\s/m,
      /^ {2}vpcc\s+shared\s+True\s+Available\s+team-a-shared ACTIVE\s/m,
      /^ {2}svcnet\s+api\s+True\s+Attached\s+VPC team-a-shared\s/m,
      /^ {2}svcnet\s+internal\s+True\s+Attached\s+VPC team-a-private-db\s/m,
      /^ {2}svcnet\s+web\s+True\s+Attached\s+VPC team-a-shared\s/m,
    ]) {
      assert.match(apply, row);
    }
    assert.match(apply, /✓ all 5 objects Ready/);

    // Rotation: the services move to the new connector, then the old one goes.
    const rotation = phase(out, 3);
    assert.match(rotation, /✓ rotated: team-a-shared → team-a-shared-g2, every object Ready/);
    const rotationCalls = [
      /#\d+ .* CreateVpcConnector +team-a-shared-g2 /,
      /#\d+ .* UpdateService +team-a-(web|api) +move: egress VPC team-a-shared-g2 \(was team-a-shared\)/,
      /#\d+ .* UpdateService +team-a-(web|api) +move: egress VPC team-a-shared-g2 \(was team-a-shared\)/,
      /#\d+ .* DeleteVpcConnector +team-a-shared +revision 1/,
    ];
    assertInOrder(rotation, rotationCalls);
    assert.match(rotation, /✓ every service moved to the new connector before the old one was deleted/);

    // Teardown: every detach, then the connectors, then the role, with increasing sequence numbers.
    assert.match(phase(out, 4), /✓ every object gone, and the service-linked role with them/);
    const report = phase(out, 5);
    const seqs = assertInOrder(report, [
      /#(\d+) .* UpdateService +team-a-\w+ +detach: egress DEFAULT/,
      /#(\d+) .* UpdateService +team-a-\w+ +detach: egress DEFAULT/,
      /#(\d+) .* UpdateService +team-a-\w+ +detach: egress DEFAULT/,
      /#(\d+) .* DeleteVpcConnector +team-a-/,
      /#(\d+) .* DeleteVpcConnector +team-a-/,
      /#(\d+) .* DeleteServiceLinkedRole +AWSServiceRoleForAppRunnerNetworking/,
    ]);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'sequence numbers increase',
    );
    assert.match(
      report,
      /✓ every service detached before its connector was deleted, and the service-linked role deleted last/,
    );
    assert.match(report, /✓ the simulator recorded no invariant violation/);
    assert.match(out, /cleaned up: operator stopped \(exit code 0\), simulator closed/);
    assert.match(out, /demo finished in .*: every check passed/);
    await assertNothingLeft(run);
  });

  test('--keep leaves the examples Ready for kubectl, prints how to reach them, and Ctrl-C stops and cleans up with exit 0', async () => {
    const run = startDemo('node', ['--keep']);
    const [, kubeconfig] = await run.waitFor(/export KUBECONFIG=(\S+)/, 5 * 60_000);
    const [, simulator] = await run.waitFor(/export SIM=(\S+)/, 10_000);
    await run.waitFor(/Ctrl-C stops everything and cleans up/, 10_000);

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfig ?? '');
    const listed = (await kubeConfig.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'team-a',
      plural: Plural.ServiceNetworking,
    })) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
    assert.equal(listed.items.length, 3);
    for (const item of listed.items) {
      assert.equal(item.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    }
    const violations = (await (await fetch(`${simulator ?? ''}/_sim/violations`)).json()) as {
      violations: unknown[];
    };
    assert.deepEqual(violations.violations, []);

    run.signal('SIGINT');
    const exit = await run.exited(90_000);
    assert.equal(exit.code, 0, run.output());
    assert.match(run.output(), /stopped after/);
    await assertNothingLeft(run);
  });

  test('Ctrl-C while the examples become Ready stops everything and exits 130', async () => {
    const run = startDemo('node', []);
    await run.waitFor(/^ +\+[\d.]+s {2}vpcc\//m, 5 * 60_000);
    run.signal('SIGINT');
    const exit = await run.exited(90_000);
    assert.equal(exit.code, 130, run.output());
    assert.match(run.output(), /cleaned up: operator stopped/);
    assert.match(run.output(), /demo interrupted after/);
    await assertNothingLeft(run);
  });

  test('--help prints the flags and exits 0; an unknown flag exits 2', async () => {
    const help = startDemo('node', ['--help']);
    assert.equal((await help.exited(30_000)).code, 0);
    assert.match(help.output(), /--keep[\s\S]*--timeout SECONDS[\s\S]*--log-file PATH/);
    const bad = startDemo('node', ['--no-such-flag']);
    assert.equal((await bad.exited(30_000)).code, 2);
    assert.match(bad.output(), /Unknown option '--no-such-flag'/);
  });
});

/** Asserts that `patterns` match lines of `text` in this order; returns each match's first group as a number. */
function assertInOrder(text: string, patterns: readonly RegExp[]): number[] {
  const lines = text.split('\n');
  const numbers: number[] = [];
  let from = 0;
  for (const pattern of patterns) {
    const index = lines.findIndex((line, i) => i >= from && pattern.test(line));
    assert.ok(index >= 0, `a line matching ${String(pattern)} after line ${from}:\n${text}`);
    const group = pattern.exec(lines[index] ?? '')?.[1];
    if (group !== undefined && /^\d+$/.test(group)) numbers.push(Number(group));
    from = index + 1;
  }
  return numbers;
}
