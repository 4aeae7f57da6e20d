// The GitOps test driver, tools/gitops-check: built from its Go module by scripts/build-gitops-check.sh into
// the cache (reused while its sources are unchanged), then run as a child process. It evaluates Argo CD's
// Lua health checks the way Argo CD does and computes kstatus the way Flux does.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasGo } from '../../harness/control-plane.ts';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where the Argo CD health checks live, one `<group>/<Kind>/health.lua` each. */
export const argocdDir = join(root, 'deploy', 'argocd');

export function healthScript(kind: string): string {
  return join(argocdDir, 'apprunnernet.dev', kind, 'health.lua');
}

/**
 * The path of the built driver, or why the tests that need it skip (no Go). Blocks while it builds: call it
 * in `before`, never while an operator's output must keep flowing. A build that fails is an error.
 */
export function buildGitopsCheck(): string | { skip: string } {
  if (!hasGo())
    return { skip: 'Go is not installed: tools/gitops-check cannot be built (install Go >= 1.26)' };
  const built = spawnSync('bash', [join(root, 'scripts', 'build-gitops-check.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const path = built.stdout.trim().split('\n').at(-1);
  if (built.status !== 0 || path === undefined || path === '') {
    throw new Error(`scripts/build-gitops-check.sh failed with exit code ${built.status}`);
  }
  return path;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the driver without blocking the event loop; `stdin` is written and closed. */
export function runGitopsCheck(bin: string, args: readonly string[], stdin = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
    // A command that reads no input may exit before the write lands: that EPIPE is not a failure (the exit code
    // and output say how it went), anything else is.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err);
    });
    child.stdin.end(stdin);
  });
}

/** Argo CD's health of one object, as the kind's health.lua reports it. */
export interface Health {
  status: string;
  message: string;
}

export async function luaHealth(bin: string, kind: string, object: unknown): Promise<Health> {
  const run = await runGitopsCheck(bin, ['lua-health-object', healthScript(kind)], JSON.stringify(object));
  if (run.code !== 0) throw new Error(`gitops-check lua-health-object failed (${run.code}): ${run.stderr}`);
  return JSON.parse(run.stdout) as Health;
}

/** kstatus's verdict on one object (sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute). */
export interface Kstatus {
  kind: string;
  namespace: string;
  name: string;
  status: 'InProgress' | 'Failed' | 'Current' | 'Terminating' | 'NotFound' | 'Unknown';
  message: string;
}

/** kstatus of each object (an array, or a List as `kubectl get -o json` prints it), in the same order. */
export async function kstatus(
  bin: string,
  objects: readonly unknown[] | { kind: 'List'; items: readonly unknown[] },
): Promise<Kstatus[]> {
  const run = await runGitopsCheck(bin, ['kstatus'], JSON.stringify(objects));
  if (run.code !== 0) throw new Error(`gitops-check kstatus failed (${run.code}): ${run.stderr}`);
  return run.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Kstatus);
}
