// What a guarded write accepts as the object it writes to, and how an API failure reaches the reconciler.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ApiException, type KubernetesObject } from '@kubernetes/client-node';

import { asWriteError, identityOf, type CustomResourceType } from '../../../src/runtime/custom-objects.ts';
import { ConflictError } from '../../../src/runtime/errors.ts';
import { clusterScoped, namespaced } from './support.ts';

const notRead = /needs an object read from the API server/;
const noNamespace = /widgets\.test\.apprunnernet\.dev is namespaced but the object has no namespace/;

void describe('identityOf', () => {
  const refused: { reason: string; resource: CustomResourceType; obj: KubernetesObject; error: RegExp }[] = [
    {
      reason: 'an object without metadata was never read from the API server',
      resource: namespaced,
      obj: {},
      error: notRead,
    },
    {
      reason: 'an object without a name cannot be addressed',
      resource: namespaced,
      obj: { metadata: { namespace: 'ns', resourceVersion: '7' } },
      error: notRead,
    },
    {
      reason: 'without a resourceVersion the write would not be guarded',
      resource: namespaced,
      obj: { metadata: { name: 'w', namespace: 'ns' } },
      error: notRead,
    },
    {
      reason: 'an empty resourceVersion guards nothing either',
      resource: namespaced,
      obj: { metadata: { name: 'w', namespace: 'ns', resourceVersion: '' } },
      error: notRead,
    },
    {
      reason: 'a namespaced kind needs the namespace to address the object',
      resource: namespaced,
      obj: { metadata: { name: 'w', resourceVersion: '7' } },
      error: noNamespace,
    },
    {
      reason: 'an empty namespace is no namespace',
      resource: namespaced,
      obj: { metadata: { name: 'w', namespace: '', resourceVersion: '7' } },
      error: noNamespace,
    },
  ];
  for (const c of refused) {
    void it(`should refuse the object: ${c.reason}`, () => {
      assert.throws(
        () => identityOf(c.resource, c.obj),
        (err: Error) => err instanceof TypeError && c.error.test(err.message),
      );
    });
  }

  void it('should return the name, namespace and resourceVersion of a namespaced object', () => {
    assert.deepEqual(
      identityOf(namespaced, { metadata: { name: 'w', namespace: 'ns', resourceVersion: '7' } }),
      { name: 'w', namespace: 'ns', resourceVersion: '7' },
    );
  });

  void it('should address a cluster-scoped object without a namespace, even if the object carries one', () => {
    assert.deepEqual(identityOf(clusterScoped, { metadata: { name: 'g', resourceVersion: '3' } }), {
      name: 'g',
      namespace: undefined,
      resourceVersion: '3',
    });
    assert.deepEqual(
      identityOf(clusterScoped, { metadata: { name: 'g', namespace: 'ns', resourceVersion: '3' } }),
      { name: 'g', namespace: undefined, resourceVersion: '3' },
    );
  });
});

void describe('asWriteError', () => {
  void it('should turn a conflict status into a ConflictError that says what failed and keeps the API error', () => {
    const apiError = new ApiException(409, 'Conflict', {}, {});
    const err = asWriteError(apiError, 'Could not write status', [409, 422]);
    assert.ok(err instanceof ConflictError);
    assert.equal(err.message, 'Could not write status: the object changed since it was read (HTTP 409)');
    assert.equal(err.cause, apiError);
  });

  void it('should leave a status that is not a conflict for this write as a plain error with its cause', () => {
    const apiError = new ApiException(422, 'Unprocessable', {}, {});
    const err = asWriteError(apiError, 'Could not write status', [409]);
    assert.ok(!(err instanceof ConflictError));
    assert.equal(err.message, 'Could not write status');
    assert.equal(err.cause, apiError);
  });

  void it('should never read a failure without an HTTP status as a conflict', () => {
    const err = asWriteError(new Error('socket hang up'), 'Could not add the finalizer', [409, 422]);
    assert.ok(!(err instanceof ConflictError));
  });
});
