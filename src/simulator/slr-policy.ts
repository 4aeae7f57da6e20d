// AppRunnerNetworkingServiceRolePolicy, the permissions policy of AWSServiceRoleForAppRunnerNetworking,
// as published on the App Runner developer guide page kept in /work/shared/seed/. Data, not code: the
// simulated App Runner authorises every ENI action it takes against it (config can replace it).

import type { PolicyDocument } from './policy.ts';

export const appRunnerNetworkingServiceRolePolicy: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: [
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeVpcs',
        'ec2:DescribeDhcpOptions',
        'ec2:DescribeSubnets',
        'ec2:DescribeSecurityGroups',
      ],
      Resource: '*',
    },
    {
      Effect: 'Allow',
      Action: 'ec2:CreateNetworkInterface',
      Resource: '*',
      Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['AWSAppRunnerManaged'] } },
    },
    {
      Effect: 'Allow',
      Action: 'ec2:CreateTags',
      Resource: 'arn:aws:ec2:*:*:network-interface/*',
      Condition: {
        StringEquals: { 'ec2:CreateAction': 'CreateNetworkInterface' },
        StringLike: { 'aws:RequestTag/AWSAppRunnerManaged': '*' },
      },
    },
    {
      Effect: 'Allow',
      Action: 'ec2:DeleteNetworkInterface',
      Resource: '*',
      Condition: { Null: { 'ec2:ResourceTag/AWSAppRunnerManaged': 'false' } },
    },
  ],
};
