// How observe() reads the operator's memory back from status (the JSON strings of the API server become
// dates, optional parts stay absent), and the defaults it takes for what an object leaves out. Each field
// read back here decides a later pass: a create intent and its refusal, a rotation's retiring connector
// and when its deletion was accepted, the deletion request of the current one, when it was recorded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { observe, readPlan, type AwsReads } from '../../../src/controllers/vpcconnector/observe.ts';
import {
  CONNECTOR_ARN,
  MIN,
  NOW,
  ROTATED_CONNECTOR_ARN,
  ago,
  awsConnector,
  svcnet,
  vpcConnectorSettings as settings,
  vpcc,
} from '../builders.ts';

/** Pure functions: the bound only keeps a broken case from hanging the run. */
const PURE = { timeout: 10_000 };

const reads = (overrides: Partial<AwsReads> = {}): AwsReads => ({ services: [], ...overrides });
const iso = (ms: number): string => ago(ms).toISOString();

void describe('observe reads status back', () => {
  void it('turns a create intent, its refusal and what it replaces into dates and fields', PURE, () => {
    const o = observe({
      object: vpcc({
        status: {
          region: 'us-east-1',
          createIntent: {
            name: 'team-a-web-g3',
            requestedAt: iso(MIN),
            replaces: CONNECTOR_ARN,
            refused: { at: iso(5_000), code: 'InvalidRequestException', message: 'bad subnet' },
          },
        },
      }),
      serviceNetworkings: [],
      aws: reads(),
      settings,
      now: NOW,
    });
    assert.deepEqual(o.status.createIntent, {
      name: 'team-a-web-g3',
      requestedAt: ago(MIN),
      replaces: CONNECTOR_ARN,
      refused: { at: ago(5_000), code: 'InvalidRequestException', message: 'bad subnet' },
    });
  });

  void it('leaves out what a plain create intent does not carry', PURE, () => {
    const o = observe({
      object: vpcc({ status: { createIntent: { name: 'team-a-web', requestedAt: iso(MIN) } } }),
      serviceNetworkings: [],
      aws: reads(),
      settings,
      now: NOW,
    });
    assert.deepEqual(o.status.createIntent, { name: 'team-a-web', requestedAt: ago(MIN) });
  });

  void it('reads the retiring connector, with when AWS accepted its deletion', PURE, () => {
    const withRequest = observe({
      object: vpcc({
        status: {
          vpcConnectorArn: ROTATED_CONNECTOR_ARN,
          retiring: { arn: CONNECTOR_ARN, name: 'team-a-web', deletionRequestedAt: iso(30_000) },
        },
      }),
      serviceNetworkings: [],
      aws: reads(),
      settings,
      now: NOW,
    });
    assert.deepEqual(withRequest.status.retiring, {
      arn: CONNECTOR_ARN,
      name: 'team-a-web',
      deletionRequestedAt: ago(30_000),
    });
    const without = observe({
      object: vpcc({
        status: {
          vpcConnectorArn: ROTATED_CONNECTOR_ARN,
          retiring: { arn: CONNECTOR_ARN, name: 'team-a-web' },
        },
      }),
      serviceNetworkings: [],
      aws: reads(),
      settings,
      now: NOW,
    });
    assert.deepEqual(without.status.retiring, { arn: CONNECTOR_ARN, name: 'team-a-web' });
  });

  void it(
    'reads the region of the current connector, when its deletion was requested and when it was recorded',
    PURE,
    () => {
      const o = observe({
        object: vpcc({
          status: {
            region: 'eu-west-1',
            vpcConnectorArn: CONNECTOR_ARN,
            deletionRequestedAt: iso(20_000),
            recordedAt: iso(10 * MIN),
            serviceLinkedRoleDeletion: { taskId: 'task-1', startedAt: iso(2 * MIN) },
          },
        }),
        serviceNetworkings: [],
        aws: reads(),
        settings,
        now: NOW,
      });
      assert.deepEqual(o.status, {
        region: 'eu-west-1',
        arn: CONNECTOR_ARN,
        deletionRequestedAt: ago(20_000),
        recordedAt: ago(10 * MIN),
        roleDeletion: { taskId: 'task-1', startedAt: ago(2 * MIN) },
      });
    },
  );

  void it('records nothing of a status that holds nothing', PURE, () => {
    const o = observe({ object: vpcc(), serviceNetworkings: [], aws: reads(), settings, now: NOW });
    assert.deepEqual(o.status, {});
  });
});

void describe('observe defaults', () => {
  void it('takes an object without finalizers, subnets or security groups as having none', PURE, () => {
    const object = vpcc();
    delete object.metadata.finalizers;
    const spec = object.spec as { subnets?: string[]; securityGroups?: string[] };
    delete spec.subnets;
    delete spec.securityGroups;
    const o = observe({ object, serviceNetworkings: [], aws: reads(), settings, now: NOW });
    assert.equal(o.hasFinalizer, false);
    assert.deepEqual(o.desired.subnets, []);
    assert.deepEqual(o.desired.securityGroups, []);
  });

  void it(
    'puts an object without a namespace in default, and derives its connector name from it',
    PURE,
    () => {
      const object = vpcc();
      delete object.metadata.namespace;
      const referencing = svcnet({ metadata: { namespace: undefined } });
      delete referencing.metadata.namespace;
      const o = observe({ object, serviceNetworkings: [referencing], aws: reads(), settings, now: NOW });
      assert.equal(o.namespace, 'default');
      assert.equal(o.desired.name, 'default-web');
      assert.deepEqual(
        o.referencedBy,
        ['payments'],
        'a ServiceNetworking without namespace is in default too',
      );
      assert.equal(readPlan(object, settings).findName, 'default-web');
    },
  );

  void it('keeps the tags of a connector AWS showed, and leaves them out when AWS showed none', PURE, () => {
    const tagged = observe({
      object: vpcc({ status: { vpcConnectorArn: CONNECTOR_ARN } }),
      serviceNetworkings: [],
      aws: reads({ current: awsConnector({ tags: { team: 'a' } }) }),
      settings,
      now: NOW,
    });
    assert.deepEqual(tagged.current?.tags, { team: 'a' });
    const { tags: _tags, ...untaggedConnector } = awsConnector();
    const untagged = observe({
      object: vpcc({ status: { vpcConnectorArn: CONNECTOR_ARN } }),
      serviceNetworkings: [],
      aws: reads({ current: untaggedConnector }),
      settings,
      now: NOW,
    });
    assert.ok(untagged.current !== undefined && !Object.hasOwn(untagged.current, 'tags'));
    assert.equal(untagged.current.owned, false);
  });

  void it(
    'reads a connector INACTIVE as not active, and keeps its revision, subnets and groups',
    PURE,
    () => {
      const o = observe({
        object: vpcc({ status: { vpcConnectorArn: CONNECTOR_ARN } }),
        serviceNetworkings: [],
        aws: reads({
          current: awsConnector({
            status: 'INACTIVE',
            revision: 3,
            securityGroups: ['sg-1'],
            subnets: ['subnet-1'],
          }),
        }),
        settings,
        now: NOW,
      });
      assert.partialDeepStrictEqual(o.current, {
        arn: CONNECTOR_ARN,
        name: 'team-a-web',
        revision: 3,
        active: false,
        subnets: ['subnet-1'],
        securityGroups: ['sg-1'],
      });
    },
  );
});
