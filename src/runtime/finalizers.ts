// Adding and removing a finalizer with a JSON Patch guarded by a `test` of the resourceVersion the caller
// observed: a decision made on a stale read never lands (STYLE.md §7: removal needs a fresh observation).
// Both are idempotent: nothing is written when the finalizer is already there (or already gone).
import { type KubernetesObject, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

import {
  asWriteError,
  type CustomObjectPatcher,
  type CustomResourceType,
  httpStatusOf,
  identityOf,
  type ObjectIdentity,
} from './custom-objects.ts';

type JsonPatchOp =
  | { op: 'test'; path: string; value: unknown }
  | { op: 'add'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** 409: resourceVersion precondition; 422: a failed `test` op (the API server's answer to a JSON Patch test). */
const conflictCodes = [409, 422] as const;

export function hasFinalizer(obj: KubernetesObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

/**
 * Adds `finalizer` unless present. Returns the object as the API server now has it, `obj` itself when
 * nothing was written, or `undefined` when the object no longer exists. Throws ConflictError when the object
 * changed since `obj` was read.
 */
export async function addFinalizer<T extends KubernetesObject>(
  client: CustomObjectPatcher,
  resource: CustomResourceType,
  obj: T,
  finalizer: string,
): Promise<T | undefined> {
  if (hasFinalizer(obj, finalizer)) return obj;
  const id = identityOf(resource, obj);
  const current = obj.metadata?.finalizers;
  const ops: JsonPatchOp[] = [
    guard(id),
    current === undefined
      ? { op: 'add', path: '/metadata/finalizers', value: [finalizer] }
      : { op: 'add', path: '/metadata/finalizers/-', value: finalizer },
  ];
  return patch<T>(client, resource, id, ops, `Could not add finalizer ${finalizer}`);
}

/**
 * Removes `finalizer` if present, testing both the resourceVersion and the entry's position. Same returns
 * as {@link addFinalizer}; a missing object counts as done.
 */
export async function removeFinalizer<T extends KubernetesObject>(
  client: CustomObjectPatcher,
  resource: CustomResourceType,
  obj: T,
  finalizer: string,
): Promise<T | undefined> {
  const index = obj.metadata?.finalizers?.indexOf(finalizer) ?? -1;
  if (index < 0) return obj;
  const id = identityOf(resource, obj);
  const ops: JsonPatchOp[] = [
    guard(id),
    { op: 'test', path: `/metadata/finalizers/${index}`, value: finalizer },
    { op: 'remove', path: `/metadata/finalizers/${index}` },
  ];
  return patch<T>(client, resource, id, ops, `Could not remove finalizer ${finalizer}`);
}

function guard(id: ObjectIdentity): JsonPatchOp {
  return { op: 'test', path: '/metadata/resourceVersion', value: id.resourceVersion };
}

async function patch<T>(
  client: CustomObjectPatcher,
  resource: CustomResourceType,
  id: ObjectIdentity,
  body: JsonPatchOp[],
  what: string,
): Promise<T | undefined> {
  // JSON Patch is client-node's default for these calls today; saying so keeps the `test` ops meaningful
  // if that default ever changes.
  const options = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  const { group, version, plural } = resource;
  try {
    const result: unknown =
      id.namespace === undefined
        ? await client.patchClusterCustomObject({ group, version, plural, name: id.name, body }, options)
        : await client.patchNamespacedCustomObject(
            { group, version, plural, namespace: id.namespace, name: id.name, body },
            options,
          );
    return result as T;
  } catch (err) {
    if (httpStatusOf(err) === 404) return undefined;
    throw asWriteError(err, what, conflictCodes);
  }
}
