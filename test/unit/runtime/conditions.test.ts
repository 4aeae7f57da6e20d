import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  type Condition,
  type ConditionInput,
  findCondition,
  formatConditionTime,
  isConditionTrue,
  markReady,
  markReconciling,
  markStalled,
  removeCondition,
  setCondition,
} from '../../../src/runtime/conditions.ts';

const earlier = '2026-11-27T10:00:00Z';
const now = new Date('2026-11-27T12:34:56.789Z');
const nowText = '2026-11-27T12:34:56Z';

function condition(overrides: Partial<Condition> = {}): Condition {
  return {
    type: 'Ready',
    status: 'False',
    reason: 'Creating',
    message: 'The connector is being created.',
    observedGeneration: 1,
    lastTransitionTime: earlier,
    ...overrides,
  };
}

function input(overrides: Partial<ConditionInput> = {}): ConditionInput {
  const { lastTransitionTime: _ignored, ...rest } = condition();
  return { ...rest, ...overrides };
}

void describe('setCondition', () => {
  const cases: {
    name: string;
    before: Condition[] | undefined;
    set: ConditionInput;
    after: Condition[] | 'unchanged';
  }[] = [
    {
      name: 'appends a new condition stamped with now at whole-second precision',
      before: undefined,
      set: input(),
      after: [condition({ lastTransitionTime: nowText })],
    },
    {
      name: 'returns the same array when every field is identical, so no status write follows',
      before: [condition()],
      set: input(),
      after: 'unchanged',
    },
    {
      name: 'keeps lastTransitionTime when only the message changes, because the status did not transition',
      before: [condition()],
      set: input({ message: 'Still creating.' }),
      after: [condition({ message: 'Still creating.' })],
    },
    {
      name: 'keeps lastTransitionTime when only observedGeneration moves on',
      before: [condition()],
      set: input({ observedGeneration: 2 }),
      after: [condition({ observedGeneration: 2 })],
    },
    {
      name: 'moves lastTransitionTime to now when the status changes',
      before: [condition()],
      set: input({ status: 'True', reason: 'Available' }),
      after: [condition({ status: 'True', reason: 'Available', lastTransitionTime: nowText })],
    },
    {
      name: 'leaves other conditions and their order alone',
      before: [condition({ type: 'A' }), condition(), condition({ type: 'B' })],
      set: input({ status: 'True' }),
      after: [
        condition({ type: 'A' }),
        condition({ status: 'True', lastTransitionTime: nowText }),
        condition({ type: 'B' }),
      ],
    },
    {
      name: 'omits observedGeneration when the caller gives none',
      before: [],
      set: { type: 'Ready', status: 'Unknown', reason: 'Pending', message: 'Not observed yet.' },
      after: [
        {
          type: 'Ready',
          status: 'Unknown',
          reason: 'Pending',
          message: 'Not observed yet.',
          lastTransitionTime: nowText,
        },
      ],
    },
  ];
  for (const c of cases) {
    void it(c.name, () => {
      const frozen = c.before === undefined ? undefined : structuredClone(c.before);
      const result = setCondition(c.before, c.set, now);
      if (c.after === 'unchanged') assert.equal(result, c.before);
      else assert.deepEqual(result, c.after);
      assert.deepEqual(c.before, frozen, 'the input array is never mutated');
    });
  }
});

void describe('the kstatus trio', () => {
  const detail = { reason: 'Available', message: 'The connector is ACTIVE.', observedGeneration: 3 };
  const cases: {
    name: string;
    before: Condition[];
    apply: typeof markReady;
    expect: Record<string, string | undefined>;
  }[] = [
    {
      name: 'markReady sets Ready=True and removes Reconciling and Stalled (abnormal-true polarity)',
      before: [
        condition({ type: 'Reconciling', status: 'True' }),
        condition({ type: 'Stalled', status: 'True' }),
      ],
      apply: markReady,
      expect: { Ready: 'True', Reconciling: undefined, Stalled: undefined },
    },
    {
      name: 'markReconciling sets Ready=False and Reconciling=True and clears a previous Stalled',
      before: [condition({ type: 'Stalled', status: 'True' }), condition({ type: 'Ready', status: 'True' })],
      apply: markReconciling,
      expect: { Ready: 'False', Reconciling: 'True', Stalled: undefined },
    },
    {
      name: 'markStalled removes Reconciling because kstatus reads Reconciling first and would hide the failure',
      before: [condition({ type: 'Reconciling', status: 'True' })],
      apply: markStalled,
      expect: { Ready: 'False', Reconciling: undefined, Stalled: 'True' },
    },
    {
      name: 'domain conditions survive every trio helper',
      before: [condition({ type: 'ServiceLinkedRoleReady', status: 'True' })],
      apply: markReady,
      expect: { Ready: 'True', ServiceLinkedRoleReady: 'True' },
    },
  ];
  for (const c of cases) {
    void it(c.name, () => {
      const result = c.apply(c.before, detail, now);
      for (const [type, status] of Object.entries(c.expect)) {
        assert.equal(findCondition(result, type)?.status, status, type);
      }
      for (const type of ['Ready', 'Reconciling', 'Stalled']) {
        const found = findCondition(result, type);
        if (found) assert.equal(found.observedGeneration, 3, `${type} carries observedGeneration`);
      }
    });
  }

  void it('returns the same array when the trio already says the same thing', () => {
    const once = markReconciling([], detail, now);
    assert.equal(markReconciling(once, detail, new Date('2026-11-28T00:00:00Z')), once);
  });

  void it('keeps Ready lastTransitionTime when a stall follows reconciling (Ready stays False)', () => {
    const reconciling = markReconciling([], detail, new Date(earlier));
    const stalled = markStalled(reconciling, { ...detail, reason: 'InvalidInput' }, now);
    assert.equal(findCondition(stalled, 'Ready')?.lastTransitionTime, earlier);
    assert.equal(findCondition(stalled, 'Stalled')?.lastTransitionTime, nowText);
  });
});

void describe('small helpers', () => {
  void it('removeCondition returns the same array when the type is absent', () => {
    const list = [condition()];
    assert.equal(removeCondition(list, 'Stalled'), list);
  });

  void it('isConditionTrue is false for a missing condition', () => {
    assert.equal(isConditionTrue(undefined, 'Ready'), false);
    assert.equal(isConditionTrue([condition({ status: 'True' })], 'Ready'), true);
  });

  void it('formatConditionTime drops milliseconds to match metav1.Time', () => {
    assert.equal(formatConditionTime(now), nowText);
  });
});
