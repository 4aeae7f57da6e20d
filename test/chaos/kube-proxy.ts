// A loopback HTTP proxy in front of the kube-apiserver (HTTPS) for the operator's Kubernetes traffic, with
// two faults a real cluster produces: watch streams the server closes (an API server or a load balancer in
// front of it ends long-lived connections), and 409 Conflict answers to writes (another writer got there
// first). Everything else passes through untouched; while the API server is down the proxy answers 503.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface KubeProxyFaults {
  /** A watch stream is cut after a uniformly random time in [min, max] ms; undefined = never. */
  watchLifetimeMs?: { min: number; max: number };
  /** Probability that a PUT/PATCH/POST on apprunnernet.dev objects is answered 409 without reaching the server. */
  conflictRate?: number;
}

export interface KubeProxy {
  url: string;
  faults: KubeProxyFaults;
  readonly counts: { watchesCut: number; conflicts: number; unavailable: number };
  close(): Promise<void>;
}

const conflictBody = (req: IncomingMessage): string =>
  JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `Operation cannot be fulfilled on ${req.url ?? ''}: the object has been modified; please apply your changes to the latest version and try again`,
    reason: 'Conflict',
    code: 409,
  });

/**
 * `server` is the API server's https URL, `ca` its serving certificate; `random` the run's PRNG so a seed
 * reproduces the schedule of faults.
 */
export async function startKubeProxy(server: string, ca: Buffer, random: () => number): Promise<KubeProxy> {
  const upstream = new URL(server);
  const counts = { watchesCut: 0, conflicts: 0, unavailable: 0 };
  const open = new Set<ServerResponse>();
  const proxy: KubeProxy = { url: '', faults: {}, counts, close: () => Promise.resolve() };
  const http: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const write = req.method === 'PUT' || req.method === 'PATCH' || req.method === 'POST';
    const ours = url.pathname.startsWith('/apis/apprunnernet.dev/');
    const rate = proxy.faults.conflictRate ?? 0;
    if (write && ours && rate > 0 && random() < rate) {
      counts.conflicts++;
      req.resume();
      res.writeHead(409, { 'content-type': 'application/json' });
      res.end(conflictBody(req));
      return;
    }
    const forward = httpsRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: upstream.host },
        ca,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        const life = proxy.faults.watchLifetimeMs;
        if (watch && life !== undefined) {
          const timer = setTimeout(
            () => {
              counts.watchesCut++;
              answer.destroy();
              res.destroy();
            },
            life.min + random() * (life.max - life.min),
          );
          res.once('close', () => {
            clearTimeout(timer);
          });
        }
      },
    );
    forward.on('error', () => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      counts.unavailable++;
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'ServiceUnavailable',
          code: 503,
        }),
      );
    });
    open.add(res);
    res.once('close', () => {
      open.delete(res);
      forward.destroy();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const res of open) res.destroy();
      http.close(() => {
        resolve();
      });
      http.closeAllConnections();
    });
  return proxy;
}
