// `npm run cluster:up` / `npm run cluster:down`: the same local kube-apiserver + etcd the integration
// tests use, kept running for manual work, with the project's CRDs installed. The kubeconfig is written
// to a known path (printed) under the cache directory.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { crds } from '../src/api/crds.ts';
import { installCrds } from '../test/harness/cluster.ts';
import { cacheRoot, startControlPlane, stopRecordedPlane } from '../test/harness/control-plane.ts';

const dir = join(cacheRoot(), 'cluster');
const kubeconfigPath = join(dir, 'kubeconfig');

async function up(): Promise<void> {
  if (existsSync(join(dir, 'pids.json'))) {
    console.log(`already running; kubeconfig: ${kubeconfigPath} (npm run cluster:down to stop it)`);
    return;
  }
  mkdirSync(dir, { recursive: true });
  const plane = await startControlPlane({ dir, detached: true });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(plane.kubeconfigPath);
  await installCrds(kubeConfig, crds);
  console.log(`kube-apiserver ${plane.server} (pids ${plane.pids.apiserver}, etcd ${plane.pids.etcd})`);
  console.log(`CRDs installed: ${crds.map((crd) => crd.metadata.name).join(', ')}`);
  console.log(`kubeconfig: ${plane.kubeconfigPath}`);
  console.log(`export KUBECONFIG=${plane.kubeconfigPath}`);
}

async function down(): Promise<void> {
  const stopped = await stopRecordedPlane(dir);
  rmSync(dir, { recursive: true, force: true });
  console.log(stopped ? 'local control plane stopped' : 'no local control plane was running');
}

const command = process.argv[2];
if (command === 'up') await up();
else if (command === 'down') await down();
else {
  console.error('usage: node scripts/cluster.ts up|down');
  process.exitCode = 2;
}
