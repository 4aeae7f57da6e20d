// The identifier patterns of the CRDs against real AWS examples (aws/semantics.md §2.2 and §4). The API
// server evaluates them with RE2; these patterns use only syntax on which RE2 and JavaScript agree.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pattern } from '../../../src/api/common.ts';

const cases: { pattern: keyof typeof Pattern; value: string; valid: boolean; reason: string }[] = [
  { pattern: 'subnetId', value: 'subnet-0123456789abcdef0', valid: true, reason: 'a 17-digit subnet id' },
  { pattern: 'subnetId', value: 'subnet-0a1b2c3d', valid: true, reason: 'an 8-digit (older) subnet id' },
  { pattern: 'subnetId', value: 'subnet-0a1b2c3d4', valid: false, reason: 'a 9-digit subnet id' },
  { pattern: 'subnetId', value: ' subnet-0a1b2c3d', valid: false, reason: 'leading space (anchored)' },
  { pattern: 'securityGroupId', value: 'sg-0123456789abcdef0', valid: true, reason: 'a 17-digit group id' },
  { pattern: 'securityGroupId', value: 'sg-default', valid: false, reason: 'a group name, not an id' },
  {
    pattern: 'connectorName',
    value: 'jerry-connector',
    valid: true,
    reason: 'a name seen in a public script',
  },
  { pattern: 'connectorName', value: '_connector', valid: false, reason: 'a leading underscore' },
  { pattern: 'region', value: 'ap-southeast-2', valid: true, reason: 'a three-part region' },
  { pattern: 'region', value: 'us-gov-west-1', valid: true, reason: 'a GovCloud region' },
  { pattern: 'region', value: 'useast1', valid: false, reason: 'no dashes' },
  {
    pattern: 'connectorArn',
    value:
      'arn:aws:apprunner:us-east-1:842712741261:vpcconnector/jerry-connector/1/19640613ce684055b761aa2b8a23e6ad',
    valid: true,
    reason: 'a real connector ARN',
  },
  {
    pattern: 'connectorArn',
    value: 'arn:aws:apprunner:us-east-1:842712741261:vpcconnector/jerry-connector',
    valid: false,
    reason: 'a connector ARN without revision and id (DescribeVpcConnector needs the full ARN)',
  },
  {
    pattern: 'serviceArn',
    value: 'arn:aws:apprunner:us-east-1:123456789012:service/python-app/8fe1e10304f84fd2b0df550fe98a71fa',
    valid: true,
    reason: 'a real service ARN (32-hex id without dashes)',
  },
  {
    pattern: 'serviceArn',
    value: 'arn:aws-cn:apprunner:cn-north-1:123456789012:service/app1/8fe1e10304f84fd2b0df550fe98a71fa',
    valid: true,
    reason: 'a service ARN in another partition',
  },
  {
    pattern: 'serviceArn',
    value: 'arn:aws:apprunner:us-east-1:123456789012:service/python-app/8fe1e103-04f8-4fd2-b0df-550fe98a71fa',
    valid: false,
    reason: 'a dashed UUID, which the model pattern suggests but real ids never are',
  },
  { pattern: 'objectName', value: 'team-a.web', valid: true, reason: 'a DNS subdomain' },
  { pattern: 'objectName', value: 'Team-A', valid: false, reason: 'upper case' },
];

void describe('identifier patterns', () => {
  for (const c of cases) {
    void it(`${c.valid ? 'accepts' : 'rejects'} ${c.reason} as ${c.pattern}`, () => {
      assert.equal(new RegExp(Pattern[c.pattern]).test(c.value), c.valid);
    });
  }
});
