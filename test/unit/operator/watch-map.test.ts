// The secondary watch: which VpcConnector keys a ServiceNetworking change enqueues.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { API_VERSION } from '../../../src/api/constants.ts';
import type { ServiceNetworking } from '../../../src/api/servicenetworking.ts';
import { referencedConnectors } from '../../../src/operator.ts';

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
