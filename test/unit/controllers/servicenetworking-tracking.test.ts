// Judgements of the ServiceNetworking statechart that a table of steady states does not reach: whether
// the operation this object started is still running when AWS's reads disagree (ListOperations against
// DescribeService), what counts as drift (someone else's change) rather than a change of spec, and which
// service statuses App Runner accepts an update in.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide } from '../../../src/controllers/servicenetworking/machine.ts';
import type { Observation } from '../../../src/controllers/servicenetworking/observe.ts';
import {
  ATTACHED,
  CONNECTOR_ARN,
  DEFAULT_PUBLIC,
  NOW,
  SERVICE_ARN,
  SVCNET_TAGS,
  awsService,
  lastOperation,
  operation,
} from '../builders.ts';

/** Pure decisions: the bound only keeps a broken case from hanging the run. */
const PURE = { timeout: 10_000 };

/** Claimed, permitted, VPC egress through the usable connector; the service as given. */
function observation(overrides: Partial<Observation> = {}): Observation {
  return {
    now: NOW,
    namespace: 'team-a',
    name: 'payments',
    generation: 3,
    deleting: false,
    hasFinalizer: true,
    deletionPolicy: 'Detach',
    serviceArn: SERVICE_ARN,
    ownerTags: SVCNET_TAGS,
    serviceRead: true,
    service: awsService({ network: ATTACHED }),
    owner: { kind: 'us' },
    desiredEgress: {
      type: 'VPC',
      connector: { state: 'usable', arn: CONNECTOR_ARN, via: 'VpcConnector web' },
    },
    foreignUpdate: false,
    status: { serviceGone: false, readyForGeneration: true },
    ...overrides,
  };
}

void describe('an operation this object started', () => {
  void it(
    'is still running while ListOperations says so, even when DescribeService already reads RUNNING',
    PURE,
    () => {
      const decision = decide(
        observation({
          service: awsService({ network: DEFAULT_PUBLIC }),
          status: {
            serviceGone: false,
            readyForGeneration: false,
            lastOperation: lastOperation('IN_PROGRESS'),
          },
          tracked: operation('IN_PROGRESS'),
        }),
      );
      assert.equal(decision.state, 'trackingOperation');
      assert.ok(
        !decision.actions.some((a) => a.type === 'updateNetwork'),
        'never a second UpdateService (invariant 4)',
      );
    },
  );

  void it(
    'has ended once ListOperations says SUCCEEDED, even when DescribeService still reads busy',
    PURE,
    () => {
      const decision = decide(
        observation({
          service: awsService({ status: 'OPERATION_IN_PROGRESS', network: ATTACHED }),
          status: {
            serviceGone: false,
            readyForGeneration: false,
            lastOperation: lastOperation('IN_PROGRESS'),
          },
          tracked: operation('SUCCEEDED'),
        }),
      );
      assert.notEqual(decision.state, 'trackingOperation');
      assert.notEqual(decision.state, 'operationFailed');
    },
  );
});

void describe('drift', () => {
  const update = (o: Observation) => {
    const decision = decide(o);
    assert.equal(decision.state, 'updating');
    const [action] = decision.actions;
    assert.ok(action?.type === 'updateNetwork');
    return action.params;
  };

  void it(
    'is what changed in AWS since the last pass recorded it, while this generation is Ready',
    PURE,
    () => {
      const params = update(
        observation({
          service: awsService({ network: DEFAULT_PUBLIC }),
          status: { serviceGone: false, readyForGeneration: true, network: { ...ATTACHED } },
        }),
      );
      assert.deepEqual(params.drift, ['egress type']);
    },
  );

  void it(
    'is nothing after a spec edit: the new generation is not Ready, and the recorded network is the old one',
    PURE,
    () => {
      const params = update(
        observation({
          ingress: false,
          status: { serviceGone: false, readyForGeneration: false, network: { ...DEFAULT_PUBLIC } },
        }),
      );
      assert.deepEqual(params.drift, []);
    },
  );

  void it(
    'is every difference from spec when the newest operation is an update this object did not start',
    PURE,
    () => {
      const params = update(
        observation({
          ingress: true,
          service: awsService({ network: { ...ATTACHED, isPubliclyAccessible: false } }),
          foreignUpdate: true,
          status: { serviceGone: false, readyForGeneration: false },
        }),
      );
      assert.deepEqual(params.drift, ['ingress']);
    },
  );

  void it('is nothing when this generation is Ready but no network was recorded yet', PURE, () => {
    const params = update(
      observation({
        service: awsService({ network: DEFAULT_PUBLIC }),
        status: { serviceGone: false, readyForGeneration: true },
      }),
    );
    assert.deepEqual(params.drift, []);
  });
});

void describe('which services App Runner lets the operator update', () => {
  for (const status of ['RUNNING', 'PAUSED', 'CREATE_FAILED'] as const) {
    void it(`sends the update to a ${status} service`, PURE, () => {
      const decision = decide(observation({ service: awsService({ status, network: DEFAULT_PUBLIC }) }));
      assert.equal(decision.state, 'updating');
    });
  }
  for (const status of ['OPERATION_IN_PROGRESS', 'DELETE_FAILED'] as const) {
    void it(`waits with a ${status} service`, PURE, () => {
      const decision = decide(observation({ service: awsService({ status, network: DEFAULT_PUBLIC }) }));
      assert.equal(decision.state, 'waitingForService');
    });
  }
});
