// Two electors compete for one real Lease: only one leads; the other takes over after a release at once,
// and after a crash (the leader cut off from the API server) only once the lease has expired, never
// while the old leader could still be mutating.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';

import { LeaseLeaderElector } from '../../../src/runtime/leader-election.ts';
import { startTestCluster, type TestCluster } from '../../harness/cluster.ts';
import { eventually, sleep, startProxy } from './fixtures.ts';

let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster();
});

after(async () => {
  await cluster.stop();
});

const timings = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };

interface Candidate {
  elector: LeaseLeaderElector;
  terms: { start: number; end?: number }[];
  done: Promise<void>;
}

function candidate(kubeConfig: KubeConfig, namespace: string, identity: string): Candidate {
  const elector = new LeaseLeaderElector({
    client: kubeConfig.makeApiClient(CoordinationV1Api),
    namespace,
    name: 'runtime-test',
    identity,
    ...timings,
  });
  const terms: Candidate['terms'] = [];
  const done = elector.run((signal) => {
    const term: { start: number; end?: number } = { start: Date.now() };
    terms.push(term);
    signal.addEventListener('abort', () => {
      term.end = Date.now();
    });
  });
  return { elector, terms, done };
}

/** Fails the test if both ever lead at once; returns a function that stops watching. */
function watchForTwoLeaders(a: Candidate, b: Candidate): () => void {
  const timer = setInterval(() => {
    assert.ok(!(a.elector.isLeader() && b.elector.isLeader()), 'two leaders at once');
  }, 20);
  return () => {
    clearInterval(timer);
  };
}

void describe('LeaseLeaderElector against a real API server', () => {
  void it('lets exactly one of two candidates lead, and hands over at once when the leader stops', async (t) => {
    const namespace = await cluster.newNamespace('lease');
    const leases = cluster.kubeConfig.makeApiClient(CoordinationV1Api);
    const a = candidate(cluster.kubeConfig, namespace, 'a');
    const b = candidate(cluster.kubeConfig, namespace, 'b');
    const stopWatching = watchForTwoLeaders(a, b);
    try {
      await eventually(() => a.elector.isLeader() || b.elector.isLeader(), 'a leader');
      await sleep(4_000);
      const [leader, follower] = a.elector.isLeader() ? [a, b] : [b, a];
      assert.equal(leader.terms.length, 1, 'the leader kept its one term (renewals worked)');
      assert.equal(follower.terms.length, 0, 'the follower never led');
      const { spec } = await leases.readNamespacedLease({ name: 'runtime-test', namespace });
      assert.ok(spec);
      assert.equal(spec.holderIdentity, leader === a ? 'a' : 'b');
      assert.match(String(spec.renewTime), /\.\d{6}Z$/, 'renewTime is a MicroTime');
      const transitions = spec.leaseTransitions ?? 0;

      const stoppedAt = Date.now();
      await leader.elector.stop();
      await eventually(() => follower.elector.isLeader(), 'the follower takes over');
      const handover = (follower.terms[0]?.start ?? Infinity) - stoppedAt;
      t.diagnostic(`handover after a release: ${handover} ms`);
      assert.ok(
        handover < timings.leaseDurationMs,
        `released lease taken in ${handover} ms, under the lease duration`,
      );
      const after = await leases.readNamespacedLease({ name: 'runtime-test', namespace });
      assert.equal(after.spec?.leaseTransitions, transitions + 1);
      await follower.elector.stop();
      const released = await leases.readNamespacedLease({ name: 'runtime-test', namespace });
      assert.equal(released.spec?.holderIdentity, '', 'stop released the lease');
    } finally {
      stopWatching();
      await Promise.all([a.elector.stop(), b.elector.stop()]);
    }
  });

  void it('replaces a leader cut off from the API server only after it has stopped leading', async (t) => {
    const namespace = await cluster.newNamespace('lease-crash');
    const leases = cluster.kubeConfig.makeApiClient(CoordinationV1Api);
    const proxy = await startProxy(cluster.kubeConfig);
    const a = candidate(proxy.kubeConfig(cluster.kubeConfig), namespace, 'a');
    await eventually(() => a.elector.isLeader(), 'a leads');
    const b = candidate(cluster.kubeConfig, namespace, 'b');
    const stopWatching = watchForTwoLeaders(a, b);
    try {
      await sleep(1_500);
      proxy.blackhole(true);
      proxy.cutAll();
      // a's last renewal: nothing else writes the lease until b takes it over.
      const { spec } = await leases.readNamespacedLease({ name: 'runtime-test', namespace });
      assert.ok(spec);
      assert.equal(spec.holderIdentity, 'a');
      const lastRenewal = Date.parse(String(spec.renewTime));
      await eventually(() => b.elector.isLeader(), 'b takes over', 15_000);
      const aEnd = a.terms[0]?.end;
      const bStart = b.terms[0]?.start;
      assert.ok(aEnd !== undefined && bStart !== undefined);
      t.diagnostic(
        `after a's last renewal: a stopped at +${aEnd - lastRenewal} ms, b led at +${bStart - lastRenewal} ms`,
      );
      // What matters is that a stopped before its lease could expire (when b may take over), not how close to
      // the renew deadline its timer fired: on a loaded machine a timer can be late by a second.
      assert.ok(aEnd - lastRenewal < timings.leaseDurationMs, 'a stopped before its lease expired');
      assert.ok(bStart > aEnd, 'b started after a stopped');
      assert.ok(bStart - lastRenewal >= timings.leaseDurationMs, 'b waited out the lease duration');
    } finally {
      stopWatching();
      proxy.blackhole(false);
      await Promise.all([a.elector.stop(), b.elector.stop()]);
      await proxy.close();
    }
  });
});
