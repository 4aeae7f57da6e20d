import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { createRuntimeMetrics, reconcileTimeBuckets } from '../../../src/runtime/metrics.ts';
import { WorkQueue } from '../../../src/runtime/workqueue.ts';
import { FakeClock } from './fake-clock.ts';
import { metricValue } from './support.ts';

void describe('Runtime metrics', () => {
  const expected: { name: string; type: string; labels: string[] }[] = [
    { name: 'controller_runtime_reconcile_total', type: 'counter', labels: ['controller', 'result'] },
    { name: 'controller_runtime_reconcile_errors_total', type: 'counter', labels: ['controller'] },
    { name: 'controller_runtime_terminal_reconcile_errors_total', type: 'counter', labels: ['controller'] },
    { name: 'controller_runtime_reconcile_panics_total', type: 'counter', labels: ['controller'] },
    { name: 'controller_runtime_reconcile_timeouts_total', type: 'counter', labels: ['controller'] },
    { name: 'controller_runtime_reconcile_time_seconds', type: 'histogram', labels: ['controller'] },
    { name: 'controller_runtime_max_concurrent_reconciles', type: 'gauge', labels: ['controller'] },
    { name: 'controller_runtime_active_workers', type: 'gauge', labels: ['controller'] },
    { name: 'workqueue_depth', type: 'gauge', labels: ['name', 'controller', 'priority'] },
    { name: 'workqueue_adds_total', type: 'counter', labels: ['name', 'controller'] },
    { name: 'workqueue_retries_total', type: 'counter', labels: ['name', 'controller'] },
    { name: 'workqueue_queue_duration_seconds', type: 'histogram', labels: ['name', 'controller'] },
    { name: 'workqueue_work_duration_seconds', type: 'histogram', labels: ['name', 'controller'] },
    { name: 'workqueue_unfinished_work_seconds', type: 'gauge', labels: ['name', 'controller'] },
    { name: 'workqueue_longest_running_processor_seconds', type: 'gauge', labels: ['name', 'controller'] },
    { name: 'leader_election_master_status', type: 'gauge', labels: ['name'] },
  ];

  void it("should register controller-runtime's metric names with its types and label sets", async () => {
    const metrics = createRuntimeMetrics();
    metrics.forController('vpcconnector', 4).reconciled('success', 0.1);
    const queue = metrics.forQueue('vpcconnector', {
      depth: () => 0,
      unfinishedWorkSeconds: () => 0,
      longestRunningProcessorSeconds: () => 0,
    });
    queue.started(0.01);
    queue.finished(0.1);
    metrics.setLeader('apprunner-net', true);
    const json = await metrics.registry.getMetricsAsJSON();
    for (const want of expected) {
      const metric = json.find((m) => m.name === want.name);
      assert.ok(metric, `${want.name} is registered`);
      assert.equal(metric.type, want.type, `${want.name} is a ${want.type}`);
      const first = metric.values[0];
      assert.ok(first, `${want.name} has a series`);
      const labels = Object.keys(first.labels).filter((l) => l !== 'le');
      assert.deepEqual(
        labels.sort(),
        [...want.labels].sort(),
        `${want.name} has labels ${want.labels.join(', ')}`,
      );
    }
  });

  void it('should pre-create every reconcile result at zero so that rate() works from the first scrape', async () => {
    const metrics = createRuntimeMetrics();
    metrics.forController('vpcconnector', 1);
    const text = await metrics.registry.metrics();
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) {
      assert.match(
        text,
        new RegExp(`controller_runtime_reconcile_total\\{controller="vpcconnector",result="${result}"\\} 0`),
      );
    }
    assert.match(text, /controller_runtime_reconcile_errors_total\{controller="vpcconnector"\} 0/);
    assert.match(text, /controller_runtime_max_concurrent_reconciles\{controller="vpcconnector"\} 1/);
  });

  void it("should use controller-runtime's reconcile-time buckets", async () => {
    const metrics = createRuntimeMetrics();
    metrics.forController('c', 1).reconciled('success', 0.3);
    const text = await metrics.registry.metrics();
    const buckets = [...text.matchAll(/controller_runtime_reconcile_time_seconds_bucket\{le="([^"]+)"/g)].map(
      (m) => m[1],
    );
    assert.deepEqual(buckets, [...reconcileTimeBuckets.map(String), '+Inf']);
    assert.equal(buckets.length, 41);
  });

  void it('should report what a work queue does: adds, retries, depth, latencies and work in progress', async () => {
    const clock = new FakeClock();
    const metrics = createRuntimeMetrics();
    const queue = new WorkQueue({ name: 'widget', clock, metrics, qps: Infinity });
    const labels = { name: 'widget', controller: 'widget' };
    const read = (name: string): Promise<number | undefined> => metricValue(metrics.registry, name, labels);

    queue.add('a');
    queue.add('a');
    queue.add('b');
    assert.equal(await read('workqueue_adds_total'), 2, 'a duplicate add is not counted');
    assert.equal(await read('workqueue_depth'), 2);
    await clock.advance(2_000);
    await queue.get();
    assert.equal(await read('workqueue_depth'), 1);
    assert.equal(await read('workqueue_queue_duration_seconds_sum'), 2);
    await clock.advance(3_000);
    await queue.get();
    await clock.advance(1_000);
    assert.equal(await read('workqueue_unfinished_work_seconds'), 5, 'a for 4 s plus b for 1 s');
    assert.equal(await read('workqueue_longest_running_processor_seconds'), 4);
    queue.done('a');
    assert.equal(await read('workqueue_work_duration_seconds_count'), 1);
    assert.equal(await read('workqueue_work_duration_seconds_sum'), 4);
    queue.addRateLimited('a');
    queue.addAfter('c', 10);
    assert.equal(await read('workqueue_retries_total'), 2, 'each delayed add is a retry');
    queue.done('b');
    assert.equal(await read('workqueue_unfinished_work_seconds'), 0);
    queue.shutDown();
  });

  void it('should report leadership as 1 while leading and 0 otherwise', async () => {
    const metrics = createRuntimeMetrics();
    metrics.setLeader('apprunner-net', true);
    assert.equal(
      await metricValue(metrics.registry, 'leader_election_master_status', { name: 'apprunner-net' }),
      1,
    );
    metrics.setLeader('apprunner-net', false);
    assert.equal(
      await metricValue(metrics.registry, 'leader_election_master_status', { name: 'apprunner-net' }),
      0,
    );
  });

  void it("should share its registry with other layers' metrics", async () => {
    const registry = new Registry();
    const metrics = createRuntimeMetrics({ registry });
    new Counter({ name: 'apprunner_net_aws_calls_total', help: 'AWS calls', registers: [metrics.registry] });
    const text = await registry.metrics();
    assert.match(text, /apprunner_net_aws_calls_total/);
    assert.match(text, /controller_runtime_reconcile_total/);
  });
});
