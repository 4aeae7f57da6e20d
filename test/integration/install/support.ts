// Support of the install tests: rendering the kustomize base (deploy/) with the real `kubectl kustomize` and
// the chart (charts/apprunner-net) with a real `helm template`, reading a rendered Deployment's settings, and
// running an operator process with exactly those settings.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  KubernetesObject,
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1PodSpec,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { waitFor, type LogLine } from '../operator/fixtures.ts';

export const root = join(import.meta.dirname, '..', '..', '..');
export const chartDir = join(root, 'charts', 'apprunner-net');
export const deployDir = join(root, 'deploy');
/** The namespace deploy/ installs into, and so the release namespace of a rendering equivalent to it. */
export const BASE_NAMESPACE = 'apprunner-net-system';

/** The chart values under which `helm template` renders what deploy/ holds (its placeholders included). */
export const baseEquivalentValues = {
  region: 'us-east-1',
  clusterName: 'my-cluster',
  namespace: { create: true },
};

/** Every object of a multi-document YAML text, empty documents dropped. */
export function parseObjects(text: string): KubernetesObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => o !== null);
}

/** `kind namespace/name`, or `kind name` for a cluster-scoped object. */
export function objectKey(o: KubernetesObject): string {
  const ns = o.metadata?.namespace;
  return `${o.kind ?? '?'} ${ns === undefined ? '' : `${ns}/`}${o.metadata?.name ?? '?'}`;
}

/** The one object of this kind and name; fails naming what there is. */
export function find(objects: readonly KubernetesObject[], kind: string, name?: string): KubernetesObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (found.length !== 1) {
    throw new Error(
      `expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${found.length} among: ` +
        objects.map(objectKey).join(', '),
    );
  }
  return found[0] as KubernetesObject;
}

function run(
  command: string,
  args: readonly string[],
): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  if (result.error !== undefined) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `kubectl kustomize DIR`, as `kubectl apply -k DIR` would build it. */
export function kustomize(kubectl: string, dir: string): KubernetesObject[] {
  const result = run(kubectl, ['kustomize', dir]);
  if (result.code !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${result.stderr}`);
  return parseObjects(result.stdout);
}

/**
 * The helm binary built by scripts/build-helm.sh (in the cache; built on first use, a few minutes), or the
 * reason to skip when it cannot be built here (no Go).
 */
export function helmBinary(): string | { skip: string } {
  const result = spawnSync('bash', [join(root, 'scripts', 'build-helm.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.status === 3) return { skip: 'helm cannot be built without Go (scripts/build-helm.sh)' };
  if (result.status !== 0) throw new Error(`scripts/build-helm.sh failed with exit code ${result.status}`);
  const lines = result.stdout.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

export interface HelmOptions {
  releaseName?: string;
  namespace?: string;
  /** Extra arguments, e.g. `--set-string awsAccountId=...`. */
  args?: readonly string[];
}

/** `helm template` of the chart with these values; resolves with its exit code and output on failure. */
export function helmTemplateRaw(
  helm: string,
  values: object,
  options: HelmOptions = {},
): { code: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'apprunner-net-helm-'));
  try {
    const valuesFile = join(dir, 'values.json');
    writeFileSync(valuesFile, JSON.stringify(values));
    return run(helm, [
      'template',
      options.releaseName ?? 'apprunner-net',
      chartDir,
      '--namespace',
      options.namespace ?? BASE_NAMESPACE,
      '--values',
      valuesFile,
      ...(options.args ?? []),
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` of the chart with these values; throws with helm's message when it refuses them. */
export function helmTemplate(helm: string, values: object, options: HelmOptions = {}): KubernetesObject[] {
  const result = helmTemplateRaw(helm, values, options);
  if (result.code !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return parseObjects(result.stdout);
}

// ---- a rendered Deployment's settings ----

export interface PodIdentity {
  name: string;
  namespace: string;
}

export function podSpec(deployment: V1Deployment): V1PodSpec {
  const spec = deployment.spec?.template.spec;
  if (spec === undefined) throw new Error(`Deployment ${deployment.metadata?.name ?? ''} has no pod spec`);
  return spec;
}

export function operatorContainer(deployment: V1Deployment): V1Container {
  const container = podSpec(deployment).containers.find((c) => c.name === 'operator');
  if (container === undefined) throw new Error('the Deployment has no container named operator');
  return container;
}

/**
 * The container's environment as the kubelet would set it for this pod: literal values, and the Downward API
 * fields the manifests use (metadata.name, metadata.namespace). Anything else is an error, so that a new kind
 * of reference cannot be silently left out.
 */
export function containerEnv(env: readonly V1EnvVar[] | undefined, pod: PodIdentity): Record<string, string> {
  const out: Record<string, string> = {};
  for (const variable of env ?? []) {
    const field = variable.valueFrom?.fieldRef?.fieldPath;
    if (variable.value !== undefined) out[variable.name] = variable.value;
    else if (field === 'metadata.name') out[variable.name] = pod.name;
    else if (field === 'metadata.namespace') out[variable.name] = pod.namespace;
    else
      throw new Error(
        `environment variable ${variable.name}: unsupported source ${JSON.stringify(variable)}`,
      );
  }
  return out;
}

/** The port a named container port has, e.g. the probes' `probes`. */
export function containerPort(container: V1Container, name: string): number {
  const port = container.ports?.find((p) => p.name === name)?.containerPort;
  if (port === undefined) throw new Error(`container ${container.name} has no port named ${name}`);
  return port;
}

/**
 * The container's args with its own ports replaced (a local run shares the loopback with other tests): each
 * `--health-port=N` / `--metrics-port=N` must name a port the manifest declares, and becomes the given one.
 */
export function argsWithPorts(container: V1Container, ports: { health: number; metrics: number }): string[] {
  const probes = containerPort(container, 'probes');
  const metrics = containerPort(container, 'metrics');
  return (container.args ?? []).map((arg) => {
    const match = /^--(health|metrics)-port=(\d+)$/.exec(arg);
    if (match === null) return arg;
    const declared = match[1] === 'health' ? probes : metrics;
    if (Number(match[2]) !== declared) {
      throw new Error(
        `${arg} is not the declared ${match[1] === 'health' ? 'probes' : 'metrics'} port ${declared}`,
      );
    }
    return `--${match[1]}-port=${match[1] === 'health' ? ports.health : ports.metrics}`;
  });
}

// ---- an operator process ----

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[];
  /** Lines that were not JSON (a crash trace). */
  readonly rawErrors: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(match: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  tail(lines?: number): string;
  /** SIGKILL if it still runs. */
  kill(): Promise<void>;
}

/** Starts a process whose standard error carries the operator's JSON log lines, and captures them. */
export function startProcess(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd: string },
): RunningProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const rawErrors: string[] = [];
  let buffered = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    buffered += chunk;
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        rawErrors.push(line);
      }
    }
  });
  child.stdout.resume();
  let done: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = { code, signal };
      resolve(done);
    });
  });
  const tail = (n = 40): string =>
    [...logs.slice(-n).map((l) => JSON.stringify(l)), ...rawErrors.slice(-20)].join('\n');
  return {
    child,
    logs,
    rawErrors,
    exited,
    waitForLog: (match, what, timeoutMs = 30_000) =>
      waitFor(
        () =>
          logs.find(match) ??
          (done === undefined
            ? undefined
            : Promise.reject(new Error(`the process exited: ${JSON.stringify(done)}`))),
        `operator log: ${what}`,
        timeoutMs,
        () => tail(),
      ),
    tail,
    async kill() {
      if (done !== undefined) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** GET a probe or metrics path on loopback: the status and the body. */
export async function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}
