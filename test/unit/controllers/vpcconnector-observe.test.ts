// observe() and readPlan(): what a pass reads and how the object, the ServiceNetworkings and the AWS reads
// fold into the Observation; then observe -> decide for the crash-recovery paths of invariants 3 and 9.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OwnershipTag } from '../../../src/api/constants.ts';
import type { ServiceNetworking } from '../../../src/api/servicenetworking.ts';
import type { VpcConnector } from '../../../src/api/vpcconnector.ts';
import { decide } from '../../../src/controllers/vpcconnector/machine.ts';
import {
  observe,
  readPlan,
  type AwsReads,
  type OperatorSettings,
  type ReadPlan,
} from '../../../src/controllers/vpcconnector/observe.ts';
import {
  CONNECTOR_ARN,
  NOW,
  OTHER_CONNECTOR_ARN,
  OTHER_SUBNET,
  ROTATED_CONNECTOR_ARN,
  SECURITY_GROUP,
  SUBNET,
  VPCC_TAGS,
  awsConnector,
  awsService,
  condition,
  svcnet,
  vpcConnectorSettings as settings,
  vpcc,
} from '../builders.ts';

const reads = (overrides: Partial<AwsReads> = {}): AwsReads => ({ services: [], ...overrides });

void describe('observe', () => {
  void it('counts a connector as owned only when cluster, namespace and name tags all match', () => {
    const cases = [
      { reason: 'all three tags match', tags: VPCC_TAGS, owned: true },
      { reason: 'another cluster', tags: { ...VPCC_TAGS, [OwnershipTag.cluster]: 'staging' }, owned: false },
      { reason: 'another object name', tags: { ...VPCC_TAGS, [OwnershipTag.name]: 'api' }, owned: false },
      { reason: 'no tags at all', tags: {}, owned: false },
    ];
    for (const c of cases) {
      const o = observe({
        object: vpcc({ status: { vpcConnectorArn: CONNECTOR_ARN } }),
        serviceNetworkings: [],
        aws: reads({ current: awsConnector({ tags: c.tags }) }),
        settings,
        now: NOW,
      });
      assert.equal(o.current?.owned, c.owned, c.reason);
    }
  });

  void it('lists as users and as attached only services whose VPC egress names the connector, sorted', () => {
    const services = [
      awsService({ name: 'b-uses', network: { egressType: 'VPC', vpcConnectorArn: CONNECTOR_ARN } }),
      awsService({ name: 'a-uses', network: { egressType: 'VPC', vpcConnectorArn: CONNECTOR_ARN } }),
      awsService({ name: 'other', network: { egressType: 'VPC', vpcConnectorArn: OTHER_CONNECTOR_ARN } }),
      awsService({ name: 'public' }),
    ];
    const o = observe({
      object: vpcc({ status: { vpcConnectorArn: CONNECTOR_ARN } }),
      serviceNetworkings: [],
      aws: reads({ current: awsConnector(), services }),
      settings,
      now: NOW,
    });
    assert.deepEqual(o.current?.users, [services[1]?.arn, services[0]?.arn]);
    assert.deepEqual(o.current.attached, [services[1]?.arn, services[0]?.arn]);
  });

  void it('sees no services in motion while every service of the region is settled', () => {
    const o = observe({
      object: vpcc({ status: { vpcConnectorArn: CONNECTOR_ARN } }),
      serviceNetworkings: [],
      aws: reads({
        current: awsConnector(),
        services: [awsService({ network: { egressType: 'VPC', vpcConnectorArn: CONNECTOR_ARN } })],
      }),
      settings,
      now: NOW,
    });
    assert.equal(o.servicesInMotion, undefined);
  });

  void it('counts a service with an operation in flight as a user whatever egress it already shows', () => {
    // DescribeService shows the new configuration at once, while AWS still holds the connector being left:
    // deleting it then is refused (and breaks invariant 1).
    const moving = awsService({ name: 'moving-off', status: 'OPERATION_IN_PROGRESS' });
    const o = observe({
      object: vpcc({ status: { vpcConnectorArn: CONNECTOR_ARN } }),
      serviceNetworkings: [],
      aws: reads({ current: awsConnector(), services: [moving, awsService({ name: 'settled' })] }),
      settings,
      now: NOW,
    });
    assert.deepEqual(o.current?.users, [moving.arn]);
    assert.deepEqual(o.current.attached, [], 'but status reports only what AWS shows on the connector');
    assert.equal(o.servicesInMotion, true, 'and the pass knows the count may still change');
  });

  void it('counts a service in motion only against the connector it left, when the view knows which', () => {
    const leavingUs = {
      ...awsService({ name: 'leaving-us', status: 'OPERATION_IN_PROGRESS' }),
      movingFrom: { connectorArn: CONNECTOR_ARN },
    };
    const leavingOther = {
      ...awsService({ name: 'leaving-other', status: 'OPERATION_IN_PROGRESS' }),
      movingFrom: { connectorArn: OTHER_CONNECTOR_ARN },
    };
    const wasDefault = {
      ...awsService({ name: 'was-default', status: 'OPERATION_IN_PROGRESS' }),
      movingFrom: {},
    };
    const o = observe({
      object: vpcc({ status: { vpcConnectorArn: CONNECTOR_ARN } }),
      serviceNetworkings: [],
      aws: reads({ current: awsConnector(), services: [leavingUs, leavingOther, wasDefault] }),
      settings,
      now: NOW,
    });
    assert.deepEqual(o.current?.users, [leavingUs.arn]);
  });

  void it('counts as references only VPC ServiceNetworkings of the same namespace that name the object, sorted', () => {
    const sn = (name: string, namespace: string, egress: ServiceNetworking['spec']['egress']) =>
      svcnet({ metadata: { name, namespace }, spec: { egress } });
    const sns = [
      sn('orders', 'team-a', { type: 'VPC', vpcConnectorRef: { name: 'web' } }),
      sn('billing', 'team-a', { type: 'VPC', vpcConnectorRef: { name: 'web' } }),
      sn('other-namespace', 'team-b', { type: 'VPC', vpcConnectorRef: { name: 'web' } }),
      sn('other-connector', 'team-a', { type: 'VPC', vpcConnectorRef: { name: 'api' } }),
      sn('by-arn', 'team-a', { type: 'VPC', vpcConnectorArn: CONNECTOR_ARN }),
      sn('default', 'team-a', { type: 'DEFAULT' }),
    ];
    const o = observe({ object: vpcc(), serviceNetworkings: sns, aws: reads(), settings, now: NOW });
    assert.deepEqual(o.referencedBy, ['billing', 'orders']);
  });

  void describe('a connector found by name', () => {
    const intent = { name: 'team-a-web-g3', requestedAt: '2026-11-27T11:59:00Z' };
    const cases = [
      {
        reason: 'counts before the first create: it may be one a lost create answer left',
        status: undefined,
        kept: true,
      },
      {
        reason: 'counts while a rotation’s create intent is pending, though a connector is recorded',
        status: { vpcConnectorArn: CONNECTOR_ARN, createIntent: { ...intent, replaces: CONNECTOR_ARN } },
        kept: true,
      },
      {
        reason: 'is ignored once a connector is recorded and no create is pending',
        status: { vpcConnectorArn: CONNECTOR_ARN },
        kept: false,
      },
    ];
    for (const c of cases) {
      void it(c.reason, () => {
        const found = awsConnector({ arn: ROTATED_CONNECTOR_ARN, name: 'team-a-web-g3' });
        const o = observe({
          object: c.status === undefined ? vpcc() : vpcc({ status: c.status }),
          serviceNetworkings: [],
          aws: reads({ byName: found }),
          settings,
          now: NOW,
        });
        assert.equal(o.byName?.arn, c.kept ? ROTATED_CONNECTOR_ARN : undefined);
      });
    }
  });

  void describe('the ARN an Observe object names', () => {
    const cases = [
      {
        reason: 'is kept when observing by ARN (it reports the name)',
        spec: { managementPolicy: 'Observe' as const, vpcConnectorArn: CONNECTOR_ARN },
        observeArn: CONNECTOR_ARN,
      },
      {
        reason: 'is none when observing by name',
        spec: { managementPolicy: 'Observe' as const, vpcConnectorName: 'legacy-connector' },
        observeArn: undefined,
      },
      { reason: 'is none for a managed object', spec: {}, observeArn: undefined },
    ];
    for (const c of cases) {
      void it(c.reason, () => {
        const o = observe({
          object: vpcc({ spec: c.spec }),
          serviceNetworkings: [],
          aws: reads(),
          settings,
          now: NOW,
        });
        assert.equal(o.observeArn, c.observeArn);
      });
    }
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
        metadata: { generation: 3 },
        status: { conditions: [condition('Stalled', 'True', reason, 3, '2026-11-27T11:58:00Z')] },
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
      tags: { team: 'payments', ...VPCC_TAGS },
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
    const none = observe({
      object: vpcc(),
      serviceNetworkings: [],
      aws: reads({ roleDeletion: { taskId: 'task-1', status: 'IN_PROGRESS', usage: [] } }),
      settings,
      now: NOW,
    });
    assert.equal(none.roleDeletion, undefined, 'nor any when status records no task');
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
  /** What every managed pass reads at least: the region's services, from a settled view. */
  const base: ReadPlan = {
    region: 'us-east-1',
    freshness: 'settled',
    servicesFreshness: 'settled',
    listServices: true,
    role: false,
    connectorsInManagedRegions: false,
  };
  const deletionTimestamp = '2026-11-27T11:00:00Z';
  const cases: { reason: string; object: VpcConnector; settings?: OperatorSettings; plan: ReadPlan }[] = [
    {
      reason: 'a new object looks its default name up and checks the role before the first create',
      object: vpcc(),
      plan: { ...base, findName: 'team-a-web', role: true },
    },
    {
      reason: 'a recorded connector is described, not looked up by name, and the role is not read',
      object: vpcc({ status: { vpcConnectorArn: CONNECTOR_ARN, region: 'us-east-1' } }),
      plan: { ...base, currentArn: CONNECTOR_ARN },
    },
    {
      reason:
        'a pending create intent is looked up by its own name in a fresh view of connectors (it decides a create), with the services as settled',
      object: vpcc({
        status: {
          vpcConnectorArn: CONNECTOR_ARN,
          createIntent: {
            name: 'team-a-web-g3',
            requestedAt: '2026-11-27T11:00:00Z',
            replaces: CONNECTOR_ARN,
          },
        },
      }),
      plan: { ...base, freshness: 'fresh', currentArn: CONNECTOR_ARN, findName: 'team-a-web-g3' },
    },
    {
      reason: 'a rotation retiring a connector describes both, in a fresh view (it may delete the old one)',
      object: vpcc({
        status: {
          vpcConnectorArn: ROTATED_CONNECTOR_ARN,
          retiring: { arn: CONNECTOR_ARN, name: 'team-a-web' },
        },
      }),
      plan: {
        ...base,
        freshness: 'fresh',
        servicesFreshness: 'fresh',
        currentArn: ROTATED_CONNECTOR_ARN,
        retiringArn: CONNECTOR_ARN,
      },
    },
    {
      reason: 'the region recorded in status wins over spec and default',
      object: vpcc({ spec: { region: 'us-west-2' }, status: { region: 'eu-west-1' } }),
      plan: { ...base, region: 'eu-west-1', findName: 'team-a-web', role: true },
    },
    {
      reason: 'Observe by ARN describes that ARN and nothing else',
      object: vpcc({ spec: { managementPolicy: 'Observe', vpcConnectorArn: CONNECTOR_ARN } }),
      plan: { ...base, observeArn: CONNECTOR_ARN },
    },
    {
      reason: 'Observe by ARN reads the region of the ARN when spec.region is absent, not the default',
      object: vpcc({
        spec: {
          managementPolicy: 'Observe',
          vpcConnectorArn: CONNECTOR_ARN.replace('us-east-1', 'eu-west-1'),
        },
      }),
      plan: { ...base, region: 'eu-west-1', observeArn: CONNECTOR_ARN.replace('us-east-1', 'eu-west-1') },
    },
    {
      reason: 'Observe by name looks the spec name up',
      object: vpcc({ spec: { managementPolicy: 'Observe', vpcConnectorName: 'legacy-connector' } }),
      plan: { ...base, observeName: 'legacy-connector' },
    },
    {
      reason:
        'deleting under Never reads the connector in a fresh view (the pass may delete it), not the role',
      object: vpcc({ metadata: { deletionTimestamp }, status: { vpcConnectorArn: CONNECTOR_ARN } }),
      plan: { ...base, freshness: 'fresh', servicesFreshness: 'fresh', currentArn: CONNECTOR_ARN },
    },
    {
      reason: 'deleting under WhenUnused reads the role and the connectors of every managed region',
      object: vpcc({ metadata: { deletionTimestamp }, status: { vpcConnectorArn: CONNECTOR_ARN } }),
      settings: { ...settings, serviceLinkedRoleDeletion: 'WhenUnused' },
      plan: {
        ...base,
        freshness: 'fresh',
        servicesFreshness: 'fresh',
        currentArn: CONNECTOR_ARN,
        role: true,
        connectorsInManagedRegions: true,
      },
    },
  ];
  for (const c of cases) {
    void it(c.reason, () => {
      assert.deepEqual(readPlan(c.object, c.settings ?? settings), c.plan);
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
      found: awsConnector({ tags: { ...VPCC_TAGS, [OwnershipTag.cluster]: 'staging' } }),
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

void describe('observe then decide, on a recorded connector whose subnets or groups differ from spec', () => {
  const cases = [
    {
      reason: 'the spec names another security group: rotate (the spec’s groups reach the decision)',
      spec: { subnets: [SUBNET], securityGroups: ['sg-0fedcba9876543210'] },
      connector: { subnets: [SUBNET], securityGroups: [SECURITY_GROUP] },
      state: 'recordingRotationIntent',
    },
    {
      reason: 'the spec drops one of the connector’s subnets: rotate (a strict subset is a change)',
      spec: { subnets: [SUBNET], securityGroups: [SECURITY_GROUP] },
      connector: { subnets: [SUBNET, OTHER_SUBNET], securityGroups: [SECURITY_GROUP] },
      state: 'recordingRotationIntent',
    },
    {
      reason: 'the same sets in another order: Ready',
      spec: { subnets: [OTHER_SUBNET, SUBNET], securityGroups: [SECURITY_GROUP] },
      connector: { subnets: [SUBNET, OTHER_SUBNET], securityGroups: [SECURITY_GROUP] },
      state: 'ready',
    },
  ];
  for (const c of cases) {
    void it(c.reason, () => {
      const object = vpcc({
        spec: c.spec,
        status: { region: 'us-east-1', vpcConnectorArn: CONNECTOR_ARN },
      });
      const aws = reads({ current: awsConnector(c.connector) });
      assert.equal(
        decide(observe({ object, serviceNetworkings: [], aws, settings, now: NOW })).state,
        c.state,
      );
    });
  }
});
