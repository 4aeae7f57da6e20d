// Where the gateway sends its calls, and how long it waits. Without --aws-endpoint-url, the SDK's own
// per-service endpoint configuration applies (AWS_ENDPOINT_URL_<SERVICE>, or `services` in the shared config
// file), so App Runner and IAM can point at different endpoints while credentials still come from the
// default chain. And no call waits forever: an endpoint that accepts a connection and never answers fails
// the attempt after the request timeout.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { AwsTransientError } from '../../../src/aws/errors.ts';
import { createSdkGateway } from '../../../src/aws/sdk-gateway.ts';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/index.ts';

const REGION = 'us-east-1';
const seed = {
  serviceLinkedRole: true,
  regions: { [REGION]: { services: [{ serviceName: 'endpoint-check' }] } },
};

/** The environment variables a test sets, restored afterwards (the SDK reads them at client creation). */
const touched = [
  'AWS_ENDPOINT_URL_APPRUNNER',
  'AWS_ENDPOINT_URL_IAM',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_PROFILE',
  'AWS_EC2_METADATA_DISABLED',
] as const;

interface Calls {
  operations(): Promise<string[]>;
}

function auditOf(sim: RunningSimulator): Calls {
  return {
    async operations() {
      const response = await fetch(`${sim.url}/_sim/calls`);
      const body = (await response.json()) as { calls: { operation: string }[] };
      return body.calls.map((c) => c.operation);
    },
  };
}

void describe('the gateway’s endpoints and timeouts', () => {
  const saved = new Map<string, string | undefined>();
  let dir: string;
  beforeEach(() => {
    for (const name of touched) saved.set(name, process.env[name]);
    for (const name of touched) Reflect.deleteProperty(process.env, name);
    // No instance metadata lookups from a test: credentials come from the environment below.
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    process.env.AWS_ACCESS_KEY_ID = 'endpoint-test';
    process.env.AWS_SECRET_ACCESS_KEY = 'endpoint-test';
    dir = mkdtempSync(join(tmpdir(), 'apprunner-net-endpoints-'));
    // An empty shared config and credentials file, so the machine's own never leak in.
    writeFileSync(join(dir, 'credentials'), '');
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
  });
  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  void test('AWS_ENDPOINT_URL_APPRUNNER and AWS_ENDPOINT_URL_IAM route each service to its own endpoint', async () => {
    const appRunnerSim = await startSimulator({ seed });
    const iamSim = await startSimulator({ seed });
    const gateway = createSdkGateway({ defaultRegion: REGION, maxAttempts: 1 });
    try {
      writeFileSync(join(dir, 'config'), '');
      process.env.AWS_CONFIG_FILE = join(dir, 'config');
      process.env.AWS_ENDPOINT_URL_APPRUNNER = appRunnerSim.url;
      process.env.AWS_ENDPOINT_URL_IAM = iamSim.url;
      const services = await gateway.appRunner.listServices(REGION);
      assert.deepEqual(
        services.map((s) => s.name),
        ['endpoint-check'],
      );
      assert.equal((await gateway.serviceLinkedRole.getRole()).exists, true);
      const appRunnerCalls = await auditOf(appRunnerSim).operations();
      const iamCalls = await auditOf(iamSim).operations();
      assert.ok(appRunnerCalls.includes('ListServices'), appRunnerCalls.join(','));
      assert.ok(!appRunnerCalls.includes('GetRole'), 'IAM went elsewhere');
      assert.deepEqual(iamCalls, ['GetRole']);
    } finally {
      gateway.destroy();
      await appRunnerSim.close();
      await iamSim.close();
    }
  });

  void test('the shared config file’s services section routes App Runner the same way', async () => {
    const sim = await startSimulator({ seed });
    try {
      const config = join(dir, 'config');
      writeFileSync(
        config,
        [
          '[default]',
          'services = local',
          '',
          '[services local]',
          'apprunner =',
          `  endpoint_url = ${sim.url}`,
          '',
        ].join('\n'),
      );
      process.env.AWS_CONFIG_FILE = config;
      const gateway = createSdkGateway({ defaultRegion: REGION, maxAttempts: 1 });
      try {
        const services = await gateway.appRunner.listServices(REGION);
        assert.deepEqual(
          services.map((s) => s.name),
          ['endpoint-check'],
        );
      } finally {
        gateway.destroy();
      }
    } finally {
      await sim.close();
    }
  });

  void test('an endpoint that never answers fails the call after the request timeout, as a transient error', async () => {
    const held: ServerResponse[] = [];
    const silent: Server = createServer((_req, res) => {
      held.push(res);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const gateway = createSdkGateway({
      defaultRegion: REGION,
      endpoint: url,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      maxAttempts: 2,
      requestTimeoutMs: 300,
    });
    try {
      const started = Date.now();
      await assert.rejects(gateway.appRunner.listServices(REGION), (err) => {
        assert.ok(err instanceof AwsTransientError, String(err));
        assert.equal(err.kind, 'known');
        return true;
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 10_000, `gave up after ${elapsed} ms, two attempts of 300 ms plus backoff`);
      assert.equal(held.length, 2, 'each attempt reached the endpoint');
    } finally {
      gateway.destroy();
      for (const res of held) res.destroy();
      silent.closeAllConnections();
      await new Promise<void>((resolve) => {
        silent.close(() => {
          resolve();
        });
      });
    }
  });
});
