// The shape every simulated operation has, whatever its protocol: whether it reads or mutates (for
// throttling classes, concurrency tracking and state saves), what it targets (for the caller policy and
// the audit log), and what it does.

import type { Ctx } from './engine.ts';

export interface Target {
  /** The resource ARN the caller policy is evaluated against ('*' for list/describe-all calls). */
  resource: string;
  /** Extra condition keys (aws:RequestTag/..., aws:TagKeys, iam:AWSServiceName, aws:ResourceTag/...). */
  context?: Record<string, string | string[] | undefined>;
}

export interface Handler<I> {
  readonly mutates: boolean;
  /** Throws the protocol's validation error; runs before authorisation. */
  validate?(input: I): void;
  target(ctx: Ctx, input: I): Target;
  run(ctx: Ctx, input: I): unknown;
}

export function tagContext(
  tags: readonly { Key: string; Value: string }[] | undefined,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (tags === undefined) return out;
  out['aws:TagKeys'] = tags.map((t) => t.Key);
  for (const t of tags) out[`aws:RequestTag/${t.Key}`] = t.Value;
  return out;
}

export function resourceTagContext(tags: readonly { Key: string; Value: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags) out[`aws:ResourceTag/${t.Key}`] = t.Value;
  return out;
}
