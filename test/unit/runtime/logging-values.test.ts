// What a log line says about values that are not Errors (a cause that is an object, a symbol, a function, a
// value JSON cannot hold) and where a logger writes when it is given nowhere: standard error, like every
// Kubernetes component.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, errorChain } from '../../../src/runtime/logging.ts';

/** Pure functions: the bound only keeps a broken case from hanging the run. */
const PURE = { timeout: 10_000 };

void describe('errorChain of values that are not Errors', () => {
  void it('renders an object cause as JSON', PURE, () => {
    assert.equal(
      errorChain(new Error('outer', { cause: { code: 'E1', retry: false } })),
      'outer: {"code":"E1","retry":false}',
    );
  });

  void it('renders a symbol, a function and undefined by their names rather than as nothing', PURE, () => {
    assert.equal(errorChain(Symbol('boom')), 'Symbol(boom)');
    assert.equal(
      errorChain(function failing() {}),
      'function failing() {}',
    );
    assert.equal(errorChain(new Error('outer', { cause: undefined })), 'outer');
  });

  void it('renders a value JSON cannot hold by its type instead of failing', PURE, () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(errorChain(cyclic), '[object Object]');
    assert.equal(errorChain(10n), '[object BigInt]');
  });

  void it('names an Error without a message by its name', PURE, () => {
    assert.equal(errorChain(new TypeError('')), 'TypeError');
  });
});

void describe('a logger given nowhere to write', () => {
  void it('writes each line to standard error with a newline', PURE, (t) => {
    const written: string[] = [];
    t.mock.method(process.stderr, 'write', (chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    createLogger({ now: () => 0 }).info('Started', { port: 8080 });
    t.mock.restoreAll();
    assert.deepEqual(written, [
      '{"ts":"1970-01-01T00:00:00.000Z","level":"info","msg":"Started","logger":"apprunner-net","port":8080}\n',
    ]);
  });
});
