// defineStatechart: a table of states compiles into an XState chart whose `deciding` state routes in table
// order, with `!` negating a guard and several guards all required; decide() returns the state's action,
// report and finalizer change without executing anything.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineStatechart, reconciling, ready, stalled } from '../../../src/runtime/statechart.ts';

interface O {
  deleting: boolean;
  finalized: boolean;
  broken: boolean;
  calls: string[];
}

const chart = defineStatechart({
  id: 'toy',
  guards: {
    deleting: (o: O) => o.deleting,
    finalized: (o: O) => o.finalized,
    broken: (o: O) => {
      o.calls.push('broken');
      return o.broken;
    },
  },
  domain: (state) => [{ type: 'Visited', status: 'True', reason: state, message: state }],
  states: {
    releasing: {
      description: 'deleting and fenced',
      when: ['deleting', 'finalized'],
      action: 'let',
      params: () => ({}),
      report: () => reconciling('Deleting', 'going'),
      finalizer: 'remove',
    },
    fencing: {
      description: 'not fenced yet',
      when: ['!finalized'],
      action: 'fence',
      params: () => ({}),
      report: () => reconciling('Fencing', 'fencing', 5),
      finalizer: 'add',
    },
    complaining: {
      description: 'broken',
      when: ['broken'],
      action: 'complain',
      params: () => ({ why: 'it is broken' }),
      report: () => stalled('Broken', 'it is broken', 60),
    },
    resting: {
      description: 'all well',
      when: [],
      action: 'rest',
      params: () => ({}),
      report: () => ready('Fine', 'all well'),
    },
  },
});

const o = (over: Partial<O>): O => ({ deleting: false, finalized: true, broken: false, calls: [], ...over });

void describe('defineStatechart', () => {
  void it('routes to the first state whose guards all hold, in table order', () => {
    const cases = [
      { reason: 'deleting and fenced', in: o({ deleting: true }), state: 'releasing' },
      {
        reason: 'deleting but not fenced: the conjunction fails, the negation holds',
        in: o({ deleting: true, finalized: false }),
        state: 'fencing',
      },
      { reason: 'fenced and broken', in: o({ broken: true }), state: 'complaining' },
      { reason: 'nothing holds: the guardless fallthrough', in: o({}), state: 'resting' },
    ];
    for (const c of cases) assert.equal(chart.decide(c.in).state, c.state, c.reason);
  });

  void it('returns the entry action with its params, the report, the finalizer change and the domain conditions', () => {
    const decision = chart.decide(o({ finalized: false }));
    assert.deepEqual(decision.actions, [{ type: 'fence', params: {} }]);
    assert.deepEqual(decision.conditions.kstatus, {
      kind: 'Reconciling',
      reason: 'Fencing',
      message: 'fencing',
    });
    assert.deepEqual(decision.conditions.domain, [
      { type: 'Visited', status: 'True', reason: 'fencing', message: 'fencing' },
    ]);
    assert.equal(decision.finalizer, 'add');
    assert.equal(decision.requeueAfterMs, 5);

    const complaint = chart.decide(o({ broken: true }));
    assert.deepEqual(complaint.actions, [{ type: 'complain', params: { why: 'it is broken' } }]);
    assert.equal(complaint.finalizer, undefined);
    assert.equal(chart.decide(o({})).requeueAfterMs, undefined);
  });

  void it('stops evaluating guards at the first route that holds', () => {
    const input = o({ deleting: true });
    chart.decide(input);
    assert.deepEqual(input.calls, [], 'the broken guard of a later route never ran');
  });

  void it('lists the states in routing order and compiles each into the machine', () => {
    assert.deepEqual(chart.stateNames, ['releasing', 'fencing', 'complaining', 'resting']);
    assert.deepEqual(Object.keys(chart.machine.root.states).sort(), [
      'complaining',
      'deciding',
      'fencing',
      'releasing',
      'resting',
    ]);
  });
});
