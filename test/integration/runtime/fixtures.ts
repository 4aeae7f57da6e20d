// Fixtures shared by the runtime integration tests: a small test CRD with a status subresource. The proxy
// and polling helpers live in test/harness/network.ts.
import type { Condition } from '../../../src/runtime/conditions.ts';
import type { CustomResourceType } from '../../../src/runtime/custom-objects.ts';

export const widgets: CustomResourceType = {
  group: 'test.apprunnernet.dev',
  version: 'v1',
  plural: 'widgets',
  namespaced: true,
};

export const widgetCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${widgets.plural}.${widgets.group}` },
  spec: {
    group: widgets.group,
    scope: 'Namespaced',
    names: { plural: widgets.plural, singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: widgets.version,
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', properties: { size: { type: 'integer' } } },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      },
    ],
  },
};

/** Plain metadata rather than client-node's V1ObjectMeta class, so fixtures can be object literals. */
export interface Widget {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    finalizers?: string[];
    uid?: string;
  };
  spec?: { size?: number };
  status?: { conditions?: Condition[]; [key: string]: unknown };
}

export function widget(namespace: string, name: string, size = 1): Widget {
  return {
    apiVersion: `${widgets.group}/${widgets.version}`,
    kind: 'Widget',
    metadata: { name, namespace },
    spec: { size },
  };
}

export { eventually, sleep, startProxy, type TcpProxy } from '../../harness/network.ts';
