import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConflictError,
  RequeueAfterError,
  TerminalError,
  ThrottledError,
  TransientError,
  classify,
  classifyResult,
} from '../../../src/runtime/errors.ts';

/** A stand-in for @kubernetes/client-node's ApiException, which carries the HTTP status as `code`. */
function apiException(code: number): Error {
  return Object.assign(new Error(`HTTP-Code: ${code}`), { code });
}

void describe('classify', () => {
  const cases: {
    reason: string;
    err: unknown;
    want: { type: string; result: string; minDelayMs?: number; delayMs?: number; panic?: boolean };
  }[] = [
    {
      reason: 'an expected wait requeues after its delay and is not an error',
      err: new RequeueAfterError(15_000, 'ConnectorPending'),
      want: { type: 'requeueAfter', result: 'requeue_after', delayMs: 15_000 },
    },
    {
      reason: 'a transient failure retries with backoff and counts as an error',
      err: new TransientError('Could not describe the service'),
      want: { type: 'backoff', result: 'error', minDelayMs: 0, panic: false },
    },
    {
      reason: 'a throttle waits at least what the server asked for',
      err: new ThrottledError('Rate exceeded', { retryAfterMs: 20_000 }),
      want: { type: 'backoff', result: 'error', minDelayMs: 20_000, panic: false },
    },
    {
      reason: 'a throttle without Retry-After relies on the backoff alone',
      err: new ThrottledError('Rate exceeded'),
      want: { type: 'backoff', result: 'error', minDelayMs: 0, panic: false },
    },
    {
      reason: 'a write conflict retries soon and is not counted as an error',
      err: new ConflictError('the object has been modified'),
      want: { type: 'backoff', result: 'requeue', minDelayMs: 0, panic: false },
    },
    {
      reason: 'a terminal error is not retried',
      err: new TerminalError('InvalidRequestException: subnet does not exist'),
      want: { type: 'drop', result: 'error' },
    },
    {
      reason: 'an untyped error is transient',
      err: new Error('socket hang up'),
      want: { type: 'backoff', result: 'error', minDelayMs: 0, panic: false },
    },
    {
      reason: 'a typed error wrapped with context keeps its meaning',
      err: new Error('Could not delete the connector', { cause: new TerminalError('AccessDenied') }),
      want: { type: 'drop', result: 'error' },
    },
    {
      reason: 'the outermost typed error in the cause chain wins',
      err: new TransientError('Retrying', { cause: new TerminalError('inner') }),
      want: { type: 'backoff', result: 'error', minDelayMs: 0, panic: false },
    },
    {
      reason: 'a Kubernetes 409 from the client library is a conflict',
      err: new Error('Could not update status', { cause: apiException(409) }),
      want: { type: 'backoff', result: 'requeue', minDelayMs: 0, panic: false },
    },
    {
      reason: 'a Kubernetes 429 from the client library is a throttle',
      err: apiException(429),
      want: { type: 'backoff', result: 'error', minDelayMs: 0, panic: false },
    },
    {
      reason:
        'a Kubernetes 429 is the outermost typed error, so a typed error deeper in its cause chain does not decide',
      err: Object.assign(new Error('HTTP-Code: 429', { cause: new TerminalError('inner') }), { code: 429 }),
      want: { type: 'backoff', result: 'error', minDelayMs: 0, panic: false },
    },
    {
      reason: 'a Kubernetes 500 from the client library is transient',
      err: apiException(500),
      want: { type: 'backoff', result: 'error', minDelayMs: 0, panic: false },
    },
    {
      reason: 'a TypeError is a bug: retried, and counted as a panic',
      err: new TypeError("Cannot read properties of undefined (reading 'spec')"),
      want: { type: 'backoff', result: 'error', minDelayMs: 0, panic: true },
    },
    {
      reason: 'a thrown non-error is a bug: retried, and counted as a panic',
      err: 'boom',
      want: { type: 'backoff', result: 'error', minDelayMs: 0, panic: true },
    },
    {
      reason: 'a negative requeue delay is treated as none',
      err: new RequeueAfterError(-1, 'Odd'),
      want: { type: 'requeueAfter', result: 'requeue_after', delayMs: 0 },
    },
  ];
  for (const c of cases) {
    void it(`should map the error as expected: ${c.reason}`, () => {
      const action = classify(c.err);
      const got: Record<string, unknown> = { type: action.type, result: action.result };
      if ('minDelayMs' in action) got.minDelayMs = action.minDelayMs;
      if ('delayMs' in action) got.delayMs = action.delayMs;
      if ('panic' in action) got.panic = action.panic;
      assert.deepEqual(got, c.want);
    });
  }

  void it('should always hand the controller an Error to log, even for a thrown string', () => {
    const action = classify('boom');
    assert.ok(action.type === 'backoff');
    assert.ok(action.error instanceof Error);
    assert.match(action.error.message, /boom/);
    assert.equal(action.error.cause, 'boom', 'the thrown value is kept as the cause');
  });

  void it('should name each error after its type and say the wait in the message, so a log line says which kind it was', () => {
    const errors: [Error, string][] = [
      [new RequeueAfterError(15_000, 'ConnectorPending'), 'RequeueAfterError'],
      [new TransientError('x'), 'TransientError'],
      [new ThrottledError('x'), 'ThrottledError'],
      [new ConflictError('x'), 'ConflictError'],
      [new TerminalError('x'), 'TerminalError'],
    ];
    for (const [err, name] of errors) assert.equal(err.name, name);
    assert.equal(
      new RequeueAfterError(15_000, 'ConnectorPending').message,
      'Requeue after 15000 ms: ConnectorPending',
    );
  });

  void it('should not loop on an error whose cause chain is circular', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    assert.equal(classify(a).type, 'backoff');
  });
});

void describe('classifyResult', () => {
  const cases: { reason: string; result: { requeueAfterMs?: number } | undefined; want: string }[] = [
    { reason: 'an empty result is success', result: {}, want: 'forget' },
    { reason: 'a zero delay is success', result: { requeueAfterMs: 0 }, want: 'forget' },
    {
      reason: 'a positive delay is an expected wait',
      result: { requeueAfterMs: 30_000 },
      want: 'requeueAfter',
    },
    { reason: 'a reconcile that returned nothing is success', result: undefined, want: 'forget' },
  ];
  for (const c of cases) {
    void it(`should map the result as expected: ${c.reason}`, () => {
      assert.equal(classifyResult(c.result).type, c.want);
    });
  }
});
