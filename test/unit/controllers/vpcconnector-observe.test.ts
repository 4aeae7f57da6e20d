// observe() and readPlan(): what a pass reads and how the object, the ServiceNetworkings and the AWS reads
// fold into the Observation; then observe -> decide for the crash-recovery paths of invariants 3 and 9.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceObservation } from '../../../src/aws/gateway.ts';
import type { ConnectorObservation } from '../../../src/aws/gateway.ts';
import { API_VERSION, FINALIZER, OwnershipTag } from '../../../src/api/constants.ts';
import type { ServiceNetworking } from '../../../src/api/servicenetworking.ts';
import type { VpcConnector } from '../../../src/api/vpcconnector.ts';
import { decide } from '../../../src/controllers/vpcconnector/machine.ts';
import {
  observe,
  readPlan,
  type AwsReads,
  type OperatorSettings,
} from '../../../src/controllers/vpcconnector/observe.ts';

const NOW = new Date('2026-11-27T12:00:00Z');
const SUBNET = 'subnet-0123456789abcdef0';
const ARN = 'arn:aws:apprunner:us-east-1:123456789012:vpcconnector/team-a-web/1/' + 'a'.repeat(32);
const OTHER_ARN = 'arn:aws:apprunner:us-east-1:123456789012:vpcconnector/other/1/' + 'b'.repeat(32);
const settings: OperatorSettings = {
  clusterName: 'prod',
  defaultRegion: 'us-east-1',
  serviceLinkedRoleDeletion: 'Never',
};
const OWN_TAGS = {
  [OwnershipTag.cluster]: 'prod',
  [OwnershipTag.namespace]: 'team-a',
  [OwnershipTag.name]: 'web',
};

function vpcc(
  overrides: {
    spec?: Partial<VpcConnector['spec']>;
    status?: VpcConnector['status'];
    metadata?: Partial<VpcConnector['metadata']>;
  } = {},
): VpcConnector {
  const object: VpcConnector = {
    apiVersion: API_VERSION,
    kind: 'VpcConnector',
    metadata: {
      name: 'web',
      namespace: 'team-a',
      generation: 3,
      finalizers: [FINALIZER],
      ...overrides.metadata,
    },
    spec: {
      subnets: [SUBNET],
      updatePolicy: 'Rotate',
      deletionPolicy: 'Delete',
      managementPolicy: 'Manage',
      ...overrides.spec,
    },
  };
  if (overrides.status !== undefined) object.status = overrides.status;
  return object;
}

function awsConnector(overrides: Partial<ConnectorObservation> = {}): ConnectorObservation {
  return {
    arn: ARN,
    name: 'team-a-web',
    revision: 1,
    status: 'ACTIVE',
    subnets: [SUBNET],
    securityGroups: [],
    tags: OWN_TAGS,
    ...overrides,
  };
}

function service(name: string, egress: Partial<ServiceObservation['network']>): ServiceObservation {
  return {
    arn: `arn:aws:apprunner:us-east-1:123456789012:service/${name}/${'c'.repeat(32)}`,
    name,
    region: 'us-east-1',
    status: 'RUNNING',
    network: { egressType: 'DEFAULT', isPubliclyAccessible: true, ipAddressType: 'IPV4', ...egress },
  };
}

function svcnet(
  name: string,
  namespace: string,
  egress: ServiceNetworking['spec']['egress'],
): ServiceNetworking {
  return {
    apiVersion: API_VERSION,
    kind: 'ServiceNetworking',
    metadata: { name, namespace },
    spec: { serviceArn: service(name, {}).arn, egress, deletionPolicy: 'Detach' },
  };
}

const reads = (overrides: Partial<AwsReads> = {}): AwsReads => ({ services: [], ...overrides });

void describe('observe', () => {
  void it('counts a connector as owned only when cluster, namespace and name tags all match', () => {
    const cases = [
      { reason: 'all three tags match', tags: OWN_TAGS, owned: true },
      { reason: 'another cluster', tags: { ...OWN_TAGS, [OwnershipTag.cluster]: 'staging' }, owned: false },
      { reason: 'another object name', tags: { ...OWN_TAGS, [OwnershipTag.name]: 'api' }, owned: false },
      { reason: 'no tags at all', tags: {}, owned: false },
    ];
    for (const c of cases) {
      const o = observe({
        object: vpcc({ status: { vpcConnectorArn: ARN } }),
        serviceNetworkings: [],
        aws: reads({ current: awsConnector({ tags: c.tags }) }),
        settings,
        now: NOW,
      });
      assert.equal(o.current?.owned, c.owned, c.reason);
    }
  });

  void it('lists as users only services whose VPC egress names the connector', () => {
    const services = [
      service('b-uses', { egressType: 'VPC', vpcConnectorArn: ARN }),
      service('a-uses', { egressType: 'VPC', vpcConnectorArn: ARN }),
      service('other', { egressType: 'VPC', vpcConnectorArn: OTHER_ARN }),
      service('public', {}),
    ];
    const o = observe({
      object: vpcc({ status: { vpcConnectorArn: ARN } }),
      serviceNetworkings: [],
      aws: reads({ current: awsConnector(), services }),
      settings,
      now: NOW,
    });
    assert.deepEqual(o.current?.users, [services[1]?.arn, services[0]?.arn]);
  });

  void it('counts a service with an operation in flight as a user whatever egress it already shows', () => {
    // DescribeService shows the new configuration at once, while AWS still holds the connector being left:
    // deleting it then is refused (and breaks invariant 1).
    const moving = { ...service('moving-off', {}), status: 'OPERATION_IN_PROGRESS' as const };
    const o = observe({
      object: vpcc({ status: { vpcConnectorArn: ARN } }),
      serviceNetworkings: [],
      aws: reads({ current: awsConnector(), services: [moving, service('settled', {})] }),
      settings,
      now: NOW,
    });
    assert.deepEqual(o.current?.users, [moving.arn]);
  });

  void it('counts as references only VPC ServiceNetworkings of the same namespace that name the object', () => {
    const sns = [
      svcnet('refers', 'team-a', { type: 'VPC', vpcConnectorRef: { name: 'web' } }),
      svcnet('other-namespace', 'team-b', { type: 'VPC', vpcConnectorRef: { name: 'web' } }),
      svcnet('other-connector', 'team-a', { type: 'VPC', vpcConnectorRef: { name: 'api' } }),
      svcnet('by-arn', 'team-a', { type: 'VPC', vpcConnectorArn: ARN }),
      svcnet('default', 'team-a', { type: 'DEFAULT' }),
    ];
    const o = observe({ object: vpcc(), serviceNetworkings: sns, aws: reads(), settings, now: NOW });
    assert.deepEqual(o.referencedBy, ['refers']);
  });

  void it('ignores a name lookup once a connector is recorded and no create is pending', () => {
    const o = observe({
      object: vpcc({ status: { vpcConnectorArn: ARN } }),
      serviceNetworkings: [],
      aws: reads({ byName: awsConnector() }),
      settings,
      now: NOW,
    });
    assert.equal(o.byName, undefined);
  });

  void it('ignores an INACTIVE connector found by name (the name is free again)', () => {
    const o = observe({
      object: vpcc(),
      serviceNetworkings: [],
      aws: reads({ byName: awsConnector({ status: 'INACTIVE' }) }),
      settings,
      now: NOW,
    });
    assert.equal(o.byName, undefined);
  });

  void it('reads a terminal Stalled condition as a recorded failure, and a conflict as none', () => {
    const stalled = (reason: string) =>
      vpcc({
        status: {
          conditions: [
            {
              type: 'Stalled',
              status: 'True',
              reason,
              message: 'm',
              observedGeneration: 3,
              lastTransitionTime: '2026-11-27T11:58:00Z',
            },
          ],
        },
      });
    const failed = observe({
      object: stalled('InvalidInput'),
      serviceNetworkings: [],
      aws: reads(),
      settings,
      now: NOW,
    });
    assert.deepEqual(failed.status.failure, {
      reason: 'InvalidInput',
      message: 'm',
      generation: 3,
      since: new Date('2026-11-27T11:58:00Z'),
    });
    const conflict = observe({
      object: stalled('NameConflict'),
      serviceNetworkings: [],
      aws: reads(),
      settings,
      now: NOW,
    });
    assert.equal(conflict.status.failure, undefined);
  });

  void it('derives the desired name, region and tags from spec, status and operator defaults', () => {
    const o = observe({
      object: vpcc({ spec: { tags: { team: 'payments' } }, status: { region: 'eu-west-1' } }),
      serviceNetworkings: [],
      aws: reads(),
      settings,
      now: NOW,
    });
    assert.deepEqual(o.desired, {
      region: 'eu-west-1',
      name: 'team-a-web',
      subnets: [SUBNET],
      securityGroups: [],
      tags: { team: 'payments', ...OWN_TAGS },
    });
  });

  void it('keeps a role deletion status only for the task recorded in status', () => {
    const object = vpcc({
      status: { serviceLinkedRoleDeletion: { taskId: 'task-2', startedAt: '2026-11-27T11:00:00Z' } },
    });
    const stale = observe({
      object,
      serviceNetworkings: [],
      aws: reads({ roleDeletion: { taskId: 'task-1', status: 'FAILED', usage: [] } }),
      settings,
      now: NOW,
    });
    assert.equal(stale.roleDeletion, undefined);
    const current = observe({
      object,
      serviceNetworkings: [],
      aws: reads({ roleDeletion: { taskId: 'task-2', status: 'IN_PROGRESS', usage: [] } }),
      settings,
      now: NOW,
    });
    assert.equal(current.roleDeletion?.status, 'IN_PROGRESS');
  });

  void it('counts only ACTIVE connectors in the managed regions', () => {
    const o = observe({
      object: vpcc(),
      serviceNetworkings: [],
      aws: reads({ connectorsInManagedRegions: [awsConnector(), awsConnector({ status: 'INACTIVE' })] }),
      settings,
      now: NOW,
    });
    assert.equal(o.activeConnectorsInManagedRegions, 1);
  });
});

void describe('readPlan', () => {
  const cases = [
    {
      reason: 'a new object looks its default name up and checks the role before the first create',
      object: vpcc(),
      settings,
      plan: { region: 'us-east-1', findName: 'team-a-web', role: true, connectorsInManagedRegions: false },
    },
    {
      reason: 'a recorded connector is described, not looked up by name, and the role is not read',
      object: vpcc({ status: { vpcConnectorArn: ARN, region: 'us-east-1' } }),
      settings,
      plan: { currentArn: ARN, role: false },
    },
    {
      reason: 'a pending create intent is looked up by its own name',
      object: vpcc({
        status: {
          vpcConnectorArn: ARN,
          createIntent: { name: 'team-a-web-g3', requestedAt: '2026-11-27T11:00:00Z', replaces: ARN },
        },
      }),
      settings,
      plan: { currentArn: ARN, findName: 'team-a-web-g3' },
    },
    {
      reason: 'the region recorded in status wins over spec and default',
      object: vpcc({ spec: { region: 'us-west-2' }, status: { region: 'eu-west-1' } }),
      settings,
      plan: { region: 'eu-west-1' },
    },
    {
      reason: 'Observe by ARN describes that ARN and nothing else',
      object: vpcc({ spec: { managementPolicy: 'Observe', vpcConnectorArn: ARN } }),
      settings,
      plan: { observeArn: ARN, role: false },
    },
    {
      reason: 'Observe by name looks the spec name up',
      object: vpcc({ spec: { managementPolicy: 'Observe', vpcConnectorName: 'legacy-connector' } }),
      settings,
      plan: { observeName: 'legacy-connector' },
    },
    {
      reason: 'deleting under WhenUnused reads the role and the connectors of every managed region',
      object: vpcc({
        metadata: { deletionTimestamp: '2026-11-27T11:00:00Z' },
        status: { vpcConnectorArn: ARN },
      }),
      settings: { ...settings, serviceLinkedRoleDeletion: 'WhenUnused' as const },
      plan: { role: true, connectorsInManagedRegions: true },
    },
  ];
  for (const c of cases) {
    void it(c.reason, () => {
      assert.partialDeepStrictEqual(readPlan(c.object, c.settings), c.plan);
    });
  }
});

void describe('observe then decide, after a crash between create intent and create answer', () => {
  const object = vpcc({
    status: {
      region: 'us-east-1',
      createIntent: { name: 'team-a-web', requestedAt: '2026-11-27T11:59:00Z' },
    },
  });
  const cases = [
    {
      reason: 'nothing by that name: the create never happened, so create',
      found: undefined,
      state: 'creatingConnector',
    },
    {
      reason: 'found with our tags: the create happened, so adopt it',
      found: awsConnector(),
      state: 'adopting',
    },
    {
      reason: 'found with another cluster’s tags: a conflict, never adopted',
      found: awsConnector({ tags: { ...OWN_TAGS, [OwnershipTag.cluster]: 'staging' } }),
      state: 'nameConflict',
    },
  ];
  for (const c of cases) {
    void it(c.reason, () => {
      const aws =
        c.found === undefined
          ? reads({ role: { exists: true } })
          : reads({ byName: c.found, role: { exists: true } });
      assert.equal(
        decide(observe({ object, serviceNetworkings: [], aws, settings, now: NOW })).state,
        c.state,
      );
    });
  }
});
