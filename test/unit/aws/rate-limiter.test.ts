import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiterPool, TokenBucket } from '../../../src/aws/rate-limiter.ts';
import { FakeClock, flush } from '../runtime/fake-clock.ts';

/** Starts `count` acquisitions and records, in resolution order, which ones got their token and when. */
function acquireMany(
  bucket: TokenBucket,
  clock: FakeClock,
  labels: readonly string[],
  signals: Partial<Record<string, AbortSignal>> = {},
): {
  granted: { label: string; at: number; waited: number }[];
  rejected: { label: string; reason: unknown }[];
} {
  const granted: { label: string; at: number; waited: number }[] = [];
  const rejected: { label: string; reason: unknown }[] = [];
  const start = clock.now();
  for (const label of labels) {
    bucket.acquire(signals[label]).then(
      (waited) => granted.push({ label, at: clock.now() - start, waited }),
      (reason: unknown) => rejected.push({ label, reason }),
    );
  }
  return { granted, rejected };
}

function labels(count: number, prefix = 'r'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

void describe('TokenBucket', () => {
  void it('lets a full burst through at once and nothing more', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 5, burst: 10 }, clock);
    const { granted } = acquireMany(bucket, clock, labels(11));
    await flush();
    assert.equal(granted.length, 10);
    assert.ok(granted.every((g) => g.waited === 0));
    assert.equal(bucket.waiting, 1);
    assert.equal(clock.pending(), 1, 'one timer for the head of the queue, no polling');
  });

  void it('then grants one token per 1/rate seconds', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 5, burst: 2 }, clock);
    const { granted } = acquireMany(bucket, clock, labels(6));
    await clock.advance(1000);
    assert.deepEqual(
      granted.map((g) => g.at),
      [0, 0, 200, 400, 600, 800],
    );
    assert.deepEqual(
      granted.map((g) => g.waited),
      [0, 0, 200, 400, 600, 800],
      'each caller learns how long it waited',
    );
    assert.equal(clock.pending(), 0, 'no timer is left once the queue is empty');
  });

  void it('sustains the configured rate over a long run', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 5, burst: 10 }, clock);
    const { granted } = acquireMany(bucket, clock, labels(200));
    await clock.advance(10_000);
    // 10 from the burst, then 5 per second for 10 seconds.
    assert.equal(granted.length, 60);
    await clock.advance(28_000);
    assert.equal(granted.length, 200);
  });

  void it('serves waiters strictly in arrival order, also those that arrive later', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 2, burst: 1 }, clock);
    const order: string[] = [];
    for (const label of ['a', 'b', 'c']) void bucket.acquire().then(() => order.push(label));
    await clock.advance(500);
    for (const label of ['d', 'e']) void bucket.acquire().then(() => order.push(label));
    await clock.advance(5000);
    assert.deepEqual(order, ['a', 'b', 'c', 'd', 'e']);
  });

  void it('does not let a newcomer overtake a queued caller even when a token has accumulated', async () => {
    // A clock whose timers fire only when the test says: time can pass before the head waiter wakes.
    let now = 0;
    const timers: (() => void)[] = [];
    const lateClock = {
      now: () => now,
      setTimeout: (callback: () => void) => timers.push(callback),
      clearTimeout: () => undefined,
    };
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1 }, lateClock);
    const order: string[] = [];
    for (const label of ['a', 'b']) void bucket.acquire().then(() => order.push(label));
    await flush();
    assert.deepEqual(order, ['a']);
    now = 1500;
    void bucket.acquire().then(() => order.push('c'));
    await flush();
    assert.deepEqual(order, ['a'], 'c queued behind b although a token was free');
    timers.shift()?.();
    await flush();
    assert.deepEqual(order, ['a', 'b']);
    now = 2500;
    timers.shift()?.();
    await flush();
    assert.deepEqual(order, ['a', 'b', 'c']);
  });

  void it('refills to the burst size at most after a quiet period', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 4 }, clock);
    acquireMany(bucket, clock, labels(4));
    await clock.advance(60_000);
    assert.equal(bucket.available, 4);
    const { granted } = acquireMany(bucket, clock, labels(5, 'later'));
    await flush();
    assert.equal(granted.length, 4);
  });

  void it('rejects an aborted waiter with the signal reason and gives its turn to the next one', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1 }, clock);
    const controller = new AbortController();
    const { granted, rejected } = acquireMany(bucket, clock, ['a', 'b', 'c'], { b: controller.signal });
    await flush();
    const reason = new Error('reconcile cancelled');
    controller.abort(reason);
    await flush();
    assert.deepEqual(rejected, [{ label: 'b', reason }]);
    assert.equal(bucket.waiting, 1);
    await clock.advance(1000);
    assert.deepEqual(
      granted.map((g) => [g.label, g.at]),
      [
        ['a', 0],
        ['c', 1000],
      ],
      'the aborted caller consumed no token',
    );
  });

  void it('rejects at once when the signal is already aborted, without taking a token', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1 }, clock);
    await assert.rejects(bucket.acquire(AbortSignal.abort()), { name: 'AbortError' });
    assert.equal(bucket.available, 1);
  });

  void it('clears its timer when the only waiter aborts', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1 }, clock);
    await bucket.acquire();
    const controller = new AbortController();
    const waiting = bucket.acquire(controller.signal);
    assert.equal(clock.pending(), 1);
    controller.abort();
    await assert.rejects(waiting, { name: 'AbortError' });
    assert.equal(clock.pending(), 0);
  });

  const invalid: { reason: string; limit: { ratePerSecond: number; burst: number } }[] = [
    { reason: 'a zero rate would never refill', limit: { ratePerSecond: 0, burst: 1 } },
    { reason: 'a burst below one could never grant a token', limit: { ratePerSecond: 1, burst: 0.5 } },
    { reason: 'NaN is not a rate', limit: { ratePerSecond: Number.NaN, burst: 1 } },
  ];
  for (const c of invalid) {
    void it(`refuses a nonsensical limit: ${c.reason}`, () => {
      assert.throws(() => new TokenBucket(c.limit, new FakeClock()), RangeError);
    });
  }
});

void describe('RateLimiterPool', () => {
  void it('hands out one shared bucket per key, with the limit chosen for that key', async () => {
    const clock = new FakeClock();
    const pool = new RateLimiterPool(
      (key) => (key.endsWith('/iam') ? { ratePerSecond: 1, burst: 1 } : { ratePerSecond: 5, burst: 3 }),
      clock,
    );
    assert.equal(pool.bucket('acct/us-east-1'), pool.bucket('acct/us-east-1'));
    assert.notEqual(pool.bucket('acct/us-east-1'), pool.bucket('acct/eu-west-1'));
    assert.equal(pool.bucket('acct/iam').available, 1);
    assert.equal(pool.bucket('acct/eu-west-1').available, 3);
    assert.deepEqual(
      pool.entries().map(([key]) => key),
      ['acct/us-east-1', 'acct/eu-west-1', 'acct/iam'],
    );
    await flush();
  });
});
