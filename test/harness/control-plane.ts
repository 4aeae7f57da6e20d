// A real kube-apiserver + etcd on loopback, built from published Go modules (scripts/build-control-plane.sh)
// and cached outside the repository. Used by the integration tests and by `npm run cluster:up`.
//
// Each start gets a fresh data directory, random free ports, RBAC authorization and a static admin
// token. A watchdog shell outlives this process for one purpose: if it dies without stopping the
// plane (SIGKILL, a crashed test runner), the watchdog terminates etcd and kube-apiserver.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  openSync,
  closeSync,
} from 'node:fs';
import { request } from 'node:https';
import { createServer, type Server } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const K8S_VERSION = process.env.APPRUNNER_NET_K8S_VERSION ?? '1.37.2';
export const ETCD_VERSION = process.env.APPRUNNER_NET_ETCD_VERSION ?? '3.6.16';

export function cacheRoot(): string {
  return (
    process.env.APPRUNNER_NET_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'apprunner-net')
  );
}

export function binaryDir(): string {
  return join(cacheRoot(), 'bin', `k8s-v${K8S_VERSION}-etcd-v${ETCD_VERSION}`);
}

const buildScript = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'scripts',
  'build-control-plane.sh',
);

export function hasGo(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

function binariesPresent(): boolean {
  return existsSync(join(binaryDir(), 'kube-apiserver')) && existsSync(join(binaryDir(), 'etcd'));
}

/** Builds the binaries once (cross-process lock: concurrent test files wait for one build). */
export async function ensureBinaries(log: (line: string) => void = () => undefined): Promise<string> {
  if (binariesPresent()) return binaryDir();
  mkdirSync(cacheRoot(), { recursive: true });
  const lock = join(cacheRoot(), 'build.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      if (binariesPresent()) return binaryDir();
      const holder = Number(readFileIfExists(join(lock, 'pid')));
      if (holder > 0 && !processAlive(holder)) rmSync(lock, { recursive: true, force: true });
      await sleep(2000);
    }
  }
  try {
    if (!binariesPresent()) {
      log(
        `building kube-apiserver v${K8S_VERSION} and etcd v${ETCD_VERSION} into ${binaryDir()} (first run only)`,
      );
      const result = spawnSync('bash', [buildScript], { stdio: ['ignore', 'ignore', 'inherit'] });
      if (result.status !== 0)
        throw new Error(`scripts/build-control-plane.sh failed with exit code ${result.status}`);
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return binaryDir();
}

export interface ControlPlane {
  server: string;
  caData: string;
  token: string;
  kubeconfigPath: string;
  dir: string;
  pids: { etcd: number; apiserver: number };
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Where to write state; a fresh temporary directory when absent. */
  dir?: string;
  /** Keep processes alive after this process exits (cluster:up). */
  detached?: boolean;
  startTimeoutMs?: number;
}

export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  const bin = await ensureBinaries((line) => process.stderr.write(`${line}\n`));
  let lastError: unknown;
  // A free port can be taken between probing and binding; a second attempt on new ports settles it.
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(bin, options);
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(`control plane did not start after 3 attempts`, { cause: lastError });
}

async function startOnce(bin: string, options: StartOptions): Promise<ControlPlane> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'apprunner-net-cp-'));
  rmSync(join(dir, 'etcd'), { recursive: true, force: true });
  mkdirSync(join(dir, 'pki'), { recursive: true });
  const [etcdPort, peerPort, apiPort] = await freePorts(3);
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(dir, 'tokens.csv'), `${token},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'pki', 'sa.key'), privateKey.export({ type: 'pkcs1', format: 'pem' }), {
    mode: 0o600,
  });

  const detached = options.detached ?? false;
  const etcd = launch(
    join(bin, 'etcd'),
    [
      '--name=apprunner-net-test',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=apprunner-net-test=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ],
    join(dir, 'etcd.log'),
    detached,
  );
  const apiserver = launch(
    join(bin, 'kube-apiserver'),
    [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'pki')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      `--service-account-issuer=https://127.0.0.1:${apiPort}/`,
      `--service-account-key-file=${join(dir, 'pki', 'sa.key')}`,
      `--service-account-signing-key-file=${join(dir, 'pki', 'sa.key')}`,
      '--authorization-mode=RBAC',
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--disable-admission-plugins=ServiceAccount',
      '--allow-privileged=true',
      '--profiling=false',
      // The lease endpoint reconciler refuses a loopback advertise address, and no Service needs it here.
      '--endpoint-reconciler-type=none',
    ],
    join(dir, 'apiserver.log'),
    detached,
  );
  const pids = { etcd: etcd.pid ?? 0, apiserver: apiserver.pid ?? 0 };
  writeFileSync(join(dir, 'pids.json'), JSON.stringify(pids));
  if (!detached) startWatchdog(process.pid, [pids.apiserver, pids.etcd]);

  const stop = async (): Promise<void> => {
    await terminate(apiserver);
    await terminate(etcd);
    if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const server = `https://127.0.0.1:${apiPort}`;
    const caPath = join(dir, 'pki', 'apiserver.crt');
    await waitFor(() => existsSync(caPath), options.startTimeoutMs ?? 60_000, 'the serving certificate', [
      etcd,
      apiserver,
    ]);
    const ca = readFileSync(caPath);
    await waitFor(
      async () => (await httpsStatus(`${server}/readyz`, ca, token)) === 200,
      options.startTimeoutMs ?? 60_000,
      'kube-apiserver /readyz',
      [etcd, apiserver],
    );
    await waitFor(
      async () => (await httpsStatus(`${server}/api/v1/namespaces/default`, ca, token)) === 200,
      20_000,
      'namespace default',
      [etcd, apiserver],
    );
    const caData = ca.toString('base64');
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, caData, token), { mode: 0o600 });
    return { server, caData, token, kubeconfigPath, dir, pids, stop };
  } catch (err) {
    const tail = (file: string): string =>
      readFileIfExists(join(dir, file)).split('\n').slice(-15).join('\n');
    const logs = `${tail('apiserver.log')}\n${tail('etcd.log')}`;
    await stop();
    throw new Error(`control plane failed to start: ${(err as Error).message}\n${logs}`, { cause: err });
  }
}

export function kubeconfigYaml(server: string, caData: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: apprunner-net-local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${caData}`,
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: apprunner-net-local',
    '  context:',
    '    cluster: apprunner-net-local',
    '    user: admin',
    'current-context: apprunner-net-local',
    '',
  ].join('\n');
}

function launch(path: string, args: string[], logFile: string, detached: boolean): ChildProcess {
  const out = openSync(logFile, 'a');
  const child = spawn(path, args, { stdio: ['ignore', out, out], detached });
  closeSync(out);
  if (detached) child.unref();
  return child;
}

function startWatchdog(parent: number, pids: number[]): void {
  const script =
    'p=$1; shift; while kill -0 "$p" 2>/dev/null; do sleep 1; done; ' +
    'kill -TERM "$@" 2>/dev/null; sleep 5; kill -KILL "$@" 2>/dev/null; exit 0';
  const dog = spawn('sh', ['-c', script, 'watchdog', String(parent), ...pids.map(String)], {
    detached: true,
    stdio: 'ignore',
  });
  dog.unref();
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Stops a detached plane recorded in `dir` (cluster:down). */
export async function stopRecordedPlane(dir: string): Promise<boolean> {
  const raw = readFileIfExists(join(dir, 'pids.json'));
  if (raw === '') return false;
  const pids = JSON.parse(raw) as { etcd: number; apiserver: number };
  for (const pid of [pids.apiserver, pids.etcd]) {
    if (!processAlive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && processAlive(pid); i++) await sleep(100);
    if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(join(dir, 'pids.json'), { force: true });
  return true;
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  children: ChildProcess[],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const child of children) {
      if (child.exitCode !== null)
        throw new Error(`${child.spawnfile} exited with code ${child.exitCode} while waiting for ${what}`);
    }
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(150);
  }
}

function httpsStatus(url: string, ca: Buffer, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { Authorization: `Bearer ${token}` }, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => {
            resolve(s);
          });
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readFileIfExists(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
