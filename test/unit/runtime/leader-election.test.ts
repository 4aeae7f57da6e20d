import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ApiException } from '@kubernetes/client-node';

import {
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
 * client so a test can cut one replica off (`down`) or make its requests hang (`hung`).
 */
class FakeLeaseApi {
  lease: Lease | undefined;
  #rv = 100;
  readonly down = new Set<string>();
  readonly hung = new Set<string>();
  writes: { by: string; holder: string | undefined }[] = [];

  clientFor(replica: string): LeaseClient {
    const gate = async (): Promise<void> => {
      if (this.hung.has(replica)) await new Promise<never>(() => undefined);
      if (this.down.has(replica)) throw new ApiException(503, 'unavailable', {}, {});
    };
    return {
      readNamespacedLease: async () => {
        await gate();
        if (this.lease === undefined) throw new ApiException(404, 'not found', {}, {});
        return structuredClone(this.lease);
      },
      createNamespacedLease: async ({ body }) => {
        await gate();
        if (this.lease !== undefined) throw new ApiException(409, 'already exists', {}, {});
        return this.#store(replica, body);
      },
      replaceNamespacedLease: async ({ body }) => {
        await gate();
        if (body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) {
          throw new ApiException(409, 'the object has been modified', {}, {});
        }
        return this.#store(replica, body);
      },
    };
  }

  /** Writes as an outside party would (another operator build, a human with kubectl). */
  overwriteHolder(holder: string): void {
    assert.ok(this.lease?.spec);
    this.#store('outsider', { ...this.lease, spec: { ...this.lease.spec, holderIdentity: holder } });
  }

  #store(by: string, body: Lease): Lease {
    const stored = JSON.parse(JSON.stringify(body)) as Lease;
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.#rv) };
    this.lease = stored;
    this.writes.push({ by, holder: stored.spec?.holderIdentity });
    return structuredClone(stored);
  }
}

function specOf(api: FakeLeaseApi): LeaseSpec {
  const spec = api.lease?.spec;
  assert.ok(spec, 'the lease exists');
  return spec;
}

function elector(api: FakeLeaseApi, clock: FakeClock, identity: string): LeaseLeaderElector {
  return new LeaseLeaderElector({
    client: api.clientFor(identity),
    namespace,
    name,
    identity,
    clock,
    random: () => 0,
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

  void it('lets exactly one of two replicas win an expired lease: the other gets 409 and follows', async () => {
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

  void it('refuses timings where the renew deadline is not shorter than the lease', () => {
    assert.throws(
      () =>
        new LeaseLeaderElector({
          client: new FakeLeaseApi().clientFor('a'),
          namespace,
          name,
          identity: 'a',
          leaseDurationMs: 10_000,
          renewDeadlineMs: 10_000,
        }),
      /renewDeadline < leaseDuration/,
    );
  });
});
