// Addressing custom resources through client-node's CustomObjectsApi, shared by the finalizer and status
// helpers: which resource, which object, and how an API failure maps to the runtime's typed errors.
import { ApiException, type CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';

import { ConflictError } from './errors.ts';

/** A custom resource's group, version and plural; `namespaced` picks the namespaced or cluster paths. */
export interface CustomResourceType {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

/** The CustomObjectsApi calls the helpers make (client-node's class satisfies it). */
export type CustomObjectPatcher = Pick<
  CustomObjectsApi,
  | 'patchNamespacedCustomObject'
  | 'patchClusterCustomObject'
  | 'patchNamespacedCustomObjectStatus'
  | 'patchClusterCustomObjectStatus'
>;

export interface ObjectIdentity {
  name: string;
  namespace: string | undefined;
  resourceVersion: string;
}

/** The name, namespace and resourceVersion a guarded write needs; refuses an object without them. */
export function identityOf(resource: CustomResourceType, obj: KubernetesObject): ObjectIdentity {
  const name = obj.metadata?.name;
  const namespace = obj.metadata?.namespace;
  const resourceVersion = obj.metadata?.resourceVersion;
  if (name === undefined || resourceVersion === undefined || resourceVersion === '') {
    throw new TypeError(
      'A guarded write needs an object read from the API server (name and resourceVersion).',
    );
  }
  if (resource.namespaced && (namespace === undefined || namespace === '')) {
    throw new TypeError(
      `${resource.plural}.${resource.group} is namespaced but the object has no namespace.`,
    );
  }
  return { name, namespace: resource.namespaced ? namespace : undefined, resourceVersion };
}

export function httpStatusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** An API failure as thrown to the reconciler: a lost optimistic-concurrency race becomes ConflictError. */
export function asWriteError(err: unknown, what: string, conflictCodes: readonly number[]): Error {
  const status = httpStatusOf(err);
  if (status !== undefined && conflictCodes.includes(status)) {
    return new ConflictError(`${what}: the object changed since it was read (HTTP ${status})`, {
      cause: err,
    });
  }
  return new Error(what, { cause: err });
}
