// Writes `status` once per reconcile pass, and not at all when it would not change (DESIGN.md invariant 8:
// steady state costs no Kubernetes writes).
//
// Choice: a JSON merge patch of the status subresource that carries the observed `metadata.resourceVersion`,
// not server-side apply. The operator is the only writer of its kinds' status, so SSA's field ownership
// buys nothing, while the resourceVersion in the patch is a precondition: a status computed from a stale
// read fails with 409 (ConflictError, retried after a fresh read) instead of overwriting newer status.
// A merge patch keeps any key it does not mention, so keys the new status drops are sent as `null`.
// client-node defaults these calls to JSON Patch; the Content-Type is set explicitly.
import { isDeepStrictEqual } from 'node:util';

import { type KubernetesObject, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

import {
  asWriteError,
  type CustomObjectPatcher,
  type CustomResourceType,
  httpStatusOf,
  identityOf,
} from './custom-objects.ts';
import { discardLogger, type Logger } from './logging.ts';

export type StatusObject = Readonly<Record<string, unknown>>;

export type StatusWriteResult<T> =
  | { readonly outcome: 'written'; readonly object: T }
  | { readonly outcome: 'unchanged' }
  | { readonly outcome: 'gone' };

export interface StatusWriterOptions {
  client: CustomObjectPatcher;
  resource: CustomResourceType;
  log?: Logger;
}

export class StatusWriter {
  readonly #client: CustomObjectPatcher;
  readonly #resource: CustomResourceType;
  readonly #log: Logger;
  #writes = 0;
  #skipped = 0;

  constructor(options: StatusWriterOptions) {
    this.#client = options.client;
    this.#resource = options.resource;
    this.#log = options.log ?? discardLogger;
  }

  /** Writes and skips so far (tests and benchmarks count them). */
  counts(): { writes: number; skipped: number } {
    return { writes: this.#writes, skipped: this.#skipped };
  }

  /**
   * Makes the object's status `status`, unless it already deep-equals it (after a JSON round trip, so an
   * `undefined` field and a missing one are the same). Throws ConflictError when the object changed since
   * `observed` was read; returns `gone` when it no longer exists.
   */
  async write<T extends KubernetesObject>(
    observed: T & { status?: unknown },
    status: StatusObject,
  ): Promise<StatusWriteResult<T>> {
    const before = toJson(observed.status ?? {});
    const after = toJson(status);
    if (isDeepStrictEqual(before, after)) {
      this.#skipped++;
      return { outcome: 'unchanged' };
    }
    const id = identityOf(this.#resource, observed);
    const body = {
      metadata: { resourceVersion: id.resourceVersion },
      status: mergePatchValue(before, after),
    };
    const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const { group, version, plural } = this.#resource;
    this.#writes++;
    try {
      const written: unknown =
        id.namespace === undefined
          ? await this.#client.patchClusterCustomObjectStatus(
              { group, version, plural, name: id.name, body },
              options,
            )
          : await this.#client.patchNamespacedCustomObjectStatus(
              { group, version, plural, namespace: id.namespace, name: id.name, body },
              options,
            );
      this.#log.debug('Wrote status', { name: id.name, namespace: id.namespace });
      return { outcome: 'written', object: written as T };
    } catch (err) {
      if (httpStatusOf(err) === 404) return { outcome: 'gone' };
      throw asWriteError(err, 'Could not write status', [409]);
    }
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `value` is an object: JSON.stringify never returns undefined for one. */
function toJson(value: object): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}

function isRecord(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The merge patch (RFC 7396) that turns `before` into `after`: every key of `after`, objects merged
 * recursively, and `null` for every key that `after` drops. Lists are replaced whole, as the RFC does.
 */
function mergePatchValue(before: Json | undefined, after: Json): Json {
  if (!isRecord(after) || !isRecord(before)) return after;
  const patch: { [key: string]: Json } = {};
  for (const key of Object.keys(before)) {
    if (!(key in after)) patch[key] = null;
  }
  for (const [key, value] of Object.entries(after)) {
    patch[key] = mergePatchValue(before[key], value);
  }
  return patch;
}
