import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AwsInvalidInputError } from '../../../src/aws/errors.ts';
import { regionOfArn } from '../../../src/aws/sdk-gateway.ts';

void describe('regionOfArn', () => {
  const valid: { reason: string; arn: string; region: string }[] = [
    {
      reason: 'a service ARN carries its region in the fourth field',
      arn: 'arn:aws:apprunner:us-east-1:123456789012:service/python-app/8fe1e10304f84fd2b0df550fe98a71fa',
      region: 'us-east-1',
    },
    {
      reason: 'a connector ARN has name, revision and id after the region',
      arn: 'arn:aws:apprunner:eu-west-1:842712741261:vpcconnector/jerry-connector/1/19640613ce684055b761aa2b8a23e6ad',
      region: 'eu-west-1',
    },
    {
      reason: 'other partitions keep the same layout',
      arn: 'arn:aws-cn:apprunner:cn-north-1:123456789012:service/x/0123456789abcdef0123456789abcdef',
      region: 'cn-north-1',
    },
  ];
  for (const c of valid) {
    void it(`reads the region: ${c.reason}`, () => {
      assert.equal(regionOfArn(c.arn), c.region);
    });
  }

  const invalid: { reason: string; arn: string }[] = [
    { reason: 'an IAM ARN has no region and is not App Runner', arn: 'arn:aws:iam::123456789012:role/x' },
    {
      reason: 'an App Runner ARN without a region cannot be routed',
      arn: 'arn:aws:apprunner::123456789012:service/x/y',
    },
    { reason: 'a bare name is not an ARN', arn: 'my-service' },
  ];
  for (const c of invalid) {
    void it(`refuses as invalid input: ${c.reason}`, () => {
      assert.throws(() => regionOfArn(c.arn), AwsInvalidInputError);
    });
  }
});
