// Fixtures of the operator integration tests: a real API server (the harness), the simulator started in the
// test process, and the operator as a separate process (`bin/apprunner-net.js run`) whose JSON logs are
// captured. One control plane per test file; per test a namespace, a simulator and an operator, all closed
// by `world.finish()` (which also asserts that the simulator saw no invariant violation).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AppRunnerClient,
  CreateVpcConnectorCommand,
  DeleteVpcConnectorCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-apprunner';
import {
  CustomObjectsApi,
  EventsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { API_VERSION, GROUP, Kind, OwnershipTag, Plural, VERSION } from '../../../src/api/constants.ts';
import { crds } from '../../../src/api/crds.ts';
import type { VpcConnector, VpcConnectorSpec } from '../../../src/api/vpcconnector.ts';
import type { ServiceNetworking, ServiceNetworkingSpec } from '../../../src/api/servicenetworking.ts';
import { startSimulator, type RunningSimulator, type SimulatorConfig } from '../../../src/simulator/index.ts';
import { startTestCluster, type TestCluster } from '../../harness/cluster.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const REGION = 'us-east-1';
export const SUBNETS = [
  'subnet-0a1b2c3d4e5f60001',
  'subnet-0a1b2c3d4e5f60002',
  'subnet-0a1b2c3d4e5f60003',
] as const;
export const SECURITY_GROUP = 'sg-0a1b2c3d4e5f60001';
/** The access key of the test's own SDK calls (the operator uses its dummy one, `apprunner-net`). */
export const TEST_CALLER = 'test-harness';
export const MUTATING = new Set([
  'CreateVpcConnector',
  'DeleteVpcConnector',
  'TagResource',
  'UntagResource',
  'UpdateService',
  'CreateServiceLinkedRole',
  'DeleteServiceLinkedRole',
]);

/** Short simulator durations so that every test takes seconds. */
export const fastSimulator: SimulatorConfig = {
  timings: {
    operationPendingMs: 50,
    operationDurationMs: 300,
    firstAssociationDelayMs: 200,
    slrDeletionNotStartedMs: 100,
    slrDeletionInProgressMs: 300,
  },
  // The tests themselves mutate resources the operator created (out-of-band deletion, moving a service);
  // a second caller is only suspicious within moments of the operator's own write.
  behaviour: { concurrentCallerWindowMs: 500 },
};

// ---- polling ----

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every 100 ms until it returns a value other than undefined/false. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 20_000,
  describe?: () => Promise<string> | string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const context = describe === undefined ? '' : `\n${await describe()}`;
      throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${what}${context}`, { cause: lastError });
    }
    await sleep(100);
  }
}

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return port;
}

// ---- the operator process ----

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface OperatorProcess {
  readonly pid: number;
  readonly logs: LogLine[];
  /** Lines that were not JSON (a crash trace). */
  readonly rawErrors: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(match: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM and wait (SIGKILL after 15 s). */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL and wait: a crash at this instant. */
  kill(): Promise<void>;
  tail(lines?: number): string;
}

export interface OperatorOptions {
  kubeconfigPath: string;
  endpoint: string;
  /** The watch scope; undefined = every namespace. */
  namespace: string | undefined;
  clusterName: string;
  args?: readonly string[];
  /** Options for node itself, before the script (e.g. the image's heap settings). */
  nodeOptions?: readonly string[];
}

export function startOperator(options: OperatorOptions): OperatorProcess {
  const args = [
    ...(options.nodeOptions ?? []),
    join(root, 'bin', 'apprunner-net.js'),
    'run',
    '--aws-endpoint-url',
    options.endpoint,
    '--region',
    REGION,
    '--cluster-name',
    options.clusterName,
    '--bind-address',
    '127.0.0.1',
    '--health-port',
    '0',
    '--metrics-port',
    '0',
    // The default resync (10 min) is far longer than any test: a pass that only a resync would start shows up
    // as a timeout, so a missing watch or requeue cannot hide. Tests that change AWS behind the operator's
    // back (which only a resync can notice) ask for a short one in their own args.
    '--resync-period',
    '10m',
    '--log-level',
    'debug',
    ...(options.namespace === undefined ? [] : ['--namespace', options.namespace]),
    ...(options.args ?? []),
  ];
  // A clean environment: no AWS credentials or profile of the machine running the tests.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    KUBECONFIG: options.kubeconfigPath,
  };
  const child: ChildProcess = spawn(join(root, 'node_modules', '.bin', 'node'), args, {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const rawErrors: string[] = [];
  const waiters = new Set<() => void>();
  let buffered = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        rawErrors.push(line);
      }
      newline = buffered.indexOf('\n');
    }
    for (const wake of waiters) wake();
  });
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
  let done: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((result) => {
    done = result;
  });
  const tail = (n = 40): string =>
    [...logs.slice(-n).map((l) => JSON.stringify(l)), ...rawErrors.slice(-20)].join('\n');

  return {
    pid: child.pid ?? 0,
    logs,
    rawErrors,
    exited,
    async waitForLog(match, what, timeoutMs = 20_000) {
      return waitFor(
        () =>
          logs.find(match) ?? (done === undefined ? undefined : Promise.reject(new Error('operator exited'))),
        `operator log: ${what}`,
        timeoutMs,
        () => tail(),
      );
    },
    async stop() {
      if (done !== undefined) return done;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    async kill() {
      if (done !== undefined) return;
      child.kill('SIGKILL');
      await exited;
    },
    tail,
  };
}

// ---- the environment of one test file ----

export interface Env {
  cluster: TestCluster;
  /** A namespace, a simulator and an operator for one test. */
  world(options?: WorldOptions): Promise<World>;
  stop(): Promise<void>;
}

export interface WorldOptions {
  simulator?: SimulatorConfig;
  /** Extra flags of `apprunner-net run`. */
  operatorArgs?: readonly string[];
  /** Start without an operator (call world.startOperator()). */
  deferOperator?: boolean;
  /** Point the operator at this URL instead of the simulator (a proxy in front of it). */
  endpoint?: (simulatorUrl: string) => Promise<string> | string;
  /** Pre-create the networking service-linked role. */
  serviceLinkedRole?: boolean;
  /** The operator's kubeconfig (e.g. a ServiceAccount's); default the harness admin's. */
  kubeconfigPath?: string;
  /** Watch every namespace (as the shipped Deployment does) instead of the test's own. */
  clusterWide?: boolean;
}

export async function startEnv(): Promise<Env> {
  const cluster = await startTestCluster();
  await cluster.installCrds(crds);
  return {
    cluster,
    world: (options) => startWorld(cluster, options ?? {}),
    stop: () => cluster.stop(),
  };
}

export interface CallRecord {
  seq: number;
  caller: string;
  operation: string;
  params: Record<string, unknown>;
  status: number;
  errorCode?: string;
}

export interface SimConnector {
  arn: string;
  name: string;
  status: 'ACTIVE' | 'INACTIVE';
  tags: { Key: string; Value: string }[];
  subnets: string[];
}

export interface World {
  namespace: string;
  clusterName: string;
  sim: RunningSimulator;
  operator: OperatorProcess;
  /** The seeded App Runner service. */
  serviceArn: string;
  appRunner: AppRunnerClient;
  kube: KubeClient;
  startOperator(args?: readonly string[]): Promise<OperatorProcess>;
  admin<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
  /** Every AWS call the simulator answered, oldest first. */
  calls(): Promise<CallRecord[]>;
  operatorMutations(): Promise<CallRecord[]>;
  connectors(): Promise<SimConnector[]>;
  /** Creates a connector as the test (another caller), with these tags. */
  createConnector(name: string, tags: Record<string, string>): Promise<string>;
  deleteConnector(arn: string): Promise<void>;
  /** Moves the seeded service's egress (VPC through `connectorArn`, or DEFAULT) and waits for RUNNING. */
  moveService(connectorArn: string | undefined): Promise<void>;
  ownershipTags(name: string): Record<string, string>;
  /** Stops the operator and the simulator, and asserts no invariant violation was recorded. */
  finish(): Promise<void>;
}

let worlds = 0;

async function startWorld(cluster: TestCluster, options: WorldOptions): Promise<World> {
  worlds++;
  const namespace = await cluster.newNamespace('op');
  const clusterName = `it-${process.pid}-${worlds}`;
  const sim = await startSimulator({ config: { ...fastSimulator, ...options.simulator } });
  const admin = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${sim.url}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`simulator ${method} ${path}: HTTP ${response.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const seeded = await admin<{ services: { arn: string }[] }>('POST', '/_sim/seed', {
    serviceLinkedRole: options.serviceLinkedRole ?? false,
    regions: {
      [REGION]: {
        vpcs: [
          {
            vpcId: 'vpc-0a1b2c3d4e5f60001',
            subnets: SUBNETS.map((subnetId) => ({ subnetId })),
            securityGroups: [{ groupId: SECURITY_GROUP, groupName: 'app' }],
          },
        ],
        services: [{ serviceName: 'web-app' }],
      },
    },
  });
  const serviceArn = seeded.services[0]?.arn ?? '';
  const appRunner = new AppRunnerClient({
    region: REGION,
    endpoint: sim.url,
    credentials: { accessKeyId: TEST_CALLER, secretAccessKey: 'test' },
  });
  const endpoint = options.endpoint === undefined ? sim.url : await options.endpoint(sim.url);
  const kube = kubeClient(cluster.kubeConfig, namespace);
  let operator: OperatorProcess | undefined;
  const launch = async (args?: readonly string[]): Promise<OperatorProcess> => {
    operator = startOperator({
      kubeconfigPath: options.kubeconfigPath ?? cluster.kubeconfigPath,
      endpoint,
      namespace: options.clusterWide === true ? undefined : namespace,
      clusterName,
      args: args ?? options.operatorArgs ?? [],
    });
    const started = operator;
    await started.waitForLog((l) => l.msg === 'Started workers', 'workers started', 30_000);
    return started;
  };
  if (options.deferOperator !== true) await launch();
  const calls = async (): Promise<CallRecord[]> =>
    (await admin<{ calls: CallRecord[] }>('GET', '/_sim/calls')).calls;
  const connectors = async (): Promise<SimConnector[]> => {
    const state = await admin<{ regions: Record<string, { vpcConnectors: SimConnector[] }> }>(
      'GET',
      '/_sim/state',
    );
    return state.regions[REGION]?.vpcConnectors ?? [];
  };

  const world: World = {
    namespace,
    clusterName,
    sim,
    get operator() {
      if (operator === undefined) throw new Error('the operator was not started');
      return operator;
    },
    serviceArn,
    appRunner,
    kube,
    startOperator: launch,
    admin,
    calls,
    async operatorMutations() {
      return (await calls()).filter((c) => c.caller.startsWith('apprunner-net') && MUTATING.has(c.operation));
    },
    connectors,
    async createConnector(name, tags) {
      const out = await appRunner.send(
        new CreateVpcConnectorCommand({
          VpcConnectorName: name,
          Subnets: [SUBNETS[0]],
          SecurityGroups: [SECURITY_GROUP],
          Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
      return out.VpcConnector?.VpcConnectorArn ?? '';
    },
    async deleteConnector(arn) {
      await appRunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: arn }));
    },
    async moveService(connectorArn) {
      await waitFor(async () => {
        try {
          await appRunner.send(
            new UpdateServiceCommand({
              ServiceArn: serviceArn,
              NetworkConfiguration: {
                EgressConfiguration:
                  connectorArn === undefined
                    ? { EgressType: 'DEFAULT' }
                    : { EgressType: 'VPC', VpcConnectorArn: connectorArn },
              },
            }),
          );
          return true;
        } catch (err) {
          // The previous operation may still run: InvalidStateException; try again.
          if ((err as { name?: string }).name === 'InvalidStateException') return false;
          throw err;
        }
      }, 'UpdateService accepted');
      await waitFor(async () => {
        const state = await admin<{
          regions: Record<string, { services: { arn: string; status: string }[] }>;
        }>('GET', '/_sim/state');
        return state.regions[REGION]?.services.find((s) => s.arn === serviceArn)?.status === 'RUNNING';
      }, 'the service is RUNNING again');
    },
    ownershipTags: (name) => ({
      [OwnershipTag.cluster]: clusterName,
      [OwnershipTag.namespace]: namespace,
      [OwnershipTag.name]: name,
    }),
    async finish() {
      const result = operator === undefined ? undefined : await operator.stop();
      const { violations } = await admin<{ violations: { invariant: string; detail: string }[] }>(
        'GET',
        '/_sim/violations',
      );
      appRunner.destroy();
      await sim.close();
      // "Two callers mutated one resource" guards against two operators at once. The operator repairing what
      // the test itself just changed behind its back (a connector deleted out of band, recreated) is the
      // reaction the test asks for, however quickly it comes.
      const reactions = violations.filter(
        (v) => v.invariant.startsWith('I7:') && v.detail.startsWith(`${TEST_CALLER} mutated it`),
      );
      assert.deepEqual(
        violations.filter((v) => !reactions.includes(v)),
        [],
        'the simulator recorded invariant violations',
      );
      if (result !== undefined) {
        assert.equal(result.code, 0, `the operator exits 0 on SIGTERM\n${operator?.tail() ?? ''}`);
      }
    },
  };
  return world;
}

// ---- Kubernetes ----

export interface KubeClient {
  api: CustomObjectsApi;
  createConnector(name: string, spec: Partial<VpcConnectorSpec>): Promise<VpcConnector>;
  getConnector(name: string): Promise<VpcConnector | undefined>;
  patchConnectorSpec(name: string, spec: Partial<VpcConnectorSpec>): Promise<void>;
  deleteConnector(name: string): Promise<void>;
  createServiceNetworking(name: string, spec: ServiceNetworkingSpec): Promise<void>;
  deleteServiceNetworking(name: string): Promise<void>;
  getServiceNetworking(name: string): Promise<ServiceNetworking | undefined>;
  /** Waits until `check` holds for the object; fails with its status and `context`. */
  waitForConnector(
    name: string,
    check: (o: VpcConnector) => boolean,
    what: string,
    context?: () => string,
    timeoutMs?: number,
  ): Promise<VpcConnector>;
  waitForGone(name: string, context?: () => string, timeoutMs?: number): Promise<void>;
  /** Reasons of the Events about `name`, oldest first. */
  eventReasons(name: string): Promise<string[]>;
}

const connectorRef = { group: GROUP, version: VERSION, plural: Plural.VpcConnector };
const snRef = { group: GROUP, version: VERSION, plural: Plural.ServiceNetworking };

function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404;
}

export function condition(
  o: VpcConnector | undefined,
  type: string,
): { status: string; reason: string; message: string } | undefined {
  return o?.status?.conditions?.find((c) => c.type === type);
}

/** A ServiceNetworking as the API server has it now; undefined when it does not exist. */
export async function getServiceNetworking(
  kubeConfig: KubeConfig,
  namespace: string,
  name: string,
): Promise<ServiceNetworking | undefined> {
  try {
    return (await kubeConfig
      .makeApiClient(CustomObjectsApi)
      .getNamespacedCustomObject({ ...snRef, namespace, name })) as ServiceNetworking;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export function kubeClient(kubeConfig: KubeConfig, namespace: string): KubeClient {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const events = kubeConfig.makeApiClient(EventsV1Api);
  const get = async (name: string): Promise<VpcConnector | undefined> => {
    try {
      return (await api.getNamespacedCustomObject({ ...connectorRef, namespace, name })) as VpcConnector;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  return {
    api,
    async createConnector(name, spec) {
      const body = { apiVersion: API_VERSION, kind: Kind.VpcConnector, metadata: { name, namespace }, spec };
      return (await api.createNamespacedCustomObject({ ...connectorRef, namespace, body })) as VpcConnector;
    },
    getConnector: get,
    async patchConnectorSpec(name, spec) {
      await api.patchNamespacedCustomObject(
        { ...connectorRef, namespace, name, body: { spec } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    },
    async deleteConnector(name) {
      await api.deleteNamespacedCustomObject({ ...connectorRef, namespace, name });
    },
    async createServiceNetworking(name, spec) {
      const body: ServiceNetworking = {
        apiVersion: API_VERSION,
        kind: Kind.ServiceNetworking,
        metadata: { name, namespace },
        spec,
      };
      await api.createNamespacedCustomObject({ ...snRef, namespace, body });
    },
    getServiceNetworking: (name) => getServiceNetworking(kubeConfig, namespace, name),
    async deleteServiceNetworking(name) {
      await api.deleteNamespacedCustomObject({ ...snRef, namespace, name });
    },
    async waitForConnector(name, check, what, context, timeoutMs = 20_000) {
      let last: VpcConnector | undefined;
      return waitFor(
        async () => {
          last = await get(name);
          return last !== undefined && check(last) ? last : undefined;
        },
        `VpcConnector ${namespace}/${name}: ${what}`,
        timeoutMs,
        () => `status: ${JSON.stringify(last?.status, null, 1)}\n${context?.() ?? ''}`,
      );
    },
    async waitForGone(name, context, timeoutMs = 20_000) {
      let last: VpcConnector | undefined;
      await waitFor(
        async () => {
          last = await get(name);
          return last === undefined;
        },
        `VpcConnector ${namespace}/${name} is gone`,
        timeoutMs,
        () => `status: ${JSON.stringify(last?.status, null, 1)}\n${context?.() ?? ''}`,
      );
    },
    async eventReasons(name) {
      const list = await events.listNamespacedEvent({ namespace });
      return list.items
        .filter((e) => e.regarding?.name === name)
        .sort((a, b) => String(a.eventTime).localeCompare(String(b.eventTime)))
        .map((e) => e.reason ?? '');
    },
  };
}

// ---- a proxy that can swallow responses ----

export interface HoldingProxy {
  url: string;
  /** While true, CreateVpcConnector gets no response (AWS performs it unless `forwardHeld` is false). */
  holdCreates: boolean;
  /** Whether a held CreateVpcConnector reaches the simulator at all. Default true. */
  forwardHeld: boolean;
  /** CreateVpcConnector requests held so far. */
  held: number;
  /**
   * Requests (by App Runner operation name, e.g. `ListOperations`) for which this returns true never reach
   * the simulator and never get an answer: a half-open socket. Counted in `silenced`.
   */
  silence?: (operation: string) => boolean;
  silenced: number;
  close(): Promise<void>;
}

/** A loopback HTTP proxy in front of the simulator, to lose the answer of a create that AWS performed. */
export async function startHoldingProxy(target: string): Promise<HoldingProxy> {
  const upstream = new URL(target);
  const held = new Set<ServerResponse>();
  const proxy: HoldingProxy = {
    url: '',
    holdCreates: true,
    forwardHeld: true,
    held: 0,
    silenced: 0,
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      const operation = typeof target === 'string' ? target.replace(/^AppRunner\./, '') : '';
      if (proxy.silence?.(operation) === true) {
        proxy.silenced++;
        held.add(res);
        return;
      }
      const hold = proxy.holdCreates && target === 'AppRunner.CreateVpcConnector';
      if (hold) proxy.held++;
      if (hold && !proxy.forwardHeld) {
        held.add(res);
        return;
      }
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (c: Buffer) => body.push(c));
          answer.on('end', () => {
            if (hold) {
              held.add(res);
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(body));
          });
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const res of held) res.destroy();
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
  return proxy;
}
