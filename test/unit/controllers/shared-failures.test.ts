// The one mapping from the gateway's typed errors to what status shows (src/controllers/shared/failures.ts):
// which refusals are terminal and how they are worded, when a failure that should pass is shown because it
// persisted, and how a recorded refusal is read back and waited on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AwsAccessDeniedError,
  AwsInvalidInputError,
  AwsQuotaExceededError,
  AwsThrottledError,
  AwsTransientError,
  type AwsErrorFacts,
} from '../../../src/aws/errors.ts';
import {
  PERSISTENT_AFTER_ATTEMPTS,
  TERMINAL_REASONS,
  TERMINAL_RETRY_MS,
  awaitingSpecChange,
  persistentAwsFailure,
  quote,
  recordedFailure,
  terminalAwsFailure,
} from '../../../src/controllers/shared/failures.ts';
import { MIN, NOW, ago, awsFacts } from '../builders.ts';

/** Pure functions: the bound only keeps a broken case from hanging the run. */
const PURE = { timeout: 10_000 };

const facts = (overrides: Partial<AwsErrorFacts> = {}): AwsErrorFacts => ({
  ...awsFacts('CreateVpcConnector', 'InvalidRequestException', 'Subnet subnet-1 does not exist'),
  ...overrides,
});

void describe('quote', () => {
  void it('quotes AWS’s code and message as a sentence', PURE, () => {
    assert.equal(quote(facts()), 'InvalidRequestException "Subnet subnet-1 does not exist".');
  });

  void it('says there was no message rather than quoting an empty one', PURE, () => {
    assert.equal(quote(facts({ message: '' })), 'InvalidRequestException (no message).');
  });
});

void describe('terminalAwsFailure', () => {
  const cases = [
    {
      name: 'invalid input',
      error: new AwsInvalidInputError(facts(), { cause: undefined }),
      reason: 'InvalidInput',
      action: 'CreateVpcConnector',
      quoted: 'InvalidRequestException "Subnet subnet-1 does not exist".',
    },
    {
      name: 'access denied',
      error: new AwsAccessDeniedError(
        facts({ operation: 'TagResource', code: 'AccessDeniedException', message: 'not authorized' }),
        { cause: undefined },
      ),
      reason: 'AccessDenied',
      action: 'TagResource',
      quoted: 'AccessDeniedException "not authorized".',
    },
    {
      name: 'quota exceeded',
      error: new AwsQuotaExceededError(
        facts({ code: 'ServiceQuotaExceededException', message: 'too many connectors' }),
        { cause: undefined },
      ),
      reason: 'QuotaExceeded',
      action: 'CreateVpcConnector',
      quoted: 'ServiceQuotaExceededException "too many connectors".',
    },
  ];
  for (const c of cases) {
    void it(
      `records ${c.name} as Stalled with AWS's words, an Event, and a retry in 10 minutes`,
      PURE,
      () => {
        assert.deepEqual(terminalAwsFailure(c.error), {
          kind: 'Stalled',
          reason: c.reason,
          message: `AWS refused ${c.action}: ${c.quoted} Fix the spec or the operator's permissions; the operator retries this generation every 10 minutes.`,
          requeueAfterMs: TERMINAL_RETRY_MS,
          event: { reason: c.reason, action: c.action },
          log: 'AWS refused the action; recorded Stalled',
        });
      },
    );
  }

  void it('leaves throttles, transient failures and foreign errors to the queue', PURE, () => {
    for (const err of [
      new AwsThrottledError(facts({ code: 'ThrottlingException' }), { cause: undefined }),
      new AwsTransientError(facts({ code: 'InternalServiceErrorException' }), { cause: undefined }),
      new Error('boom'),
      'not an error',
    ]) {
      assert.equal(terminalAwsFailure(err), undefined);
    }
  });

  void it('lists exactly the terminal reasons that observe reads back', PURE, () => {
    assert.deepEqual([...TERMINAL_REASONS].sort(), ['AccessDenied', 'InvalidInput', 'QuotaExceeded']);
  });
});

void describe('persistentAwsFailure', () => {
  const unreachable = new AwsTransientError(
    {
      service: 'apprunner',
      operation: 'ListVpcConnectors',
      code: 'ENOTFOUND',
      message: 'getaddrinfo ENOTFOUND',
    },
    { cause: undefined, kind: 'unreachable' },
  );
  const unrecognised = new AwsTransientError(
    facts({ operation: 'ListServices', code: 'OptInRequired', message: 'subscribe first' }),
    { cause: undefined, kind: 'unrecognised' },
  );

  void it('says nothing before the failure has persisted for five passes', PURE, () => {
    assert.equal(PERSISTENT_AFTER_ATTEMPTS, 5);
    assert.equal(persistentAwsFailure(unreachable, PERSISTENT_AFTER_ATTEMPTS - 1), undefined);
    assert.equal(persistentAwsFailure(unrecognised, 1), undefined);
  });

  void it(
    'shows an endpoint that does not resolve, naming the service and the code, while retrying',
    PURE,
    () => {
      assert.deepEqual(persistentAwsFailure(unreachable, PERSISTENT_AFTER_ATTEMPTS), {
        kind: 'Stalled',
        reason: 'EndpointUnreachable',
        message:
          'The apprunner endpoint cannot be resolved (ENOTFOUND) for 5 passes in a row: App Runner may not run in this region, or DNS fails. Still retrying with backoff.',
        event: { reason: 'EndpointUnreachable', action: 'ListVpcConnectors' },
        log: 'A failure persisted; recorded Stalled and retrying with backoff',
      });
    },
  );

  void it('shows an error code the operator does not know, quoting AWS, with the pass count', PURE, () => {
    assert.deepEqual(persistentAwsFailure(unrecognised, 7), {
      kind: 'Stalled',
      reason: 'AwsError',
      message:
        'AWS answered ListServices with an error the operator does not know, 7 passes in a row: OptInRequired "subscribe first". Still retrying with backoff.',
      event: { reason: 'AwsError', action: 'ListServices' },
      log: 'A failure persisted; recorded Stalled and retrying with backoff',
    });
  });

  void it('never shows a known transient failure or another error, however long it lasts', PURE, () => {
    const known = new AwsTransientError(facts({ code: 'InternalServiceErrorException' }), {
      cause: undefined,
    });
    assert.equal(persistentAwsFailure(known, 100), undefined);
    assert.equal(persistentAwsFailure(new Error('boom'), 100), undefined);
  });
});

void describe('recordedFailure and awaitingSpecChange', () => {
  const stalledAs = (reason: string, status = 'True', observedGeneration?: number) => ({
    type: 'Stalled',
    status,
    reason,
    message: 'AWS refused CreateVpcConnector.',
    ...(observedGeneration === undefined ? {} : { observedGeneration }),
    lastTransitionTime: ago(MIN).toISOString(),
  });

  void it('reads back a Stalled condition under a terminal reason', PURE, () => {
    const ready = { ...stalledAs('Available'), type: 'Ready' };
    assert.deepEqual(recordedFailure([ready, stalledAs('InvalidInput', 'True', 3)]), {
      reason: 'InvalidInput',
      message: 'AWS refused CreateVpcConnector.',
      generation: 3,
      since: ago(MIN),
    });
  });

  void it('takes a Stalled condition without observedGeneration as generation 0', PURE, () => {
    assert.equal(recordedFailure([stalledAs('AccessDenied')])?.generation, 0);
  });

  void it('ignores conditions that are not a recorded terminal refusal', PURE, () => {
    assert.equal(recordedFailure(undefined), undefined);
    assert.equal(recordedFailure([]), undefined);
    assert.equal(recordedFailure([stalledAs('InvalidInput', 'False', 3)]), undefined);
    assert.equal(recordedFailure([stalledAs('NameConflict', 'True', 3)]), undefined);
    assert.equal(
      recordedFailure([{ ...stalledAs('InvalidInput', 'True', 3), type: 'Reconciling' }]),
      undefined,
    );
  });

  void it('waits on a refusal of this generation until the terminal retry is due', PURE, () => {
    const failure = { reason: 'InvalidInput', message: 'm', generation: 3, since: ago(MIN) };
    assert.equal(awaitingSpecChange(failure, 3, NOW), true);
    assert.equal(awaitingSpecChange(failure, 4, NOW), false, 'an edit (new generation) tries again at once');
    assert.equal(awaitingSpecChange(undefined, 3, NOW), false);
    const due = { ...failure, since: ago(TERMINAL_RETRY_MS) };
    assert.equal(awaitingSpecChange(due, 3, NOW), false, 'retried once TERMINAL_RETRY_MS has passed');
    const almost = { ...failure, since: ago(TERMINAL_RETRY_MS - 1) };
    assert.equal(awaitingSpecChange(almost, 3, NOW), true);
  });
});
