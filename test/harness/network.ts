// Test helpers for what crosses the network: a loopback TCP proxy in front of the API server that can
// cut, freeze or refuse connections the way networks do, and polling with a deadline.
import { connect, createServer, type Socket } from 'node:net';

import { KubeConfig } from '@kubernetes/client-node';

/** Polls `check` every 50 ms until it holds, failing with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface TcpProxy {
  port: number;
  /** A kubeconfig like `base` whose server is this proxy (TLS still terminates at the API server). */
  kubeConfig(base: KubeConfig): KubeConfig;
  /** Destroys every live connection (the client sees a reset mid-stream). */
  cutAll(): number;
  /** Stops delivering the API server's bytes on every live connection, leaving it open (half-open). */
  freezeAll(): number;
  /** Refuses new connections too (the API server "vanished" for this client). */
  blackhole(on: boolean): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy in front of the API server, to break connections the way networks do. */
export async function startProxy(base: KubeConfig): Promise<TcpProxy> {
  const target = new URL(base.getCurrentCluster()?.server ?? '');
  const pairs = new Set<{ client: Socket; upstream: Socket; frozen: boolean }>();
  let blackholed = false;
  const server = createServer((client) => {
    if (blackholed) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    const pair = { client, upstream, frozen: false };
    pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      if (!pair.frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!pair.frozen) client.write(chunk);
    });
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The proxy has no port.');
  const port = address.port;
  return {
    port,
    kubeConfig(kc) {
      const viaProxy = new KubeConfig();
      viaProxy.loadFromString(
        kc
          .exportConfig()
          .replace(/"server":"https:\/\/127\.0\.0\.1:\d+"/, `"server":"https://127.0.0.1:${port}"`),
      );
      return viaProxy;
    },
    cutAll() {
      const n = pairs.size;
      for (const pair of [...pairs]) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      return n;
    },
    freezeAll() {
      for (const pair of pairs) pair.frozen = true;
      return pairs.size;
    },
    blackhole(on) {
      blackholed = on;
      if (on) for (const pair of pairs) pair.frozen = true;
    },
    close() {
      for (const pair of [...pairs]) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      return new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}
