// The ServiceNetworking controller's wiring: its reconciler and status writer, and the secondary watches
// that wake it when what it depends on changes: the VpcConnector it references (created, rotated), its
// Namespace (a tenancy grant given or taken away), and another object naming the same service (a
// conflict that clears when the other goes).
import type { ServiceNetworking } from '../../api/servicenetworking.ts';
import type { VpcConnector } from '../../api/vpcconnector.ts';
import { Controller, StatusWriter, watch, type InformerSource, type ObjectKey } from '../../runtime/index.ts';
import { QUEUE_BACKOFF, type ControllerDeps } from '../shared/setup.ts';
import type { NamespaceGrant, ServiceNetworkingSettings } from './observe.ts';
import { createServiceNetworkingReconciler, serviceNetworkingResource } from './reconciler.ts';

const keyOf = (sn: ServiceNetworking): ObjectKey => ({
  namespace: sn.metadata.namespace ?? '',
  name: sn.metadata.name ?? '',
});

/** A VpcConnector change enqueues the ServiceNetworkings of its namespace that reference it by name. */
export function referencingServiceNetworkings(
  serviceNetworkings: InformerSource<ServiceNetworking>,
): (connector: VpcConnector) => ObjectKey[] {
  return (connector) =>
    serviceNetworkings
      .list()
      .filter(
        (sn) =>
          sn.metadata.namespace === connector.metadata.namespace &&
          sn.spec.egress.vpcConnectorRef?.name === connector.metadata.name,
      )
      .map(keyOf);
}

/** A Namespace change enqueues every ServiceNetworking in it (its grant may have changed). */
export function serviceNetworkingsIn(
  serviceNetworkings: InformerSource<ServiceNetworking>,
): (namespace: NamespaceGrant) => ObjectKey[] {
  return (namespace) =>
    serviceNetworkings
      .list()
      .filter((sn) => sn.metadata.namespace === namespace.name)
      .map(keyOf);
}

/** A ServiceNetworking change enqueues the others naming the same service. */
export function sameServiceClaimants(
  serviceNetworkings: InformerSource<ServiceNetworking>,
): (changed: ServiceNetworking) => ObjectKey[] {
  return (changed) =>
    serviceNetworkings
      .list()
      .filter(
        (sn) => sn.spec.serviceArn === changed.spec.serviceArn && sn.metadata.uid !== changed.metadata.uid,
      )
      .map(keyOf);
}

export function setupServiceNetworkingController(
  deps: ControllerDeps,
  settings: ServiceNetworkingSettings,
): Controller<ServiceNetworking> {
  const log = deps.log.child({ kind: 'ServiceNetworking' });
  const reconcile = createServiceNetworkingReconciler({
    serviceNetworkings: deps.serviceNetworkings,
    connectors: deps.connectors,
    namespaces: deps.namespaces,
    view: deps.view,
    client: deps.client,
    statusWriter: new StatusWriter({ client: deps.client, resource: serviceNetworkingResource, log }),
    events: deps.events,
    settings,
  });
  return new Controller({
    name: 'servicenetworking',
    source: deps.serviceNetworkings,
    reconcile,
    watches: [
      watch(deps.connectors, referencingServiceNetworkings(deps.serviceNetworkings)),
      watch(deps.namespaces, serviceNetworkingsIn(deps.serviceNetworkings)),
      watch(deps.serviceNetworkings, sameServiceClaimants(deps.serviceNetworkings)),
    ],
    concurrency: deps.concurrency,
    resyncPeriodMs: deps.resyncPeriodMs,
    reconcileTimeoutMs: deps.reconcileTimeoutMs,
    queue: QUEUE_BACKOFF,
    metrics: deps.metrics,
    log,
  });
}
