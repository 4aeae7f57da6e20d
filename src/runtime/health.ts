// The HTTP endpoints a kubelet and Prometheus read: `/healthz` (liveness), `/readyz` (readiness) and
// `/metrics`. Probe responses follow kube-apiserver's format: `ok`, or one `[+]name ok` / `[-]name failed:
// reason` line per check with `?verbose` or on failure; `/healthz/<name>` runs one check.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { discardLogger, errorChain } from './logging.ts';
import type { Logger } from './logging.ts';

/** One named check: returns `undefined` when healthy, otherwise a sentence saying what is wrong. */
export interface HealthCheck {
  readonly name: string;
  check(): string | undefined;
}

export interface HealthServerOptions {
  /** Interface to bind; default all interfaces (a kubelet probes the pod IP). Tests pass `127.0.0.1`. */
  host?: string;
  /** 0 picks a free port; read it from {@link HealthServer.port}. */
  port: number;
  /** Serves `/healthz` and `/readyz` when given. */
  probes?: { healthz: readonly HealthCheck[]; readyz: readonly HealthCheck[] };
  /** Serves `/metrics` from this registry when given. */
  registry?: Registry;
  log?: Logger;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

function runChecks(
  kind: 'healthz' | 'readyz',
  checks: readonly HealthCheck[],
  only: string | undefined,
  verbose: boolean,
): { status: number; body: string } {
  const selected = only === undefined ? checks : checks.filter((c) => c.name === only);
  if (selected.length === 0) return { status: 404, body: `${kind} check "${only ?? ''}" not found\n` };
  const lines: string[] = [];
  let failed = false;
  for (const check of selected) {
    let problem: string | undefined;
    try {
      problem = check.check();
    } catch (err) {
      problem = `check threw: ${errorChain(err)}`;
    }
    if (problem === undefined) {
      lines.push(`[+]${check.name} ok`);
    } else {
      failed = true;
      lines.push(`[-]${check.name} failed: ${problem}`);
    }
  }
  if (!failed && !verbose) return { status: 200, body: 'ok' };
  lines.push(`${kind} check ${failed ? 'failed' : 'passed'}`);
  return { status: failed ? 500 : 200, body: lines.join('\n') + '\n' };
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const log = options.log ?? discardLogger;
  const send = (res: ServerResponse, status: number, body: string, contentType: string): void => {
    res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
    res.end(body);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed\n', 'text/plain; charset=utf-8');
      return;
    }
    if (options.registry !== undefined && url.pathname === '/metrics') {
      send(res, 200, await options.registry.metrics(), options.registry.contentType);
      return;
    }
    const match = /^\/(healthz|readyz)(?:\/([^/]+))?\/?$/.exec(url.pathname);
    if (options.probes !== undefined && match !== null) {
      const kind = match[1] === 'healthz' ? 'healthz' : 'readyz';
      const result = runChecks(kind, options.probes[kind], match[2], url.searchParams.has('verbose'));
      send(res, result.status, result.body, 'text/plain; charset=utf-8');
      return;
    }
    send(res, 404, 'not found\n', 'text/plain; charset=utf-8');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error('Could not serve a health or metrics request', { path: req.url, error: err });
      if (!res.headersSent) send(res, 500, 'internal error\n', 'text/plain; charset=utf-8');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info('Started health and metrics server', { host: options.host ?? '*', port });
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => {
          if (err === undefined) resolve();
          else reject(err);
        });
        // Keep-alive connections of scrapers would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
