// `apprunner-net simulate` as a user runs it: prints its URL, serves, stops cleanly on SIGTERM and
// keeps its world in the state file across a restart.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '../../../bin/apprunner-net.js');

async function simulate(args: string[]): Promise<{ url: string; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, [bin, 'simulate', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  return {
    url: chunk.toString('utf8').trim(),
    stop: async () => {
      const exited = once(child, 'exit') as Promise<[number | null]>;
      child.kill('SIGTERM');
      const [code] = await exited;
      return code;
    },
  };
}

const target = (url: string, op: string, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: {
      'x-amz-target': `AppRunner.${op}`,
      'content-type': 'application/x-amz-json-1.0',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/apprunner/aws4_request, SignedHeaders=host, Signature=00',
    },
    body: JSON.stringify(body),
  }).then(async (r) => (await r.json()) as Record<string, unknown>);

void describe('apprunner-net simulate', () => {
  void test('it prints its URL, keeps a seeded world in the state file across a restart and exits 0 on SIGTERM', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const seed = join(dir, 'seed.yaml');
    writeFileSync(
      seed,
      'regions:\n  us-east-1:\n    vpcs:\n      - vpcId: vpc-0a000000000000001\n        subnets: [{ subnetId: subnet-0a000000000000011 }]\n',
    );
    const stateFile = join(dir, 'state.json');
    const first = await simulate(['--seed', seed, '--state-file', stateFile]);
    assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const created = await target(first.url, 'CreateVpcConnector', {
      VpcConnectorName: 'from-cli',
      Subnets: ['subnet-0a000000000000011'],
    });
    assert.equal((created.VpcConnector as { Status: string }).Status, 'ACTIVE');
    assert.equal(await first.stop(), 0);

    const second = await simulate(['--state-file', stateFile]);
    const listed = await target(second.url, 'ListVpcConnectors', {});
    assert.deepEqual(
      (listed.VpcConnectors as { VpcConnectorName: string }[]).map((c) => c.VpcConnectorName),
      ['from-cli'],
    );
    assert.equal(await second.stop(), 0);
  });

  void test('--profile pessimistic starts the pessimistic profile, and the knobs of the --config file apply on top', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const config = join(dir, 'sim.yaml');
    writeFileSync(config, 'consistency:\n  connectorDeleteDelayMs: 0\n');
    const sim = await simulate(['--profile', 'pessimistic', '--config', config]);
    const response = await fetch(`${sim.url}/_sim/config`);
    const body = (await response.json()) as {
      config: { profile: string; consistency: Record<string, number> };
    };
    assert.equal(body.config.profile, 'pessimistic');
    assert.equal(body.config.consistency.connectorDescribeDelayMs, 2000, 'from the profile');
    assert.equal(body.config.consistency.connectorDeleteDelayMs, 0, 'from the config file');
    assert.equal(await sim.stop(), 0);
  });

  void test('an unknown --profile exits 2 naming the profiles', async () => {
    const child = spawn(process.execPath, [bin, 'simulate', '--profile', 'optimistic'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 2);
    assert.match(stderr, /--profile must be one of default, pessimistic, got "optimistic"/);
  });
});
