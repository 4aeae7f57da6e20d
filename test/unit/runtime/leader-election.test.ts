import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ApiException } from '@kubernetes/client-node';

import {
  type LeaderElectionOptions,
  type Lease,
  type LeaseClient,
  LeaseLeaderElector,
  type LeaseSpec,
} from '../../../src/runtime/leader-election.ts';
import { FakeClock } from './fake-clock.ts';

const namespace = 'apprunner-net-system';
const name = 'apprunner-net-leader';

/**
 * One Lease in memory with the API server's rules: create fails with 409 when it exists, replace fails
 * with 409 on a stale resourceVersion, MicroTime fields come back as strings. Each replica gets its own
 * client so a test can cut one replica off (`down`), make its requests hang (`hung`) or hold them until
 * the test lets them go (`pause`). A request for any other Lease than the elector's fails the test.
 */
class FakeLeaseApi {
  lease: Lease | undefined;
  #rv = 100;
  readonly down = new Set<string>();
  readonly hung = new Set<string>();
  readonly #paused = new Map<string, Promise<void>>();
  writes: { by: string; holder: string | undefined }[] = [];
  /** The replica of each read, in order. */
  reads: string[] = [];
  /** Runs once, inside the next create or replace, before the API server's checks (to lose a race). */
  beforeNextWrite: (() => void) | undefined;

  clientFor(replica: string): LeaseClient {
    const gate = async (): Promise<void> => {
      await this.#paused.get(replica);
      if (this.hung.has(replica)) await new Promise<never>(() => undefined);
      if (this.down.has(replica)) throw new ApiException(503, 'unavailable', {}, {});
    };
    const beforeWrite = (): void => {
      const hook = this.beforeNextWrite;
      this.beforeNextWrite = undefined;
      hook?.();
    };
    return {
      readNamespacedLease: async (param) => {
        assertTarget(param);
        this.reads.push(replica);
        await gate();
        if (this.lease === undefined) throw new ApiException(404, 'not found', {}, {});
        return structuredClone(this.lease);
      },
      createNamespacedLease: async ({ namespace: ns, body }) => {
        assertTarget({ namespace: ns, name: body.metadata?.name });
        assertTarget({ namespace: body.metadata?.namespace, name: body.metadata?.name });
        await gate();
        beforeWrite();
        if (this.lease !== undefined) throw new ApiException(409, 'already exists', {}, {});
        return this.#store(replica, body);
      },
      replaceNamespacedLease: async ({ name: n, namespace: ns, body }) => {
        assertTarget({ namespace: ns, name: n });
        await gate();
        beforeWrite();
        if (body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) {
          throw new ApiException(409, 'the object has been modified', {}, {});
        }
        return this.#store(replica, body);
      },
    };
  }

  /** Holds the replica's requests until the returned function is called. */
  pause(replica: string): () => void {
    let resume!: () => void;
    this.#paused.set(replica, new Promise((resolve) => (resume = resolve)));
    return () => {
      this.#paused.delete(replica);
      resume();
    };
  }

  /** Writes the lease as an outside party would (another operator build, a human with kubectl). */
  put(spec: LeaseSpec | undefined): void {
    this.#store('outsider', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace, resourceVersion: this.lease?.metadata?.resourceVersion },
      spec,
    });
  }

  overwriteHolder(holder: string): void {
    this.put({ ...specOf(this), holderIdentity: holder });
  }

  #store(by: string, body: Lease): Lease {
    const stored = JSON.parse(JSON.stringify(body)) as Lease;
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.#rv) };
    this.lease = stored;
    this.writes.push({ by, holder: stored.spec?.holderIdentity });
    return structuredClone(stored);
  }
}

function assertTarget(param: { namespace: string | undefined; name: string | undefined }): void {
  assert.deepEqual(param, { namespace, name }, "the request is for the elector's Lease");
}

function specOf(api: FakeLeaseApi): LeaseSpec {
  const spec = api.lease?.spec;
  assert.ok(spec, 'the lease exists');
  return spec;
}

function elector(
  api: FakeLeaseApi,
  clock: FakeClock,
  identity: string,
  options: Partial<LeaderElectionOptions> = {},
): LeaseLeaderElector {
  return new LeaseLeaderElector({
    client: api.clientFor(identity),
    namespace,
    name,
    identity,
    clock,
    random: () => 0,
    ...options,
  });
}

/** Starts campaigning and records every term as [start, end] in fake-clock milliseconds. */
function campaign(
  e: LeaseLeaderElector,
  clock: FakeClock,
): { terms: { start: number; end?: number }[]; done: Promise<void> } {
  const terms: { start: number; end?: number }[] = [];
  const done = e.run((signal) => {
    const term: { start: number; end?: number } = { start: clock.now() };
    terms.push(term);
    signal.addEventListener('abort', () => {
      term.end = clock.now();
    });
  });
  return { terms, done };
}

void describe('LeaseLeaderElector', () => {
  void it('creates a missing lease, leads at once and writes MicroTime with microseconds', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = elector(api, clock, 'a');
    const { terms } = campaign(a, clock);
    await clock.advance(0);
    assert.equal(a.isLeader(), true);
    assert.equal(terms.length, 1);
    assert.equal(api.lease?.apiVersion, 'coordination.k8s.io/v1');
    assert.equal(api.lease.kind, 'Lease');
    const spec = specOf(api);
    assert.equal(spec.holderIdentity, 'a');
    assert.equal(spec.leaseDurationSeconds, 15);
    assert.equal(spec.leaseTransitions, 0);
    assert.match(String(spec.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await a.stop();
  });

  void it('renews every retry period and keeps acquireTime and leaseTransitions', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = elector(api, clock, 'a');
    campaign(a, clock);
    await clock.advance(0);
    const acquired = specOf(api).acquireTime;
    const firstRenew = String(specOf(api).renewTime);
    await clock.advance(2_000);
    assert.equal(specOf(api).acquireTime, acquired);
    assert.notEqual(String(specOf(api).renewTime), firstRenew);
    assert.equal(specOf(api).leaseTransitions, 0);
    assert.equal(api.writes.length, 2, 'one create and one renewal in 2 s');
    await a.stop();
  });

  void it('keeps a follower out while the leader renews, then lets it take over at once after a release', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = elector(api, clock, 'a');
    const b = elector(api, clock, 'b');
    campaign(a, clock);
    await clock.advance(0);
    const follower = campaign(b, clock);
    await clock.advance(60_000);
    assert.equal(b.isLeader(), false, 'a renewed all along');
    assert.equal(follower.terms.length, 0);

    await a.stop();
    assert.equal(a.isLeader(), false);
    assert.equal(specOf(api).holderIdentity, '', 'stop clears holderIdentity');
    const releasedAt = clock.now();
    await clock.advance(5_000);
    assert.equal(b.isLeader(), true);
    assert.ok((follower.terms[0]?.start ?? Infinity) - releasedAt <= 2_000, 'b did not wait out the lease');
    assert.equal(specOf(api).leaseTransitions, 1);
    await b.stop();
  });

  void it('replaces a crashed leader only after seeing its lease unchanged for the lease duration, never overlapping', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = elector(api, clock, 'a');
    const b = elector(api, clock, 'b');
    const leader = campaign(a, clock);
    await clock.advance(0);
    const follower = campaign(b, clock);
    await clock.advance(4_000);
    const lastRenewal = clock.now();
    api.down.add('a');
    for (let t = 0; t < 40_000; t += 100) {
      await clock.advance(100);
      assert.ok(!(a.isLeader() && b.isLeader()), `two leaders at +${t} ms`);
    }
    const aEnd = leader.terms[0]?.end;
    const bStart = follower.terms[0]?.start;
    assert.ok(aEnd !== undefined && bStart !== undefined);
    assert.equal(aEnd - lastRenewal, 10_000, 'a stopped exactly at the renew deadline');
    assert.ok(
      bStart - lastRenewal >= 15_000,
      `b waited the lease duration (took over after ${bStart - lastRenewal} ms)`,
    );
    assert.equal(specOf(api).holderIdentity, 'b');
    assert.equal(specOf(api).leaseTransitions, 1);
    assert.equal(Date.parse(String(specOf(api).acquireTime)), bStart, 'b wrote its own acquireTime');
    api.down.delete('a');
    await Promise.all([a.stop(), b.stop()]);
  });

  void it('aborts the signal at the renew deadline even while a renew request hangs', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = elector(api, clock, 'a');
    const { terms } = campaign(a, clock);
    await clock.advance(2_000);
    const lastRenewal = clock.now();
    api.hung.add('a');
    await clock.advance(9_999);
    assert.equal(terms[0]?.end, undefined, 'still leading just before the deadline');
    await clock.advance(1);
    assert.equal(terms[0]?.end, lastRenewal + 10_000);
    assert.equal(a.isLeader(), false);
    const stopped = a.stop();
    await clock.advance(10_000);
    await stopped;
  });

  void it('steps down at once when a renewal finds another holder, without waiting for the deadline', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = elector(api, clock, 'a');
    const { terms } = campaign(a, clock);
    await clock.advance(0);
    api.overwriteHolder('intruder');
    await clock.advance(2_000);
    assert.equal(terms[0]?.end, clock.now());
    assert.equal(a.isLeader(), false);
    assert.equal(
      specOf(api).holderIdentity,
      'intruder',
      'a does not fight for a lease it cannot prove expired',
    );
    await a.stop();
    assert.equal(specOf(api).holderIdentity, 'intruder', 'stop does not release a lease a does not hold');
  });

  void it('lets exactly one of two replicas campaigning for an expired lease win it; the other follows', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const old = elector(api, clock, 'old');
    campaign(old, clock);
    await clock.advance(0);
    api.down.add('old');
    const a = elector(api, clock, 'a');
    const b = elector(api, clock, 'b');
    const ta = campaign(a, clock);
    const tb = campaign(b, clock);
    await clock.advance(30_000);
    assert.equal(ta.terms.length + tb.terms.length, 1, 'one winner');
    assert.equal(specOf(api).leaseTransitions, 1);
    assert.equal(specOf(api).holderIdentity, a.isLeader() ? 'a' : 'b');
    api.down.delete('old');
    await Promise.all([a.stop(), b.stop(), old.stop()]);
  });

  void it('stops without writing when it never led, and leaves no timer behind', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = elector(api, clock, 'a');
    const b = elector(api, clock, 'b');
    campaign(a, clock);
    campaign(b, clock);
    await clock.advance(0);
    const writes = api.writes.length;
    await b.stop();
    assert.equal(api.writes.length, writes);
    await a.stop();
    assert.equal(clock.pending(), 0);
  });

  const badTimings: { name: string; options: Partial<LeaderElectionOptions> }[] = [
    {
      // A deposed leader would still be acting when a follower takes over.
      name: 'refuses a renew deadline that is not shorter than the lease',
      options: { leaseDurationMs: 10_000, renewDeadlineMs: 10_000 },
    },
    {
      // A single failed renewal would end the term.
      name: 'refuses a retry period that is not shorter than the renew deadline',
      options: { retryPeriodMs: 10_000, renewDeadlineMs: 10_000 },
    },
  ];
  for (const c of badTimings) {
    void it(c.name, () => {
      assert.throws(
        () => elector(new FakeLeaseApi(), new FakeClock(), 'a', c.options),
        /retryPeriod < renewDeadline < leaseDuration/,
      );
    });
  }

  void it('refuses to run a second campaign while the first is running', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = elector(api, clock, 'a');
    const { terms, done } = campaign(a, clock);
    await clock.advance(0);
    assert.throws(() => a.run(() => undefined), /already running/);
    await clock.advance(2_000);
    assert.equal(terms.length, 1);
    assert.deepEqual(
      api.writes.map((w) => w.by),
      ['a', 'a'],
      'one create and one renewal: a single campaign',
    );
    await a.stop();
    await done;
  });

  void it('releases a lease it created when stopped before its first renewal', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = elector(api, clock, 'a');
    const { done } = campaign(a, clock);
    await clock.advance(0);
    await a.stop();
    await done;
    assert.equal(specOf(api).holderIdentity, '');
    assert.equal(specOf(api).leaseDurationSeconds, 1);
  });

  void it('takes at once a lease that names no holder, and counts the transition', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    api.put({ leaseDurationSeconds: 15, leaseTransitions: 3 });
    const a = elector(api, clock, 'a');
    const { terms } = campaign(a, clock);
    await clock.advance(0);
    assert.equal(terms.length, 1);
    assert.equal(specOf(api).holderIdentity, 'a');
    assert.equal(specOf(api).leaseTransitions, 4);
    await a.stop();
  });

  void it('does not lead when another replica writes the lease between its read and its write (409)', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    api.put({ holderIdentity: '', leaseDurationSeconds: 1 });
    api.beforeNextWrite = () => {
      api.put({ holderIdentity: 'b', leaseDurationSeconds: 15, renewTime: new Date(clock.now()) });
    };
    const a = elector(api, clock, 'a');
    const { terms } = campaign(a, clock);
    await clock.advance(10_000);
    assert.equal(terms.length, 0, 'b holds the lease a lost the race for');
    assert.equal(a.isLeader(), false);
    assert.equal(specOf(api).holderIdentity, 'b');
    await a.stop();
  });

  void it('does not lead when another replica creates the lease between its read and its create (409)', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    api.beforeNextWrite = () => {
      api.put({ holderIdentity: 'b', leaseDurationSeconds: 15, renewTime: new Date(clock.now()) });
    };
    const a = elector(api, clock, 'a');
    const { terms } = campaign(a, clock);
    await clock.advance(10_000);
    assert.equal(terms.length, 0, 'b created the lease first');
    assert.equal(a.isLeader(), false);
    assert.equal(specOf(api).holderIdentity, 'b');
    await a.stop();
  });

  // The old holder 'a' is gone from the start; an outsider edits one field of the record at +9 s, which b
  // sees at its attempt at +10 s. Any change, not only a new renewTime, means someone is alive: b waits a
  // whole lease duration from when it saw the change, then takes over at its next attempt (every 2 s).
  const edits: { name: string; edit: (spec: LeaseSpec) => LeaseSpec; takesOverAt: number }[] = [
    {
      name: "restarts a follower's wait when only the holder changes",
      edit: (spec) => ({ ...spec, holderIdentity: 'c' }),
      takesOverAt: 26_000,
    },
    {
      name: "restarts a follower's wait when only leaseTransitions changes",
      edit: (spec) => ({ ...spec, leaseTransitions: 7 }),
      takesOverAt: 26_000,
    },
    {
      name: "restarts a follower's wait when only leaseDurationSeconds changes, and waits the new duration",
      edit: (spec) => ({ ...spec, leaseDurationSeconds: 20 }),
      takesOverAt: 30_000,
    },
  ];
  for (const c of edits) {
    void it(c.name, async () => {
      const clock = new FakeClock();
      const api = new FakeLeaseApi();
      const start = clock.now();
      const a = elector(api, clock, 'a');
      campaign(a, clock);
      await clock.advance(0);
      api.down.add('a');
      const b = elector(api, clock, 'b');
      const follower = campaign(b, clock);
      await clock.advance(9_000);
      api.put(c.edit(specOf(api)));
      await clock.advance(c.takesOverAt - 9_000 - 1);
      assert.equal(follower.terms.length, 0, 'b is still waiting');
      await clock.advance(1);
      assert.equal(follower.terms[0]?.start, start + c.takesOverAt);
      api.down.delete('a');
      await Promise.all([a.stop(), b.stop()]);
    });
  }

  void it('waits its own lease duration before taking over a lease that states none', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    api.put({ holderIdentity: 'gone', renewTime: new Date(clock.now()) });
    const b = elector(api, clock, 'b');
    const follower = campaign(b, clock);
    await clock.advance(14_000);
    assert.equal(follower.terms.length, 0);
    await clock.advance(2_000);
    assert.equal(follower.terms.length, 1, 'b took over after 15 s');
    await b.stop();
  });

  void it('stops cleanly after failing to write a lease that has no spec', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    api.put(undefined);
    api.beforeNextWrite = () => {
      throw new ApiException(500, 'internal error', {}, {});
    };
    const a = elector(api, clock, 'a');
    const { terms, done } = campaign(a, clock);
    await clock.advance(0);
    assert.equal(terms.length, 0);
    await a.stop();
    await done;
  });

  void it('stops at once when stop arrives while an acquire attempt is in flight, without a retry wait', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    api.put({ holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: new Date(clock.now()) });
    const resume = api.pause('b');
    const b = elector(api, clock, 'b');
    const { done } = campaign(b, clock);
    let stoppedAt: number | undefined;
    const stopped = b.stop().then(() => {
      stoppedAt = clock.now();
    });
    const stopCalledAt = clock.now();
    resume();
    await clock.advance(0);
    assert.equal(stoppedAt, stopCalledAt);
    await stopped;
    await done;
  });

  void it("spreads a follower's attempts by the jitter: one to 2.2 retry periods apart", async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    api.put({ holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: new Date(clock.now()) });
    const b = elector(api, clock, 'b', { random: () => 0.5 });
    campaign(b, clock);
    await clock.advance(3_199);
    assert.equal(api.reads.length, 1, 'the second attempt waits 2 s × (1 + 1.2 × 0.5)');
    await clock.advance(1);
    assert.equal(api.reads.length, 2);
    await b.stop();
  });

  void it('leads a new term when the API answers again just as the renew deadline ends the last one', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = elector(api, clock, 'a');
    const { terms, done } = campaign(a, clock);
    const start = clock.now();
    await clock.advance(4_000);
    api.down.add('a');
    await clock.advance(9_999);
    api.down.delete('a');
    await clock.advance(1);
    assert.equal(terms[0]?.end, start + 14_000, 'the deadline ended the first term');
    assert.equal(terms[1]?.start, start + 14_000, 'a campaigned again at once and won');
    assert.equal(a.isLeader(), true);
    await a.stop();
    await done;
  });

  void it('does not let a renewal that answers after the renew deadline cut short the next term', async () => {
    const clock = new FakeClock();
    const api = new FakeLeaseApi();
    const a = elector(api, clock, 'a');
    const { terms } = campaign(a, clock);
    const start = clock.now();
    await clock.advance(2_000);
    const resume = api.pause('a');
    await clock.advance(11_000);
    assert.equal(terms[0]?.end, start + 12_000, 'the renewal sent at +4 s hung past the deadline');
    resume();
    await clock.advance(20_000);
    assert.equal(terms.length, 2);
    assert.equal(terms[1]?.start, start + 13_000);
    assert.equal(terms[1].end, undefined, "the late answer to the first term's renewal armed no deadline");
    await a.stop();
  });
});
