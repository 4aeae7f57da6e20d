// How AWS's refusals show in the status of either kind: the one mapping from the gateway's typed errors to a
// kstatus report (the runtime's managed pass applies it; the queue outcome follows from the error's runtime
// class). Throttles and transient failures are left to the queue: status does not change for them, so a
// human sees only what needs a human, and repeated transient failures write nothing.
import {
  AwsAccessDeniedError,
  AwsInvalidInputError,
  AwsQuotaExceededError,
  type AwsErrorFacts,
} from '../../aws/errors.ts';
import type { FailureReport } from '../../runtime/index.ts';

/** How long the operator waits on a spec that AWS refused before trying it again anyway. */
export const TERMINAL_RETRY_MS = 10 * 60_000;

/** The reasons under which a refusal is recorded as Stalled; `observe` reads them back (awaiting an edit). */
export const TerminalReason = {
  InvalidInput: 'InvalidInput',
  AccessDenied: 'AccessDenied',
  QuotaExceeded: 'QuotaExceeded',
} as const;

export const TERMINAL_REASONS: ReadonlySet<string> = new Set(Object.values(TerminalReason));

/** AWS's code and message, as status and Events quote them. */
export function quote(facts: AwsErrorFacts): string {
  const text = facts.message === '' ? '(no message)' : `"${facts.message}"`;
  return `${facts.code} ${text}.`;
}

/**
 * A refusal that retrying cannot fix without a human (invalid input, access denied, quota) as Stalled with
 * AWS's words, looked at again after TERMINAL_RETRY_MS; anything else `undefined`.
 */
export function terminalAwsFailure(err: unknown): FailureReport | undefined {
  const terminal =
    err instanceof AwsInvalidInputError
      ? { reason: TerminalReason.InvalidInput, facts: err.aws }
      : err instanceof AwsAccessDeniedError
        ? { reason: TerminalReason.AccessDenied, facts: err.aws }
        : err instanceof AwsQuotaExceededError
          ? { reason: TerminalReason.QuotaExceeded, facts: err.aws }
          : undefined;
  if (terminal === undefined) return undefined;
  const message = `AWS refused ${terminal.facts.operation}: ${quote(terminal.facts)} Fix the spec or the operator's permissions; the operator retries this generation every ${TERMINAL_RETRY_MS / 60_000} minutes.`;
  return {
    kind: 'Stalled',
    reason: terminal.reason,
    message,
    requeueAfterMs: TERMINAL_RETRY_MS,
    event: { reason: terminal.reason, action: terminal.facts.operation },
    log: 'AWS refused the action; recorded Stalled',
  };
}

/** The last terminal refusal recorded in status (a Stalled condition under a terminal reason), if any. */
export interface RecordedFailure {
  reason: string;
  message: string;
  generation: number;
  since: Date;
}

export function recordedFailure(
  conditions:
    | readonly {
        type: string;
        status: string;
        reason: string;
        message: string;
        observedGeneration?: number;
        lastTransitionTime: string;
      }[]
    | undefined,
): RecordedFailure | undefined {
  const stalled = conditions?.find((c) => c.type === 'Stalled' && c.status === 'True');
  if (stalled === undefined || !TERMINAL_REASONS.has(stalled.reason)) return undefined;
  return {
    reason: stalled.reason,
    message: stalled.message,
    generation: stalled.observedGeneration ?? 0,
    since: new Date(stalled.lastTransitionTime),
  };
}
