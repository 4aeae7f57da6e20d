// The secondary watches: which VpcConnector keys a ServiceNetworking change enqueues, and which
// ServiceNetworking keys a VpcConnector, a Namespace or another ServiceNetworking change enqueues.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { API_VERSION } from '../../../src/api/constants.ts';
import type { ServiceNetworking } from '../../../src/api/servicenetworking.ts';
import {
  referencingServiceNetworkings,
  sameServiceClaimants,
  serviceNetworkingsIn,
} from '../../../src/controllers/servicenetworking/setup.ts';
import type { VpcConnector } from '../../../src/api/vpcconnector.ts';
import type { InformerSource } from '../../../src/runtime/types.ts';
import { referencedConnectors } from '../../../src/controllers/vpcconnector/setup.ts';

const SERVICE = `arn:aws:apprunner:us-east-1:123456789012:service/web/${'c'.repeat(32)}`;

function svcnet(ref: string | undefined, deleting = false): ServiceNetworking {
  return {
    apiVersion: API_VERSION,
    kind: 'ServiceNetworking',
    metadata: {
      name: 'web',
      namespace: 'team-a',
      ...(deleting ? { deletionTimestamp: '2026-11-27T12:00:00Z' } : {}),
    },
    spec: {
      serviceArn: SERVICE,
      egress: ref === undefined ? { type: 'DEFAULT' } : { type: 'VPC', vpcConnectorRef: { name: ref } },
      deletionPolicy: 'Detach',
    },
  };
}

void describe('the ServiceNetworking to VpcConnector mapping', () => {
  void it('enqueues the referenced connector, and the previous one when the reference moves or goes', () => {
    const map = referencedConnectors();
    const steps = [
      { reason: 'a new reference', sn: svcnet('a'), keys: ['a'] },
      { reason: 'an unrelated change', sn: svcnet('a'), keys: ['a'] },
      { reason: 'moved to another connector: both hear of it', sn: svcnet('b'), keys: ['a', 'b'] },
      { reason: 'egress back to DEFAULT: the last one hears of it', sn: svcnet(undefined), keys: ['b'] },
      { reason: 'nothing referenced any more', sn: svcnet(undefined), keys: [] },
      { reason: 'referenced again, then deleted', sn: svcnet('c'), keys: ['c'] },
      { reason: 'being deleted: still enqueued, then forgotten', sn: svcnet('c', true), keys: ['c'] },
      { reason: 'after deletion nothing is remembered', sn: svcnet(undefined), keys: [] },
    ];
    for (const step of steps) {
      assert.deepEqual(
        map(step.sn).map((k) => `${k.namespace ?? ''}/${k.name}`),
        step.keys.map((name) => `team-a/${name}`),
        step.reason,
      );
    }
  });
});

function cache(items: ServiceNetworking[]): InformerSource<ServiceNetworking> {
  return {
    start: () => Promise.resolve(),
    stop: () => undefined,
    hasSynced: () => true,
    list: () => items,
    get: (namespace, name) =>
      items.find((o) => o.metadata.namespace === namespace && o.metadata.name === name),
    onChange: () => undefined,
  };
}

function named(
  namespace: string,
  name: string,
  ref: string | undefined,
  serviceArn = SERVICE,
): ServiceNetworking {
  const sn = svcnet(ref);
  return {
    ...sn,
    metadata: { ...sn.metadata, namespace, name, uid: `${namespace}-${name}` },
    spec: { ...sn.spec, serviceArn },
  };
}

const keys = (list: readonly { namespace?: string; name: string }[]): string[] =>
  list.map((k) => `${k.namespace ?? ''}/${k.name}`).sort();

void describe('the mappings that wake ServiceNetworkings', () => {
  const other = `arn:aws:apprunner:us-east-1:123456789012:service/api/${'d'.repeat(32)}`;
  const objects = cache([
    named('team-a', 'web', 'shared'),
    named('team-a', 'api', 'shared', other),
    named('team-a', 'db', 'private', other),
    named('team-b', 'web', 'shared'),
    named('team-b', 'plain', undefined, other),
  ]);

  void it('a VpcConnector wakes the objects of its namespace that reference it by name', () => {
    const connector = { metadata: { namespace: 'team-a', name: 'shared' } } as VpcConnector;
    assert.deepEqual(keys(referencingServiceNetworkings(objects)(connector)), ['team-a/api', 'team-a/web']);
  });

  void it('a Namespace wakes every object in it (its grant may have changed)', () => {
    assert.deepEqual(keys(serviceNetworkingsIn(objects)({ name: 'team-b' })), ['team-b/plain', 'team-b/web']);
  });

  void it('an object wakes the others naming the same service, in any namespace, not itself', () => {
    assert.deepEqual(keys(sameServiceClaimants(objects)(named('team-a', 'web', 'shared'))), ['team-b/web']);
    assert.deepEqual(keys(sameServiceClaimants(objects)(named('team-a', 'api', 'shared', other))), [
      'team-a/db',
      'team-b/plain',
    ]);
  });
});
