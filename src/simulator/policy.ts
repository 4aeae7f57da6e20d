// IAM policy evaluation, shared by the service-linked role's permissions policy (which authorises the
// simulated App Runner's own EC2 actions) and the optional caller identity policy. It implements the
// subset that App Runner networking needs: Allow/Deny with explicit-deny precedence, Action/NotAction
// and Resource/NotResource with `*` and `?` wildcards, and the condition operators StringEquals,
// StringNotEquals, StringEqualsIgnoreCase, StringLike, StringNotLike, ArnEquals, ArnLike, Bool and
// Null, each optionally prefixed by ForAllValues:/ForAnyValue: or suffixed by IfExists.

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

/** What the request looks like to the policy: the action, the resource ARN and the context keys. */
export interface AuthorizationRequest {
  action: string;
  resource: string;
  /** Context keys (case-insensitive names). Multi-valued keys (aws:TagKeys) are arrays. */
  context: Readonly<Record<string, string | readonly string[] | undefined>>;
}

export type Decision =
  | { effect: 'Allow'; statement: string }
  | { effect: 'ExplicitDeny'; statement: string }
  | { effect: 'ImplicitDeny' };

const asList = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

const patternCache = new Map<string, RegExp>();

/** IAM wildcard match: `*` any run, `?` one character. Anchored. */
export function wildcardMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const key = `${ignoreCase ? 'i' : 's'}:${pattern}`;
  let re = patternCache.get(key);
  if (re === undefined) {
    const body = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`, ignoreCase ? 'is' : 's');
    patternCache.set(key, re);
  }
  return re.test(value);
}

function lookup(
  context: AuthorizationRequest['context'],
  key: string,
): string | readonly string[] | undefined {
  const direct = context[key];
  if (direct !== undefined) return direct;
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(context)) {
    if (k.toLowerCase() === lower) return v;
  }
  return undefined;
}

function matchOne(op: string, policyValue: string, contextValue: string): boolean {
  switch (op) {
    case 'StringEquals':
    case 'StringNotEquals':
    case 'ArnEquals':
    case 'ArnNotEquals':
      return policyValue === contextValue;
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return policyValue.toLowerCase() === contextValue.toLowerCase();
    case 'StringLike':
    case 'StringNotLike':
    case 'ArnLike':
    case 'ArnNotLike':
      return wildcardMatch(policyValue, contextValue, false);
    case 'Bool':
      return policyValue.toLowerCase() === contextValue.toLowerCase();
    default:
      throw new Error(`unsupported condition operator ${op}`);
  }
}

const negated = (op: string): boolean => op.includes('Not');

/** Evaluates one `Operator: { key: values }` block. Unsupported operators throw (a policy we cannot read). */
function conditionHolds(
  rawOp: string,
  keys: Record<string, string | string[] | boolean>,
  context: AuthorizationRequest['context'],
): boolean {
  let op = rawOp;
  let set: 'all' | 'any' | undefined;
  if (op.startsWith('ForAllValues:')) {
    set = 'all';
    op = op.slice('ForAllValues:'.length);
  } else if (op.startsWith('ForAnyValue:')) {
    set = 'any';
    op = op.slice('ForAnyValue:'.length);
  }
  const ifExists = op.endsWith('IfExists');
  if (ifExists) op = op.slice(0, -'IfExists'.length);

  for (const [key, raw] of Object.entries(keys)) {
    const policyValues = (Array.isArray(raw) ? raw : [raw]).map(String);
    const found = lookup(context, key);
    const values: readonly string[] = found === undefined ? [] : typeof found === 'string' ? [found] : found;

    if (op === 'Null') {
      // "true" = the key must be absent; "false" = it must be present.
      const absent = values.length === 0;
      if (!policyValues.some((p) => (p.toLowerCase() === 'true') === absent)) return false;
      continue;
    }
    if (set === 'all') {
      // Vacuously true for an absent or empty key, as in IAM.
      const ok = values.every((v) => policyValues.some((p) => matchOne(op, p, v)));
      if (!ok) return false;
      continue;
    }
    if (values.length === 0) {
      if (ifExists) continue;
      if (set === 'any') return false;
      if (negated(op)) continue;
      return false;
    }
    const anyMatch = values.some((v) => policyValues.some((p) => matchOne(op, p, v)));
    if (negated(op) ? anyMatch : !anyMatch) return false;
  }
  return true;
}

function statementApplies(s: PolicyStatement, req: AuthorizationRequest): boolean {
  if (s.Action !== undefined) {
    if (!asList(s.Action).some((a) => wildcardMatch(a, req.action, true))) return false;
  } else if (s.NotAction !== undefined) {
    if (asList(s.NotAction).some((a) => wildcardMatch(a, req.action, true))) return false;
  } else return false;
  if (s.Resource !== undefined) {
    if (!asList(s.Resource).some((r) => wildcardMatch(r, req.resource, false))) return false;
  } else if (s.NotResource !== undefined) {
    if (asList(s.NotResource).some((r) => wildcardMatch(r, req.resource, false))) return false;
  } else return false;
  for (const [op, keys] of Object.entries(s.Condition ?? {})) {
    if (!conditionHolds(op, keys, req.context)) return false;
  }
  return true;
}

/** Explicit Deny beats Allow; no matching Allow is an implicit deny. */
export function evaluatePolicy(policy: PolicyDocument, req: AuthorizationRequest): Decision {
  const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
  let allow: string | undefined;
  for (const [i, s] of statements.entries()) {
    if (!statementApplies(s, req)) continue;
    const name = s.Sid ?? `Statement[${i}]`;
    if (s.Effect === 'Deny') return { effect: 'ExplicitDeny', statement: name };
    allow ??= name;
  }
  return allow === undefined ? { effect: 'ImplicitDeny' } : { effect: 'Allow', statement: allow };
}
