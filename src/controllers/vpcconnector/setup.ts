// The VpcConnector controller's wiring: its reconciler, its status writer and the secondary watch through
// which a ServiceNetworking change enqueues the connectors it references.
import type { ServiceNetworking } from '../../api/servicenetworking.ts';
import type { VpcConnector } from '../../api/vpcconnector.ts';
import { Controller, StatusWriter, watch, type ObjectKey } from '../../runtime/index.ts';
import { QUEUE_BACKOFF, type ControllerDeps } from '../shared/setup.ts';
import { createVpcConnectorReconciler, vpcConnectorResource, type ReconcilerSettings } from './reconciler.ts';

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

export function setupVpcConnectorController(
  deps: ControllerDeps,
  settings: ReconcilerSettings,
): Controller<VpcConnector> {
  const log = deps.log.child({ kind: 'VpcConnector' });
  const reconcile = createVpcConnectorReconciler({
    connectors: deps.connectors,
    serviceNetworkings: deps.serviceNetworkings,
    gateway: deps.view.gateway,
    view: deps.view,
    client: deps.client,
    statusWriter: new StatusWriter({ client: deps.client, resource: vpcConnectorResource, log }),
    events: deps.events,
    settings,
  });
  return new Controller({
    name: 'vpcconnector',
    source: deps.connectors,
    reconcile,
    watches: [watch(deps.serviceNetworkings, referencedConnectors())],
    concurrency: deps.concurrency,
    resyncPeriodMs: deps.resyncPeriodMs,
    reconcileTimeoutMs: deps.reconcileTimeoutMs,
    queue: QUEUE_BACKOFF,
    metrics: deps.metrics,
    log,
  });
}
