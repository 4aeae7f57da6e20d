// `apprunner-net run`'s flags and environment variables: parsing and validation only (the wiring is in
// operator.ts). A flag wins over its APPRUNNER_NET_* variable, which wins over the default.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Pattern } from './api/common.ts';
import type { Tenancy } from './controllers/servicenetworking/observe.ts';
import type { ServiceLinkedRoleDeletion } from './controllers/vpcconnector/observe.ts';
import { defaultAppRunnerLimit, defaultIamLimit, type RateLimit } from './aws/rate-limiter.ts';
import { isLogLevel, type LogLevel } from './runtime/index.ts';

export interface RunOptions {
  region: string;
  awsEndpointUrl?: string;
  clusterName: string;
  managedRegions: string[];
  concurrency: number;
  resyncPeriodMs: number;
  /** Bound on one AWS HTTP attempt. */
  awsCallTimeoutMs: number;
  /** Bound on one reconcile pass; its AWS calls are aborted when it passes. */
  reconcileTimeoutMs: number;
  /** How old a shared AWS listing may be and still answer a pass that only observes. */
  awsReadMaxAgeMs: number;
  /** Client-side request budget per account and region for App Runner, shared by every kind. */
  appRunnerLimit: RateLimit;
  /** Client-side request budget per account for IAM (global). */
  iamLimit: RateLimit;
  leaderElect: boolean;
  leaderElectNamespace: string;
  leaderElectName: string;
  serviceLinkedRoleDeletion: ServiceLinkedRoleDeletion;
  tenancy: Tenancy;
  /** The AWS account the operator manages; services of other accounts are refused before any call. */
  awsAccountId?: string;
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
      a shortcut for the simulator: one endpoint for App Runner and IAM; without AWS credentials in
      the environment, static dummy credentials are used and instance metadata is never read.
      Without it the SDK's own per-service configuration applies (AWS_ENDPOINT_URL_APPRUNNER,
      AWS_ENDPOINT_URL_IAM, or a services section in the shared config file)
  --managed-regions R1,R2                APPRUNNER_NET_MANAGED_REGIONS
      extra regions checked for connectors before the service-linked role may be deleted
  --service-linked-role-deletion MODE    APPRUNNER_NET_SERVICE_LINKED_ROLE_DELETION   Never
      Never, or WhenUnused: delete the role with the last connector in every managed region
  --tenancy MODE                         APPRUNNER_NET_TENANCY                    Namespaced
      Namespaced: a ServiceNetworking may manage only the services its Namespace's
      apprunnernet.dev/allowed-services annotation lists (names, ARNs or *); SingleTenant: any
      service of the account, from any namespace
  --aws-account-id ID                    APPRUNNER_NET_AWS_ACCOUNT_ID
      the account whose services may be managed; a ServiceNetworking naming another account's
      service is NotPermitted before any AWS call
  --concurrency N                        APPRUNNER_NET_CONCURRENCY                16
      objects of each kind reconciled at once; a pass spends most of its time waiting (for AWS, its
      rate limiter, a shared listing), and the rate limiter, not this, bounds what AWS sees
  --resync-period DURATION               APPRUNNER_NET_RESYNC_PERIOD              10m
      every object is reconciled again this often, which bounds how long a change made in AWS
      (a connector deleted out of band) goes unnoticed (e.g. 30s, 10m, 1h; 0 disables)
  --aws-call-timeout DURATION            APPRUNNER_NET_AWS_CALL_TIMEOUT           20s
      one AWS HTTP attempt without an answer within this fails and is retried
  --reconcile-timeout DURATION           APPRUNNER_NET_RECONCILE_TIMEOUT          2m
      one reconcile pass longer than this is aborted and retried with backoff
  --aws-read-max-age DURATION            APPRUNNER_NET_AWS_READ_MAX_AGE           30s
      how old a shared listing of a region's connectors and services (and the role's existence) may
      be and still answer a pass; a change made in AWS alone is noticed within the resync period plus
      this (0: share only listings in flight). Passes about to delete read listings at most 5s old
  --apprunner-rate-limit N               APPRUNNER_NET_APPRUNNER_RATE_LIMIT       5
      App Runner requests per second, per account and region, every attempt and retry included
      (AWS publishes no limit; raise it when the account's limit is known to be higher)
  --apprunner-burst N                    APPRUNNER_NET_APPRUNNER_BURST            10
      App Runner requests that may go out back to back after a quiet period
  --iam-rate-limit N                     APPRUNNER_NET_IAM_RATE_LIMIT             2
      IAM requests per second (IAM is global and shared with every other tool in the account)
  --iam-burst N                          APPRUNNER_NET_IAM_BURST                  5
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
  tenancy: { type: 'string' },
  'aws-account-id': { type: 'string' },
  concurrency: { type: 'string' },
  'resync-period': { type: 'string' },
  'aws-call-timeout': { type: 'string' },
  'reconcile-timeout': { type: 'string' },
  'aws-read-max-age': { type: 'string' },
  'apprunner-rate-limit': { type: 'string' },
  'apprunner-burst': { type: 'string' },
  'iam-rate-limit': { type: 'string' },
  'iam-burst': { type: 'string' },
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

function positiveDuration(text: string, what: string): number {
  const ms = parseDuration(text);
  if (ms <= 0) throw new UsageError(`${what} must be longer than 0, got "${text}"`);
  return ms;
}

function parseInteger(text: string, what: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${what} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/** A positive request rate; fractions allowed (0.5 = one request every 2 s). */
function parseRate(text: string, what: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0) || value > 10_000) {
    throw new UsageError(
      `${what} must be a number of requests per second above 0 (at most 10000), got "${text}"`,
    );
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
  const tenancy = get('tenancy') ?? 'Namespaced';
  if (tenancy !== 'Namespaced' && tenancy !== 'SingleTenant') {
    throw new UsageError(`--tenancy must be Namespaced or SingleTenant, got "${tenancy}"`);
  }
  const accountId = get('aws-account-id');
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) {
    throw new UsageError(`--aws-account-id must be 12 digits, got "${accountId}"`);
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
    concurrency: parseInteger(get('concurrency') ?? '16', '--concurrency', 1, 64),
    resyncPeriodMs: parseDuration(get('resync-period') ?? '10m'),
    awsCallTimeoutMs: positiveDuration(get('aws-call-timeout') ?? '20s', '--aws-call-timeout'),
    reconcileTimeoutMs: positiveDuration(get('reconcile-timeout') ?? '2m', '--reconcile-timeout'),
    awsReadMaxAgeMs: parseDuration(get('aws-read-max-age') ?? '30s'),
    appRunnerLimit: {
      ratePerSecond: parseRate(
        get('apprunner-rate-limit') ?? String(defaultAppRunnerLimit.ratePerSecond),
        '--apprunner-rate-limit',
      ),
      burst: parseInteger(
        get('apprunner-burst') ?? String(defaultAppRunnerLimit.burst),
        '--apprunner-burst',
        1,
        10_000,
      ),
    },
    iamLimit: {
      ratePerSecond: parseRate(
        get('iam-rate-limit') ?? String(defaultIamLimit.ratePerSecond),
        '--iam-rate-limit',
      ),
      burst: parseInteger(get('iam-burst') ?? String(defaultIamLimit.burst), '--iam-burst', 1, 10_000),
    },
    leaderElect,
    leaderElectNamespace: get('leader-elect-namespace') ?? podNamespace(env),
    leaderElectName: get('leader-elect-name') ?? 'apprunner-net',
    serviceLinkedRoleDeletion: slrText,
    tenancy,
    bindAddress: get('bind-address') ?? '0.0.0.0',
    healthPort: parseInteger(get('health-port') ?? '8081', '--health-port', 0, 65535),
    metricsPort: parseInteger(get('metrics-port') ?? '8080', '--metrics-port', 0, 65535),
    logLevel,
  };
  if (endpoint !== undefined) options.awsEndpointUrl = endpoint;
  if (accountId !== undefined) options.awsAccountId = accountId;
  const namespace = get('namespace');
  if (namespace !== undefined) options.namespace = namespace;
  return { help: false, options };
}
