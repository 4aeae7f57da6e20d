// The real kubectl, as users drive the API server: found within the supported version skew, and run
// without blocking the event loop (an operator's logs keep flowing while kubectl waits).
import { spawn, spawnSync } from 'node:child_process';
import { VersionApi } from '@kubernetes/client-node';
import type { TestCluster } from './cluster.ts';

/**
 * A kubectl within the supported skew (one minor) of the API server: $APPRUNNER_NET_KUBECTL, else `kubectl`
 * on the PATH. The preinstalled dispatcher tops out at 1.33, too old for a 1.37 server.
 */
export async function matchingKubectl(cluster: TestCluster): Promise<string | { skip: string }> {
  const kubectl = process.env.APPRUNNER_NET_KUBECTL ?? 'kubectl';
  const server = await cluster.kubeConfig.makeApiClient(VersionApi).getCode();
  const client = spawnSync(kubectl, ['version', '--client', '-o', 'json'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (client.status !== 0) return { skip: `no usable kubectl (${kubectl}); set APPRUNNER_NET_KUBECTL` };
  const parsed = JSON.parse(client.stdout) as { clientVersion?: { major?: string; minor?: string } };
  const clientMinor = Number.parseInt(parsed.clientVersion?.minor ?? '', 10);
  const serverMinor = Number.parseInt(server.minor, 10);
  if (parsed.clientVersion?.major !== server.major || Math.abs(clientMinor - serverMinor) > 1) {
    return {
      skip:
        `kubectl ${parsed.clientVersion?.major ?? '?'}.${clientMinor} is outside the supported skew of the ` +
        `${server.major}.${serverMinor} API server; set APPRUNNER_NET_KUBECTL to a matching kubectl`,
    };
  }
  return kubectl;
}

/** Runs kubectl with `--kubeconfig`; resolves with its exit code and its interleaved output. */
export function runKubectl(
  kubectl: string,
  kubeconfig: string,
  args: readonly string[],
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(kubectl, ['--kubeconfig', kubeconfig, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => {
      resolve({ code, out });
    });
  });
}
