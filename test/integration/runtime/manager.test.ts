// The whole runtime against a real API server: two managers (replicas) share one Lease, each with its own
// informer, controller and probe server. Only the leader reconciles; the leader drains on SIGTERM,
// releases the lease and exits 0, and the standby takes over without waiting for the lease to expire.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, before, describe, it } from 'node:test';

import {
  CoordinationV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';

import { Controller } from '../../../src/runtime/controller.ts';
import { customResourceInformer } from '../../../src/runtime/informer.ts';
import { LeaseLeaderElector } from '../../../src/runtime/leader-election.ts';
import { Manager } from '../../../src/runtime/manager.ts';
import type { ProcessHooks } from '../../../src/runtime/manager.ts';
import { createRuntimeMetrics } from '../../../src/runtime/metrics.ts';
import { keyToString } from '../../../src/runtime/types.ts';
import { startTestCluster, type TestCluster } from '../../harness/cluster.ts';
import { eventually, type Widget, widget, widgetCrd, widgets } from './fixtures.ts';

const { group, version, plural } = widgets;

let cluster: TestCluster;
let custom: CustomObjectsApi;

before(async () => {
  cluster = await startTestCluster();
  await cluster.installCrds([widgetCrd]);
  custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
});

after(async () => {
  await cluster.stop();
});

interface Replica {
  id: string;
  manager: Manager;
  signals: EventEmitter;
  exitCodes: number[];
  exited: Promise<number>;
  /** Keys this replica reconciled, in order, with whether it held the lease at that moment. */
  reconciles: { key: string; leading: boolean; generation: number | undefined }[];
  elector: LeaseLeaderElector;
}

/** Lease timings long enough that a takeover within them can only come from a release. */
const leaseDurationMs = 15_000;

function startReplica(namespace: string, id: string): Replica {
  const informer = customResourceInformer<Widget>(cluster.kubeConfig, widgets, { namespace });
  const elector = new LeaseLeaderElector({
    client: cluster.kubeConfig.makeApiClient(CoordinationV1Api),
    namespace,
    name: 'manager-test',
    identity: id,
    leaseDurationMs,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 200,
  });
  const reconciles: Replica['reconciles'] = [];
  const metrics = createRuntimeMetrics();
  const controller = new Controller<Widget>({
    name: 'widget',
    source: informer,
    metrics,
    concurrency: 2,
    reconcile: (key) => {
      const current = informer.get(key.namespace, key.name) as
        { metadata?: { generation?: number } } | undefined;
      reconciles.push({
        key: keyToString(key),
        leading: elector.isLeader(),
        generation: current?.metadata?.generation,
      });
      return Promise.resolve({});
    },
  });
  const signals = new EventEmitter();
  const exitCodes: number[] = [];
  const hooks: ProcessHooks = {
    on: (signal, handler) => signals.on(signal, handler),
    off: (signal, handler) => signals.off(signal, handler),
    exit: (code) => {
      exitCodes.push(code);
    },
  };
  const manager = new Manager({
    controllers: [controller],
    leadership: elector,
    leaderElectionName: 'manager-test',
    metrics,
    probes: { host: '127.0.0.1', port: 0 },
    process: hooks,
  });
  const exited = manager.run();
  return { id, manager, signals, exitCodes, exited, reconciles, elector };
}

async function readyz(replica: Replica): Promise<number> {
  const [port] = replica.manager.ports();
  assert.ok(port !== undefined);
  return (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
}

void describe('Manager against a real API server', () => {
  void it('should reconcile only on the leader, and hand over at once when the leader drains on SIGTERM', async (t) => {
    const namespace = await cluster.newNamespace('manager');
    for (const name of ['w1', 'w2']) {
      await custom.createNamespacedCustomObject({
        group,
        version,
        namespace,
        plural,
        body: widget(namespace, name),
      });
    }
    const a = startReplica(namespace, 'replica-a');
    const b = startReplica(namespace, 'replica-b');
    try {
      await eventually(() => a.elector.isLeader() || b.elector.isLeader(), 'a leader is elected');
      const [leader, standby] = a.elector.isLeader() ? [a, b] : [b, a];
      await eventually(() => leader.reconciles.length >= 2, 'the leader reconciles every widget');
      assert.deepEqual(leader.reconciles.map((r) => r.key).sort(), [`${namespace}/w1`, `${namespace}/w2`]);
      await eventually(() => standby.manager.ports().length === 1, 'the standby serves probes');
      assert.equal(await readyz(standby), 200, 'a standby with synced caches is ready');
      assert.equal(await readyz(leader), 200);
      assert.deepEqual(standby.reconciles, [], 'the standby reconciles nothing');

      await custom.patchNamespacedCustomObject(
        { group, version, namespace, plural, name: 'w1', body: { spec: { size: 2 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await eventually(
        () => leader.reconciles.some((r) => r.key === `${namespace}/w1` && r.generation === 2),
        'the leader reconciles the changed widget',
      );

      const handedOver = Date.now();
      leader.signals.emit('SIGTERM');
      assert.equal(await leader.exited, 0, 'the leader exits 0 after draining');
      assert.deepEqual(leader.exitCodes, [0]);
      const leaderCount = leader.reconciles.length;
      await eventually(
        () => standby.reconciles.length >= 2,
        'the standby takes over and reconciles every widget',
      );
      t.diagnostic(
        `standby reconciled every widget ${Date.now() - handedOver} ms after SIGTERM to the leader`,
      );
      assert.ok(
        Date.now() - handedOver < leaseDurationMs,
        'the takeover followed the release, not the expiry of the lease',
      );
      assert.equal(
        leader.reconciles.length,
        leaderCount,
        'the old leader reconciled nothing after it exited',
      );
      assert.ok(
        [...leader.reconciles, ...standby.reconciles].every((r) => r.leading),
        'every reconcile ran while its replica held the lease',
      );
      b.signals.emit('SIGTERM');
      a.signals.emit('SIGTERM');
      assert.equal(await standby.exited, 0);
    } finally {
      a.signals.emit('SIGTERM');
      b.signals.emit('SIGTERM');
      await Promise.all([a.exited, b.exited]);
    }
  });

  void it('should exit non-zero and reconcile nothing more when another holder takes the lease', async () => {
    const namespace = await cluster.newNamespace('manager-loss');
    await custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      body: widget(namespace, 'w1'),
    });
    const replica = startReplica(namespace, 'replica-a');
    try {
      await eventually(() => replica.reconciles.length >= 1, 'the replica leads and reconciles');
      const leases = cluster.kubeConfig.makeApiClient(CoordinationV1Api);
      const lease = await leases.readNamespacedLease({ name: 'manager-test', namespace });
      assert.ok(lease.spec);
      lease.spec.holderIdentity = 'intruder';
      await leases.replaceNamespacedLease({ name: 'manager-test', namespace, body: lease });
      assert.equal(await replica.exited, 1, 'losing the lease ends the process with a non-zero code');
      const count = replica.reconciles.length;
      await custom.patchNamespacedCustomObject(
        { group, version, namespace, plural, name: 'w1', body: { spec: { size: 3 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.equal(replica.reconciles.length, count, 'no reconcile after the loss');
    } finally {
      replica.signals.emit('SIGTERM');
      await replica.exited;
    }
  });
});
