// `npm run bench -- --profile small` end to end: every scenario runs and reports, every object converges,
// is verified after the restart and goes away, and the counts that cannot be zero are not. Times are
// printed by the benchmark, never asserted here.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from '../../bench/run.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test(
  'the small benchmark profile runs every scenario and reports sane counts',
  { timeout: 180_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apprunner-net-bench-test-'));
    try {
      const jsonPath = join(dir, 'bench.json');
      const child = spawn(
        join(root, 'node_modules', '.bin', 'node'),
        [join(root, 'scripts', 'bench.ts'), '--profile', 'small', '--json', jsonPath],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const killer = setTimeout(() => child.kill('SIGKILL'), 170_000);
      const [code] = (await once(child, 'exit')) as [number | null];
      clearTimeout(killer);
      assert.equal(code, 0, `npm run bench -- --profile small exits 0\n${stderr.slice(-4000)}`);

      for (const heading of [
        '## Targets',
        '## N = 20',
        '### Burst converge',
        '### Teardown',
        '### Restart',
        '### Steady state',
        '### Latency',
        '### Footprint',
      ]) {
        assert.ok(stdout.includes(heading), `the printed report has "${heading}"`);
      }

      const result = JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchResult;
      assert.equal(result.sizes.length, 1, 'one size in the small profile');
      const [size] = result.sizes;
      assert.ok(size !== undefined);
      const { n, workload, restart, teardown, latency, steady } = size;
      assert.ok(
        restart !== undefined && teardown !== undefined && latency !== undefined && steady !== undefined,
        'every scenario ran (burst converge finished)',
      );
      assert.ok(
        size.burst.completed && restart.completed && teardown.completed,
        'every timed phase finished',
      );
      assert.equal(workload.connectors + workload.networkings, n, 'N counts both kinds');
      assert.equal(size.burst.ready, n, 'every object became Ready');
      assert.equal(restart.verified, n, 'every object was reconciled again after the restart');
      assert.equal(teardown.gone, n, 'every object went away');
      assert.equal(size.simulatorViolations, 0, 'the simulator recorded no invariant violation');

      const calls = (phase: { aws: Record<string, { calls: number }> }, op: string): number =>
        phase.aws[op]?.calls ?? 0;
      assert.ok(calls(size.burst, 'CreateVpcConnector') >= workload.connectors, 'a create per connector');
      assert.ok(
        calls(size.burst, 'UpdateService') >= workload.networkings,
        'an UpdateService per attachment',
      );
      assert.ok(calls(teardown, 'DeleteVpcConnector') >= workload.connectors, 'a delete per connector');
      assert.ok(calls(teardown, 'UpdateService') >= workload.networkings, 'a detach per attachment');
      assert.ok(restart.awsCalls > 0, 'the restarted operator read AWS');

      const writes = (phase: { writes: Record<string, number> }, what: string): number =>
        phase.writes[what] ?? 0;
      for (const kind of ['VpcConnector', 'ServiceNetworking']) {
        const objects = kind === 'VpcConnector' ? workload.connectors : workload.networkings;
        assert.ok(writes(size.burst, `${kind} finalizer`) >= objects, `a finalizer added per ${kind}`);
        assert.ok(writes(size.burst, `${kind} status`) >= objects, `a status written per ${kind}`);
        assert.ok(writes(teardown, `${kind} finalizer`) >= objects, `a finalizer removed per ${kind}`);
      }

      for (const bound of [size.burst.bound, teardown.bound]) {
        assert.ok(
          bound.seconds > 0 && bound.minCalls >= n,
          'a lower bound with at least one call per object',
        );
      }
      assert.equal(latency.edits, result.options.edits, 'every edit was timed');
      assert.equal(latency.toStatusMs.length, latency.edits, 'a status latency per edit');
      assert.equal(latency.toFirstCallMs.length, latency.edits, 'a first-call latency per edit');
      assert.ok(steady.resyncs >= 1, 'the steady-state window saw a resync');
      for (const fp of [
        size.footprint.idle,
        size.footprint.converged,
        size.footprint.steady ?? size.footprint.idle,
      ]) {
        assert.ok(fp.rssBytes > 0 && fp.heapUsedBytes > 0, 'RSS and heap measured');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
