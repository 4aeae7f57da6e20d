// The ServiceNetworking observation: the tenancy check, which AWS reads a pass makes, and how the object, the
// caches (namespace grant, VpcConnector, other ServiceNetworkings) and those reads fold into the Observation;
// then observe -> decide for the paths where the fold decides the outcome.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OwnershipTag } from '../../../src/api/constants.ts';
import type { ServiceNetworking } from '../../../src/api/servicenetworking.ts';
import type { VpcConnector } from '../../../src/api/vpcconnector.ts';
import type { OperationObservation, ServiceObservation } from '../../../src/aws/gateway.ts';
import { decide } from '../../../src/controllers/servicenetworking/machine.ts';
import {
  desiredNetwork,
  detachedNetwork,
  networkDifferences,
  observe,
  readPlan,
  serviceArnParts,
  tenancyRefusal,
  type AwsReads,
  type NamespaceGrant,
  type ObserveInput,
  type ServiceNetworkingSettings,
} from '../../../src/controllers/servicenetworking/observe.ts';
import {
  ACCOUNT,
  CONNECTOR_ARN,
  NOW,
  ROTATED_CONNECTOR_ARN,
  SERVICE_ARN,
  SVCNET_TAGS,
  activeConnector,
  awsConnector,
  awsService,
  condition,
  grant,
  lastOperation,
  serviceNetworkingSettings as settings,
  svcnet,
  vpcc,
} from '../builders.ts';

// ---- Builders ----

const OTHER_ACCOUNT_ARN =
  'arn:aws:apprunner:us-east-1:210987654321:service/payments/8fe1e10304f84fd2b0df550fe98a71fa';
const WEST_ARN = `arn:aws:apprunner:us-west-2:${ACCOUNT}:service/payments/0fe1e10304f84fd2b0df550fe98a71fb`;

const deletingObject = (status?: ServiceNetworking['status']): ServiceNetworking =>
  svcnet({
    metadata: { deletionTimestamp: '2026-11-27T11:59:00Z' },
    ...(status === undefined ? {} : { status }),
  });

/** The service private and dual-stack, so that what is kept "as AWS shows it" differs from the defaults. */
const privateService = (network: Partial<ServiceObservation['network']> = {}): ServiceObservation =>
  awsService({ network: { isPubliclyAccessible: false, ipAddressType: 'DUAL_STACK', ...network } });

const reads = (overrides: Partial<AwsReads> = {}): AwsReads => ({
  serviceRead: true,
  service: privateService(),
  tags: SVCNET_TAGS,
  ...overrides,
});

/** A granted namespace, the referenced connector ACTIVE, AWS read: override what a case is about. */
function input(overrides: Partial<ObserveInput> = {}): ObserveInput {
  return {
    object: svcnet(),
    namespace: grant('payments'),
    connector: activeConnector(),
    serviceNetworkings: [],
    aws: reads(),
    settings,
    now: NOW,
    ...overrides,
  };
}

// ---- Tenancy ----

void describe('tenancyRefusal', () => {
  const cases: {
    reason: string;
    object?: ServiceNetworking;
    namespace: NamespaceGrant | undefined;
    settings?: ServiceNetworkingSettings;
    refusal: string | undefined;
  }[] = [
    { reason: 'a grant by service name permits it', namespace: grant('payments'), refusal: undefined },
    { reason: 'a grant by full ARN permits it', namespace: grant(SERVICE_ARN), refusal: undefined },
    { reason: 'a `*` grant permits any service', namespace: grant('*'), refusal: undefined },
    {
      reason: 'a comma-separated list with spaces permits each entry',
      namespace: grant(' orders , payments '),
      refusal: undefined,
    },
    {
      reason: 'a namespace without the annotation is refused, naming the annotation',
      namespace: grant(undefined),
      refusal:
        'Namespace team-a is not granted any App Runner service: a cluster admin lists the services it may manage in its apprunnernet.dev/allowed-services annotation.',
    },
    {
      reason: 'a namespace missing from the cache is refused like one without the annotation',
      namespace: undefined,
      refusal:
        'Namespace team-a is not granted any App Runner service: a cluster admin lists the services it may manage in its apprunnernet.dev/allowed-services annotation.',
    },
    {
      reason: 'a grant of other services is refused, quoting the grant',
      namespace: grant('orders,inventory'),
      refusal:
        'Namespace team-a is not granted service payments (apprunnernet.dev/allowed-services: "orders,inventory").',
    },
    {
      reason: 'an empty grant is refused, quoting it',
      namespace: grant(''),
      refusal: 'Namespace team-a is not granted service payments (apprunnernet.dev/allowed-services: "").',
    },
    {
      reason: 'an ARN grant names one service: the same name in another region is refused',
      object: svcnet({ spec: { serviceArn: WEST_ARN } }),
      namespace: grant(SERVICE_ARN),
      refusal: `Namespace team-a is not granted service payments (apprunnernet.dev/allowed-services: "${SERVICE_ARN}").`,
    },
    {
      reason: 'a name grant does not reach a service of another account when the operator’s account is set',
      object: svcnet({ spec: { serviceArn: OTHER_ACCOUNT_ARN } }),
      namespace: grant('payments'),
      settings: { ...settings, accountId: ACCOUNT },
      refusal: `Service ${OTHER_ACCOUNT_ARN} belongs to AWS account 210987654321; this operator manages account ${ACCOUNT} only.`,
    },
    {
      reason: 'a name grant permits a service of the operator’s own account',
      namespace: grant('payments'),
      settings: { ...settings, accountId: ACCOUNT },
      refusal: undefined,
    },
    {
      reason: 'SingleTenant permits any service without an annotation',
      namespace: undefined,
      settings: { ...settings, tenancy: 'SingleTenant' },
      refusal: undefined,
    },
    {
      reason: 'SingleTenant still refuses a service of another account',
      object: svcnet({ spec: { serviceArn: OTHER_ACCOUNT_ARN } }),
      namespace: grant('*'),
      settings: { ...settings, tenancy: 'SingleTenant', accountId: ACCOUNT },
      refusal: `Service ${OTHER_ACCOUNT_ARN} belongs to AWS account 210987654321; this operator manages account ${ACCOUNT} only.`,
    },
  ];
  for (const c of cases) {
    void it(c.reason, () => {
      assert.equal(tenancyRefusal(c.object ?? svcnet(), c.namespace, c.settings ?? settings), c.refusal);
    });
  }
});

void describe('serviceArnParts', () => {
  void it('splits a service ARN into region, account and service name', () => {
    assert.deepEqual(serviceArnParts(WEST_ARN), { region: 'us-west-2', account: ACCOUNT, name: 'payments' });
  });

  void it('answers empty parts for a string that is not an ARN', () => {
    assert.deepEqual(serviceArnParts('payments'), { region: '', account: '', name: '' });
  });
});

// ---- Reads ----

void describe('readPlan', () => {
  const cases: {
    reason: string;
    object: ServiceNetworking;
    permitted: boolean;
    plan: { service: boolean; tags: boolean; operations: boolean };
  }[] = [
    {
      reason: 'a permitted object reads the service and its tags, but no operations',
      object: svcnet(),
      permitted: true,
      plan: { service: true, tags: true, operations: false },
    },
    {
      reason: 'a not-permitted object makes no AWS read at all, even while tracking an operation',
      object: svcnet({
        status: { lastOperation: lastOperation('IN_PROGRESS'), serviceStatus: 'OPERATION_IN_PROGRESS' },
      }),
      permitted: false,
      plan: { service: false, tags: false, operations: false },
    },
    {
      reason: 'a not-permitted object not being deleted reads nothing, even for a service it managed before',
      object: svcnet({ status: { serviceName: 'payments', serviceStatus: 'RUNNING' } }),
      permitted: false,
      plan: { service: false, tags: false, operations: false },
    },
    {
      reason: 'a deleting not-permitted object that never managed the service reads nothing',
      object: deletingObject(),
      permitted: false,
      plan: { service: false, tags: false, operations: false },
    },
    {
      reason: 'a deleting object whose grant was revoked reads the service it managed, to undo what it did',
      object: deletingObject({ serviceName: 'payments', serviceStatus: 'RUNNING' }),
      permitted: false,
      plan: { service: true, tags: true, operations: false },
    },
    {
      reason:
        'a deleting object whose grant was revoked reads the operations of the service while tracking one',
      object: deletingObject({
        serviceName: 'payments',
        serviceStatus: 'OPERATION_IN_PROGRESS',
        lastOperation: lastOperation('IN_PROGRESS'),
      }),
      permitted: false,
      plan: { service: true, tags: true, operations: true },
    },
    {
      reason: 'a deleting object whose grant was revoked reads nothing once it saw its service DELETED',
      object: deletingObject({ serviceName: 'payments', serviceStatus: 'DELETED' }),
      permitted: false,
      plan: { service: false, tags: false, operations: false },
    },
    {
      reason: 'a deleting object whose service was seen DELETED makes no AWS read',
      object: deletingObject({ serviceStatus: 'DELETED' }),
      permitted: true,
      plan: { service: false, tags: false, operations: false },
    },
    {
      reason: 'a deleting object whose service is still there reads it',
      object: deletingObject({ serviceStatus: 'RUNNING' }),
      permitted: true,
      plan: { service: true, tags: true, operations: false },
    },
    {
      reason: 'an object not being deleted does not read a service it saw DELETED again (it never returns)',
      object: svcnet({ status: { serviceStatus: 'DELETED' } }),
      permitted: true,
      plan: { service: false, tags: false, operations: false },
    },
    {
      reason: 'a tracked operation that has not ended asks for the operations',
      object: svcnet({ status: { lastOperation: lastOperation('IN_PROGRESS'), serviceStatus: 'RUNNING' } }),
      permitted: true,
      plan: { service: true, tags: true, operations: true },
    },
    {
      reason: 'a tracked operation that SUCCEEDED asks for no operations',
      object: svcnet({ status: { lastOperation: lastOperation('SUCCEEDED'), serviceStatus: 'RUNNING' } }),
      permitted: true,
      plan: { service: true, tags: true, operations: false },
    },
    {
      reason: 'a tracked operation recorded FAILED asks for no operations',
      object: svcnet({ status: { lastOperation: lastOperation('FAILED') } }),
      permitted: true,
      plan: { service: true, tags: true, operations: false },
    },
    {
      reason: 'a tracked operation recorded NOT_LISTED (ended long ago) asks for no operations',
      object: svcnet({ status: { lastOperation: lastOperation('NOT_LISTED'), serviceStatus: 'RUNNING' } }),
      permitted: true,
      plan: { service: true, tags: true, operations: false },
    },
    {
      reason: 'a service last seen OPERATION_IN_PROGRESS asks for the operations',
      object: svcnet({ status: { serviceStatus: 'OPERATION_IN_PROGRESS' } }),
      permitted: true,
      plan: { service: true, tags: true, operations: true },
    },
  ];
  for (const c of cases) {
    void it(c.reason, () => {
      assert.deepEqual(readPlan(c.object, c.permitted), {
        serviceArn: c.object.spec.serviceArn,
        region: 'us-east-1',
        ...c.plan,
      });
    });
  }

  void it('looks a connector named by ARN up in AWS before touching the service, but not to detach it', () => {
    const byArn = svcnet({ spec: { egress: { type: 'VPC', vpcConnectorArn: ROTATED_CONNECTOR_ARN } } });
    assert.equal(readPlan(byArn, true).connectorArn, ROTATED_CONNECTOR_ARN);
    assert.equal(readPlan(byArn, false).connectorArn, undefined, 'not for a service it may not touch');
    const deleting = { ...byArn, metadata: { ...byArn.metadata, deletionTimestamp: NOW.toISOString() } };
    assert.equal(readPlan(deleting, true).connectorArn, undefined);
  });

  void it('reads in the region of the service ARN', () => {
    const plan = readPlan(svcnet({ spec: { serviceArn: WEST_ARN } }), true);
    assert.equal(plan.region, 'us-west-2');
    assert.equal(plan.serviceArn, WEST_ARN);
  });
});

// ---- The fold ----

void describe('observe', () => {
  void it('records a tenancy refusal, and none for a granted namespace', () => {
    assert.match(
      observe(input({ namespace: grant('orders') })).notPermitted ?? '',
      /^Namespace team-a is not granted service payments/,
    );
    assert.equal(observe(input()).notPermitted, undefined);
  });

  void it('reads an absent spec.ingress and ipAddressType as "keep what AWS shows"', () => {
    const o = observe(input());
    assert.equal(o.ingress, undefined);
    assert.equal(o.ipAddressType, undefined);
    assert.deepEqual(desiredNetwork(o), {
      egressType: 'VPC',
      vpcConnectorArn: CONNECTOR_ARN,
      isPubliclyAccessible: false,
      ipAddressType: 'DUAL_STACK',
    });
  });

  void it('reads spec.ingress and ipAddressType when set, and sends them over what AWS shows', () => {
    const o = observe(
      input({ object: svcnet({ spec: { ingress: { isPubliclyAccessible: true }, ipAddressType: 'IPV4' } }) }),
    );
    assert.equal(o.ingress, true);
    assert.equal(o.ipAddressType, 'IPV4');
    assert.deepEqual(desiredNetwork(o), {
      egressType: 'VPC',
      vpcConnectorArn: CONNECTOR_ARN,
      isPubliclyAccessible: true,
      ipAddressType: 'IPV4',
    });
  });

  void it('reads spec.ingress false as false, not as absent', () => {
    const o = observe(input({ object: svcnet({ spec: { ingress: { isPubliclyAccessible: false } } }) }));
    assert.equal(o.ingress, false);
  });

  void describe('the connector the spec names', () => {
    const cases: {
      reason: string;
      egress?: ServiceNetworking['spec']['egress'];
      connector: VpcConnector | undefined;
      /** What AWS shows for a connector named by ARN (absent: not read). */
      namedConnector?: AwsReads['namedConnector'];
      state: ReturnType<typeof observe>['desiredEgress']['connector'];
    }[] = [
      {
        reason: 'a referenced VpcConnector with an ACTIVE connector recorded is usable',
        connector: activeConnector(),
        state: { state: 'usable', arn: CONNECTOR_ARN, via: 'VpcConnector web' },
      },
      {
        reason: 'a VpcConnector mid-rotation (not Ready) is usable through its new ACTIVE connector',
        connector: vpcc({
          status: {
            vpcConnectorArn: ROTATED_CONNECTOR_ARN,
            awsStatus: 'ACTIVE',
            retiring: { arn: CONNECTOR_ARN, name: 'team-a-web' },
            conditions: [
              condition('Ready', 'False', 'Rotating', 1),
              condition('Reconciling', 'True', 'Rotating', 1),
            ],
          },
        }),
        state: { state: 'usable', arn: ROTATED_CONNECTOR_ARN, via: 'VpcConnector web' },
      },
      {
        reason: 'a VpcConnector that has not recorded a connector yet is waited for',
        connector: vpcc({
          status: { createIntent: { name: 'team-a-web', requestedAt: '2026-11-27T11:59:00Z' } },
        }),
        state: { state: 'waiting', why: 'VpcConnector web has no ACTIVE connector yet' },
      },
      {
        reason:
          'a Stalled VpcConnector with no connector is waited for, naming its reason (it needs a human)',
        connector: vpcc({
          status: { conditions: [condition('Stalled', 'True', 'InvalidInput', 1)] },
        }),
        state: {
          state: 'waiting',
          why: 'VpcConnector web is Stalled (InvalidInput) with no ACTIVE connector',
        },
      },
      {
        reason: 'a VpcConnector whose connector reads INACTIVE is waited for',
        connector: vpcc({ status: { vpcConnectorArn: CONNECTOR_ARN, awsStatus: 'INACTIVE' } }),
        state: { state: 'waiting', why: 'VpcConnector web has no ACTIVE connector yet' },
      },
      {
        reason: 'a VpcConnector that records an ARN but no AWS status yet is waited for',
        connector: vpcc({ status: { vpcConnectorArn: CONNECTOR_ARN } }),
        state: { state: 'waiting', why: 'VpcConnector web has no ACTIVE connector yet' },
      },
      {
        reason:
          'a VpcConnector that is Reconciling, with an earlier Stalled now False, is not called Stalled',
        connector: vpcc({
          status: {
            conditions: [
              condition('Reconciling', 'True', 'Creating', 1),
              condition('Stalled', 'False', 'InvalidInput', 1),
            ],
          },
        }),
        state: { state: 'waiting', why: 'VpcConnector web has no ACTIVE connector yet' },
      },
      {
        reason: 'a VpcConnector that reports ACTIVE but records no ARN is waited for',
        connector: vpcc({ status: { awsStatus: 'ACTIVE' } }),
        state: { state: 'waiting', why: 'VpcConnector web has no ACTIVE connector yet' },
      },
      {
        reason: 'a VpcConnector missing from the cache is waited for, saying it does not exist',
        connector: undefined,
        state: { state: 'waiting', why: 'VpcConnector web does not exist' },
      },
      {
        reason: 'a connector ARN in spec is usable as it is, whatever the cache holds',
        egress: { type: 'VPC', vpcConnectorArn: ROTATED_CONNECTOR_ARN },
        connector: undefined,
        state: { state: 'usable', arn: ROTATED_CONNECTOR_ARN, via: 'spec.egress.vpcConnectorArn' },
      },
      {
        reason: 'a connector ARN in spec that AWS lists ACTIVE is usable',
        egress: { type: 'VPC', vpcConnectorArn: ROTATED_CONNECTOR_ARN },
        connector: undefined,
        namedConnector: { observed: awsConnector({ arn: ROTATED_CONNECTOR_ARN }) },
        state: { state: 'usable', arn: ROTATED_CONNECTOR_ARN, via: 'spec.egress.vpcConnectorArn' },
      },
      {
        reason: 'a connector ARN in spec that AWS does not know is waited for: the service is not touched',
        egress: { type: 'VPC', vpcConnectorArn: ROTATED_CONNECTOR_ARN },
        connector: undefined,
        namedConnector: {},
        state: {
          state: 'waiting',
          why: `Connector ${ROTATED_CONNECTOR_ARN} (spec.egress.vpcConnectorArn) does not exist in AWS`,
        },
      },
      {
        reason: 'a connector ARN in spec that AWS shows INACTIVE (deleted) is waited for',
        egress: { type: 'VPC', vpcConnectorArn: ROTATED_CONNECTOR_ARN },
        connector: undefined,
        namedConnector: { observed: awsConnector({ arn: ROTATED_CONNECTOR_ARN, status: 'INACTIVE' }) },
        state: {
          state: 'waiting',
          why: `Connector ${ROTATED_CONNECTOR_ARN} (spec.egress.vpcConnectorArn) is INACTIVE in AWS`,
        },
      },
      {
        reason: 'DEFAULT egress names no connector',
        egress: { type: 'DEFAULT' },
        connector: activeConnector(),
        state: { state: 'none' },
      },
    ];
    for (const c of cases) {
      void it(c.reason, () => {
        const object = c.egress === undefined ? svcnet() : svcnet({ spec: { egress: c.egress } });
        const aws =
          c.namedConnector === undefined ? reads() : { ...reads(), namedConnector: c.namedConnector };
        const o = observe(input({ object, connector: c.connector, aws }));
        assert.deepEqual(o.desiredEgress, { type: object.spec.egress.type, connector: c.state });
      });
    }
  });

  void describe('the owner the service’s tags name', () => {
    const cases: {
      reason: string;
      tags: Record<string, string> | undefined;
      owner: ReturnType<typeof observe>['owner'];
    }[] = [
      { reason: 'all three ownership tags match this object', tags: SVCNET_TAGS, owner: { kind: 'us' } },
      {
        reason: 'our tags among unrelated ones still mean us',
        tags: { ...SVCNET_TAGS, team: 'payments' },
        owner: { kind: 'us' },
      },
      { reason: 'no ownership tag means nobody', tags: { team: 'payments' }, owner: { kind: 'none' } },
      { reason: 'tags not read mean nobody', tags: undefined, owner: { kind: 'none' } },
      {
        reason: 'another cluster’s tags name that cluster',
        tags: { ...SVCNET_TAGS, [OwnershipTag.cluster]: 'staging' },
        owner: { kind: 'other', who: 'ServiceNetworking team-a/payments of cluster staging' },
      },
      {
        reason: 'another namespace’s tags name that object',
        tags: { ...SVCNET_TAGS, [OwnershipTag.namespace]: 'team-b' },
        owner: { kind: 'other', who: 'ServiceNetworking team-b/payments of cluster prod' },
      },
      {
        reason: 'another object of the same cluster and namespace is someone else',
        tags: { ...SVCNET_TAGS, [OwnershipTag.name]: 'orders' },
        owner: { kind: 'other', who: 'ServiceNetworking team-a/orders of cluster prod' },
      },
      {
        reason: 'a namespace tag alone is someone else’s, with the missing parts as ?',
        tags: { [OwnershipTag.namespace]: 'team-b' },
        owner: { kind: 'other', who: 'ServiceNetworking team-b/? of cluster ?' },
      },
      {
        reason: 'a name tag alone is someone else’s, with the missing parts as ?',
        tags: { [OwnershipTag.name]: 'orders' },
        owner: { kind: 'other', who: 'ServiceNetworking ?/orders of cluster ?' },
      },
      {
        reason: 'a partial set of ownership tags is someone else’s, with the missing parts as ?',
        tags: { [OwnershipTag.cluster]: 'prod' },
        owner: { kind: 'other', who: 'ServiceNetworking ?/? of cluster prod' },
      },
    ];
    for (const c of cases) {
      void it(c.reason, () => {
        const aws =
          c.tags === undefined ? { serviceRead: true, service: privateService() } : reads({ tags: c.tags });
        assert.deepEqual(observe(input({ aws })).owner, c.owner);
      });
    }

    void it('puts the cluster, namespace and name of this object in its ownership tags', () => {
      assert.deepEqual(observe(input()).ownerTags, SVCNET_TAGS);
    });
  });

  void describe('an earlier claimant of the same service', () => {
    const other = (
      name: string,
      metadata: Partial<ServiceNetworking['metadata']>,
      serviceArn = SERVICE_ARN,
    ): ServiceNetworking =>
      svcnet({
        metadata: { name, namespace: 'team-b', uid: `uid-${name}`, ...metadata },
        spec: { serviceArn },
      });
    const older = { creationTimestamp: '2026-11-01T00:00:00Z' };
    // `others` stands for what the reconciler passes: only objects whose namespace is granted their service.
    const cases: { reason: string; others: ServiceNetworking[]; claimant: string | undefined }[] = [
      {
        reason: 'an older live object naming the same service is the claimant',
        others: [other('api', older)],
        claimant: 'team-b/api',
      },
      {
        reason: 'the oldest of several is the claimant',
        others: [other('api', older), other('first', { creationTimestamp: '2026-10-01T00:00:00Z' })],
        claimant: 'team-b/first',
      },
      {
        reason: 'the oldest of several is the claimant whatever order the cache lists them in',
        others: [other('first', { creationTimestamp: '2026-10-01T00:00:00Z' }), other('api', older)],
        claimant: 'team-b/first',
      },
      {
        reason: 'an object created the same second in an earlier namespace is the claimant',
        others: [other('payments', { namespace: 'ops', creationTimestamp: '2026-11-20T10:00:00Z' })],
        claimant: 'ops/payments',
      },
      {
        reason:
          'an object created the same second in the same namespace under an earlier name is the claimant',
        others: [other('api', { namespace: 'team-a', creationTimestamp: '2026-11-20T10:00:00Z' })],
        claimant: 'team-a/api',
      },
      {
        reason: 'a newer object is no claimant',
        others: [other('api', { creationTimestamp: '2026-11-25T00:00:00Z' })],
        claimant: undefined,
      },
      {
        reason: 'an older object being deleted is no claimant',
        others: [other('api', { ...older, deletionTimestamp: '2026-11-27T11:00:00Z' })],
        claimant: undefined,
      },
      {
        reason: 'an older object naming another service is no claimant',
        others: [other('api', older, WEST_ARN)],
        claimant: undefined,
      },
      {
        reason: 'the object itself, as the cache lists it, is no claimant',
        others: [svcnet()],
        claimant: undefined,
      },
    ];
    for (const c of cases) {
      void it(c.reason, () => {
        assert.equal(observe(input({ serviceNetworkings: c.others })).earlierClaimant, c.claimant);
      });
    }
  });

  void describe('what status records', () => {
    void it('counts Ready as "ready for this generation" only when observed for this generation', () => {
      const readyAt = (generation: number) =>
        observe(
          input({
            object: svcnet({ status: { conditions: [condition('Ready', 'True', 'Attached', generation)] } }),
          }),
        ).status.readyForGeneration;
      assert.equal(readyAt(2), true);
      const reconcilingFirst = observe(
        input({
          object: svcnet({
            status: {
              conditions: [
                condition('Reconciling', 'True', 'Updating', 2),
                condition('Ready', 'False', 'Updating', 2),
              ],
            },
          }),
        }),
      );
      assert.equal(reconcilingFirst.status.readyForGeneration, false, 'another condition True is not Ready');
      assert.equal(readyAt(1), false);
      assert.equal(observe(input()).status.readyForGeneration, false);
    });

    void it('tracks the listed operation whose id status records, and ignores the others', () => {
      const ops: OperationObservation[] = [
        { id: 'op-2', type: 'START_DEPLOYMENT', status: 'IN_PROGRESS' },
        { id: 'op-1', type: 'UPDATE_SERVICE', status: 'SUCCEEDED' },
      ];
      const o = observe(
        input({
          object: svcnet({ status: { lastOperation: { ...lastOperation('IN_PROGRESS'), startedAt: 'x' } } }),
          aws: reads({ operations: ops }),
        }),
      );
      assert.deepEqual(o.status.lastOperation, lastOperation('IN_PROGRESS'));
      assert.deepEqual(o.tracked, ops[1]);
    });

    void describe('whether the service’s newest operation is someone else’s update', () => {
      const ours: OperationObservation = { id: 'op-1', type: 'UPDATE_SERVICE', status: 'SUCCEEDED' };
      const theirs: OperationObservation = { id: 'op-2', type: 'UPDATE_SERVICE', status: 'SUCCEEDED' };
      const deployment: OperationObservation = { id: 'op-3', type: 'START_DEPLOYMENT', status: 'SUCCEEDED' };
      const cases: {
        reason: string;
        operations: OperationObservation[] | undefined;
        recorded?: string;
        foreign: boolean;
      }[] = [
        {
          reason: 'an update this object did not start, listed first, is foreign',
          operations: [theirs, ours],
          recorded: 'op-1',
          foreign: true,
        },
        {
          reason: 'any update is foreign when this object recorded no operation',
          operations: [ours],
          foreign: true,
        },
        {
          reason: 'this object’s own update listed first is not foreign',
          operations: [ours, theirs],
          recorded: 'op-1',
          foreign: false,
        },
        {
          reason: 'a newest operation that is not an update is not foreign',
          operations: [deployment, theirs],
          recorded: 'op-1',
          foreign: false,
        },
        {
          reason: 'operations not read mean no foreign update',
          operations: undefined,
          recorded: 'op-1',
          foreign: false,
        },
        {
          reason: 'no operation listed means no foreign update',
          operations: [],
          recorded: 'op-1',
          foreign: false,
        },
      ];
      for (const c of cases) {
        void it(c.reason, () => {
          const object = svcnet(
            c.recorded === undefined
              ? {}
              : {
                  status: { lastOperation: { id: c.recorded, type: 'UPDATE_SERVICE', status: 'SUCCEEDED' } },
                },
          );
          const aws = c.operations === undefined ? reads() : reads({ operations: c.operations });
          assert.equal(observe(input({ object, aws })).foreignUpdate, c.foreign);
        });
      }
    });

    void it('counts an update as foreign when the status records no operation', () => {
      const object = svcnet({ status: { serviceStatus: 'RUNNING' } });
      const aws = reads({ operations: [{ id: 'op-2', type: 'UPDATE_SERVICE', status: 'SUCCEEDED' }] });
      assert.equal(observe(input({ object, aws })).foreignUpdate, true);
    });

    void it('tracks nothing when the recorded operation is not listed', () => {
      const o = observe(
        input({
          object: svcnet({ status: { lastOperation: lastOperation('IN_PROGRESS') } }),
          aws: reads({ operations: [{ id: 'op-9', type: 'UPDATE_SERVICE', status: 'FAILED' }] }),
        }),
      );
      assert.equal(o.tracked, undefined);
    });

    void describe('a failed operation recorded in conditions, with a failed last operation', () => {
      const cases: { reason: string; object: ServiceNetworking; opStatus: string; condition: string }[] = [
        {
          reason: 'a Stalled OperationFailed is a failed update',
          object: svcnet(),
          opStatus: 'FAILED',
          condition: 'Stalled OperationFailed',
        },
        {
          reason: 'a Stalled RolledBack is a rolled-back update',
          object: svcnet(),
          opStatus: 'ROLLBACK_SUCCEEDED',
          condition: 'Stalled RolledBack',
        },
        {
          reason: 'a Reconciling OperationFailed while deleting is a failed detach',
          object: deletingObject(),
          opStatus: 'FAILED',
          condition: 'Reconciling OperationFailed',
        },
        {
          reason: 'a Reconciling RolledBack while deleting is a rolled-back detach',
          object: deletingObject(),
          opStatus: 'ROLLBACK_SUCCEEDED',
          condition: 'Reconciling RolledBack',
        },
      ];
      for (const c of cases) {
        void it(c.reason, () => {
          const [type = '', reason = ''] = c.condition.split(' ');
          const object: ServiceNetworking = {
            ...c.object,
            status: {
              lastOperation: lastOperation(c.opStatus),
              conditions: [condition(type, 'True', reason, 2)],
            },
          };
          const o = observe(input({ object }));
          assert.deepEqual(o.status.operationFailure, {
            generation: 2,
            since: new Date('2026-11-27T11:50:00Z'),
          });
          assert.equal(o.status.failure, undefined, 'an operation failure is not an AWS refusal');
        });
      }
    });

    void it('dates a failed operation by its endedAt when AWS gave one, not by the condition that was already True', () => {
      const object: ServiceNetworking = {
        ...deletingObject(),
        status: {
          lastOperation: { ...lastOperation('FAILED'), endedAt: '2026-11-27T11:58:30Z' },
          conditions: [condition('Reconciling', 'True', 'OperationFailed', 2)],
        },
      };
      assert.deepEqual(observe(input({ object })).status.operationFailure, {
        generation: 2,
        since: new Date('2026-11-27T11:58:30Z'),
      });
    });

    void it('reads no failed operation when the condition is False, of another reason or type, or the last operation has not failed', () => {
      const cases: ServiceNetworking['status'][] = [
        {
          lastOperation: lastOperation('FAILED'),
          conditions: [condition('Stalled', 'False', 'OperationFailed', 2)],
        },
        {
          lastOperation: lastOperation('IN_PROGRESS'),
          conditions: [condition('Stalled', 'True', 'OperationFailed', 2)],
        },
        { lastOperation: lastOperation('FAILED'), conditions: [condition('Stalled', 'True', 'Conflict', 2)] },
        { conditions: [condition('Stalled', 'True', 'OperationFailed', 2)] },
        {
          lastOperation: lastOperation('FAILED'),
          conditions: [condition('Reconciling', 'False', 'OperationFailed', 2)],
        },
        {
          lastOperation: lastOperation('FAILED'),
          conditions: [condition('Reconciling', 'True', 'Detaching', 2)],
        },
        {
          lastOperation: lastOperation('NOT_LISTED'),
          conditions: [condition('Reconciling', 'True', 'OperationFailed', 2)],
        },
        {
          lastOperation: lastOperation('FAILED'),
          conditions: [condition('Ready', 'True', 'OperationFailed', 2)],
        },
      ];
      for (const status of cases) {
        assert.equal(observe(input({ object: svcnet({ status }) })).status.operationFailure, undefined);
      }
    });

    void it('reads a Stalled AccessDenied as a recorded AWS refusal of that generation', () => {
      const o = observe(
        input({
          object: svcnet({ status: { conditions: [condition('Stalled', 'True', 'AccessDenied', 2)] } }),
        }),
      );
      assert.deepEqual(o.status.failure, {
        reason: 'AccessDenied',
        message: 'm',
        generation: 2,
        since: new Date('2026-11-27T11:50:00Z'),
      });
    });

    void it('remembers a service seen DELETED', () => {
      assert.equal(
        observe(input({ object: svcnet({ status: { serviceStatus: 'DELETED' } }) })).status.serviceGone,
        true,
      );
      assert.equal(observe(input()).status.serviceGone, false);
    });
  });

  void it('reads deletion, the finalizer, the policy, the generation and the clock from the object and input', () => {
    const o = observe(
      input({
        object: svcnet({
          metadata: { deletionTimestamp: '2026-11-27T11:59:00Z', finalizers: [], generation: 7 },
          spec: { deletionPolicy: 'Retain' },
        }),
      }),
    );
    assert.equal(o.namespace, 'team-a');
    assert.equal(o.name, 'payments');
    assert.equal(o.deleting, true);
    assert.equal(o.hasFinalizer, false);
    assert.equal(o.deletionPolicy, 'Retain');
    assert.equal(o.generation, 7);
    assert.equal(o.now, NOW);
    assert.equal(o.serviceArn, SERVICE_ARN);
  });

  void it('reads an object without any finalizer as not holding ours', () => {
    const object = svcnet();
    delete object.metadata.finalizers;
    assert.equal(observe(input({ object })).hasFinalizer, false);
  });

  void it('carries whether AWS was read and the service it answered', () => {
    const gone = observe(input({ aws: { serviceRead: true } }));
    assert.equal(gone.serviceRead, true);
    assert.equal(gone.service, undefined);
    const unread = observe(input({ aws: { serviceRead: false } }));
    assert.equal(unread.serviceRead, false);
    assert.deepEqual(observe(input()).service, privateService());
  });
});

// ---- The network ----

void describe('networkDifferences', () => {
  const base = {
    egressType: 'VPC',
    vpcConnectorArn: CONNECTOR_ARN,
    isPubliclyAccessible: true,
    ipAddressType: 'IPV4',
  } as const;
  const cases: {
    reason: string;
    observed: Parameters<typeof networkDifferences>[0];
    want: Parameters<typeof networkDifferences>[1];
    fields: string[];
  }[] = [
    { reason: 'the same configuration differs in nothing', observed: base, want: base, fields: [] },
    {
      reason: 'another egress type is named once, not also as a connector change',
      observed: { ...base, egressType: 'DEFAULT', vpcConnectorArn: undefined },
      want: base,
      fields: ['egress type'],
    },
    {
      reason: 'another connector under VPC egress',
      observed: { ...base, vpcConnectorArn: ROTATED_CONNECTOR_ARN },
      want: base,
      fields: ['egress connector'],
    },
    {
      reason: 'every field at once, in a fixed order',
      observed: { egressType: 'DEFAULT', isPubliclyAccessible: false, ipAddressType: 'DUAL_STACK' },
      want: base,
      fields: ['egress type', 'ingress', 'IP address type'],
    },
    { reason: 'an unknown observation differs in nothing', observed: undefined, want: base, fields: [] },
  ];
  for (const c of cases) {
    void it(c.reason, () => {
      assert.deepEqual(networkDifferences(c.observed, c.want), c.fields);
    });
  }
});

void describe('desiredNetwork', () => {
  void it('leaves the connector ARN out while the connector is waited for', () => {
    const o = observe(input({ connector: undefined }));
    assert.deepEqual(desiredNetwork(o), {
      egressType: 'VPC',
      isPubliclyAccessible: false,
      ipAddressType: 'DUAL_STACK',
    });
  });

  void it('is unknown without a service observation', () => {
    assert.equal(desiredNetwork(observe(input({ aws: { serviceRead: true } }))), undefined);
  });
});

void describe('detachedNetwork', () => {
  void it('sends DEFAULT egress and keeps the ingress and IP address type AWS shows', () => {
    assert.deepEqual(detachedNetwork(observe(input())), {
      egressType: 'DEFAULT',
      isPubliclyAccessible: false,
      ipAddressType: 'DUAL_STACK',
    });
  });

  void it('is unknown without a service observation', () => {
    assert.equal(detachedNetwork(observe(input({ aws: { serviceRead: true } }))), undefined);
  });
});

// ---- observe, then decide ----

void describe('observe then decide', () => {
  const cases: { reason: string; given: Partial<ObserveInput>; state: string }[] = [
    {
      reason: 'a namespace without a grant is NotPermitted before anything else',
      given: { namespace: grant(undefined), aws: { serviceRead: false } },
      state: 'notPermitted',
    },
    {
      reason: 'an unclaimed service is claimed',
      given: { aws: reads({ tags: {} }) },
      state: 'claiming',
    },
    {
      reason: 'an unclaimed service named by an older object of another namespace is a Conflict',
      given: {
        aws: reads({ tags: {} }),
        serviceNetworkings: [
          svcnet({
            metadata: {
              name: 'api',
              namespace: 'team-b',
              uid: 'uid-b',
              creationTimestamp: '2026-11-01T00:00:00Z',
            },
          }),
        ],
      },
      state: 'claimedByEarlier',
    },
    {
      reason: 'a service tagged by another cluster is a Conflict',
      given: { aws: reads({ tags: { ...SVCNET_TAGS, [OwnershipTag.cluster]: 'staging' } }) },
      state: 'ownedElsewhere',
    },
    {
      reason: 'a claimed service on DEFAULT egress is attached through the ACTIVE connector',
      given: {},
      state: 'updating',
    },
    {
      reason: 'a claimed service waits for a VpcConnector without an ACTIVE connector',
      given: { connector: vpcc() },
      state: 'waitingForConnector',
    },
    {
      reason: 'a service already attached through the connector is Ready',
      given: {
        aws: reads({ service: privateService({ egressType: 'VPC', vpcConnectorArn: CONNECTOR_ARN }) }),
      },
      state: 'ready',
    },
    {
      reason: 'a deleting object whose service was seen DELETED lets go without reading AWS',
      given: { object: deletingObject({ serviceStatus: 'DELETED' }), aws: { serviceRead: false } },
      state: 'releasingGone',
    },
    {
      reason: 'an object whose service was seen DELETED reports ServiceNotFound without reading AWS',
      given: { object: svcnet({ status: { serviceStatus: 'DELETED' } }), aws: { serviceRead: false } },
      state: 'serviceNotFound',
    },
    {
      reason: 'a deleting object detaches a service it attached',
      given: {
        object: deletingObject(),
        aws: reads({ service: privateService({ egressType: 'VPC', vpcConnectorArn: CONNECTOR_ARN }) }),
      },
      state: 'detaching',
    },
    {
      reason: 'a deleting object whose grant was revoked still detaches the service it attached and tagged',
      given: {
        object: deletingObject({ serviceName: 'payments', serviceStatus: 'RUNNING' }),
        namespace: grant('orders'),
        aws: reads({ service: privateService({ egressType: 'VPC', vpcConnectorArn: CONNECTOR_ARN }) }),
      },
      state: 'detaching',
    },
    {
      reason: 'a deleting not-permitted object that never managed the service lets go without reading AWS',
      given: { object: deletingObject(), namespace: grant('orders'), aws: { serviceRead: false } },
      state: 'releasingUnpermitted',
    },
    {
      reason: 'a deleting object whose detach failed 20 seconds ago waits before trying again',
      given: {
        object: deletingObject({
          lastOperation: lastOperation('FAILED'),
          conditions: [condition('Reconciling', 'True', 'OperationFailed', 2, '2026-11-27T11:59:40Z')],
        }),
        aws: reads({ service: privateService({ egressType: 'VPC', vpcConnectorArn: CONNECTOR_ARN }) }),
      },
      state: 'waitingToRetryDetach',
    },
    {
      reason: 'an operation recorded NOT_LISTED is no longer tracked, even while the service is busy',
      given: {
        object: svcnet({ status: { lastOperation: lastOperation('NOT_LISTED') } }),
        aws: reads({ service: { ...privateService(), status: 'OPERATION_IN_PROGRESS' } }),
      },
      state: 'waitingForService',
    },
  ];
  for (const c of cases) {
    void it(c.reason, () => {
      const given = input(c.given);
      const permitted = tenancyRefusal(given.object, given.namespace, given.settings) === undefined;
      assert.equal(
        readPlan(given.object, permitted).service,
        given.aws.serviceRead,
        'the reads are as planned',
      );
      assert.equal(decide(observe(given)).state, c.state);
    });
  }
});
