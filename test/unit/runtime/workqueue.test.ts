import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkQueue } from '../../../src/runtime/workqueue.ts';
import { FakeClock, flush } from './fake-clock.ts';

function newQueue(
  clock: FakeClock,
  options: Partial<ConstructorParameters<typeof WorkQueue>[0]> = {},
): WorkQueue {
  return new WorkQueue({ name: 'test', clock, ...options });
}

/** The key handed out once pending work settles, or `{ pending: true }` when the worker still waits. */
async function poll(queue: WorkQueue): Promise<string | undefined | { pending: true }> {
  let value: string | undefined | { pending: true } = { pending: true };
  void queue.get().then((key) => {
    value = key;
  });
  await flush();
  return value;
}

void describe('WorkQueue', { timeout: 10_000 }, () => {
  void it('should hand out a key added several times before processing only once', async () => {
    const queue = newQueue(new FakeClock());
    queue.add('ns/a');
    queue.add('ns/b');
    queue.add('ns/a');
    assert.equal(queue.len(), 2);
    assert.equal(await queue.get(), 'ns/a');
    assert.equal(await queue.get(), 'ns/b');
    assert.equal(queue.len(), 0);
    queue.shutDown();
  });

  void it('should hand out background keys only when no other key is ready, each in its own order', async () => {
    const queue = newQueue(new FakeClock());
    queue.add('ns/r1', 'background');
    queue.add('ns/r2', 'background');
    queue.add('ns/e1');
    queue.add('ns/e2', 'normal');
    assert.equal(queue.len(), 4, 'background keys count as ready');
    const order = [];
    for (let i = 0; i < 4; i++) order.push(await queue.get());
    assert.deepEqual(order, ['ns/e1', 'ns/e2', 'ns/r1', 'ns/r2']);
    for (const key of ['ns/e1', 'ns/e2', 'ns/r1', 'ns/r2']) queue.done(key);
    // Once handed out, a key keeps nothing of its old priority.
    queue.add('ns/e1', 'background');
    queue.add('ns/r1');
    assert.equal(await queue.get(), 'ns/r1');
    assert.equal(await queue.get(), 'ns/e1');
    queue.shutDown();
  });

  void it('should move a queued background key ahead when it is added normally, and hand it out once', async () => {
    const queue = newQueue(new FakeClock());
    for (const key of ['ns/r1', 'ns/r2', 'ns/r3']) queue.add(key, 'background');
    queue.add('ns/e1');
    queue.add('ns/r2');
    queue.add('ns/r2', 'background');
    queue.add('ns/e1', 'background');
    assert.equal(queue.len(), 4);
    const order = [];
    for (let i = 0; i < 4; i++) order.push(await queue.get());
    assert.deepEqual(order, ['ns/e1', 'ns/r2', 'ns/r1', 'ns/r3']);
    assert.deepEqual(await poll(queue), { pending: true });
    queue.shutDown();
  });

  void it('should bring a key re-added during processing back at the priority it was re-added with', async () => {
    const queue = newQueue(new FakeClock());
    for (const key of ['ns/a', 'ns/b']) queue.add(key);
    assert.equal(await queue.get(), 'ns/a');
    assert.equal(await queue.get(), 'ns/b');
    queue.add('ns/a', 'background');
    queue.add('ns/b', 'background');
    queue.add('ns/b');
    queue.add('ns/c', 'background');
    queue.done('ns/a');
    queue.done('ns/b');
    const order = [];
    for (let i = 0; i < 3; i++) order.push(await queue.get());
    assert.deepEqual(order, ['ns/b', 'ns/c', 'ns/a']);
    queue.shutDown();
  });

  void it('should not hand a key to a second worker while the first is processing it', async () => {
    const queue = newQueue(new FakeClock());
    queue.add('ns/a');
    assert.equal(await queue.get(), 'ns/a');
    queue.add('ns/a');
    assert.equal(queue.len(), 0, 'a key being processed is not queued again');
    const second = queue.get();
    let handed: string | undefined;
    void second.then((key) => (handed = key));
    await flush();
    assert.equal(handed, undefined, 'the second worker waits while the key is processed');
    queue.done('ns/a');
    assert.equal(await second, 'ns/a', 'the key re-added during processing comes back after done');
    queue.shutDown();
  });

  void it('should not queue a key again after done when nobody re-added it', async () => {
    const queue = newQueue(new FakeClock());
    queue.add('a');
    assert.equal(await queue.get(), 'a');
    queue.done('a');
    assert.equal(queue.len(), 0);
    assert.deepEqual(await poll(queue), { pending: true });
    queue.shutDown();
  });

  void it('should process a key re-added several times during processing exactly once more', async () => {
    const queue = newQueue(new FakeClock());
    queue.add('a');
    await queue.get();
    queue.add('a');
    queue.add('a');
    queue.done('a');
    assert.equal(queue.len(), 1);
    assert.equal(await queue.get(), 'a');
    queue.done('a');
    assert.equal(queue.len(), 0);
    queue.shutDown();
  });

  void it('should hand out delayed keys in the order their delays expire, not the order they were added', async () => {
    const clock = new FakeClock();
    const queue = newQueue(clock);
    queue.addAfter('slow', 300);
    queue.addAfter('fast', 100);
    queue.addAfter('medium', 200);
    await clock.advance(99);
    assert.equal(queue.len(), 0, 'nothing is ready before the first delay expires');
    await clock.advance(1);
    assert.equal(queue.len(), 1);
    await clock.advance(200);
    assert.deepEqual([await queue.get(), await queue.get(), await queue.get()], ['fast', 'medium', 'slow']);
    queue.shutDown();
  });

  void it('should keep the earlier time when a waiting key is added again with a longer or shorter delay', async () => {
    const clock = new FakeClock();
    const queue = newQueue(clock);
    queue.addAfter('a', 1_000);
    queue.addAfter('a', 5_000);
    await clock.advance(1_000);
    assert.equal(queue.len(), 1, 'the longer delay did not postpone the key');
    await queue.get();
    queue.done('a');
    queue.addAfter('b', 5_000);
    queue.addAfter('b', 1_000);
    await clock.advance(1_000);
    assert.equal(queue.len(), 1, 'the shorter delay brought the key forward');
    assert.equal(await queue.get(), 'b');
    queue.done('b');
    await clock.advance(10_000);
    assert.equal(queue.len(), 0, 'the replaced timer did not add the key a second time');
    assert.equal(clock.pending(), 0);
    queue.shutDown();
  });

  void it('should keep the place of a waiting key added again with the same delay', async () => {
    const clock = new FakeClock();
    const queue = newQueue(clock);
    queue.addAfter('a', 1_000);
    queue.addAfter('b', 1_000);
    queue.addAfter('a', 1_000);
    await clock.advance(1_000);
    assert.deepEqual([await queue.get(), await queue.get()], ['a', 'b']);
    queue.shutDown();
  });

  void it('should ignore done for a key no worker holds, so a queued key is not queued twice', async () => {
    const queue = newQueue(new FakeClock());
    queue.add('a');
    queue.done('a');
    assert.equal(queue.len(), 1);
    assert.equal(await queue.get(), 'a');
    queue.done('a');
    assert.deepEqual(await poll(queue), { pending: true });
    queue.shutDown();
  });

  void it('should add a key at once when addAfter is given no delay', () => {
    const clock = new FakeClock();
    const queue = newQueue(clock);
    queue.addAfter('a', 0);
    queue.addAfter('b', -5);
    assert.equal(queue.len(), 2);
    assert.equal(clock.pending(), 0);
    queue.shutDown();
  });

  void describe('per-key exponential backoff', () => {
    const cases: { reason: string; base: number; cap: number; want: number[] }[] = [
      {
        reason: 'client-go defaults double from 5 ms',
        base: 5,
        cap: 1_000_000,
        want: [5, 10, 20, 40, 80, 160],
      },
      {
        reason: 'the operator setting (1 s to 5 min) stops growing at the cap',
        base: 1_000,
        cap: 300_000,
        want: [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000],
      },
      { reason: 'a cap equal to the base never grows', base: 2_000, cap: 2_000, want: [2_000, 2_000, 2_000] },
    ];
    for (const c of cases) {
      void it(`should grow the delay as expected: ${c.reason}`, () => {
        const queue = newQueue(new FakeClock(), { baseDelayMs: c.base, maxDelayMs: c.cap, qps: Infinity });
        const got = c.want.map(() => queue.addRateLimited('a'));
        assert.deepEqual(got, c.want);
        assert.equal(queue.numRequeues('a'), c.want.length);
        queue.shutDown();
      });
    }

    void it('should keep growing far past the cap without overflowing', () => {
      const queue = newQueue(new FakeClock(), { baseDelayMs: 1_000, maxDelayMs: 300_000, qps: Infinity });
      let last = 0;
      for (let i = 0; i < 2_000; i++) last = queue.addRateLimited('a');
      assert.equal(last, 300_000);
      queue.shutDown();
    });

    void it('should restart from the base delay after forget', () => {
      const queue = newQueue(new FakeClock(), { baseDelayMs: 1_000, maxDelayMs: 300_000, qps: Infinity });
      queue.addRateLimited('a');
      queue.addRateLimited('a');
      queue.addRateLimited('a');
      queue.forget('a');
      assert.equal(queue.numRequeues('a'), 0);
      assert.equal(queue.addRateLimited('a'), 1_000);
      queue.shutDown();
    });

    void it('should keep the backoff of each key separate', () => {
      const queue = newQueue(new FakeClock(), { baseDelayMs: 1_000, maxDelayMs: 300_000, qps: Infinity });
      queue.addRateLimited('a');
      queue.addRateLimited('a');
      assert.equal(queue.addRateLimited('b'), 1_000);
      assert.equal(queue.numRequeues('a'), 2);
      queue.shutDown();
    });

    void it('should wait at least the given minimum (a server-sent Retry-After) even when the backoff is shorter', () => {
      const queue = newQueue(new FakeClock(), { baseDelayMs: 1_000, maxDelayMs: 300_000, qps: Infinity });
      assert.equal(queue.addRateLimited('a', 7_500), 7_500);
      assert.equal(queue.addRateLimited('a', 100), 2_000, 'a smaller minimum leaves the backoff in charge');
      queue.shutDown();
    });

    void it('should actually add the key when its backoff expires', async () => {
      const clock = new FakeClock();
      const queue = newQueue(clock, { baseDelayMs: 1_000, maxDelayMs: 300_000, qps: Infinity });
      queue.addRateLimited('a');
      await clock.advance(999);
      assert.equal(queue.len(), 0);
      await clock.advance(1);
      assert.equal(await queue.get(), 'a');
      queue.shutDown();
    });
  });

  void describe('overall token bucket', () => {
    void it('should let a burst through at once and then spread further retries at the configured rate', () => {
      const queue = newQueue(new FakeClock(), { baseDelayMs: 0, maxDelayMs: 0, qps: 10, burst: 100 });
      const delays = Array.from({ length: 103 }, (_, i) => queue.addRateLimited(`k${i}`));
      assert.deepEqual(
        delays.slice(0, 100),
        new Array<number>(100).fill(0),
        'the burst of 100 waits for nothing',
      );
      assert.deepEqual(
        delays.slice(100).map((d) => Math.round(d)),
        [100, 200, 300],
        'beyond the burst, one key per 100 ms at 10 qps',
      );
      queue.shutDown();
    });

    void it('should refill tokens as time passes', async () => {
      const clock = new FakeClock();
      const queue = newQueue(clock, { baseDelayMs: 0, maxDelayMs: 0, qps: 10, burst: 2 });
      queue.addRateLimited('a');
      queue.addRateLimited('b');
      assert.ok(queue.addRateLimited('c') > 0, 'the bucket is empty after the burst');
      await clock.advance(1_000);
      assert.equal(queue.addRateLimited('d'), 0, 'a second later the bucket has refilled');
      queue.shutDown();
    });

    void it('should refill in proportion to the time passed, paying off the debt first', async () => {
      const clock = new FakeClock();
      const queue = newQueue(clock, { baseDelayMs: 0, maxDelayMs: 0, qps: 10, burst: 2 });
      queue.addRateLimited('a');
      queue.addRateLimited('b');
      assert.equal(queue.addRateLimited('c'), 100, 'one token in debt at 10 qps');
      await clock.advance(50);
      assert.equal(queue.addRateLimited('d'), 150, 'half a token came back; the debt is now 1.5 tokens');
      queue.shutDown();
    });

    void it('should take the larger of the per-key backoff and the bucket delay', () => {
      const queue = newQueue(new FakeClock(), { baseDelayMs: 50, maxDelayMs: 1_000, qps: 1, burst: 1 });
      assert.equal(queue.addRateLimited('a'), 50, 'a full bucket leaves the backoff');
      assert.equal(Math.round(queue.addRateLimited('b')), 1_000, 'an empty bucket outweighs a short backoff');
      queue.shutDown();
    });

    void it('should refuse a rate limit that would stop the queue', () => {
      assert.throws(() => newQueue(new FakeClock(), { qps: 0 }), RangeError);
      assert.throws(() => newQueue(new FakeClock(), { burst: 0 }), RangeError);
      assert.throws(() => newQueue(new FakeClock(), { baseDelayMs: 10, maxDelayMs: 5 }), RangeError);
      assert.throws(() => newQueue(new FakeClock(), { baseDelayMs: -1 }), RangeError);
    });
  });

  void describe('shutdown', () => {
    void it('should release waiting workers, refuse new keys and cancel pending delayed adds', async () => {
      const clock = new FakeClock();
      const queue = newQueue(clock);
      const waiting = queue.get();
      queue.addAfter('later', 1_000);
      queue.shutDown();
      assert.equal(await waiting, undefined);
      assert.equal(clock.pending(), 0, 'the delayed add was cancelled');
      queue.add('new');
      queue.addAfter('new', 10);
      assert.equal(queue.len(), 0);
      assert.equal(clock.pending(), 0, 'a delayed add after shutdown sets no timer');
      assert.equal(await queue.get(), undefined);
      assert.equal(queue.isShuttingDown(), true);
    });

    void it('should stop handing out keys still queued, so a stopping controller takes no more work', async () => {
      const queue = newQueue(new FakeClock());
      queue.add('a');
      queue.shutDown();
      assert.equal(await queue.get(), undefined);
    });

    void it('should resolve shutDownWithDrain only after every key being processed is done', async () => {
      const queue = newQueue(new FakeClock());
      queue.add('a');
      queue.add('b');
      await queue.get();
      await queue.get();
      let drained = false;
      const drain = queue.shutDownWithDrain().then(() => (drained = true));
      await flush();
      assert.equal(drained, false);
      queue.done('a');
      await flush();
      assert.equal(drained, false, 'one key is still being processed');
      queue.add('a');
      queue.done('b');
      await drain;
      assert.equal(drained, true);
      assert.equal(queue.len(), 0, 'nothing is re-queued after shutdown');
    });

    void it('should keep a drain waiting when shutDown is called again while keys are still processed', async () => {
      const queue = newQueue(new FakeClock());
      queue.add('a');
      await queue.get();
      let drained = false;
      const drain = queue.shutDownWithDrain().then(() => (drained = true));
      queue.shutDown();
      await flush();
      assert.equal(drained, false);
      queue.done('a');
      await drain;
    });

    void it('should resolve shutDownWithDrain at once when nothing is being processed', async () => {
      const queue = newQueue(new FakeClock());
      queue.add('a');
      await queue.shutDownWithDrain();
      assert.equal(queue.processingCount(), 0);
    });
  });
});
