// A guard that throws (a bug in a kind's guard) must surface as that error, not as an unrelated TypeError
// from looking up the state XState stopped in: the error is what the reconcile log and the queue show. The
// same for a state whose params or report find the guard's value missing (`guarded`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineStatechart, guarded, reconciling, StateDataMissing } from '../../../src/runtime/statechart.ts';

/** A pure decision: the bound only keeps a broken case from hanging the run. */
const PURE = { timeout: 10_000 };

interface Obs {
  ready?: { yes: boolean };
}

const chart = defineStatechart({
  id: 'widget',
  guards: {
    // Reads a field the observation may lack: the kind of bug a guard can have.
    isReady: (o: Obs) => (o.ready as { yes: boolean }).yes,
  },
  states: {
    ready: {
      description: 'Ready.',
      when: ['isReady'],
      action: 'report',
      params: () => ({}),
      report: () => reconciling('Ready', 'ready'),
    },
    waiting: {
      description: 'Anything else.',
      when: [],
      action: 'wait',
      params: () => ({}),
      report: () => reconciling('Waiting', 'waiting'),
    },
  },
});

void describe('a guard that throws', () => {
  void it('makes decide throw an error naming the chart, with the guard’s error as its cause', PURE, () => {
    assert.throws(
      () => chart.decide({}),
      (err: unknown) =>
        err instanceof Error &&
        err.message === "widget: a guard or a state's params threw while deciding" &&
        err.cause instanceof TypeError &&
        /yes/.test(err.cause.message),
    );
  });

  void it('leaves decisions whose guards hold untouched', PURE, () => {
    assert.equal(chart.decide({ ready: { yes: true } }).state, 'ready');
    assert.equal(chart.decide({ ready: { yes: false } }).state, 'waiting');
  });
});

interface Named {
  name?: string;
  /** A routing bug under test: the guard holds without the name. */
  claimsName: boolean;
}

const named = defineStatechart({
  id: 'named',
  guards: { hasName: (o: Named) => o.claimsName },
  states: {
    naming: {
      description: 'The guard established the name.',
      when: ['hasName'],
      action: 'useName',
      params: (o: Named) => ({ name: guarded(o.name) }),
      report: (o: Named) => reconciling('Naming', `Using ${guarded(o.name)}.`),
    },
    other: {
      description: 'Anything else.',
      when: [],
      action: 'wait',
      params: () => ({}),
      report: () => reconciling('Waiting', 'waiting'),
    },
  },
});

void describe('guarded', () => {
  void it('returns the value the guard established, falsy ones included', PURE, () => {
    assert.equal(guarded(''), '');
    assert.equal(guarded(0), 0);
    assert.deepEqual(named.decide({ name: 'a', claimsName: true }).actions, [
      { type: 'useName', params: { name: 'a' } },
    ]);
  });

  void it('fails the decision when a state is reached without its value, naming the chart', PURE, () => {
    assert.throws(
      () => named.decide({ claimsName: true }),
      (err: unknown) =>
        err instanceof Error &&
        err.message === "named: a guard or a state's params threw while deciding" &&
        err.cause instanceof StateDataMissing &&
        /without the value its guard established/.test(err.cause.message),
    );
  });
});
