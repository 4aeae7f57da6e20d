// How AWS's refusals show in the status of either kind: the one mapping from the gateway's typed errors to a
// kstatus report (the runtime's managed pass applies it; the queue outcome follows from the error's runtime
// class). Throttles and transient failures are left to the queue: status does not change for them, so a
// human sees only what needs a human, and repeated transient failures write nothing; only an unreachable
// endpoint or an unknown error that persists for PERSISTENT_AFTER_ATTEMPTS passes is shown.
import {
  AwsAccessDeniedError,
  AwsInvalidInputError,
  AwsQuotaExceededError,
  AwsTransientError,
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

/** After this many failed passes in a row, a failure that should not persist is shown as Stalled. */
export const PERSISTENT_AFTER_ATTEMPTS = 5;

/** Reasons of failures that are retried but shown once they persist. */
export const PersistentReason = {
  /** The endpoint's name does not resolve: App Runner does not run in the region, or DNS is broken. */
  EndpointUnreachable: 'EndpointUnreachable',
  /** An error code the operator does not know (e.g. a subscription or opt-in error). */
  AwsError: 'AwsError',
} as const;

/**
 * An unreachable endpoint or an unrecognised AWS error that persisted for PERSISTENT_AFTER_ATTEMPTS passes:
 * Stalled with AWS's words, while the queue keeps retrying with backoff (no requeue delay of its own).
 * Before that, and for everything else, `undefined`.
 */
export function persistentAwsFailure(err: unknown, attempts: number): FailureReport | undefined {
  if (!(err instanceof AwsTransientError) || err.kind === 'known' || attempts < PERSISTENT_AFTER_ATTEMPTS) {
    return undefined;
  }
  const facts = err.aws;
  const message =
    err.kind === 'unreachable'
      ? `The ${facts.service} endpoint cannot be resolved (${facts.code}) for ${attempts} passes in a row: App Runner may not run in this region, or DNS fails. Still retrying with backoff.`
      : `AWS answered ${facts.operation} with an error the operator does not know, ${attempts} passes in a row: ${quote(facts)} Still retrying with backoff.`;
  const reason =
    err.kind === 'unreachable' ? PersistentReason.EndpointUnreachable : PersistentReason.AwsError;
  return {
    kind: 'Stalled',
    reason,
    message,
    event: { reason, action: facts.operation },
    log: 'A failure persisted; recorded Stalled and retrying with backoff',
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

/** Whether a recorded refusal of this generation is still being waited on (an edit, or TERMINAL_RETRY_MS). */
export function awaitingSpecChange(
  failure: RecordedFailure | undefined,
  generation: number,
  now: Date,
): boolean {
  return (
    failure !== undefined &&
    failure.generation === generation &&
    now.getTime() - failure.since.getTime() < TERMINAL_RETRY_MS
  );
}
