// The Kubernetes API server integration tests run against. Picks, in order:
//   1. an existing cluster named by APPRUNNER_NET_TEST_KUBECONFIG,
//   2. a local kube-apiserver + etcd built from Go modules when Go is installed,
//   3. k3s in Docker (@testcontainers/k3s) when a Docker engine answers,
// and otherwise fails with one message saying what to install.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { hasGo, startControlPlane } from './control-plane.ts';

export interface TestCluster {
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  backend: 'env' | 'go' | 'k3s';
  newNamespace(prefix?: string): Promise<string>;
  /** Plain CRD manifests, as a YAML file holds them. */
  installCrds(crds: readonly CrdManifest[]): Promise<void>;
  stop(): Promise<void>;
}

export const K3S_IMAGE = process.env.APPRUNNER_NET_K3S_IMAGE ?? 'rancher/k3s:v1.36.2-k3s1';

export function chooseBackend(): TestCluster['backend'] {
  if (process.env.APPRUNNER_NET_TEST_KUBECONFIG) return 'env';
  if (hasGo()) return 'go';
  if (spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0) return 'k3s';
  throw new Error(
    'No Kubernetes API server for integration tests. Install Go >= 1.26 (the harness builds kube-apiserver ' +
      'and etcd from the Go module proxy and caches them), or run a Docker engine (k3s via testcontainers), ' +
      'or set APPRUNNER_NET_TEST_KUBECONFIG to the kubeconfig of a cluster the tests may use.',
  );
}

export async function startTestCluster(): Promise<TestCluster> {
  const backend = chooseBackend();
  const namespaces: string[] = [];
  let kubeConfig: KubeConfig;
  let kubeconfigPath: string;
  let shutdown: () => Promise<void>;

  switch (backend) {
    case 'env': {
      kubeconfigPath = process.env.APPRUNNER_NET_TEST_KUBECONFIG ?? '';
      kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(kubeconfigPath);
      // A shared cluster outlives the tests: remove what they created.
      shutdown = async () => {
        const core = kubeConfig.makeApiClient(CoreV1Api);
        await Promise.allSettled(namespaces.map((name) => core.deleteNamespace({ name })));
      };
      break;
    }
    case 'go': {
      const plane = await startControlPlane();
      kubeconfigPath = plane.kubeconfigPath;
      kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(kubeconfigPath);
      shutdown = () => plane.stop();
      break;
    }
    case 'k3s': {
      const { K3sContainer } = await import('@testcontainers/k3s');
      const container = await new K3sContainer(K3S_IMAGE).start();
      const dir = mkdtempSync(join(tmpdir(), 'apprunner-net-k3s-'));
      kubeconfigPath = join(dir, 'kubeconfig');
      writeFileSync(kubeconfigPath, container.getKubeConfig(), { mode: 0o600 });
      kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(kubeconfigPath);
      shutdown = async () => {
        await container.stop();
        rmSync(dir, { recursive: true, force: true });
      };
      break;
    }
  }

  let stopped = false;
  return {
    kubeConfig,
    kubeconfigPath,
    backend,
    async newNamespace(prefix = 'test') {
      const name = `${prefix}-${randomBytes(4).toString('hex')}`.slice(0, 63);
      await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
      namespaces.push(name);
      return name;
    },
    installCrds: (crds) => installCrds(kubeConfig, crds),
    async stop() {
      if (stopped) return;
      stopped = true;
      await shutdown();
    },
  };
}

/**
 * Creates or replaces each CRD, given as the plain manifest a YAML file holds, then waits until it is
 * Established and its resource is servable. Sent as raw JSON on purpose: client-node's typed serializer
 * silently drops schema keys it knows under other names (x-kubernetes-validations, enum, ...).
 */
export async function installCrds(kubeConfig: KubeConfig, crds: readonly CrdManifest[]): Promise<void> {
  const ext = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const base = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  for (const crd of crds) {
    const name = crd.metadata.name;
    const created = await rawRequest(kubeConfig, 'POST', base, crd);
    if (created.status === 409) {
      const existing = await ext.readCustomResourceDefinition({ name });
      const body = {
        ...crd,
        metadata: { ...crd.metadata, resourceVersion: existing.metadata?.resourceVersion },
      };
      const replaced = await rawRequest(kubeConfig, 'PUT', `${base}/${name}`, body);
      if (replaced.status >= 300)
        throw new Error(`replacing CRD ${name}: HTTP ${replaced.status} ${replaced.body}`);
    } else if (created.status >= 300) {
      throw new Error(`creating CRD ${name}: HTTP ${created.status} ${created.body}`);
    }
  }
  const deadline = Date.now() + 30_000;
  for (const crd of crds) {
    const name = crd.metadata.name;
    const version = crd.spec.versions.find((v) => v.storage)?.name ?? crd.spec.versions[0]?.name ?? '';
    for (;;) {
      const current = await ext.readCustomResourceDefinition({ name });
      const established = current.status?.conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      );
      // Established can precede the REST handler by a moment: a list must answer too.
      const servable =
        established === true &&
        (await custom
          .listClusterCustomObject({
            group: crd.spec.group,
            version,
            plural: crd.spec.names.plural,
            limit: 1,
          })
          .then(
            () => true,
            () => false,
          ));
      if (servable) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} was not established and servable within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The parts of a CustomResourceDefinition manifest the harness reads. */
export interface CrdManifest {
  metadata: { name: string };
  spec: {
    group: string;
    names: { plural: string };
    versions: readonly { name: string; storage?: boolean }[];
  };
}

async function rawRequest(
  kubeConfig: KubeConfig,
  method: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: string }> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (server === undefined) throw new Error('kubeconfig has no current cluster');
  const url = new URL(path, server);
  const options: RequestOptions = { method, headers: { 'Content-Type': 'application/json' } };
  await kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: text });
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
