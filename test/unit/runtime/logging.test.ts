import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, errorChain } from '../../../src/runtime/logging.ts';
import type { LogLevel } from '../../../src/runtime/logging.ts';

function capture(level?: LogLevel): {
  lines: Record<string, unknown>[];
  log: ReturnType<typeof createLogger>;
} {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level,
    now: () => Date.parse('2026-11-27T12:00:00.000Z'),
    write: (line) => {
      assert.doesNotMatch(line, /\n/, 'one object per line');
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  return { lines, log };
}

function at(lines: Record<string, unknown>[], index: number): Record<string, unknown> {
  const line = lines[index];
  assert.ok(line, `line ${index} was written`);
  return line;
}

void describe('Logger', () => {
  void it('should write one JSON object per line with ts, level, msg, logger and the key-values', () => {
    const { lines, log } = capture();
    log.info('Created VpcConnector', { namespace: 'team-a', name: 'egress', arn: 'arn:aws:apprunner:x' });
    assert.deepEqual(lines, [
      {
        ts: '2026-11-27T12:00:00.000Z',
        level: 'info',
        msg: 'Created VpcConnector',
        logger: 'apprunner-net',
        namespace: 'team-a',
        name: 'egress',
        arn: 'arn:aws:apprunner:x',
      },
    ]);
  });

  const levels: { reason: string; level: LogLevel; written: string[] }[] = [
    { reason: 'error shows only errors', level: 'error', written: ['error'] },
    { reason: 'info, the default, hides debug', level: 'info', written: ['error', 'info'] },
    { reason: 'debug shows everything', level: 'debug', written: ['error', 'info', 'debug'] },
  ];
  for (const c of levels) {
    void it(`should filter by level: ${c.reason}`, () => {
      const { lines, log } = capture(c.level);
      log.error('e');
      log.info('i');
      log.debug('d');
      assert.deepEqual(
        lines.map((l) => l.level),
        c.written,
      );
      assert.equal(log.enabled('debug'), c.level === 'debug');
    });
  }

  void it('should bind values and extend the logger name in child loggers without changing the parent', () => {
    const { lines, log } = capture();
    const controller = log.child({ controller: 'vpcconnector' }, 'controller');
    const object = controller.child({ namespace: 'ns', name: 'a' });
    object.info('Deleted VpcConnector', { name: 'override' });
    log.info('Started');
    assert.equal(at(lines, 0).logger, 'apprunner-net.controller');
    assert.equal(at(lines, 0).controller, 'vpcconnector');
    assert.equal(at(lines, 0).namespace, 'ns');
    assert.equal(at(lines, 0).name, 'override', 'a call value overrides a bound one');
    assert.deepEqual(Object.keys(at(lines, 1)), ['ts', 'level', 'msg', 'logger']);
  });

  void it('should render an error with its cause chain and drop undefined values', () => {
    const { lines, log } = capture();
    const err = new Error('Could not create VpcConnector', {
      cause: new Error('ThrottlingException: Rate exceeded'),
    });
    log.error('Reconcile failed', { error: err, missing: undefined, big: 10n });
    assert.equal(at(lines, 0).error, 'Could not create VpcConnector: ThrottlingException: Rate exceeded');
    assert.equal('missing' in at(lines, 0), false);
    assert.equal(at(lines, 0).big, '10');
  });

  void it('should keep its own fields when a key-value uses one of their names', () => {
    const { lines, log } = capture();
    log.info('Observed', { msg: 'user value', level: 'x' });
    assert.equal(at(lines, 0).msg, 'Observed');
    assert.equal(at(lines, 0).level, 'info');
    assert.equal(at(lines, 0).msg_, 'user value');
    assert.equal(at(lines, 0).level_, 'x');
  });

  void it('should still write the line when a value cannot be serialised', () => {
    const { lines, log } = capture();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    log.info('Observed a cycle', { cyclic });
    assert.equal(at(lines, 0).msg, 'Observed a cycle');
    assert.match(String(at(lines, 0).logError), /Could not serialise/);
  });

  void it('should describe non-error causes and stop at a cycle', () => {
    assert.equal(errorChain(new Error('outer', { cause: 'inner text' })), 'outer: inner text');
    const a = new Error('a');
    a.cause = a;
    assert.equal(errorChain(a), 'a');
  });
});
