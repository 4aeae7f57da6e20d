// What the ServiceNetworking statechart tells a human, state by state: the exact condition message (it names
// the service, the operation, the owner and the network configuration AWS keeps) and its reason, with the
// variants of a message. The routing table, parameters and requeues are servicenetworking-machine.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceObservation } from '../../../src/aws/gateway.ts';
import {
  DETACH_RETRY_MS,
  FAILED_OPERATION_RETRY_MS,
  decide,
  type StateName,
} from '../../../src/controllers/servicenetworking/machine.ts';
import type { Observation } from '../../../src/controllers/servicenetworking/observe.ts';
import { TERMINAL_RETRY_MS } from '../../../src/controllers/shared/failures.ts';
import {
  ATTACHED,
  CONNECTOR_ARN,
  DEFAULT_PUBLIC,
  MIN,
  NOW,
  SERVICE_ARN,
  SVCNET_TAGS,
  ago,
  awsService,
  lastOperation,
  operation,
} from '../builders.ts';

/** A pure decision takes microseconds; the bound only keeps a broken case from hanging the run. */
const PURE = { timeout: 10_000 };

const OTHER_OWNER = 'ServiceNetworking team-b/payments of cluster prod';
const ATTACHED_TEXT = `egress VPC through ${CONNECTOR_ARN}, public ingress, IPV4`;
const PENDING_CONNECTOR = 'VpcConnector web has no ACTIVE connector yet';

const service = (
  overrides: { status?: ServiceObservation['status']; network?: Partial<ServiceObservation['network']> } = {},
): ServiceObservation => awsService({ ...overrides, network: { ...ATTACHED, ...overrides.network } });

/** Ready for this generation: permitted, claimed by us, RUNNING, VPC egress through the usable connector. */
function observation(overrides: Partial<Observation> = {}): Observation {
  return {
    now: NOW,
    namespace: 'team-a',
    name: 'payments',
    generation: 2,
    deleting: false,
    hasFinalizer: true,
    deletionPolicy: 'Detach',
    serviceArn: SERVICE_ARN,
    ownerTags: SVCNET_TAGS,
    serviceRead: true,
    service: service(),
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

function withoutService(overrides: Partial<Observation> = {}): Observation {
  const { service: _service, ...base } = observation(overrides);
  return base;
}

const deleting = (overrides: Partial<Observation> = {}): Observation =>
  observation({ deleting: true, ...overrides });

const status = (overrides: Partial<Observation['status']>): Pick<Observation, 'status'> => ({
  status: { serviceGone: false, readyForGeneration: true, ...overrides },
});

const inFlight = status({ lastOperation: lastOperation('IN_PROGRESS') });
const waitingConnector: Observation['desiredEgress'] = {
  type: 'VPC',
  connector: { state: 'waiting', why: PENDING_CONNECTOR },
};

interface Case {
  name: string;
  given: Observation;
  state: StateName;
  reason: string;
  message: string;
  requeueAfterMs?: number;
}

const cases: Case[] = [
  {
    name: 'says the object is going when it is deleted without our finalizer',
    given: deleting({ hasFinalizer: false }),
    state: 'released',
    reason: 'Deleting',
    message: 'The object is being deleted.',
  },
  {
    name: 'lets an ungranted object go saying nothing was touched',
    given: deleting({ notPermitted: 'not granted', owner: { kind: 'none' } }),
    state: 'releasingUnpermitted',
    reason: 'Deleting',
    message: 'The service is not granted to this namespace and was left untouched; nothing to undo.',
  },
  {
    name: 'lets go of a service that no longer exists',
    given: withoutService({ deleting: true }),
    state: 'releasingGone',
    reason: 'Deleting',
    message: 'The service no longer exists; nothing to detach.',
  },
  {
    name: 'lets go of a service another owner holds',
    given: deleting({ owner: { kind: 'other', who: OTHER_OWNER } }),
    state: 'releasingForeign',
    reason: 'Deleting',
    message: 'The service belongs to another owner; nothing to undo.',
  },
  {
    name: 'names the operation a detach waits for',
    given: deleting({ ...inFlight, tracked: operation('IN_PROGRESS') }),
    state: 'waitingToDetach',
    reason: 'OperationInProgress',
    message: 'Waiting for operation op-1 on service payments to end before letting go.',
    requeueAfterMs: 10_000,
  },
  {
    name: 'says how a detach ended and what the service keeps',
    given: deleting({ ...inFlight, tracked: operation('ROLLBACK_SUCCEEDED') }),
    state: 'detachFailed',
    reason: 'OperationFailed',
    message: `Detaching service payments ended ROLLBACK_SUCCEEDED; it keeps ${ATTACHED_TEXT}. Retrying.`,
    requeueAfterMs: 15_000,
  },
  {
    name: 'waits out the rest of the pause after a failed detach',
    given: deleting({
      ...status({
        lastOperation: lastOperation('FAILED'),
        operationFailure: { generation: 2, since: ago(20_000) },
      }),
    }),
    state: 'waitingToRetryDetach',
    reason: 'OperationFailed',
    message: `Detaching service payments ended FAILED; it keeps ${ATTACHED_TEXT}. Trying again shortly.`,
    requeueAfterMs: DETACH_RETRY_MS - 20_000,
  },
  {
    name: 'looks again no sooner than the operation delay when the pause is nearly over',
    given: deleting({
      ...status({
        lastOperation: lastOperation('FAILED'),
        operationFailure: { generation: 2, since: ago(55_000) },
      }),
    }),
    state: 'waitingToRetryDetach',
    reason: 'OperationFailed',
    message: `Detaching service payments ended FAILED; it keeps ${ATTACHED_TEXT}. Trying again shortly.`,
    requeueAfterMs: 10_000,
  },
  {
    name: 'names the state that keeps a detach waiting',
    given: deleting({ service: service({ status: 'DELETE_FAILED' }) }),
    state: 'waitingForServiceToDetach',
    reason: 'ServiceNotUpdatable',
    message: 'Service payments is DELETE_FAILED; detaching waits until it can be updated.',
    requeueAfterMs: 15_000,
  },
  {
    name: 'says it detaches',
    given: deleting(),
    state: 'detaching',
    reason: 'Detaching',
    message: 'Detaching service payments: egress back to DEFAULT.',
    requeueAfterMs: 10_000,
  },
  {
    name: 'says it removes its ownership tags once detached',
    given: deleting({ service: service({ network: DEFAULT_PUBLIC }) }),
    state: 'unclaiming',
    reason: 'Deleting',
    message: "Removing this object's ownership tags from service payments.",
  },
  {
    name: 'says the service is detached when it lets go',
    given: deleting({ owner: { kind: 'none' }, service: service({ network: DEFAULT_PUBLIC }) }),
    state: 'releasing',
    reason: 'Deleting',
    message: 'Service payments is detached; removing the finalizer.',
  },
  {
    name: 'says what the service keeps under Retain',
    given: deleting({
      deletionPolicy: 'Retain',
      owner: { kind: 'none' },
      service: service({ network: { isPubliclyAccessible: false, ipAddressType: 'DUAL_STACK' } }),
    }),
    state: 'releasing',
    reason: 'Retained',
    message: `deletionPolicy is Retain: service payments keeps egress VPC through ${CONNECTOR_ARN}, private ingress, DUAL_STACK.`,
  },
  {
    name: 'names the service from its ARN, and an unknown network, when AWS was not read',
    given: withoutService({
      deleting: true,
      deletionPolicy: 'Retain',
      serviceRead: false,
      owner: { kind: 'none' },
    }),
    state: 'releasing',
    reason: 'Retained',
    message: 'deletionPolicy is Retain: service payments keeps unknown.',
  },
  {
    name: 'repeats why the namespace may not manage the service',
    given: observation({ notPermitted: 'Namespace team-a is not granted service payments.' }),
    state: 'notPermitted',
    reason: 'NotPermitted',
    message: 'Namespace team-a is not granted service payments.',
    requeueAfterMs: 5 * MIN,
  },
  {
    name: 'fences deletion before any AWS change',
    given: observation({ hasFinalizer: false }),
    state: 'addingFinalizer',
    reason: 'AddingFinalizer',
    message: 'Adding the finalizer before changing anything in AWS.',
  },
  {
    name: 'repeats the recorded refusal and looks again when the terminal retry is due',
    given: observation({
      ...status({
        failure: { reason: 'AccessDenied', message: 'AWS refused.', generation: 2, since: ago(MIN) },
      }),
    }),
    state: 'awaitingSpecChange',
    reason: 'AccessDenied',
    message: 'AWS refused.',
    requeueAfterMs: TERMINAL_RETRY_MS - MIN,
  },
  {
    name: 'looks again no sooner than the operation delay when the terminal retry is nearly due',
    given: observation({
      ...status({
        failure: {
          reason: 'InvalidInput',
          message: 'm',
          generation: 2,
          since: ago(TERMINAL_RETRY_MS - 1_000),
        },
      }),
    }),
    state: 'awaitingSpecChange',
    reason: 'InvalidInput',
    message: 'm',
    requeueAfterMs: 10_000,
  },
  {
    name: 'says a missing service never returns and what to do',
    given: withoutService(),
    state: 'serviceNotFound',
    reason: 'ServiceNotFound',
    message: `App Runner service ${SERVICE_ARN} does not exist (or is DELETED); the operator never creates services and a deleted one never returns. Delete this object (no AWS call is needed).`,
  },
  {
    name: 'names the other owner of the service',
    given: observation({ owner: { kind: 'other', who: OTHER_OWNER } }),
    state: 'ownedElsewhere',
    reason: 'Conflict',
    message: `Service payments is managed by ${OTHER_OWNER}; only one ServiceNetworking may manage a service. Delete one of them.`,
    requeueAfterMs: 5 * MIN,
  },
  {
    name: 'names the earlier claimant of an unclaimed service',
    given: observation({ owner: { kind: 'none' }, earlierClaimant: 'team-b/payments' }),
    state: 'claimedByEarlier',
    reason: 'Conflict',
    message:
      'Service payments is claimed by ServiceNetworking team-b/payments, created earlier; only one ServiceNetworking may manage a service. Delete one of them.',
    requeueAfterMs: 5 * MIN,
  },
  {
    name: 'says why it does not claim the service yet',
    given: observation({ owner: { kind: 'none' }, desiredEgress: waitingConnector }),
    state: 'waitingForConnectorToClaim',
    reason: 'WaitingForConnector',
    message: `${PENDING_CONNECTOR}; service payments is attached once it is ACTIVE.`,
    requeueAfterMs: 15_000,
  },
  {
    name: 'says it records itself as the owner',
    given: observation({ owner: { kind: 'none' } }),
    state: 'claiming',
    reason: 'Claiming',
    message: 'Recording this object as the owner of service payments.',
  },
  {
    name: 'names the tracked operation and its listed status',
    given: observation({ ...inFlight, tracked: operation('PENDING') }),
    state: 'trackingOperation',
    reason: 'OperationInProgress',
    message: 'Operation op-1 on service payments is PENDING.',
    requeueAfterMs: 10_000,
  },
  {
    name: 'says IN_PROGRESS for a tracked operation that is not listed while the service is busy',
    given: observation({ ...inFlight, service: service({ status: 'OPERATION_IN_PROGRESS' }) }),
    state: 'trackingOperation',
    reason: 'OperationInProgress',
    message: 'Operation op-1 on service payments is IN_PROGRESS.',
  },
  {
    name: 'says how an update ended, what AWS kept and when it tries again',
    given: observation({ ...inFlight, tracked: operation('FAILED') }),
    state: 'operationFailed',
    reason: 'OperationFailed',
    message:
      `Updating service payments ended FAILED (operation op-1); AWS kept ${ATTACHED_TEXT}. ` +
      "Check the service's events in App Runner, then change the spec; the operator tries this generation again after 30 minutes.",
    requeueAfterMs: FAILED_OPERATION_RETRY_MS,
  },
  {
    name: 'calls a rolled-back update RolledBack',
    given: observation({ ...inFlight, tracked: operation('ROLLBACK_SUCCEEDED') }),
    state: 'operationFailed',
    reason: 'RolledBack',
    message:
      `Updating service payments ended ROLLBACK_SUCCEEDED (operation op-1); AWS kept ${ATTACHED_TEXT}. ` +
      "Check the service's events in App Runner, then change the spec; the operator tries this generation again after 30 minutes.",
  },
  {
    name: 'repeats how the last update ended while it waits to retry it',
    given: observation({
      service: service({ network: DEFAULT_PUBLIC }),
      ...status({
        lastOperation: lastOperation('ROLLBACK_SUCCEEDED'),
        readyForGeneration: false,
        operationFailure: { generation: 2, since: ago(MIN) },
      }),
    }),
    state: 'awaitingRetry',
    reason: 'RolledBack',
    message:
      'Updating service payments ended ROLLBACK_SUCCEEDED (operation op-1); AWS kept egress DEFAULT, public ingress, IPV4. ' +
      "Check the service's events in App Runner, then change the spec; the operator tries this generation again after 30 minutes.",
    requeueAfterMs: FAILED_OPERATION_RETRY_MS - MIN,
  },
  {
    name: 'looks again no sooner than the operation delay when the retry is nearly due',
    given: observation({
      service: service({ network: DEFAULT_PUBLIC }),
      ...status({
        lastOperation: lastOperation('FAILED'),
        readyForGeneration: false,
        operationFailure: { generation: 2, since: ago(FAILED_OPERATION_RETRY_MS - 1_000) },
      }),
    }),
    state: 'awaitingRetry',
    reason: 'OperationFailed',
    message:
      'Updating service payments ended FAILED (operation op-1); AWS kept egress DEFAULT, public ingress, IPV4. ' +
      "Check the service's events in App Runner, then change the spec; the operator tries this generation again after 30 minutes.",
    requeueAfterMs: 10_000,
  },
  {
    name: 'says a busy service is busy',
    given: observation({ service: service({ status: 'OPERATION_IN_PROGRESS', network: DEFAULT_PUBLIC }) }),
    state: 'waitingForService',
    reason: 'OperationInProgress',
    message:
      'Service payments is OPERATION_IN_PROGRESS; its network configuration changes once it can be updated.',
    requeueAfterMs: 15_000,
  },
  {
    name: 'says a service App Runner cannot update is not updatable',
    given: observation({ service: service({ status: 'DELETE_FAILED', network: DEFAULT_PUBLIC }) }),
    state: 'waitingForService',
    reason: 'ServiceNotUpdatable',
    message: 'Service payments is DELETE_FAILED; its network configuration changes once it can be updated.',
  },
  {
    name: 'says why a claimed service waits for its connector',
    given: observation({ desiredEgress: waitingConnector, service: service({ network: DEFAULT_PUBLIC }) }),
    state: 'waitingForConnector',
    reason: 'WaitingForConnector',
    message: `${PENDING_CONNECTOR}; service payments is attached once it is ACTIVE.`,
    requeueAfterMs: 15_000,
  },
  {
    name: 'names the one field that differs from spec',
    given: observation({ service: service({ network: DEFAULT_PUBLIC }) }),
    state: 'updating',
    reason: 'Updating',
    message: 'Updating service payments: egress type differs from spec.',
    requeueAfterMs: 10_000,
  },
  {
    name: 'names every field that differs from spec',
    given: observation({
      ingress: false,
      ipAddressType: 'DUAL_STACK',
      service: service({ network: { vpcConnectorArn: 'arn:other' } }),
    }),
    state: 'updating',
    reason: 'Updating',
    message: 'Updating service payments: egress connector, ingress, IP address type differ from spec.',
  },
  {
    name: 'says Attached with the network configuration',
    given: observation(),
    state: 'ready',
    reason: 'Attached',
    message: `Service payments has ${ATTACHED_TEXT}.`,
  },
  {
    name: 'says Detached for DEFAULT egress',
    given: observation({
      desiredEgress: { type: 'DEFAULT', connector: { state: 'none' } },
      service: service({
        network: { ...DEFAULT_PUBLIC, isPubliclyAccessible: false, ipAddressType: 'DUAL_STACK' },
      }),
    }),
    state: 'ready',
    reason: 'Detached',
    message: 'Service payments has egress DEFAULT, private ingress, DUAL_STACK.',
  },
];

void describe('what each ServiceNetworking state reports', () => {
  for (const c of cases) {
    void it(c.name, PURE, () => {
      const decision = decide(c.given);
      assert.equal(decision.state, c.state);
      assert.equal(decision.conditions.kstatus.reason, c.reason);
      assert.equal(decision.conditions.kstatus.message, c.message);
      if (c.requeueAfterMs !== undefined) assert.equal(decision.requeueAfterMs, c.requeueAfterMs);
    });
  }

  void it(
    'marks DeletionBlocked with the report while a detach waits, and False once it can proceed',
    PURE,
    () => {
      const blocked = decide(deleting({ service: service({ status: 'DELETE_FAILED' }) }));
      assert.deepEqual(blocked.conditions.domain, [
        {
          type: 'DeletionBlocked',
          status: 'True',
          reason: 'ServiceNotUpdatable',
          message: blocked.conditions.kstatus.message,
        },
      ]);
      assert.deepEqual(decide(deleting()).conditions.domain, [
        {
          type: 'DeletionBlocked',
          status: 'False',
          reason: 'NotBlocked',
          message: 'Nothing blocks deletion.',
        },
      ]);
      assert.deepEqual(decide(observation()).conditions.domain, []);
    },
  );
});
