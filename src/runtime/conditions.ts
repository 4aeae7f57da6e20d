// Status conditions in the shape of metav1.Condition, and the kstatus trio Ready / Reconciling / Stalled.
//
// Every function is pure: it takes the current conditions and `now`, and returns a new array, or the very
// same array when nothing would change (callers and the status writer rely on that to skip writes).
// kstatus polarity: Ready is normal-true; Reconciling and Stalled are abnormal-true, so in the normal case
// they are removed rather than set to False, and at most one of them is present at a time.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** One entry of `status.conditions`, as the API server stores it (times are RFC 3339 strings). */
export interface Condition {
  type: string;
  status: ConditionStatus;
  /** CamelCase constant chosen by the caller. */
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

/** What a caller asserts; the helper fills in `lastTransitionTime`. */
export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/** What a caller says about the trio; the type and status follow from the helper used. */
export interface ConditionDetail {
  reason: string;
  message: string;
  observedGeneration?: number;
}

export const ConditionType = {
  Ready: 'Ready',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
} as const;

/** metav1.Time has whole-second precision; writing milliseconds would make every comparison differ. */
export function formatConditionTime(now: Date): string {
  return new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/**
 * Sets one condition. `lastTransitionTime` moves only when the status changes; a new reason, message or
 * observedGeneration updates the entry in place. Returns `conditions` itself when the entry is identical.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date,
): readonly Condition[] {
  const current = conditions ?? [];
  const index = current.findIndex((c) => c.type === input.type);
  const existing = current[index];
  if (existing === undefined) {
    return [...current, withTime(input, formatConditionTime(now))];
  }
  if (
    existing.status === input.status &&
    existing.reason === input.reason &&
    existing.message === input.message &&
    existing.observedGeneration === input.observedGeneration
  ) {
    return current;
  }
  const time = existing.status === input.status ? existing.lastTransitionTime : formatConditionTime(now);
  const next = [...current];
  next[index] = withTime(input, time);
  return next;
}

/** Removes a condition; returns `conditions` itself when it was absent. */
export function removeCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): readonly Condition[] {
  const current = conditions ?? [];
  return current.some((c) => c.type === type) ? current.filter((c) => c.type !== type) : current;
}

/** Ready=True: the observed world matches the spec; Reconciling and Stalled are removed. */
export function markReady(
  conditions: readonly Condition[] | undefined,
  detail: ConditionDetail,
  now: Date,
): readonly Condition[] {
  const ready = setCondition(conditions, { type: ConditionType.Ready, status: 'True', ...detail }, now);
  return removeCondition(removeCondition(ready, ConditionType.Reconciling), ConditionType.Stalled);
}

/** Reconciling=True (work in flight, progress expected): Ready=False with the same reason, Stalled removed. */
export function markReconciling(
  conditions: readonly Condition[] | undefined,
  detail: ConditionDetail,
  now: Date,
): readonly Condition[] {
  const ready = setCondition(conditions, { type: ConditionType.Ready, status: 'False', ...detail }, now);
  const reconciling = setCondition(
    ready,
    { type: ConditionType.Reconciling, status: 'True', ...detail },
    now,
  );
  return removeCondition(reconciling, ConditionType.Stalled);
}

/**
 * Stalled=True (no progress without a human): Ready=False with the same reason, Reconciling removed
 * (kstatus reads Reconciling before Stalled, so leaving it would hide the failure).
 */
export function markStalled(
  conditions: readonly Condition[] | undefined,
  detail: ConditionDetail,
  now: Date,
): readonly Condition[] {
  const ready = setCondition(conditions, { type: ConditionType.Ready, status: 'False', ...detail }, now);
  const stalled = setCondition(ready, { type: ConditionType.Stalled, status: 'True', ...detail }, now);
  return removeCondition(stalled, ConditionType.Reconciling);
}

function withTime(input: ConditionInput, lastTransitionTime: string): Condition {
  const condition: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    lastTransitionTime,
  };
  if (input.observedGeneration !== undefined) condition.observedGeneration = input.observedGeneration;
  return condition;
}
