// What every kind's setup receives from the operator's wiring: the caches, the shared AWS view, the API
// clients, Events, metrics and the run settings that shape every controller's queue.
import type { ServiceNetworking } from '../../api/servicenetworking.ts';
import type { VpcConnector } from '../../api/vpcconnector.ts';
import type {
  CustomObjectPatcher,
  EventRecorder,
  InformerSource,
  Logger,
  RuntimeMetrics,
} from '../../runtime/index.ts';
import type { NamespaceGrant } from '../servicenetworking/observe.ts';
import type { AwsView } from './aws-view.ts';

export interface ControllerDeps {
  connectors: InformerSource<VpcConnector>;
  serviceNetworkings: InformerSource<ServiceNetworking>;
  namespaces: InformerSource<NamespaceGrant>;
  view: AwsView;
  client: CustomObjectPatcher;
  events: EventRecorder;
  metrics: RuntimeMetrics;
  log: Logger;
  concurrency: number;
  resyncPeriodMs: number;
  /** Bound on one pass; its signal aborts the pass's AWS calls. */
  reconcileTimeoutMs: number;
}

/**
 * Per-key retry backoff of every queue (AWS still reports a connector in use, transient faults): from 1 s,
 * doubling, never more than 5 minutes apart, so a blocker that clears is noticed within minutes.
 */
export const QUEUE_BACKOFF = { baseDelayMs: 1_000, maxDelayMs: 5 * 60_000 } as const;
