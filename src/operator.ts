// `apprunner-net run`: one process = one operator. Wiring only (flags are parsed in run-args.ts): informers
// for both kinds and for Namespaces (tenancy grants), the AWS gateway and the shared view of AWS both
// controllers read through, Events, leader election, probes and metrics, under the runtime's Manager
// (SIGTERM drains in-flight work and releases the lease). Each kind's controller is set up beside it.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  type KubernetesObject,
  type V1Namespace,
} from '@kubernetes/client-node';
import { GROUP } from './api/constants.ts';
import type { ServiceNetworking } from './api/servicenetworking.ts';
import type { VpcConnector } from './api/vpcconnector.ts';
import { createSdkGateway } from './aws/sdk-gateway.ts';
import type { NamespaceGrant } from './controllers/servicenetworking/observe.ts';
import { serviceNetworkingResource } from './controllers/servicenetworking/reconciler.ts';
import { setupServiceNetworkingController } from './controllers/servicenetworking/setup.ts';
import { AwsView } from './controllers/shared/aws-view.ts';
import type { ControllerDeps } from './controllers/shared/setup.ts';
import { vpcConnectorResource } from './controllers/vpcconnector/reconciler.ts';
import { setupVpcConnectorController } from './controllers/vpcconnector/setup.ts';
import {
  createLogger,
  customResourceInformer,
  createRuntimeMetrics,
  Informer,
  KubernetesEventRecorder,
  LeaseLeaderElector,
  Manager,
  type CustomResourceType,
  type InformerSource,
  type Logger,
} from './runtime/index.ts';
import { parseRunArgs, runUsage, UsageError, type ParsedRun, type RunOptions } from './run-args.ts';

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

/**
 * Namespaces, for tenancy grants (their annotations only). With --namespace, only that one is watched.
 */
function namespaceInformer(
  kubeConfig: KubeConfig,
  namespace: string | undefined,
  log: Logger,
): InformerSource<NamespaceGrant> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const fieldSelector = namespace === undefined ? undefined : `metadata.name=${namespace}`;
  const informer = new Informer<V1Namespace>({
    name: 'namespaces',
    path: '/api/v1/namespaces',
    list: () => core.listNamespace(fieldSelector === undefined ? {} : { fieldSelector }),
    kubeConfig,
    log,
    resyncPeriodMs: 0,
    ...(fieldSelector === undefined ? {} : { fieldSelector }),
  });
  const grant = (ns: V1Namespace): NamespaceGrant => {
    const annotations = ns.metadata?.annotations;
    return annotations === undefined
      ? { name: ns.metadata?.name ?? '' }
      : { name: ns.metadata?.name ?? '', annotations };
  };
  return {
    start: () => informer.start(),
    stop: () => {
      informer.stop();
    },
    hasSynced: () => informer.hasSynced(),
    list: () => informer.list().map(grant),
    get: (_ns, name) => {
      const found = informer.get(undefined, name);
      return found === undefined ? undefined : grant(found);
    },
    onChange: (handler) => {
      informer.onChange((ns, change) => {
        handler(grant(ns), change);
      });
    },
    healthProblem: () => informer.healthProblem(),
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
    requestTimeoutMs: options.awsCallTimeoutMs,
    // One gateway, so one set of buckets, for every kind: the budget is the account's, not a controller's.
    limits: { appRunner: options.appRunnerLimit, iam: options.iamLimit },
    ...(options.awsEndpointUrl === undefined ? {} : { endpoint: options.awsEndpointUrl }),
    ...(credentials === undefined ? {} : { credentials }),
  });
  const deps: ControllerDeps = {
    connectors: informerFor<VpcConnector>(kubeConfig, vpcConnectorResource, options.namespace, log),
    serviceNetworkings: informerFor<ServiceNetworking>(
      kubeConfig,
      serviceNetworkingResource,
      options.namespace,
      log,
    ),
    namespaces: namespaceInformer(kubeConfig, options.namespace, log),
    view: new AwsView(gateway, { maxAgeMs: options.awsReadMaxAgeMs }),
    client: customObjects,
    events: new KubernetesEventRecorder({
      client: kubeConfig.makeApiClient(EventsV1Api),
      reportingController: `${GROUP}/apprunner-net`,
      reportingInstance: identity,
      log,
    }),
    metrics,
    log,
    concurrency: options.concurrency,
    resyncPeriodMs: options.resyncPeriodMs,
    reconcileTimeoutMs: options.reconcileTimeoutMs,
  };
  const controllers = [
    setupVpcConnectorController(deps, {
      clusterName: options.clusterName,
      defaultRegion: options.region,
      serviceLinkedRoleDeletion: options.serviceLinkedRoleDeletion,
      managedRegions: options.managedRegions,
    }),
    setupServiceNetworkingController(deps, {
      clusterName: options.clusterName,
      tenancy: options.tenancy,
      ...(options.awsAccountId === undefined ? {} : { accountId: options.awsAccountId }),
    }),
  ];
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
    controllers,
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
    tenancy: options.tenancy,
    identity,
  });
  try {
    await manager.run();
  } finally {
    await deps.events.flush();
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
