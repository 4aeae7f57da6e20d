import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidRequestException, InvalidStateException } from '@aws-sdk/client-apprunner';
import { InvalidInputException, LimitExceededException } from '@aws-sdk/client-iam';
import {
  AwsAccessDeniedError,
  AwsInvalidInputError,
  AwsInvalidStateError,
  AwsNotFoundError,
  AwsQuotaExceededError,
  AwsThrottledError,
  AwsTransientError,
  ConnectorInUseError,
  ConnectorNameTakenError,
  ServiceBusyError,
  isAwsError,
  toAwsError,
} from '../../../src/aws/errors.ts';
import type { AwsServiceName } from '../../../src/aws/errors.ts';
import { classify, TerminalError } from '../../../src/runtime/errors.ts';

/** What the SDK throws after it gave up: a named error with the response metadata attached. */
function sdkError(code: string, httpStatus: number | undefined, message = `${code} message`): Error {
  return Object.assign(new Error(message), {
    name: code,
    $metadata: httpStatus === undefined ? {} : { httpStatusCode: httpStatus, requestId: 'req-1' },
  });
}

/** An IAM error as the SDK deserialises it: named after the model shape, wire code in `Code`. */
function iamError(shape: string, code: string, httpStatus: number, message = `${code} message`): Error {
  return Object.assign(sdkError(shape, httpStatus, message), { Code: code, Type: 'Sender' });
}

/** A failure below HTTP: Node's network error, with no response at all. */
function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}

const inUse =
  'Provided VPC connector arn is being used by other services. ARN:  arn:aws:apprunner:us-east-1:123456789012:vpcconnector/x/1/0123456789abcdef0123456789abcdef';
const nameTaken =
  'A VPC connector with the name team-a-web already exists: arn:aws:apprunner:us-east-1:123456789012:vpcconnector/team-a-web/1/0123456789abcdef0123456789abcdef';
const taken =
  'Service role name AWSServiceRoleForAppRunnerNetworking has been taken in this account, please try a different suffix.';

type ErrorClass = abstract new (...args: never[]) => Error;

void describe('toAwsError', () => {
  const cases: {
    reason: string;
    service: AwsServiceName;
    operation: string;
    err: unknown;
    want: ErrorClass;
    code: string;
    queue: string;
  }[] = [
    {
      reason: 'App Runner throttling (ThrottlingException, HTTP 400) is a throttle, not invalid input',
      service: 'apprunner',
      operation: 'ListVpcConnectors',
      err: sdkError('ThrottlingException', 400, 'Rate exceeded'),
      want: AwsThrottledError,
      code: 'ThrottlingException',
      queue: 'backoff',
    },
    {
      reason: "IAM's throttling code is the bare `Throttling`",
      service: 'iam',
      operation: 'GetRole',
      err: sdkError('Throttling', 400, 'Rate exceeded'),
      want: AwsThrottledError,
      code: 'Throttling',
      queue: 'backoff',
    },
    {
      reason: 'EC2-style RequestLimitExceeded is a throttle',
      service: 'apprunner',
      operation: 'ListServices',
      err: sdkError('RequestLimitExceeded', 503),
      want: AwsThrottledError,
      code: 'RequestLimitExceeded',
      queue: 'backoff',
    },
    {
      reason: 'HTTP 429 is a throttle whatever the code says',
      service: 'apprunner',
      operation: 'DescribeService',
      err: sdkError('UnknownError', 429),
      want: AwsThrottledError,
      code: 'UnknownError',
      queue: 'backoff',
    },
    {
      reason: "IAM's LimitExceeded (409) is an account quota, not a throttle",
      service: 'iam',
      operation: 'DeleteServiceLinkedRole',
      err: new LimitExceededException({ message: 'Cannot exceed quota', $metadata: { httpStatusCode: 409 } }),
      want: AwsQuotaExceededError,
      code: 'LimitExceeded',
      queue: 'requeueAfter',
    },
    {
      reason: 'ServiceQuotaExceededException (HTTP 402) is a quota, retried slowly',
      service: 'apprunner',
      operation: 'CreateVpcConnector',
      err: sdkError('ServiceQuotaExceededException', 402),
      want: AwsQuotaExceededError,
      code: 'ServiceQuotaExceededException',
      queue: 'requeueAfter',
    },
    {
      reason: 'DeleteVpcConnector refused because a service uses the connector is a wait, not bad input',
      service: 'apprunner',
      operation: 'DeleteVpcConnector',
      err: new InvalidRequestException({ message: inUse, $metadata: { httpStatusCode: 400 } }),
      want: ConnectorInUseError,
      code: 'InvalidRequestException',
      queue: 'backoff',
    },
    {
      reason: 'the in-use text means something only on DeleteVpcConnector',
      service: 'apprunner',
      operation: 'UpdateService',
      err: sdkError('InvalidRequestException', 400, inUse),
      want: AwsInvalidInputError,
      code: 'InvalidRequestException',
      queue: 'drop',
    },
    {
      reason: 'any other InvalidRequestException on DeleteVpcConnector is invalid input',
      service: 'apprunner',
      operation: 'DeleteVpcConnector',
      err: sdkError('InvalidRequestException', 400, 'One or more input parameters are not valid'),
      want: AwsInvalidInputError,
      code: 'InvalidRequestException',
      queue: 'drop',
    },
    {
      reason:
        'CreateVpcConnector refusing a taken name is a short wait for the lookup to catch up, not bad input',
      service: 'apprunner',
      operation: 'CreateVpcConnector',
      err: new InvalidRequestException({ message: nameTaken, $metadata: { httpStatusCode: 400 } }),
      want: ConnectorNameTakenError,
      code: 'InvalidRequestException',
      queue: 'requeueAfter',
    },
    {
      reason: 'the name-taken text means something only on CreateVpcConnector',
      service: 'apprunner',
      operation: 'CreateService',
      err: sdkError('InvalidRequestException', 400, 'Service with the provided name already exists: web'),
      want: AwsInvalidInputError,
      code: 'InvalidRequestException',
      queue: 'drop',
    },
    {
      reason: 'any other InvalidRequestException on CreateVpcConnector is invalid input',
      service: 'apprunner',
      operation: 'CreateVpcConnector',
      err: sdkError('InvalidRequestException', 400, "The subnet ID 'subnet-1' does not exist."),
      want: AwsInvalidInputError,
      code: 'InvalidRequestException',
      queue: 'drop',
    },
    {
      reason: 'UpdateService during an operation (InvalidStateException) is a busy service: requeue',
      service: 'apprunner',
      operation: 'UpdateService',
      err: new InvalidStateException({
        message: 'Service status must be RUNNING or PAUSED to be updated',
        $metadata: { httpStatusCode: 400 },
      }),
      want: ServiceBusyError,
      code: 'InvalidStateException',
      queue: 'requeueAfter',
    },
    {
      reason: 'InvalidStateException on another operation is a requeue but not a busy service',
      service: 'apprunner',
      operation: 'TagResource',
      err: sdkError('InvalidStateException', 400),
      want: AwsInvalidStateError,
      code: 'InvalidStateException',
      queue: 'requeueAfter',
    },
    {
      reason: 'IAM InvalidInput is terminal until the spec changes',
      service: 'iam',
      operation: 'CreateServiceLinkedRole',
      err: iamError('InvalidInputException', 'InvalidInput', 400, taken),
      want: AwsInvalidInputError,
      code: 'InvalidInput',
      queue: 'drop',
    },
    {
      reason: 'an IAM exception built without its wire code is still read by its IAM code',
      service: 'iam',
      operation: 'CreateServiceLinkedRole',
      err: new InvalidInputException({ message: taken, $metadata: { httpStatusCode: 400 } }),
      want: AwsInvalidInputError,
      code: 'InvalidInput',
      queue: 'drop',
    },
    {
      reason: 'UnmodifiableEntity (DeleteRole on the SLR) is terminal',
      service: 'iam',
      operation: 'DeleteRole',
      err: iamError('UnmodifiableEntityException', 'UnmodifiableEntity', 400),
      want: AwsInvalidInputError,
      code: 'UnmodifiableEntity',
      queue: 'drop',
    },
    {
      reason: 'AccessDeniedException is terminal',
      service: 'apprunner',
      operation: 'CreateVpcConnector',
      err: sdkError('AccessDeniedException', 400),
      want: AwsAccessDeniedError,
      code: 'AccessDeniedException',
      queue: 'drop',
    },
    {
      reason: "IAM's AccessDenied (403) is terminal",
      service: 'iam',
      operation: 'CreateServiceLinkedRole',
      err: sdkError('AccessDenied', 403),
      want: AwsAccessDeniedError,
      code: 'AccessDenied',
      queue: 'drop',
    },
    {
      reason: 'UnauthorizedOperation is terminal',
      service: 'apprunner',
      operation: 'UpdateService',
      err: sdkError('UnauthorizedOperation', 403),
      want: AwsAccessDeniedError,
      code: 'UnauthorizedOperation',
      queue: 'drop',
    },
    {
      reason: 'credentials AWS does not recognise are an access problem, not a transient one',
      service: 'apprunner',
      operation: 'ListServices',
      err: sdkError('UnrecognizedClientException', 400),
      want: AwsAccessDeniedError,
      code: 'UnrecognizedClientException',
      queue: 'drop',
    },
    {
      reason: 'ResourceNotFoundException escaping a verb means the next pass must observe afresh',
      service: 'apprunner',
      operation: 'TagResource',
      err: sdkError('ResourceNotFoundException', 400),
      want: AwsNotFoundError,
      code: 'ResourceNotFoundException',
      queue: 'backoff',
    },
    {
      reason: 'IAM NoSuchEntity (404) is not found',
      service: 'iam',
      operation: 'GetServiceLinkedRoleDeletionStatus',
      err: iamError('NoSuchEntityException', 'NoSuchEntity', 404),
      want: AwsNotFoundError,
      code: 'NoSuchEntity',
      queue: 'backoff',
    },
    {
      reason: 'InternalServiceErrorException (500) is transient once the SDK gave up',
      service: 'apprunner',
      operation: 'DescribeVpcConnector',
      err: sdkError('InternalServiceErrorException', 500),
      want: AwsTransientError,
      code: 'InternalServiceErrorException',
      queue: 'backoff',
    },
    {
      reason: 'IAM ServiceFailure (500) is transient',
      service: 'iam',
      operation: 'GetRole',
      err: iamError('ServiceFailureException', 'ServiceFailure', 500),
      want: AwsTransientError,
      code: 'ServiceFailure',
      queue: 'backoff',
    },
    {
      reason: 'a refused connection is transient and has no HTTP status',
      service: 'apprunner',
      operation: 'ListVpcConnectors',
      err: networkError('ECONNREFUSED'),
      want: AwsTransientError,
      code: 'ECONNREFUSED',
      queue: 'backoff',
    },
    {
      reason: "the SDK's request timeout is transient",
      service: 'apprunner',
      operation: 'ListServices',
      err: sdkError('TimeoutError', undefined),
      want: AwsTransientError,
      code: 'TimeoutError',
      queue: 'backoff',
    },
    {
      reason: 'an unknown 4xx code is retried with backoff: it proves nothing about the input',
      service: 'apprunner',
      operation: 'ListServices',
      err: sdkError('SomethingNewException', 400),
      want: AwsTransientError,
      code: 'SomethingNewException',
      queue: 'backoff',
    },
    {
      reason: 'a namespaced, suffixed error type is read as its bare code (as botocore does)',
      service: 'apprunner',
      operation: 'CreateVpcConnector',
      err: sdkError('com.amazonaws.apprunner#InvalidRequestException:http://internal', 400),
      want: AwsInvalidInputError,
      code: 'InvalidRequestException',
      queue: 'drop',
    },
  ];

  for (const c of cases) {
    void it(`maps: ${c.reason}`, () => {
      const mapped = toAwsError(c.err, c.service, c.operation);
      assert.ok(mapped instanceof c.want, `got ${mapped.name}`);
      assert.equal(mapped.aws.code, c.code);
      assert.equal(mapped.aws.operation, c.operation);
      assert.equal(mapped.aws.service, c.service);
      assert.equal(mapped.cause, c.err);
      assert.equal(classify(mapped).type, c.queue);
    });
  }

  void it('tells transient failures that pass by themselves from an unreachable endpoint and an unknown code', () => {
    const cases = [
      { reason: 'a 500', err: sdkError('InternalServiceErrorException', 500), kind: 'known' },
      { reason: 'a 503 with a code nobody listed', err: sdkError('SlowDownPlease', 503), kind: 'known' },
      { reason: 'a dropped connection', err: networkError('ECONNRESET'), kind: 'known' },
      { reason: 'the SDK request timeout', err: sdkError('TimeoutError', undefined), kind: 'known' },
      {
        reason: 'a name that does not resolve (no App Runner there)',
        err: networkError('ENOTFOUND'),
        kind: 'unreachable',
      },
      { reason: 'a DNS failure that may pass', err: networkError('EAI_AGAIN'), kind: 'unreachable' },
      {
        reason: 'a 4xx code the gateway does not know',
        err: sdkError('OptInRequired', 400),
        kind: 'unrecognised',
      },
    ] as const;
    for (const c of cases) {
      const mapped = toAwsError(c.err, 'apprunner', 'ListServices');
      assert.ok(mapped instanceof AwsTransientError, c.reason);
      assert.equal(mapped.kind, c.kind, c.reason);
    }
  });

  void it('keeps the AWS message verbatim and quotes it in the error message', () => {
    const mapped = toAwsError(sdkError('InvalidInput', 400, taken), 'iam', 'CreateServiceLinkedRole');
    assert.equal(mapped.aws.message, taken);
    assert.equal(mapped.aws.httpStatus, 400);
    assert.equal(mapped.aws.requestId, 'req-1');
    assert.equal(mapped.message, `CreateServiceLinkedRole failed with InvalidInput (HTTP 400): "${taken}"`);
    assert.equal(mapped.name, 'AwsInvalidInputError');
  });

  void it('omits the HTTP status when no response arrived', () => {
    const mapped = toAwsError(networkError('ECONNRESET'), 'apprunner', 'ListServices');
    assert.equal(mapped.aws.httpStatus, undefined);
    assert.match(mapped.message, /^ListServices failed with ECONNRESET: /);
  });

  void it('honours a Retry-After header on a throttle', () => {
    const err = Object.assign(sdkError('ThrottlingException', 400), {
      $response: { statusCode: 400, headers: { 'retry-after': '7' } },
    });
    const mapped = toAwsError(err, 'apprunner', 'ListServices');
    assert.ok(mapped instanceof AwsThrottledError);
    assert.equal(mapped.retryAfterMs, 7000);
    assert.deepEqual(classify(mapped), {
      type: 'backoff',
      result: 'error',
      minDelayMs: 7000,
      error: mapped,
      panic: false,
    });
  });

  void it('requeues a busy service after a short delay and an exhausted quota after a long one', () => {
    const busy = toAwsError(sdkError('InvalidStateException', 400), 'apprunner', 'UpdateService');
    const quota = toAwsError(
      sdkError('ServiceQuotaExceededException', 402),
      'apprunner',
      'CreateVpcConnector',
    );
    const busyAction = classify(busy);
    const quotaAction = classify(quota);
    assert.ok(busyAction.type === 'requeueAfter' && quotaAction.type === 'requeueAfter');
    assert.ok(busyAction.delayMs < quotaAction.delayMs);
    assert.equal(busyAction.reason, 'ServiceBusy');
  });

  void it('requeues a taken connector name after 2 s with reason NameTaken, quoting AWS, never as terminal', () => {
    const mapped = toAwsError(
      new InvalidRequestException({
        message: nameTaken,
        $metadata: { httpStatusCode: 400, requestId: 'req-2' },
      }),
      'apprunner',
      'CreateVpcConnector',
    );
    const asError: Error = mapped;
    assert.ok(!(asError instanceof TerminalError) && !(asError instanceof AwsInvalidInputError));
    assert.ok(mapped instanceof ConnectorNameTakenError, `got ${mapped.name}`);
    assert.ok(isAwsError(mapped));
    assert.equal(asError.name, 'ConnectorNameTakenError', 'the class name shows in logs');
    assert.deepEqual(mapped.aws, {
      service: 'apprunner',
      operation: 'CreateVpcConnector',
      code: 'InvalidRequestException',
      httpStatus: 400,
      message: nameTaken,
      requestId: 'req-2',
    });
    assert.equal(
      mapped.message,
      `CreateVpcConnector failed with InvalidRequestException (HTTP 400): "${nameTaken}"`,
    );
    assert.deepEqual(classify(mapped), {
      type: 'requeueAfter',
      result: 'requeue_after',
      delayMs: 2_000,
      reason: 'NameTaken',
    });
  });

  void it('returns an error that is already a gateway error unchanged', () => {
    const mapped = toAwsError(sdkError('ServiceFailure', 500), 'iam', 'GetRole');
    assert.equal(toAwsError(mapped, 'iam', 'Other'), mapped);
    assert.ok(isAwsError(mapped));
    assert.ok(!isAwsError(new Error('plain')));
  });
});
