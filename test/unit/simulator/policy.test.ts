import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluatePolicy,
  type AuthorizationRequest,
  type PolicyDocument,
} from '../../../src/simulator/policy.ts';
import { appRunnerNetworkingServiceRolePolicy as slr } from '../../../src/simulator/slr-policy.ts';

const eni = 'arn:aws:ec2:us-east-1:123456789012:network-interface/eni-0123';

interface Case {
  reason: string;
  policy: PolicyDocument;
  request: AuthorizationRequest;
  effect: 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';
}

const allowAll: PolicyDocument = { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

const cases: Case[] = [
  {
    reason: 'the SLR policy lets App Runner create an ENI that carries only the AWSAppRunnerManaged tag',
    policy: slr,
    request: {
      action: 'ec2:CreateNetworkInterface',
      resource: 'arn:aws:ec2:us-east-1:123456789012:network-interface/*',
      context: { 'aws:TagKeys': ['AWSAppRunnerManaged'] },
    },
    effect: 'Allow',
  },
  {
    reason: 'ForAllValues fails when one request tag key is outside the allowed set',
    policy: slr,
    request: {
      action: 'ec2:CreateNetworkInterface',
      resource: '*',
      context: { 'aws:TagKeys': ['AWSAppRunnerManaged', 'other'] },
    },
    effect: 'ImplicitDeny',
  },
  {
    reason: 'ForAllValues is vacuously true when the request carries no tags at all (as in IAM)',
    policy: slr,
    request: { action: 'ec2:CreateNetworkInterface', resource: '*', context: {} },
    effect: 'Allow',
  },
  {
    reason: 'CreateTags needs ec2:CreateAction=CreateNetworkInterface',
    policy: slr,
    request: {
      action: 'ec2:CreateTags',
      resource: eni,
      context: { 'ec2:CreateAction': 'RunInstances', 'aws:RequestTag/AWSAppRunnerManaged': 'true' },
    },
    effect: 'ImplicitDeny',
  },
  {
    reason:
      'CreateTags at ENI creation with the managed tag is allowed (StringEquals and StringLike together)',
    policy: slr,
    request: {
      action: 'ec2:CreateTags',
      resource: eni,
      context: { 'ec2:CreateAction': 'CreateNetworkInterface', 'aws:RequestTag/AWSAppRunnerManaged': 'true' },
    },
    effect: 'Allow',
  },
  {
    reason: 'CreateTags is limited to network-interface resources',
    policy: slr,
    request: {
      action: 'ec2:CreateTags',
      resource: 'arn:aws:ec2:us-east-1:123456789012:instance/i-1',
      context: { 'ec2:CreateAction': 'CreateNetworkInterface', 'aws:RequestTag/AWSAppRunnerManaged': 'true' },
    },
    effect: 'ImplicitDeny',
  },
  {
    reason: 'Null:false requires the resource tag to be present for DeleteNetworkInterface',
    policy: slr,
    request: { action: 'ec2:DeleteNetworkInterface', resource: eni, context: {} },
    effect: 'ImplicitDeny',
  },
  {
    reason: 'DeleteNetworkInterface on a managed ENI is allowed',
    policy: slr,
    request: {
      action: 'ec2:DeleteNetworkInterface',
      resource: eni,
      context: { 'ec2:ResourceTag/AWSAppRunnerManaged': 'true' },
    },
    effect: 'Allow',
  },
  {
    reason: 'action names match case-insensitively with wildcards',
    policy: { Statement: [{ Effect: 'Allow', Action: 'AppRunner:Describe*', Resource: '*' }] },
    request: { action: 'apprunner:DescribeVpcConnector', resource: 'x', context: {} },
    effect: 'Allow',
  },
  {
    reason: 'an explicit Deny beats an Allow',
    policy: {
      Statement: [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        {
          Effect: 'Deny',
          Action: 'apprunner:Delete*',
          Resource: 'arn:aws:apprunner:*:*:vpcconnector/prod-*',
        },
      ],
    },
    request: {
      action: 'apprunner:DeleteVpcConnector',
      resource: 'arn:aws:apprunner:us-east-1:123456789012:vpcconnector/prod-a/1/abc',
      context: {},
    },
    effect: 'ExplicitDeny',
  },
  {
    reason: 'NotAction allows everything but the named action',
    policy: { Statement: [{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }] },
    request: { action: 'iam:GetRole', resource: '*', context: {} },
    effect: 'ImplicitDeny',
  },
  {
    reason: 'StringLike on iam:AWSServiceName admits the networking principal',
    policy: {
      Statement: [
        {
          Effect: 'Allow',
          Action: 'iam:CreateServiceLinkedRole',
          Resource: 'arn:aws:iam::*:role/aws-service-role/*',
          Condition: {
            StringLike: { 'iam:AWSServiceName': ['apprunner.amazonaws.com', 'networking.apprunner.*'] },
          },
        },
      ],
    },
    request: {
      action: 'iam:CreateServiceLinkedRole',
      resource:
        'arn:aws:iam::123456789012:role/aws-service-role/networking.apprunner.amazonaws.com/AWSServiceRoleForAppRunnerNetworking',
      context: { 'iam:AWSServiceName': 'networking.apprunner.amazonaws.com' },
    },
    effect: 'Allow',
  },
  {
    reason: 'ForAnyValue:StringEquals needs one matching value and fails on an absent key',
    policy: {
      Statement: [
        {
          Effect: 'Allow',
          Action: '*',
          Resource: '*',
          Condition: {
            'ForAnyValue:StringEquals': { 'iam:AWSServiceName': 'networking.apprunner.amazonaws.com' },
          },
        },
      ],
    },
    request: { action: 'iam:CreateServiceLinkedRole', resource: '*', context: {} },
    effect: 'ImplicitDeny',
  },
  {
    reason: 'an IfExists condition passes when the key is absent',
    policy: {
      Statement: [
        {
          Effect: 'Allow',
          Action: '*',
          Resource: '*',
          Condition: { StringEqualsIfExists: { 'aws:RequestTag/team': 'sre' } },
        },
      ],
    },
    request: { action: 'apprunner:CreateVpcConnector', resource: '*', context: {} },
    effect: 'Allow',
  },
  {
    reason: 'condition key names are case-insensitive',
    policy: {
      Statement: [
        {
          Effect: 'Allow',
          Action: '*',
          Resource: '*',
          Condition: { StringEquals: { 'AWS:RequestedRegion': 'eu-west-1' } },
        },
      ],
    },
    request: {
      action: 'ec2:DescribeSubnets',
      resource: '*',
      context: { 'aws:RequestedRegion': 'eu-west-1' },
    },
    effect: 'Allow',
  },
  {
    reason: 'resources match case-sensitively',
    policy: { Statement: [{ Effect: 'Allow', Action: '*', Resource: 'arn:aws:apprunner:*:*:service/Web*' }] },
    request: {
      action: 'apprunner:UpdateService',
      resource: 'arn:aws:apprunner:us-east-1:1:service/web/1',
      context: {},
    },
    effect: 'ImplicitDeny',
  },
  {
    reason: 'an Allow-all policy allows anything',
    policy: allowAll,
    request: { action: 'ec2:CreateVpc', resource: '*', context: {} },
    effect: 'Allow',
  },
];

void describe('evaluatePolicy', () => {
  for (const c of cases) {
    void test(c.reason, () => {
      assert.equal(evaluatePolicy(c.policy, c.request).effect, c.effect);
    });
  }

  void test('an unsupported condition operator is reported rather than silently ignored', () => {
    const policy: PolicyDocument = {
      Statement: [
        {
          Effect: 'Allow',
          Action: '*',
          Resource: '*',
          Condition: { NumericLessThan: { 'aws:MultiFactorAuthAge': '3600' } },
        },
      ],
    };
    assert.throws(
      () =>
        evaluatePolicy(policy, { action: 'a:b', resource: '*', context: { 'aws:MultiFactorAuthAge': '1' } }),
      /unsupported condition operator NumericLessThan/,
    );
  });
});
