// The secondary watches: which VpcConnector keys a ServiceNetworking change enqueues, and which
// ServiceNetworking keys a VpcConnector, a Namespace or another ServiceNetworking change enqueues.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceNetworking } from '../../../src/api/servicenetworking.ts';
import {
  referencingServiceNetworkings,
  sameServiceClaimants,
  serviceNetworkingsIn,
} from '../../../src/controllers/servicenetworking/setup.ts';
import { referencedConnectors } from '../../../src/controllers/vpcconnector/setup.ts';
import { NOW, OTHER_SERVICE_ARN, SERVICE_ARN, cache, svcnet, vpcc } from '../builders.ts';

const egressTo = (ref: string | undefined): ServiceNetworking['spec']['egress'] =>
  ref === undefined ? { type: 'DEFAULT' } : { type: 'VPC', vpcConnectorRef: { name: ref } };

/** svcnet() (or the object `name` of team-a) with egress through VpcConnector `ref`, or DEFAULT when undefined. */
const referencing = (ref: string | undefined, deleting = false, name = 'payments'): ServiceNetworking =>
  svcnet({
    metadata: deleting ? { name, deletionTimestamp: NOW.toISOString() } : { name },
    spec: { egress: egressTo(ref) },
  });

void describe('the ServiceNetworking to VpcConnector mapping', () => {
  void it('enqueues the referenced connector, and the previous one when the reference moves or goes', () => {
    const map = referencedConnectors();
    const steps = [
      { reason: 'a new reference', sn: referencing('a'), keys: ['a'] },
      { reason: 'an unrelated change', sn: referencing('a'), keys: ['a'] },
      { reason: 'moved to another connector: both hear of it', sn: referencing('b'), keys: ['a', 'b'] },
      { reason: 'egress back to DEFAULT: the last one hears of it', sn: referencing(undefined), keys: ['b'] },
      { reason: 'nothing referenced any more', sn: referencing(undefined), keys: [] },
      { reason: 'referenced again, then deleted', sn: referencing('c'), keys: ['c'] },
      { reason: 'being deleted: still enqueued, then forgotten', sn: referencing('c', true), keys: ['c'] },
      { reason: 'after deletion nothing is remembered', sn: referencing(undefined), keys: [] },
    ];
    for (const step of steps) {
      assert.deepEqual(
        map(step.sn).map((k) => `${k.namespace ?? ''}/${k.name}`),
        step.keys.map((name) => `team-a/${name}`),
        step.reason,
      );
    }
  });

  void it('remembers the previous reference of each object apart from the others of its namespace', () => {
    const map = referencedConnectors();
    map(referencing('a', false, 'payments'));
    map(referencing('b', false, 'orders'));
    assert.deepEqual(
      map(referencing('c', false, 'payments')).map((k) => k.name),
      ['a', 'c'],
      'payments moved from a, whatever orders references',
    );
  });
});

const named = (
  namespace: string,
  name: string,
  ref: string | undefined,
  serviceArn = SERVICE_ARN,
): ServiceNetworking =>
  svcnet({
    metadata: { namespace, name, uid: `${namespace}-${name}` },
    spec: { serviceArn, egress: egressTo(ref) },
  });

const keys = (list: readonly { namespace?: string; name: string }[]): string[] =>
  list.map((k) => `${k.namespace ?? ''}/${k.name}`).sort();

void describe('the mappings that wake ServiceNetworkings', () => {
  const objects = cache([
    named('team-a', 'web', 'shared'),
    named('team-a', 'api', 'shared', OTHER_SERVICE_ARN),
    named('team-a', 'db', 'private', OTHER_SERVICE_ARN),
    named('team-b', 'web', 'shared'),
    named('team-b', 'plain', undefined, OTHER_SERVICE_ARN),
    named('team-a', 'public', undefined, OTHER_SERVICE_ARN),
  ]);

  void it('a VpcConnector wakes the objects of its namespace that reference it by name (not those on DEFAULT)', () => {
    const connector = vpcc({ metadata: { name: 'shared' } });
    assert.deepEqual(keys(referencingServiceNetworkings(objects)(connector)), ['team-a/api', 'team-a/web']);
  });

  void it('a Namespace wakes every object in it (its grant may have changed)', () => {
    assert.deepEqual(keys(serviceNetworkingsIn(objects)({ name: 'team-b' })), ['team-b/plain', 'team-b/web']);
  });

  void it('an object wakes the others naming the same service, in any namespace, not itself', () => {
    assert.deepEqual(keys(sameServiceClaimants(objects)(named('team-a', 'web', 'shared'))), ['team-b/web']);
    assert.deepEqual(
      keys(sameServiceClaimants(objects)(named('team-a', 'api', 'shared', OTHER_SERVICE_ARN))),
      ['team-a/db', 'team-a/public', 'team-b/plain'],
    );
  });
});
