// The AwsGateway over the AWS SDK v3 (App Runner and IAM). Every verb observes or acts once and returns what
// AWS said; every failure leaves as one of the typed errors of ./errors.ts. Behaviour follows
// /work/shared/aws/semantics.md (section numbers below refer to it).
//
// Request budget: each SDK attempt, retries included, takes a token from the rate limiter before it is
// signed (middleware placed between the retry loop and the signer), so retries cannot bypass the limit.
import {
  AppRunnerClient,
  CreateVpcConnectorCommand,
  DeleteVpcConnectorCommand,
  DescribeServiceCommand,
  DescribeVpcConnectorCommand,
  ListOperationsCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  ListVpcConnectorsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-apprunner';
import type {
  AppRunnerClientConfig,
  OperationSummary,
  Service,
  Tag,
  VpcConnector,
} from '@aws-sdk/client-apprunner';
import {
  CreateServiceLinkedRoleCommand,
  DeleteServiceLinkedRoleCommand,
  GetRoleCommand,
  GetServiceLinkedRoleDeletionStatusCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import type { FinalizeRequestMiddleware } from '@smithy/types';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { AwsInvalidInputError, AwsNotFoundError, AwsTransientError, toAwsError } from './errors.ts';
import type { AwsServiceName } from './errors.ts';
import type {
  AwsGateway,
  CallOptions,
  ConnectorObservation,
  DesiredNetwork,
  NetworkObservation,
  OperationObservation,
  OperationStatus,
  RoleDeletionObservation,
  RoleDeletionStatus,
  RoleObservation,
  ServiceObservation,
  ServiceSummary,
  ServiceStatus,
  Tags,
} from './gateway.ts';
import { defaultAppRunnerLimit, defaultIamLimit, RateLimiterPool } from './rate-limiter.ts';
import type { RateLimit } from './rate-limiter.ts';

export const serviceLinkedRoleName = 'AWSServiceRoleForAppRunnerNetworking';
export const serviceLinkedRoleServiceName = 'networking.apprunner.amazonaws.com';

/** The partition of a region, for ARNs built locally (the SLR's). */
function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

export interface SdkGatewayOptions {
  /** One URL for App Runner and IAM (the simulator); absent = the real AWS endpoints. */
  endpoint?: string;
  /** Absent = the SDK's default provider chain (environment, profile, IRSA/pod identity, IMDS). */
  credentials?: AppRunnerClientConfig['credentials'];
  /**
   * The operator's home region. IAM is global, but its client needs a region to pick the partition; the
   * SDK's endpoint rules then sign for the partition's IAM region (us-east-1 for `aws`, semantics §2.1).
   */
  defaultRegion: string;
  /** Where the AWS call metrics go; absent = not exported. */
  registry?: Registry;
  /** Client-side request budgets. Defaults: rate-limiter.ts. */
  limits?: { appRunner?: RateLimit; iam?: RateLimit };
  /**
   * Share buckets with other gateways of this process (e.g. one per set of credentials for one account).
   * When given, `limits` is ignored: the pool decides.
   */
  limiterPool?: RateLimiterPool;
  /** Identifies the account in limiter keys; default: the endpoint, or `default`. */
  accountKey?: string;
  /** The account id, used to name the SLR's ARN while IAM has not caught up after creating it. */
  accountId?: string;
  /** SDK attempts per call (standard retry mode). Default 3. */
  maxAttempts?: number;
  /**
   * Bound on one HTTP attempt (no answer within it: the attempt fails as a TimeoutError and the SDK retries).
   * The SDK has none by default, so one half-open socket could hold a worker forever. Default 20 s.
   */
  requestTimeoutMs?: number;
  /** Bound on establishing a connection. Default 5 s. */
  connectionTimeoutMs?: number;
  /** Sent in the user agent (`app/<id>`), so that CloudTrail shows who called. */
  userAgentAppId?: string;
  /** ListServices describes each service with at most this many calls in flight. Default 4. */
  describeConcurrency?: number;
}

// ---------------------------------------------------------------------------------------------------------
// Metrics

interface GatewayMetrics {
  calls: Counter<'service' | 'operation' | 'outcome'>;
  duration: Histogram<'service' | 'operation'>;
  attempts: Counter<'service' | 'operation'>;
  limiterWait: Histogram<'limiter'>;
}

/** Metric objects are per registry: a second gateway on the same registry reuses the first one's. */
const metricsByRegistry = new WeakMap<Registry, GatewayMetrics>();

function createMetrics(registry: Registry | undefined, pool: RateLimiterPool): GatewayMetrics {
  const cached = registry === undefined ? undefined : metricsByRegistry.get(registry);
  if (cached !== undefined) return cached;
  const registers = registry === undefined ? [] : [registry];
  const metrics: GatewayMetrics = {
    calls: new Counter({
      name: 'apprunner_net_aws_api_calls_total',
      help: 'AWS API calls by the gateway (after SDK retries), by outcome: success or the AWS error code.',
      labelNames: ['service', 'operation', 'outcome'],
      registers,
    }),
    duration: new Histogram({
      name: 'apprunner_net_aws_api_call_duration_seconds',
      help: 'Duration of AWS API calls including SDK retries and rate-limiter waits.',
      labelNames: ['service', 'operation'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    attempts: new Counter({
      name: 'apprunner_net_aws_api_attempts_total',
      help: 'HTTP attempts sent to AWS, retries included (each takes a rate-limiter token).',
      labelNames: ['service', 'operation'],
      registers,
    }),
    limiterWait: new Histogram({
      name: 'apprunner_net_aws_rate_limiter_wait_seconds',
      help: 'Time an AWS attempt waited for a client-side rate-limiter token.',
      labelNames: ['limiter'],
      buckets: [0, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
  };
  new Gauge({
    name: 'apprunner_net_aws_rate_limiter_waiting',
    help: 'AWS attempts currently queued for a client-side rate-limiter token.',
    labelNames: ['limiter'],
    registers,
    collect() {
      for (const [key, bucket] of pool.entries()) this.set({ limiter: key }, bucket.waiting);
    },
  });
  if (registry !== undefined) metricsByRegistry.set(registry, metrics);
  return metrics;
}

// ---------------------------------------------------------------------------------------------------------
// Pure helpers

/** The region of an App Runner ARN (`arn:<partition>:apprunner:<region>:<account>:...`, semantics §2.2). */
export function regionOfArn(arn: string): string {
  const parts = arn.split(':');
  const region = parts[3];
  if (
    parts.length < 6 ||
    parts[0] !== 'arn' ||
    parts[2] !== 'apprunner' ||
    region === undefined ||
    region === ''
  ) {
    throw new AwsInvalidInputError(
      {
        service: 'apprunner',
        operation: 'ParseArn',
        code: 'InvalidArn',
        message: `Not an App Runner ARN: ${arn}`,
      },
      { cause: undefined },
    );
  }
  return region;
}

function tagsFromList(list: readonly Tag[] | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const tag of list ?? []) {
    if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
  }
  return tags;
}

function tagsToList(tags: Tags): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function toConnector(connector: VpcConnector, tags?: Tags): ConnectorObservation {
  const observation: ConnectorObservation = {
    arn: connector.VpcConnectorArn ?? '',
    name: connector.VpcConnectorName ?? '',
    revision: connector.VpcConnectorRevision ?? 0,
    // Only ACTIVE can be used; anything else (INACTIVE, or a status this SDK does not know) cannot.
    status: connector.Status === 'ACTIVE' ? 'ACTIVE' : 'INACTIVE',
    subnets: connector.Subnets ?? [],
    securityGroups: connector.SecurityGroups ?? [],
  };
  if (connector.CreatedAt !== undefined) observation.createdAt = connector.CreatedAt;
  if (connector.DeletedAt !== undefined) observation.deletedAt = connector.DeletedAt;
  if (tags !== undefined) observation.tags = tags;
  return observation;
}

const serviceStatuses: ReadonlySet<string> = new Set<ServiceStatus>([
  'CREATE_FAILED',
  'RUNNING',
  'DELETED',
  'DELETE_FAILED',
  'PAUSED',
  'OPERATION_IN_PROGRESS',
]);

const operationStatuses: ReadonlySet<string> = new Set<OperationStatus>([
  'PENDING',
  'IN_PROGRESS',
  'FAILED',
  'SUCCEEDED',
  'ROLLBACK_IN_PROGRESS',
  'ROLLBACK_FAILED',
  'ROLLBACK_SUCCEEDED',
]);

function toNetwork(service: Service): NetworkObservation {
  const config = service.NetworkConfiguration;
  const egressType = config?.EgressConfiguration?.EgressType === 'VPC' ? 'VPC' : 'DEFAULT';
  const ingress = config?.IngressConfiguration;
  const network: NetworkObservation = {
    egressType,
    // No IngressConfiguration at all is App Runner's default, a public endpoint; inside a present one an
    // absent IsPubliclyAccessible is the model's default, false (semantics §5.8).
    isPubliclyAccessible: ingress === undefined ? true : (ingress.IsPubliclyAccessible ?? false),
    // "If you do not specify … it defaults to select IPv4" (semantics §5.6).
    ipAddressType: config?.IpAddressType === 'DUAL_STACK' ? 'DUAL_STACK' : 'IPV4',
  };
  const connectorArn = config?.EgressConfiguration?.VpcConnectorArn;
  if (egressType === 'VPC' && connectorArn !== undefined && connectorArn !== '') {
    network.vpcConnectorArn = connectorArn;
  }
  return network;
}

function toService(service: Service, fallbackArn: string): ServiceObservation {
  const arn = service.ServiceArn ?? fallbackArn;
  const status = service.Status ?? '';
  const observation: ServiceObservation = {
    arn,
    name: service.ServiceName ?? '',
    region: regionOfArn(arn),
    // A status this SDK does not know is read as busy: wait rather than act on it.
    status: serviceStatuses.has(status) ? (status as ServiceStatus) : 'OPERATION_IN_PROGRESS',
    network: toNetwork(service),
  };
  if (service.UpdatedAt !== undefined) observation.updatedAt = service.UpdatedAt;
  return observation;
}

function toOperation(summary: OperationSummary): OperationObservation {
  const status = summary.Status ?? '';
  const observation: OperationObservation = {
    id: summary.Id ?? '',
    type: summary.Type ?? '',
    // Unknown statuses are read as still running: never mistake them for success (invariant 5).
    status: operationStatuses.has(status) ? (status as OperationStatus) : 'IN_PROGRESS',
  };
  if (summary.TargetArn !== undefined) observation.targetArn = summary.TargetArn;
  if (summary.StartedAt !== undefined) observation.startedAt = summary.StartedAt;
  if (summary.EndedAt !== undefined) observation.endedAt = summary.EndedAt;
  return observation;
}

const deletionStatuses: ReadonlySet<string> = new Set<RoleDeletionStatus>([
  'NOT_STARTED',
  'IN_PROGRESS',
  'SUCCEEDED',
  'FAILED',
]);

/** Runs `fn` over `items` with at most `limit` in flight, keeping the input order in the result. */
/** ListServices answers at most this many services a page (App Runner's MaxResults limit). */
export const SERVICES_PER_PAGE = 20;

export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Follows NextToken until AWS omits it, whatever the page sizes (ListServices returns short pages with a
 * token, semantics §5.7). `onPage` returns whether to read on. A token that repeats would loop forever: it
 * is reported as a transient fault.
 */
async function paginate<P>(
  operation: string,
  fetchPage: (nextToken: string | undefined) => Promise<P & { NextToken?: string | undefined }>,
  onPage: (page: P) => boolean,
): Promise<void> {
  const seen = new Set<string>();
  let token: string | undefined;
  for (;;) {
    const page = await fetchPage(token);
    if (!onPage(page)) return;
    token = page.NextToken;
    if (token === undefined || token === '') return;
    if (seen.has(token)) {
      throw new AwsTransientError(
        {
          service: 'apprunner',
          operation,
          code: 'PaginationLoop',
          message: `NextToken ${token} was returned twice`,
        },
        { cause: undefined },
      );
    }
    seen.add(token);
  }
}

function isAbort(err: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (err instanceof Error && err.name === 'AbortError');
}

// ---------------------------------------------------------------------------------------------------------
// The gateway

/** Where the SDK keeps the per-call abort signal (read by its retry middleware too). */
interface LimiterContext {
  __smithy_context?: { abortSignal?: AbortSignal };
}

/**
 * The retry middleware is at the head of the finalizeRequest step and the signer runs after it: placing
 * the limiter just before the signer puts it inside the retry loop, so every attempt waits for a token.
 */
const limiterPlacement = {
  name: 'apprunnerNetRateLimiter',
  relation: 'before',
  toMiddleware: 'httpSigningMiddleware',
  override: true,
} as const;

/** The SDK gateway also owns its clients' sockets: `destroy` closes them (on shutdown, and in tests). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 20_000;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;

export interface SdkGateway extends AwsGateway {
  destroy(): void;
}

export function createSdkGateway(options: SdkGatewayOptions): SdkGateway {
  const accountKey = options.accountKey ?? options.endpoint ?? 'default';
  const pool =
    options.limiterPool ??
    new RateLimiterPool((key) =>
      key.endsWith('/iam')
        ? (options.limits?.iam ?? defaultIamLimit)
        : (options.limits?.appRunner ?? defaultAppRunnerLimit),
    );
  const metrics = createMetrics(options.registry, pool);
  const maxAttempts = options.maxAttempts ?? 3;
  const describeConcurrency = Math.max(1, options.describeConcurrency ?? 4);
  let roleArn: string | undefined =
    options.accountId === undefined
      ? undefined
      : `arn:${partitionOf(options.defaultRegion)}:iam::${options.accountId}:role/aws-service-role/${serviceLinkedRoleServiceName}/${serviceLinkedRoleName}`;

  const common = {
    maxAttempts,
    retryMode: 'standard',
    requestHandler: {
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      // Without it the handler only logs a warning when the request timeout passes and keeps waiting.
      throwOnRequestTimeout: true,
    },
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.userAgentAppId === undefined ? {} : { userAgentAppId: options.userAgentAppId }),
  };

  /** One token per attempt; placed by `limiterPlacement`, so the request is signed after the wait. */
  function limiterMiddleware<I extends object, O extends object>(
    service: AwsServiceName,
    limiterKey: string,
  ): FinalizeRequestMiddleware<I, O> {
    const bucket = pool.bucket(limiterKey);
    return (next, context) => async (args) => {
      const waitedMs = await bucket.acquire((context as LimiterContext).__smithy_context?.abortSignal);
      metrics.limiterWait.observe({ limiter: limiterKey }, waitedMs / 1000);
      metrics.attempts.inc({
        service,
        operation: (context.commandName ?? 'Unknown').replace(/Command$/, ''),
      });
      return next(args);
    };
  }

  const appRunnerClients = new Map<string, AppRunnerClient>();
  function appRunner(region: string): AppRunnerClient {
    let client = appRunnerClients.get(region);
    if (client === undefined) {
      client = new AppRunnerClient({ ...common, region });
      client.middlewareStack.addRelativeTo(
        limiterMiddleware('apprunner', `${accountKey}/${region}`),
        limiterPlacement,
      );
      appRunnerClients.set(region, client);
    }
    return client;
  }

  let iamClient: IAMClient | undefined;
  function iam(): IAMClient {
    if (iamClient === undefined) {
      iamClient = new IAMClient({ ...common, region: options.defaultRegion });
      iamClient.middlewareStack.addRelativeTo(
        limiterMiddleware('iam', `${accountKey}/iam`),
        limiterPlacement,
      );
    }
    return iamClient;
  }

  /** Times and counts one SDK call and maps its failure; aborts pass through untouched. */
  async function call<T>(
    service: AwsServiceName,
    operation: string,
    callOptions: CallOptions | undefined,
    send: (http: { abortSignal?: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    const signal = callOptions?.signal;
    const stop = metrics.duration.startTimer({ service, operation });
    try {
      const output = await send(signal === undefined ? {} : { abortSignal: signal });
      metrics.calls.inc({ service, operation, outcome: 'success' });
      return output;
    } catch (err) {
      if (isAbort(err, signal)) {
        metrics.calls.inc({ service, operation, outcome: 'Aborted' });
        throw signal?.aborted === true ? signal.reason : err;
      }
      const mapped = toAwsError(err, service, operation);
      metrics.calls.inc({ service, operation, outcome: mapped.aws.code });
      throw mapped;
    } finally {
      stop();
    }
  }

  /** Runs `fn`, turning "not found" into `undefined`. */
  async function unlessNotFound<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AwsNotFoundError) return undefined;
      throw err;
    }
  }

  /** Pages through ListVpcConnectors in `region` until `onPage` returns false or no NextToken is left. */
  function eachConnectorPage(
    region: string,
    callOptions: CallOptions | undefined,
    onPage: (connectors: readonly VpcConnector[]) => boolean,
  ): Promise<void> {
    return paginate(
      'ListVpcConnectors',
      (token) =>
        call('apprunner', 'ListVpcConnectors', callOptions, (http) =>
          appRunner(region).send(
            new ListVpcConnectorsCommand({
              MaxResults: 100,
              ...(token === undefined ? {} : { NextToken: token }),
            }),
            http,
          ),
        ),
      (page) => onPage(page.VpcConnectors ?? []),
    );
  }

  async function listTags(arn: string, callOptions?: CallOptions): Promise<Tags> {
    const output = await call('apprunner', 'ListTagsForResource', callOptions, (http) =>
      appRunner(regionOfArn(arn)).send(new ListTagsForResourceCommand({ ResourceArn: arn }), http),
    );
    return tagsFromList(output.Tags);
  }

  async function describeService(
    arn: string,
    callOptions?: CallOptions,
  ): Promise<ServiceObservation | undefined> {
    const output = await unlessNotFound(() =>
      call('apprunner', 'DescribeService', callOptions, (http) =>
        appRunner(regionOfArn(arn)).send(new DescribeServiceCommand({ ServiceArn: arn }), http),
      ),
    );
    // DescribeService answers for deleted services for a while (semantics §5.6): that is gone too.
    if (output?.Service === undefined || output.Service.Status === 'DELETED') return undefined;
    return toService(output.Service, arn);
  }

  async function listServiceSummaries(region: string, callOptions?: CallOptions): Promise<ServiceSummary[]> {
    // By ARN: a short page followed by its continuation must not yield a service twice.
    const byArn = new Map<string, ServiceSummary>();
    await paginate(
      'ListServices',
      (token) =>
        call('apprunner', 'ListServices', callOptions, (http) =>
          appRunner(region).send(
            new ListServicesCommand({
              MaxResults: SERVICES_PER_PAGE,
              ...(token === undefined ? {} : { NextToken: token }),
            }),
            http,
          ),
        ),
      (page) => {
        for (const summary of page.ServiceSummaryList ?? []) {
          const arn = summary.ServiceArn;
          const status = summary.Status ?? '';
          if (arn === undefined || status === 'DELETED') continue;
          const entry: ServiceSummary = {
            arn,
            name: summary.ServiceName ?? '',
            // As in toService: a status this SDK does not know is read as busy.
            status: serviceStatuses.has(status) ? (status as ServiceStatus) : 'OPERATION_IN_PROGRESS',
          };
          if (summary.UpdatedAt !== undefined) entry.updatedAt = summary.UpdatedAt;
          byArn.set(arn, entry);
        }
        return true;
      },
    );
    return [...byArn.values()];
  }

  async function listOperations(
    arn: string,
    max = 20,
    callOptions?: CallOptions,
  ): Promise<OperationObservation[]> {
    const operations: OperationObservation[] = [];
    if (max <= 0) return operations;
    // The same MaxResults on every page: AWS wants follow-up requests identical but for NextToken (§5.3).
    const pageSize = Math.min(20, max);
    await paginate(
      'ListOperations',
      (token) =>
        call('apprunner', 'ListOperations', callOptions, (http) =>
          appRunner(regionOfArn(arn)).send(
            new ListOperationsCommand({
              ServiceArn: arn,
              MaxResults: pageSize,
              ...(token === undefined ? {} : { NextToken: token }),
            }),
            http,
          ),
        ),
      (page) => {
        for (const summary of page.OperationSummaryList ?? []) {
          if (operations.length < max) operations.push(toOperation(summary));
        }
        return operations.length < max;
      },
    );
    return operations;
  }

  async function getRole(callOptions?: CallOptions): Promise<RoleObservation> {
    const output = await unlessNotFound(() =>
      call('iam', 'GetRole', callOptions, (http) =>
        iam().send(new GetRoleCommand({ RoleName: serviceLinkedRoleName }), http),
      ),
    );
    const arn = output?.Role?.Arn;
    if (arn === undefined) return { exists: false };
    roleArn = arn;
    return { exists: true, arn };
  }

  const gateway: SdkGateway = {
    appRunner: {
      async listConnectors(region, callOptions) {
        const connectors: ConnectorObservation[] = [];
        await eachConnectorPage(region, callOptions, (page) => {
          for (const connector of page) {
            // Whether AWS lists INACTIVE connectors is not documented (semantics §5.3): filter them.
            if (connector.Status === 'ACTIVE') connectors.push(toConnector(connector));
          }
          return true;
        });
        return connectors;
      },

      async findConnectorByName(region, name, callOptions) {
        let found: VpcConnector | undefined;
        await eachConnectorPage(region, callOptions, (page) => {
          // App Runner allows one ACTIVE connector per name (semantics §5.1): the first match is the one.
          found = page.find((c) => c.Status === 'ACTIVE' && c.VpcConnectorName === name);
          return found === undefined;
        });
        if (found?.VpcConnectorArn === undefined) return undefined;
        // Deleted between the list and the tag read: then there is no ACTIVE connector by that name.
        const tags = await unlessNotFound(() => listTags(found?.VpcConnectorArn ?? '', callOptions));
        return tags === undefined ? undefined : toConnector(found, tags);
      },

      async describeConnector(arn, callOptions) {
        const output = await unlessNotFound(() =>
          call('apprunner', 'DescribeVpcConnector', callOptions, (http) =>
            appRunner(regionOfArn(arn)).send(new DescribeVpcConnectorCommand({ VpcConnectorArn: arn }), http),
          ),
        );
        if (output?.VpcConnector === undefined) return undefined;
        // An INACTIVE connector is deleted and its tags may be gone with it: tags are read for ACTIVE only.
        if (output.VpcConnector.Status !== 'ACTIVE') return toConnector(output.VpcConnector);
        const tags = await unlessNotFound(() => listTags(arn, callOptions));
        return toConnector(output.VpcConnector, tags);
      },

      async createConnector(region, input, callOptions) {
        const output = await call('apprunner', 'CreateVpcConnector', callOptions, (http) =>
          appRunner(region).send(
            new CreateVpcConnectorCommand({
              VpcConnectorName: input.name,
              Subnets: [...input.subnets],
              // Absent means "the VPC's default security group" (semantics §5.1); never send an empty list.
              ...(input.securityGroups.length === 0 ? {} : { SecurityGroups: [...input.securityGroups] }),
              ...(Object.keys(input.tags).length === 0 ? {} : { Tags: tagsToList(input.tags) }),
            }),
            http,
          ),
        );
        if (output.VpcConnector === undefined) {
          throw new AwsTransientError(
            {
              service: 'apprunner',
              operation: 'CreateVpcConnector',
              code: 'EmptyResponse',
              message: 'CreateVpcConnector returned no VpcConnector',
            },
            { cause: undefined },
          );
        }
        return toConnector(output.VpcConnector, { ...input.tags });
      },

      async deleteConnector(arn, callOptions) {
        const output = await unlessNotFound(() =>
          call('apprunner', 'DeleteVpcConnector', callOptions, (http) =>
            appRunner(regionOfArn(arn)).send(new DeleteVpcConnectorCommand({ VpcConnectorArn: arn }), http),
          ),
        );
        return output?.VpcConnector === undefined ? undefined : toConnector(output.VpcConnector);
      },

      async listServices(region, callOptions) {
        const summaries = await listServiceSummaries(region, callOptions);
        const described = await mapBounded(summaries, describeConcurrency, (summary) =>
          describeService(summary.arn, callOptions),
        );
        return described.filter((service) => service !== undefined);
      },

      listServiceSummaries,

      describeService,

      async updateServiceNetwork(arn, network: DesiredNetwork, callOptions) {
        const output = await call('apprunner', 'UpdateService', callOptions, (http) =>
          appRunner(regionOfArn(arn)).send(
            new UpdateServiceCommand({
              ServiceArn: arn,
              // All three parts, always: partial NetworkConfiguration semantics are undocumented (§5.8).
              NetworkConfiguration: {
                EgressConfiguration:
                  network.egressType === 'VPC'
                    ? { EgressType: 'VPC', VpcConnectorArn: network.vpcConnectorArn }
                    : { EgressType: 'DEFAULT' },
                IngressConfiguration: { IsPubliclyAccessible: network.isPubliclyAccessible },
                IpAddressType: network.ipAddressType,
              },
            }),
            http,
          ),
        );
        const service =
          output.Service === undefined
            ? await describeService(arn, callOptions)
            : toService(output.Service, arn);
        if (service === undefined) {
          throw new AwsNotFoundError(
            {
              service: 'apprunner',
              operation: 'UpdateService',
              code: 'ResourceNotFoundException',
              message: `The service ${arn} disappeared during the update`,
            },
            { cause: undefined },
          );
        }
        // A 2022 report saw UpdateService without OperationId (semantics §5.8): the newest operation is it.
        const operationId = output.OperationId ?? (await listOperations(arn, 1, callOptions))[0]?.id ?? '';
        return { service, operationId };
      },

      listOperations,

      async tagResource(arn, tags, callOptions) {
        if (Object.keys(tags).length === 0) return;
        await call('apprunner', 'TagResource', callOptions, (http) =>
          appRunner(regionOfArn(arn)).send(
            new TagResourceCommand({ ResourceArn: arn, Tags: tagsToList(tags) }),
            http,
          ),
        );
      },

      async untagResource(arn, keys, callOptions) {
        if (keys.length === 0) return;
        await call('apprunner', 'UntagResource', callOptions, (http) =>
          appRunner(regionOfArn(arn)).send(
            new UntagResourceCommand({ ResourceArn: arn, TagKeys: [...keys] }),
            http,
          ),
        );
      },

      listTags,
    },

    serviceLinkedRole: {
      getRole,

      async ensureRole(callOptions) {
        try {
          const output = await call('iam', 'CreateServiceLinkedRole', callOptions, (http) =>
            iam().send(
              new CreateServiceLinkedRoleCommand({ AWSServiceName: serviceLinkedRoleServiceName }),
              http,
            ),
          );
          roleArn = output.Role?.Arn ?? roleArn;
          return roleArn === undefined ? { exists: true } : { exists: true, arn: roleArn };
        } catch (err) {
          // The role exists already: IAM says InvalidInput "... has been taken ..." (semantics §8.2).
          if (!(err instanceof AwsInvalidInputError && /has been taken/i.test(err.aws.message))) throw err;
        }
        const role = await getRole(callOptions);
        if (role.exists) return role;
        // IAM is eventually consistent: a role IAM just called taken may read as NoSuchEntity (§9.2).
        return roleArn === undefined ? { exists: true } : { exists: true, arn: roleArn };
      },

      async deleteRole(callOptions) {
        const output = await unlessNotFound(() =>
          call('iam', 'DeleteServiceLinkedRole', callOptions, (http) =>
            iam().send(new DeleteServiceLinkedRoleCommand({ RoleName: serviceLinkedRoleName }), http),
          ),
        );
        // An empty task id means nothing is left to delete (Terraform reads it the same way, §8.2).
        if (output?.DeletionTaskId === undefined || output.DeletionTaskId === '') return undefined;
        return { taskId: output.DeletionTaskId };
      },

      async getDeletionStatus(taskId, callOptions): Promise<RoleDeletionObservation> {
        const output = await unlessNotFound(() =>
          call('iam', 'GetServiceLinkedRoleDeletionStatus', callOptions, (http) =>
            iam().send(new GetServiceLinkedRoleDeletionStatusCommand({ DeletionTaskId: taskId }), http),
          ),
        );
        // NoSuchEntity while polling means the role is gone, i.e. the deletion is done (Terraform, §8.2).
        if (output === undefined) return { taskId, status: 'SUCCEEDED', usage: [] };
        const status = output.Status ?? '';
        const observation: RoleDeletionObservation = {
          taskId,
          // An unknown status is read as still running; the caller keeps polling.
          status: deletionStatuses.has(status) ? (status as RoleDeletionStatus) : 'IN_PROGRESS',
          usage: (output.Reason?.RoleUsageList ?? []).map((usage) => ({
            region: usage.Region ?? '',
            resources: usage.Resources ?? [],
          })),
        };
        if (output.Reason?.Reason !== undefined) observation.reason = output.Reason.Reason;
        return observation;
      },
    },

    destroy() {
      for (const client of appRunnerClients.values()) client.destroy();
      appRunnerClients.clear();
      iamClient?.destroy();
      iamClient = undefined;
    },
  };
  return gateway;
}
