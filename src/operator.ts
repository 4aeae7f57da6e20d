// `apprunner-net run`: flags and environment variables, then one process = one operator: informers for both
// kinds, the VpcConnector controller, the AWS gateway, Events, leader election, probes and metrics, under the
// runtime's Manager (SIGTERM drains in-flight work and releases the lease).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import {
  CoordinationV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { GROUP, Plural, VERSION } from './api/constants.ts';
import { Pattern } from './api/common.ts';
import type { ServiceNetworking } from './api/servicenetworking.ts';
import type { VpcConnector } from './api/vpcconnector.ts';
import { createSdkGateway } from './aws/sdk-gateway.ts';
import type { ServiceLinkedRoleDeletion } from './controllers/vpcconnector/observe.ts';
import { createVpcConnectorReconciler, vpcConnectorResource } from './controllers/vpcconnector/reconciler.ts';
import {
  Controller,
  createLogger,
  createRuntimeMetrics,
  customResourceInformer,
  isLogLevel,
  KubernetesEventRecorder,
  LeaseLeaderElector,
  Manager,
  StatusWriter,
  watch,
  type CustomResourceType,
  type InformerSource,
  type Logger,
  type LogLevel,
  type ObjectKey,
} from './runtime/index.ts';

export interface RunOptions {
  region: string;
  awsEndpointUrl?: string;
  clusterName: string;
  managedRegions: string[];
  concurrency: number;
  resyncPeriodMs: number;
  leaderElect: boolean;
  leaderElectNamespace: string;
  leaderElectName: string;
  serviceLinkedRoleDeletion: ServiceLinkedRoleDeletion;
  bindAddress: string;
  healthPort: number;
  metricsPort: number;
  logLevel: LogLevel;
  /** Watch only this namespace; absent = every namespace. */
  namespace?: string;
}

export const runUsage = `usage: apprunner-net run [flags]

Starts the operator. Every flag can also be set by the environment variable shown; a flag wins.
Kubernetes access: in-cluster service account, else $KUBECONFIG, else ~/.kube/config.
AWS credentials: the SDK's default chain (environment, profile, IRSA / pod identity, instance metadata).

  --region REGION                        APPRUNNER_NET_REGION (else AWS_REGION)   required
      home region, and the region of VpcConnectors without spec.region
  --cluster-name NAME                    APPRUNNER_NET_CLUSTER_NAME               required
      ownership tag value on every AWS connector; two clusters sharing an account must differ
  --aws-endpoint-url URL                 APPRUNNER_NET_AWS_ENDPOINT_URL
      one endpoint for App Runner and IAM (the simulator); without AWS credentials in the
      environment, static dummy credentials are used and instance metadata is never read
  --managed-regions R1,R2                APPRUNNER_NET_MANAGED_REGIONS
      extra regions checked for connectors before the service-linked role may be deleted
  --service-linked-role-deletion MODE    APPRUNNER_NET_SERVICE_LINKED_ROLE_DELETION   Never
      Never, or WhenUnused: delete the role with the last connector in every managed region
  --concurrency N                        APPRUNNER_NET_CONCURRENCY                4
  --resync-period DURATION               APPRUNNER_NET_RESYNC_PERIOD              10m
      every object is reconciled again this often, which bounds how long a change made in AWS
      (a connector deleted out of band) goes unnoticed (e.g. 30s, 10m, 1h; 0 disables)
  --namespace NS                         APPRUNNER_NET_NAMESPACE
      watch only this namespace (default: all namespaces)
  --leader-elect / --no-leader-elect     APPRUNNER_NET_LEADER_ELECT (true|false)  false
  --leader-elect-namespace NS            APPRUNNER_NET_LEADER_ELECT_NAMESPACE
      default: the pod's namespace (POD_NAMESPACE or the service account's), else "default"
  --leader-elect-name NAME               APPRUNNER_NET_LEADER_ELECT_NAME          apprunner-net
  --bind-address HOST                    APPRUNNER_NET_BIND_ADDRESS               0.0.0.0
  --health-port PORT                     APPRUNNER_NET_HEALTH_PORT                8081
      /healthz and /readyz (0 picks a free port)
  --metrics-port PORT                    APPRUNNER_NET_METRICS_PORT               8080
      /metrics (0 picks a free port)
  --log-level LEVEL                      APPRUNNER_NET_LOG_LEVEL                  info
      error, info or debug; JSON lines on standard error
  -h, --help
`;

export type ParsedRun = { help: true } | { help: false; options: RunOptions };

/** A bad flag or value; the CLI prints the message and the usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const flagSpec = {
  region: { type: 'string' },
  'cluster-name': { type: 'string' },
  'aws-endpoint-url': { type: 'string' },
  'managed-regions': { type: 'string' },
  'service-linked-role-deletion': { type: 'string' },
  concurrency: { type: 'string' },
  'resync-period': { type: 'string' },
  namespace: { type: 'string' },
  'leader-elect': { type: 'boolean' },
  'leader-elect-namespace': { type: 'string' },
  'leader-elect-name': { type: 'string' },
  'bind-address': { type: 'string' },
  'health-port': { type: 'string' },
  'metrics-port': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flag = Exclude<keyof typeof flagSpec, 'help'>;

const envName = (flag: Flag): string => `APPRUNNER_NET_${flag.toUpperCase().replaceAll('-', '_')}`;

const regionPattern = new RegExp(Pattern.region);

/** Durations as Go writes them for controller flags: `500ms`, `30s`, `5m`, `10h`, `1h30m`, or `0`. */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let index = 0;
  for (let match = part.exec(text); match !== null; match = part.exec(text)) {
    total += Number(match[1]) * (units[match[2] ?? ''] ?? 0);
    index = part.lastIndex;
  }
  if (index === 0 || index !== text.length) {
    throw new UsageError(`"${text}" is not a duration (e.g. 500ms, 30s, 5m, 10h)`);
  }
  return Math.round(total);
}

function parseInteger(text: string, what: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${what} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

function parseRegion(text: string, what: string): string {
  if (!regionPattern.test(text))
    throw new UsageError(`${what} "${text}" is not an AWS region (e.g. us-east-1)`);
  return text;
}

/** The namespace this pod runs in, for the lease; `default` outside a cluster. */
function podNamespace(env: NodeJS.ProcessEnv): string {
  if (env.POD_NAMESPACE !== undefined && env.POD_NAMESPACE !== '') return env.POD_NAMESPACE;
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    return 'default';
  }
}

/** Flags first, then APPRUNNER_NET_* variables, then defaults. Throws UsageError on anything invalid. */
export function parseRunArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedRun {
  let values: Partial<Record<Flag | 'help', string | boolean>>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: flagSpec,
      strict: true,
      allowPositionals: false,
      allowNegative: true,
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help === true) return { help: true };
  const get = (flag: Flag): string | undefined => {
    const value = values[flag];
    if (typeof value === 'string') return value;
    const fromEnv = env[envName(flag)];
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  };

  const regionText = get('region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (regionText === undefined || regionText === '') {
    throw new UsageError('--region (or APPRUNNER_NET_REGION or AWS_REGION) is required');
  }
  const clusterName = get('cluster-name');
  if (clusterName === undefined)
    throw new UsageError('--cluster-name (or APPRUNNER_NET_CLUSTER_NAME) is required');
  if (clusterName.length > 256) throw new UsageError('--cluster-name is a tag value: at most 256 characters');

  const slrText = get('service-linked-role-deletion') ?? 'Never';
  if (slrText !== 'Never' && slrText !== 'WhenUnused') {
    throw new UsageError(`--service-linked-role-deletion must be Never or WhenUnused, got "${slrText}"`);
  }
  const logLevel = get('log-level') ?? 'info';
  if (!isLogLevel(logLevel))
    throw new UsageError(`--log-level must be error, info or debug, got "${logLevel}"`);

  let leaderElect: boolean;
  if (typeof values['leader-elect'] === 'boolean') leaderElect = values['leader-elect'];
  else {
    const text = env[envName('leader-elect')] ?? 'false';
    if (text !== 'true' && text !== 'false') {
      throw new UsageError(`${envName('leader-elect')} must be true or false, got "${text}"`);
    }
    leaderElect = text === 'true';
  }

  const endpoint = get('aws-endpoint-url');
  if (endpoint !== undefined) {
    try {
      new URL(endpoint);
    } catch {
      throw new UsageError(`--aws-endpoint-url "${endpoint}" is not a URL`);
    }
  }
  const options: RunOptions = {
    region: parseRegion(regionText, '--region'),
    clusterName,
    managedRegions: (get('managed-regions') ?? '')
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r !== '')
      .map((r) => parseRegion(r, '--managed-regions entry')),
    concurrency: parseInteger(get('concurrency') ?? '4', '--concurrency', 1, 64),
    resyncPeriodMs: parseDuration(get('resync-period') ?? '10m'),
    leaderElect,
    leaderElectNamespace: get('leader-elect-namespace') ?? podNamespace(env),
    leaderElectName: get('leader-elect-name') ?? 'apprunner-net',
    serviceLinkedRoleDeletion: slrText,
    bindAddress: get('bind-address') ?? '0.0.0.0',
    healthPort: parseInteger(get('health-port') ?? '8081', '--health-port', 0, 65535),
    metricsPort: parseInteger(get('metrics-port') ?? '8080', '--metrics-port', 0, 65535),
    logLevel,
  };
  if (endpoint !== undefined) options.awsEndpointUrl = endpoint;
  const namespace = get('namespace');
  if (namespace !== undefined) options.namespace = namespace;
  return { help: false, options };
}

/** Credentials: the SDK chain, except against a custom endpoint without any in the environment. */
function credentialsFor(
  options: RunOptions,
  env: NodeJS.ProcessEnv,
): { accessKeyId: string; secretAccessKey: string } | undefined {
  if (options.awsEndpointUrl === undefined) return undefined;
  const chainConfigured =
    env.AWS_ACCESS_KEY_ID !== undefined ||
    env.AWS_PROFILE !== undefined ||
    env.AWS_WEB_IDENTITY_TOKEN_FILE !== undefined ||
    env.AWS_CONTAINER_CREDENTIALS_FULL_URI !== undefined ||
    env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI !== undefined;
  if (chainConfigured) return undefined;
  // The simulator accepts any signature; these never leave the loopback endpoint.
  return { accessKeyId: 'apprunner-net', secretAccessKey: 'apprunner-net-simulator' };
}

/** The cache of one kind; the API server's JSON is T (client-node types timestamps as Date, JSON never does). */
function informerFor<T extends VpcConnector | ServiceNetworking>(
  kubeConfig: KubeConfig,
  resource: CustomResourceType,
  namespace: string | undefined,
  log: Logger,
): InformerSource<T> {
  const informer = customResourceInformer<KubernetesObject>(kubeConfig, resource, {
    log,
    // The controller's resync (--resync-period) re-reconciles every key; a second one here would only
    // duplicate it. The informer's watchdog still restarts a silent watch.
    resyncPeriodMs: 0,
    ...(namespace === undefined ? {} : { namespace }),
  });
  return informer as unknown as InformerSource<T>;
}

/** Per-key retry backoff of the VpcConnector queue. */
const QUEUE_BASE_DELAY_MS = 1_000;
const QUEUE_MAX_DELAY_MS = 5 * 60_000;

/** A ServiceNetworking change enqueues the VpcConnector it references, and the one it referenced before. */
export function referencedConnectors(): (sn: ServiceNetworking) => ObjectKey[] {
  const previous = new Map<string, string>();
  return (sn) => {
    const namespace = sn.metadata.namespace ?? '';
    const id = `${namespace}/${sn.metadata.name ?? ''}`;
    const names = new Set<string>();
    const before = previous.get(id);
    if (before !== undefined) names.add(before);
    const now = sn.spec.egress.vpcConnectorRef?.name;
    if (now !== undefined && sn.metadata.deletionTimestamp === undefined) previous.set(id, now);
    else previous.delete(id);
    if (now !== undefined) names.add(now);
    return [...names].map((name) => ({ namespace, name }));
  };
}

/** Runs the operator until SIGTERM/SIGINT or loss of leadership; resolves with the exit code. */
export async function runOperator(
  options: RunOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const log = createLogger({ level: options.logLevel });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  if (options.awsEndpointUrl !== undefined) {
    // A custom endpoint is a simulator or a proxy: never fall through to instance metadata for credentials.
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
  }
  const identity = `${env.POD_NAME ?? hostname()}_${randomUUID()}`;
  const metrics = createRuntimeMetrics({ processMetrics: true });
  const credentials = credentialsFor(options, env);
  const gateway = createSdkGateway({
    defaultRegion: options.region,
    registry: metrics.registry,
    userAgentAppId: 'apprunner-net',
    ...(options.awsEndpointUrl === undefined ? {} : { endpoint: options.awsEndpointUrl }),
    ...(credentials === undefined ? {} : { credentials }),
  });
  const connectors = informerFor<VpcConnector>(kubeConfig, vpcConnectorResource, options.namespace, log);
  const serviceNetworkings = informerFor<ServiceNetworking>(
    kubeConfig,
    { group: GROUP, version: VERSION, plural: Plural.ServiceNetworking, namespaced: true },
    options.namespace,
    log,
  );
  const events = new KubernetesEventRecorder({
    client: kubeConfig.makeApiClient(EventsV1Api),
    reportingController: `${GROUP}/apprunner-net`,
    reportingInstance: identity,
    log,
  });
  const controllerLog = log.child({ kind: 'VpcConnector' });
  const reconcile = createVpcConnectorReconciler({
    connectors,
    serviceNetworkings,
    gateway,
    client: customObjects,
    statusWriter: new StatusWriter({
      client: customObjects,
      resource: vpcConnectorResource,
      log: controllerLog,
    }),
    events,
    settings: {
      clusterName: options.clusterName,
      defaultRegion: options.region,
      serviceLinkedRoleDeletion: options.serviceLinkedRoleDeletion,
      managedRegions: options.managedRegions,
    },
  });
  const controller = new Controller({
    name: 'vpcconnector',
    source: connectors,
    reconcile,
    watches: [watch(serviceNetworkings, referencedConnectors())],
    concurrency: options.concurrency,
    resyncPeriodMs: options.resyncPeriodMs,
    // Retries of a failing key (AWS still reports a connector in use, transient faults): from 1 s, doubling,
    // never more than 5 minutes apart, so a blocker that clears is noticed within minutes, not a quarter hour.
    queue: { baseDelayMs: QUEUE_BASE_DELAY_MS, maxDelayMs: QUEUE_MAX_DELAY_MS },
    metrics,
    log: controllerLog,
  });
  const leadership = options.leaderElect
    ? new LeaseLeaderElector({
        client: kubeConfig.makeApiClient(CoordinationV1Api),
        namespace: options.leaderElectNamespace,
        name: options.leaderElectName,
        identity,
        log,
      })
    : undefined;
  let exitCode = 0;
  const manager = new Manager({
    controllers: [controller],
    ...(leadership === undefined ? {} : { leadership }),
    leaderElectionName: options.leaderElectName,
    metrics,
    log,
    probes: { host: options.bindAddress, port: options.healthPort },
    metricsServer: { host: options.bindAddress, port: options.metricsPort },
    process: {
      on: (signal, handler) => process.on(signal, handler),
      off: (signal, handler) => process.off(signal, handler),
      exit: (code) => {
        exitCode = code;
      },
    },
  });
  log.info('Starting operator', {
    region: options.region,
    clusterName: options.clusterName,
    awsEndpointUrl: options.awsEndpointUrl,
    namespace: options.namespace ?? '(all)',
    leaderElect: options.leaderElect,
    serviceLinkedRoleDeletion: options.serviceLinkedRoleDeletion,
    identity,
  });
  try {
    await manager.run();
  } finally {
    await events.flush();
    gateway.destroy();
  }
  return exitCode;
}

/** The `run` command: parse, run, exit code (2 for a usage error). */
export async function main(argv: readonly string[]): Promise<number> {
  let parsed: ParsedRun;
  try {
    parsed = parseRunArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`apprunner-net run: ${err.message}\n\n${runUsage}`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(runUsage);
    return 0;
  }
  return runOperator(parsed.options);
}
