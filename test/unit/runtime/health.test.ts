import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { createRuntimeMetrics } from '../../../src/runtime/metrics.ts';
import { startHealthServer } from '../../../src/runtime/health.ts';
import type { HealthServer } from '../../../src/runtime/health.ts';
import { captureLogger } from './support.ts';

void describe('Health server', () => {
  let server: HealthServer;
  let synced = false;
  let wedged: string | undefined;
  const metrics = createRuntimeMetrics();
  metrics.forController('vpcconnector', 2);

  before(async () => {
    server = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      probes: {
        healthz: [
          { name: 'ping', check: () => undefined },
          { name: 'informers', check: () => wedged },
        ],
        readyz: [
          { name: 'ping', check: () => undefined },
          { name: 'informers-synced', check: () => (synced ? undefined : 'caches have not synced') },
          {
            name: 'throws',
            check: () => {
              if (synced) return undefined;
              throw new Error('check exploded');
            },
          },
        ],
      },
    });
  });
  after(() => server.close());

  async function get(
    path: string,
    method = 'GET',
  ): Promise<{ status: number; body: string; type: string; cacheControl: string }> {
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`, { method });
    return {
      status: res.status,
      body: await res.text(),
      type: res.headers.get('content-type') ?? '',
      cacheControl: res.headers.get('cache-control') ?? '',
    };
  }

  const cases: { reason: string; setup: () => void; path: string; status: number; body: RegExp }[] = [
    {
      reason: 'a live process answers ok',
      setup: () => (wedged = undefined),
      path: '/healthz',
      status: 200,
      body: /^ok$/,
    },
    {
      reason: 'a wedged informer fails liveness and names the check and the reason',
      setup: () => (wedged = 'no watch event for 10m'),
      path: '/healthz',
      status: 500,
      body: /\[\+\]ping ok\n\[-\]informers failed: no watch event for 10m\nhealthz check failed\n$/,
    },
    {
      reason: 'unsynced caches fail readiness; a throwing check fails rather than crashing the server',
      setup: () => (synced = false),
      path: '/readyz',
      status: 500,
      body: /\[-\]informers-synced failed: caches have not synced\n\[-\]throws failed: check threw: check exploded/,
    },
    {
      reason: 'synced caches are ready',
      setup: () => (synced = true),
      path: '/readyz',
      status: 200,
      body: /^ok$/,
    },
    {
      reason: '?verbose lists every passing check',
      setup: () => (synced = true),
      path: '/readyz?verbose',
      status: 200,
      body: /^\[\+\]ping ok\n\[\+\]informers-synced ok\n\[\+\]throws ok\nreadyz check passed\n$/,
    },
    {
      reason: 'one check can be asked for by name',
      setup: () => (wedged = 'stuck'),
      path: '/healthz/ping',
      status: 200,
      body: /^ok$/,
    },
    {
      reason: 'a trailing slash names the same endpoint',
      setup: () => (wedged = undefined),
      path: '/healthz/',
      status: 200,
      body: /^ok$/,
    },
    {
      reason: 'an unknown check is not found, and the answer names it',
      setup: () => undefined,
      path: '/healthz/nope',
      status: 404,
      body: /^healthz check "nope" not found\n$/,
    },
    {
      reason: 'an unknown path is not found',
      setup: () => undefined,
      path: '/debug',
      status: 404,
      body: /^not found\n$/,
    },
    {
      reason: 'the probe path is anchored at the start: a prefix before it is another path',
      setup: () => (wedged = undefined),
      path: '/debug/healthz',
      status: 404,
      body: /^not found\n$/,
    },
    {
      reason: 'the probe path is anchored at the end: a longer name is another path',
      setup: () => (wedged = undefined),
      path: '/healthzz',
      status: 404,
      body: /^not found\n$/,
    },
    {
      reason: 'a check name is one path segment: anything after it is another path',
      setup: () => (wedged = undefined),
      path: '/healthz/ping/extra',
      status: 404,
      body: /^not found\n$/,
    },
  ];
  for (const c of cases) {
    void it(`should answer ${c.path} as expected: ${c.reason}`, async () => {
      c.setup();
      const res = await get(c.path);
      assert.equal(res.status, c.status);
      assert.match(res.body, c.body);
      assert.equal(res.type, 'text/plain; charset=utf-8');
      assert.equal(res.cacheControl, 'no-store', 'a probe answer is never served from a cache');
    });
  }

  void it('should serve the registry in the Prometheus text format on /metrics', async () => {
    const res = await get('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.type, /^text\/plain; version=0\.0\.4/);
    assert.match(res.body, /# TYPE controller_runtime_reconcile_total counter/);
    assert.match(res.body, /controller_runtime_max_concurrent_reconciles\{controller="vpcconnector"\} 2/);
  });

  void it('should refuse methods other than GET and HEAD', async () => {
    wedged = undefined;
    assert.equal((await get('/healthz', 'POST')).status, 405);
    assert.equal((await get('/healthz', 'HEAD')).status, 200);
  });

  void it('should serve only what it was given', async () => {
    const metricsOnly = await startHealthServer({ host: '127.0.0.1', port: 0, registry: metrics.registry });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${metricsOnly.port}/healthz`)).status, 404);
      assert.equal((await fetch(`http://127.0.0.1:${metricsOnly.port}/metrics`)).status, 200);
    } finally {
      await metricsOnly.close();
    }
  });

  void it('should not serve /metrics from a probes-only server', async () => {
    const probesOnly = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      probes: { healthz: [{ name: 'ping', check: () => undefined }], readyz: [] },
    });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${probesOnly.port}/metrics`)).status, 404);
      assert.equal((await fetch(`http://127.0.0.1:${probesOnly.port}/healthz`)).status, 200);
    } finally {
      await probesOnly.close();
    }
  });

  void it('should answer 500 and log when the metrics cannot be collected, rather than leave the scrape hanging', async () => {
    const registry = new Registry();
    new Gauge({
      name: 'exploding',
      help: 'A gauge whose collection fails.',
      registers: [registry],
      collect() {
        throw new Error('collect failed');
      },
    });
    const { log, lines } = captureLogger();
    const failing = await startHealthServer({ host: '127.0.0.1', port: 0, registry, log });
    try {
      const res = await fetch(`http://127.0.0.1:${failing.port}/metrics`, {
        signal: AbortSignal.timeout(5_000),
      });
      assert.equal(res.status, 500);
      assert.equal(await res.text(), 'internal error\n');
      assert.ok(lines.some((l) => l.level === 'error' && l.path === '/metrics'));
    } finally {
      await failing.close();
    }
  });

  void it('should close at once even while a scrape is in flight, so shutdown is not held by a scraper', async () => {
    const registry = new Registry();
    const collecting = Promise.withResolvers<undefined>();
    new Gauge({
      name: 'slow',
      help: 'A gauge whose collection never finishes.',
      registers: [registry],
      collect() {
        collecting.resolve(undefined);
        return new Promise<void>(() => undefined);
      },
    });
    const busy = await startHealthServer({ host: '127.0.0.1', port: 0, registry });
    const client = new AbortController();
    const scrape = fetch(`http://127.0.0.1:${busy.port}/metrics`, { signal: client.signal }).then(
      () => 'answered',
      () => 'connection closed',
    );
    await collecting.promise;
    const bound = AbortSignal.timeout(5_000);
    const outcome = await Promise.race([
      busy.close().then(() => 'closed'),
      new Promise((resolve) => {
        bound.addEventListener('abort', () => {
          resolve('still open after 5 s');
        });
      }),
    ]);
    client.abort(); // lets a server that did not close its connections finish closing, so the test ends
    assert.equal(outcome, 'closed');
    assert.equal(await scrape, 'connection closed');
  });

  void it('should report a failed close instead of pretending it closed', async () => {
    const once = await startHealthServer({ host: '127.0.0.1', port: 0 });
    await once.close();
    await assert.rejects(once.close(), /not running/);
  });

  void it('should report a port already in use instead of hanging', async () => {
    await assert.rejects(startHealthServer({ host: '127.0.0.1', port: server.port }), /EADDRINUSE/);
  });
});
