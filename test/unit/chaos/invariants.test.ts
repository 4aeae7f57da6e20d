// The chaos suite's invariant checks, fed with hand-made audit logs and simulator states: a clean run passes,
// and each violation is caught and named.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OwnershipTag } from '../../../src/api/constants.ts';
import {
  checkAll,
  connectorsInUse,
  type AuditCall,
  type Evidence,
  type SimConnector,
  type SimOperation,
  type SimService,
} from '../../chaos/invariants.ts';

const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const CLUSTER = 'chaos-1';
const OPERATOR = 'chaos-replica-a app/apprunner-net';
const OTHER_REPLICA = 'chaos-replica-b app/apprunner-net';
const arn = (name: string): string => `arn:aws:apprunner:us-east-1:123456789012:vpcconnector/${name}/1/0001`;
const SERVICE = 'arn:aws:apprunner:us-east-1:123456789012:service/svc-0/0001';

function connector(name: string, overrides: Partial<SimConnector> = {}): SimConnector {
  return {
    arn: arn(name),
    name,
    subnets: ['subnet-a'],
    securityGroups: ['sg-1'],
    status: 'INACTIVE',
    createdAt: T0,
    deletedAt: T0 + 60_000,
    tags: [
      { Key: OwnershipTag.cluster, Value: CLUSTER },
      { Key: OwnershipTag.namespace, Value: 'ns' },
      { Key: OwnershipTag.name, Value: name.replace(/-r\d$/, '') },
    ],
    ...overrides,
  };
}

function update(
  id: string,
  startedAt: number,
  from: string | undefined,
  to: string | undefined,
  o: Partial<SimOperation> = {},
): SimOperation {
  const net = (c: string | undefined) =>
    c === undefined
      ? { egressType: 'DEFAULT' as const }
      : { egressType: 'VPC' as const, vpcConnectorArn: arn(c) };
  return {
    id,
    type: 'UPDATE_SERVICE',
    startedAt,
    workEndsAt: startedAt + 1_000,
    outcome: 'SUCCEEDED',
    previousNetwork: net(from),
    nextNetwork: net(to),
    ...o,
  };
}

function call(
  seq: number,
  at: number,
  operation: string,
  params: Record<string, unknown> = {},
  o: Partial<AuditCall> = {},
): AuditCall {
  return { seq, time: new Date(at).toISOString(), caller: OPERATOR, operation, params, status: 200, ...o };
}

/** A clean run: c1 created, svc-0 attached at +10 s and detached at +30 s, c1 deleted at +60 s. */
function cleanEvidence(): Evidence {
  const service: SimService = {
    arn: SERVICE,
    network: { egressType: 'DEFAULT' },
    operations: [update('op2', T0 + 30_000, 'c1', undefined), update('op1', T0 + 10_000, undefined, 'c1')],
  };
  return {
    clusterName: CLUSTER,
    calls: [
      call(1, T0, 'CreateVpcConnector', {
        VpcConnectorName: 'c1',
        Tags: Object.values(OwnershipTag).map((Key) => ({ Key, Value: 'x' })),
      }),
      call(2, T0 + 10_000, 'UpdateService'),
      call(3, T0 + 30_000, 'UpdateService'),
      call(4, T0 + 60_000, 'DeleteVpcConnector', { VpcConnectorArn: arn('c1') }),
      call(5, T0 + 61_000, 'DeleteServiceLinkedRole'),
    ],
    state: { regions: { 'us-east-1': { vpcConnectors: [connector('c1')], services: [service] } } },
    simViolations: [],
    samples: [],
    isOperator: (caller) => caller.startsWith('chaos-replica-'),
    instances: [
      { id: 'a-1', caller: OPERATOR, startedAt: T0 - 5_000 },
      { id: 'b-1', caller: OTHER_REPLICA, startedAt: T0 - 5_000 },
    ],
    remainingObjects: [],
    overdue: [],
  };
}

/** The simulator's I7 report: OPERATOR mutated c1 at `at`, OTHER_REPLICA `ago` ms before. */
function sameResource(at: number, ago: number): unknown {
  return {
    time: new Date(at).toISOString(),
    invariant: 'I7: two callers mutated one resource within the concurrency window',
    caller: OPERATOR,
    operation: 'DeleteVpcConnector',
    resource: arn('c1'),
    detail: `${OTHER_REPLICA} mutated it ${ago} ms earlier`,
  };
}

const region = (e: Evidence) => e.state.regions['us-east-1'] ?? { vpcConnectors: [], services: [] };

void describe('chaos invariants', () => {
  void it('should find nothing wrong in a clean run', () => {
    assert.deepEqual(checkAll(cleanEvidence()), []);
  });

  void it('should see both connectors of a service in use while an operation moves it', () => {
    const service: SimService = {
      arn: SERVICE,
      network: { egressType: 'VPC', vpcConnectorArn: arn('c2') },
      operations: [update('op1', T0, 'c1', 'c2')],
    };
    assert.deepEqual([...connectorsInUse(service, T0 - 1)], [arn('c1')]);
    assert.deepEqual([...connectorsInUse(service, T0 + 500)].sort(), [arn('c1'), arn('c2')]);
    assert.deepEqual([...connectorsInUse(service, T0 + 2_000)], [arn('c2')]);
  });

  const cases: { name: string; invariant: RegExp; mutate: (e: Evidence) => Evidence }[] = [
    {
      name: 'a DeleteVpcConnector while a service is attached',
      invariant: /^I1: DeleteVpcConnector while in use/,
      mutate: (e) => ({
        ...e,
        calls: [
          ...e.calls,
          call(
            9,
            T0 + 20_000,
            'DeleteVpcConnector',
            { VpcConnectorArn: arn('c1') },
            { status: 400, errorCode: 'InvalidRequestException' },
          ),
        ],
      }),
    },
    {
      name: 'a DeleteVpcConnector while the detaching operation still runs',
      invariant: /^I1: DeleteVpcConnector while in use/,
      mutate: (e) => ({
        ...e,
        calls: [...e.calls, call(9, T0 + 30_500, 'DeleteVpcConnector', { VpcConnectorArn: arn('c1') })],
      }),
    },
    {
      name: 'a DeleteVpcConnector after a detach that rolled back',
      invariant: /^I1: DeleteVpcConnector while in use/,
      mutate: (e) => {
        const r = region(e);
        const service = r.services[0];
        if (service === undefined) throw new Error('no service');
        service.operations[0] = update('op2', T0 + 30_000, 'c1', undefined, {
          outcome: 'ROLLBACK_SUCCEEDED',
          rollbackEndsAt: T0 + 32_000,
        });
        return e;
      },
    },
    {
      name: 'a DeleteServiceLinkedRole while a connector exists',
      invariant: /^I1: DeleteServiceLinkedRole while connectors exist/,
      mutate: (e) => ({ ...e, calls: [...e.calls, call(9, T0 + 50_000, 'DeleteServiceLinkedRole')] }),
    },
    {
      name: 'a second connector with the same configuration for one object',
      invariant: /^I2: duplicate connector/,
      mutate: (e) => {
        region(e).vpcConnectors.push(
          connector('c1-r2', { arn: arn('c1-r2'), createdAt: T0 + 5_000, deletedAt: T0 + 50_000 }),
        );
        return e;
      },
    },
    {
      name: 'three connectors of one object ACTIVE at once',
      invariant: /^I2: more than two ACTIVE connectors/,
      mutate: (e) => {
        region(e).vpcConnectors.push(
          connector('c1-r2', { arn: arn('c1-r2'), subnets: ['subnet-b'], createdAt: T0 + 5_000 }),
          connector('c1-r3', { arn: arn('c1-r3'), subnets: ['subnet-c'], createdAt: T0 + 6_000 }),
        );
        return e;
      },
    },
    {
      name: 'a connector of this cluster left ACTIVE',
      invariant: /^I2: connector left behind/,
      mutate: (e) => {
        region(e).vpcConnectors.push(
          connector('c9', { arn: arn('c9'), status: 'ACTIVE', createdAt: T0 + 90_000 }),
        );
        delete region(e).vpcConnectors[1]?.deletedAt;
        return e;
      },
    },
    {
      name: 'a connector created without ownership tags',
      invariant: /^I9: connector created without ownership tags/,
      mutate: (e) => ({
        ...e,
        calls: [...e.calls, call(9, T0 + 80_000, 'CreateVpcConnector', { VpcConnectorName: 'c5', Tags: [] })],
      }),
    },
    {
      name: 'an UpdateService while the previous operation still ran',
      invariant: /^I4: UpdateService while an operation was in flight/,
      mutate: (e) => {
        region(e).services[0]?.operations.unshift(update('op3', T0 + 30_500, undefined, undefined));
        return e;
      },
    },
    {
      name: 'a ServiceNetworking Ready while its recorded operation rolled back',
      invariant: /^I5: Ready on a failed operation/,
      mutate: (e) => ({
        ...e,
        samples: [
          {
            at: T0 + 40_000,
            key: 'ns/sn1',
            serviceArn: SERVICE,
            generation: 2,
            readySince: T0 + 39_000,
            lastOperationStatus: 'ROLLBACK_SUCCEEDED',
            desired: { type: 'DEFAULT' },
          },
        ],
      }),
    },
    {
      name: 'a ServiceNetworking turned Ready after AWS rolled its operation back',
      invariant: /^I5: Ready on a failed operation/,
      mutate: (e) => ({
        ...e,
        samples: [
          {
            at: T0 + 40_000,
            key: 'ns/sn1',
            serviceArn: SERVICE,
            generation: 2,
            readySince: T0 + 35_000,
            lastOperationStatus: 'SUCCEEDED',
            desired: { type: 'DEFAULT' },
            aws: {
              egressType: 'VPC',
              vpcConnectorArn: arn('c1'),
              connectorObject: 'ns/c1',
              latestOperation: { id: 'op2', outcome: 'ROLLBACK_SUCCEEDED', end: T0 + 32_000 },
            },
          },
        ],
      }),
    },
    {
      name: 'two replicas mutating in overlapping windows',
      invariant: /^I7: two replicas mutated AWS at the same time/,
      mutate: (e) => ({
        ...e,
        calls: [...e.calls, call(9, T0 + 20_000, 'TagResource', {}, { caller: OTHER_REPLICA })],
      }),
    },
    {
      name: 'a violation the simulator recorded itself',
      invariant: /^GET \/_sim\/violations/,
      mutate: (e) => ({
        ...e,
        simViolations: [{ invariant: 'I4: UpdateService while the service is OPERATION_IN_PROGRESS' }],
      }),
    },
    {
      name: 'two live replicas the simulator saw mutate one resource within its window',
      invariant: /^GET \/_sim\/violations/,
      mutate: (e) => ({
        ...e,
        simViolations: [sameResource(T0 + 20_000, 3_000)],
      }),
    },
    {
      name: 'an object that did not converge within the bound',
      invariant: /^Convergence bound exceeded/,
      mutate: (e) => ({
        ...e,
        overdue: ['VpcConnector ns/c1 was not Ready 90 s after the faults were cleared'],
      }),
    },
    {
      name: 'an object left in the cluster',
      invariant: /^Object left in the cluster/,
      mutate: (e) => ({ ...e, remainingObjects: ['VpcConnector ns/c1'] }),
    },
  ];
  for (const c of cases) {
    void it(`should catch ${c.name}`, () => {
      const found = checkAll(c.mutate(cleanEvidence()));
      assert.equal(found.length, 1, JSON.stringify(found, null, 1));
      assert.match(found[0]?.invariant ?? '', c.invariant);
    });
  }

  void it('should accept Ready at a later generation than the rolled-back operation when AWS has that spec', () => {
    // The edit went back to what the rollback kept (DEFAULT): no operation was needed, the record still
    // shows the rolled-back one.
    const e = cleanEvidence();
    const sample = {
      at: T0 + 40_000,
      key: 'ns/sn1',
      serviceArn: SERVICE,
      generation: 3,
      readySince: T0 + 39_000,
      lastOperationStatus: 'ROLLBACK_SUCCEEDED',
      lastOperationGeneration: 2,
      desired: { type: 'DEFAULT' as const },
      aws: {
        egressType: 'DEFAULT' as const,
        latestOperation: { id: 'op2', outcome: 'ROLLBACK_SUCCEEDED' as const, end: T0 + 30_000 },
      },
    };
    assert.deepEqual(checkAll({ ...e, samples: [sample] }), []);
    // Ready at the generation the operation was started for is the violation.
    const found = checkAll({ ...e, samples: [{ ...sample, generation: 2 }] });
    assert.equal(found.length, 1, JSON.stringify(found, null, 1));
    assert.match(
      found[0]?.detail ?? '',
      /Ready at generation 2 while status.lastOperation \(generation 2\) is ROLLBACK_SUCCEEDED/,
    );
  });

  void it('should not blame a replica for a call its killed predecessor had in flight', () => {
    const e = cleanEvidence();
    const late = call(9, T0 + 61_500, 'TagResource');
    const evidence: Evidence = {
      ...e,
      calls: [...e.calls, late, call(10, T0 + 62_000, 'TagResource', {}, { caller: OTHER_REPLICA })],
      instances: [
        { id: 'a-1', caller: OPERATOR, startedAt: T0 - 5_000, endedAt: T0 + 61_400 },
        { id: 'b-1', caller: OTHER_REPLICA, startedAt: T0 + 61_450 },
      ],
    };
    assert.deepEqual(checkAll(evidence), []);
  });

  void it("should not count the simulator's I7 for a handover: the earlier writer had exited", () => {
    const e = cleanEvidence();
    const evidence: Evidence = {
      ...e,
      simViolations: [sameResource(T0 + 20_000, 3_700)],
      instances: [
        { id: 'b-1', caller: OTHER_REPLICA, startedAt: T0 - 5_000, endedAt: T0 + 17_000 },
        { id: 'a-2', caller: OPERATOR, startedAt: T0 + 18_000 },
      ],
    };
    assert.deepEqual(checkAll(evidence), []);
    // The same report while the earlier writer still ran is a violation.
    const live: Evidence = {
      ...evidence,
      instances: [
        { id: 'b-1', caller: OTHER_REPLICA, startedAt: T0 - 5_000, endedAt: T0 + 21_000 },
        { id: 'a-2', caller: OPERATOR, startedAt: T0 + 18_000 },
      ],
    };
    assert.equal(checkAll(live).length, 1);
  });
});
