// Pagination with opaque tokens. A token names the operation and the sort key of the last item
// returned, so pages stay consistent while items are added or removed between calls. Pages may be
// cut short, or come back empty with a NextToken, on purpose (pagination.shortPageRate, emptyFirstPage,
// emptyPageRate) as real ListServices does.

import type { Ctx } from './engine.ts';

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/** Thrown for a token that this simulator did not issue for this operation. */
export class BadTokenError extends Error {}

export function paginate<T>(
  ctx: Ctx,
  items: readonly T[],
  keyOf: (item: T) => string,
  maxResults: number | undefined,
  nextToken: string | undefined,
): Page<T> {
  const sorted = [...items].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  let start = 0;
  let after = '';
  let afterEmpty = false;
  const first = nextToken === undefined || nextToken === '';
  if (!first) {
    try {
      const decoded = JSON.parse(Buffer.from(nextToken, 'base64url').toString('utf8')) as {
        o?: unknown;
        k?: unknown;
        e?: unknown;
      };
      if (decoded.o !== ctx.operation || typeof decoded.k !== 'string') throw new BadTokenError();
      after = decoded.k;
      afterEmpty = decoded.e === 1;
    } catch {
      throw new BadTokenError(`Invalid NextToken for ${ctx.operation}`);
    }
    start = sorted.findIndex((i) => keyOf(i) > after);
    if (start < 0) start = sorted.length;
  }
  const token = (k: string, empty: boolean): string =>
    Buffer.from(JSON.stringify({ o: ctx.operation, k, ...(empty ? { e: 1 } : {}) })).toString('base64url');
  const p = ctx.config.pagination;
  const unreliable = p.shortPageOperations.includes(ctx.operation);
  // An empty page that still carries a NextToken (never twice in a row, so a NextToken loop always ends):
  // the first page when emptyFirstPage is set, else by chance while items remain.
  if (
    unreliable &&
    !afterEmpty &&
    ((first && p.emptyFirstPage) ||
      (p.emptyPageRate > 0 && start < sorted.length && ctx.prng.next() < p.emptyPageRate))
  ) {
    return { items: [], nextToken: token(after, true) };
  }
  let size = maxResults ?? ctx.config.pagination.defaultPageSize[ctx.operation] ?? 100;
  const available = Math.min(size, sorted.length - start);
  if (available > 1 && p.shortPageRate > 0 && unreliable && ctx.prng.next() < p.shortPageRate) {
    // A short page: fewer items than both MaxResults and what is left, still followed by a NextToken.
    size = 1 + Math.floor(ctx.prng.next() * (available - 1));
  }
  const page = sorted.slice(start, start + size);
  const last = page.at(-1);
  if (start + size < sorted.length && last !== undefined) {
    return { items: page, nextToken: token(keyOf(last), false) };
  }
  return { items: page };
}

/** A sort key from a timestamp and a tiebreaker, ascending. */
export const timeKey = (ms: number, tie: string): string => `${String(ms).padStart(15, '0')}|${tie}`;
/** A sort key that orders the highest `n` (a timestamp or a sequence number) first. */
export const newestFirstKey = (n: number, tie: string): string =>
  `${String(9e14 - n).padStart(15, '0')}|${tie}`;
