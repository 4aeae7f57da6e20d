// The container image, without a Docker engine: the Dockerfile's steps are replayed (its COPY steps from the
// build context as .dockerignore filters it, its `npm ci --omit=dev --ignore-scripts` against the npm
// registry), and the result is started the way the kubelet starts deploy/deployment.yaml's container: the
// image's ENTRYPOINT with the Deployment's args and environment, as the image's numeric user, with node as
// PID 1 of its own PID namespace, a read-only root file system but for /tmp, no capabilities and no privilege
// escalation (unshare + setpriv, when this runs as root). It must answer /healthz and /readyz, and exit 0
// promptly on SIGTERM, which as PID 1 it receives only because the operator handles that signal itself.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import { freePort, startEnv, waitFor, type Env, type World } from '../operator/fixtures.ts';
import { parseDockerfile, replay, type ReplayedImage, type Stage } from './dockerfile.ts';
import {
  argsWithPorts,
  containerEnv,
  deployDir,
  find,
  httpGet,
  operatorContainer,
  parseObjects,
  root,
  startProcess,
  type RunningProcess,
} from './support.ts';

const dockerfile: Stage[] = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const node24 = realpathSync(join(root, 'node_modules', 'node', 'bin', 'node'));
/** Where the test puts the base image's node (a copy of node24 the image's user can reach). */
const baseNode = (dir: string): string => join(dir, 'base-image-node', 'node');

/** Root can give the container its own PID namespace, mounts and user; anyone else runs it plainly. */
function canIsolate(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = spawnSync(
    'unshare',
    ['--pid', '--fork', '--mount-proc', '--kill-child', 'setpriv', '--reuid=1000', 'true'],
    {
      stdio: 'ignore',
    },
  );
  return probe.status === 0;
}

/** A line of /proc/PID/status, e.g. `Uid` -> ["1000", "1000", "1000", "1000"]. */
function procStatus(pid: number, field: string): string[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return (
    line
      ?.slice(field.length + 1)
      .trim()
      .split(/\s+/) ?? []
  );
}

describe('the container image, replayed from the Dockerfile', () => {
  let env: Env;
  let world: World;
  let dir: string;
  let image: ReplayedImage;
  const isolate = canIsolate();

  before(async () => {
    env = await startEnv();
    world = await env.world({ deferOperator: true });
    // Under /var/tmp, not /tmp: the container gets a /tmp of its own, which would hide the image.
    dir = mkdtempSync(join(isolate ? '/var/tmp' : tmpdir(), 'apprunner-net-image-'));
    chmodSync(dir, 0o755);
    // The base image's node, where the image's user can run it: the checkout may sit in a directory only
    // root can enter (a CI clone in a 0700 temp dir), and the container's user is uid 1000.
    mkdirSync(join(dir, 'base-image-node'), { mode: 0o755 });
    copyFileSync(node24, baseNode(dir));
    chmodSync(baseNode(dir), 0o755);
    const started = Date.now();
    image = replay({
      context: root,
      dockerfile,
      into: join(dir, 'stages'),
      // The base image's node first; npm is the machine's, run by that node.
      path: `${dirname(baseNode(dir))}:/usr/local/bin:/usr/bin:/bin`,
    });
    console.log(`# replayed the Dockerfile in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
  after(async () => {
    await world.finish();
    await env.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the image runs the Node version package.json pins, and no step needs emulation on another platform', () => {
    const { devDependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    const final = dockerfile[dockerfile.length - 1];
    assert.match(
      final?.base ?? '',
      new RegExp(`^node:${(devDependencies.node ?? '').replaceAll('.', '\\.')}-`),
    );
    const version = spawnSync(node24, ['--version'], { encoding: 'utf8' }).stdout.trim();
    assert.equal(version, `v${devDependencies.node ?? ''}`, "the tests run the image's Node");
    // Every RUN is in a stage on the build machine's platform; the final stage only copies.
    for (const stage of dockerfile) {
      if (stage.instructions.some((i) => i.keyword === 'RUN')) assert.equal(stage.platform, '$BUILDPLATFORM');
    }
  });

  test('the image holds the production dependencies only, and the files the entry point needs', () => {
    const app = join(image.root, image.workdir);
    assert.deepEqual(readdirSync(app).sort(), ['bin', 'node_modules', 'package.json', 'src']);
    for (const dev of ['typescript', 'eslint', 'node', 'prettier', '@testcontainers/k3s']) {
      assert.ok(!existsSync(join(app, 'node_modules', dev)), `${dev} is a devDependency`);
    }
    for (const dependency of [
      '@kubernetes/client-node',
      '@aws-sdk/client-apprunner',
      'xstate',
      'prom-client',
    ]) {
      assert.ok(existsSync(join(app, 'node_modules', dependency, 'package.json')), dependency);
    }
    assert.equal(image.user.uid, 1000, 'the user the Deployment runs as (runAsUser)');
    assert.deepEqual(image.entrypoint, ['node', '--max-semi-space-size=2', 'bin/apprunner-net.js']);
    assert.deepEqual(image.cmd, ['run']);
    assert.equal(image.env.NODE_ENV, 'production');
  });

  test("started as the Deployment's container, it answers its probes and exits 0 promptly on SIGTERM", async (t) => {
    const deployment = find(
      parseObjects(readFileSync(join(deployDir, 'deployment.yaml'), 'utf8')),
      'Deployment',
    ) as V1Deployment;
    const container = operatorContainer(deployment);
    const namespace = await env.cluster.newNamespace('system');
    const ports = { health: await freePort(), metrics: await freePort() };
    // The harness admin's kubeconfig stands in for the service account mount; readable by the image's user.
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, readFileSync(env.cluster.kubeconfigPath), { mode: 0o600 });
    if (isolate) chownSync(kubeconfig, image.user.uid, image.user.gid);
    const home = join(dir, 'home');
    mkdirSync(home, { mode: 0o755 });
    const podTmp = join(dir, 'pod-tmp');
    mkdirSync(podTmp);
    chmodSync(podTmp, 0o1777);
    const containerEnvironment: NodeJS.ProcessEnv = {
      // What the image's runtime sets: its PATH (node first), ENV and the user's HOME (read-only here).
      PATH: `${dirname(baseNode(dir))}:/usr/local/bin:/usr/bin:/bin`,
      HOME: home,
      ...image.env,
      ...containerEnv(container.env, { name: 'apprunner-net-6f7d5c9b8-k2x9q', namespace }),
      KUBECONFIG: kubeconfig,
      // The settings a user adds to run against the simulator, and loopback instead of every interface.
      APPRUNNER_NET_AWS_ENDPOINT_URL: world.sim.url,
      APPRUNNER_NET_BIND_ADDRESS: '127.0.0.1',
    };
    // Kubernetes: the container's args replace the image's CMD; the ENTRYPOINT stays.
    const argv = [...image.entrypoint, ...argsWithPorts(container, ports)];
    const cwd = join(image.root, image.workdir);
    let operator: RunningProcess;
    if (isolate) {
      const { uid, gid } = image.user;
      const script =
        'mount --bind "$1" /tmp && mount -o remount,bind,ro / && shift && ' +
        `exec setpriv --reuid=${uid} --regid=${gid} --clear-groups --no-new-privs --bounding-set=-all -- "$@"`;
      operator = startProcess(
        'unshare',
        ['--pid', '--fork', '--mount-proc', '--kill-child', '--', 'sh', '-c', script, 'sh', podTmp, ...argv],
        {
          cwd,
          env: containerEnvironment,
        },
      );
    } else {
      t.diagnostic(
        'not root (or no unshare/setpriv): the entry point runs as a plain child process, not as PID 1',
      );
      operator = startProcess(argv[0] ?? '', argv.slice(1), { cwd, env: containerEnvironment });
    }
    try {
      await operator.waitForLog((l) => l.msg === 'Became leader; started reconciling', 'leadership', 60_000);
      for (const path of ['/healthz', '/readyz']) {
        const answer = await waitFor(async () => {
          const got = await httpGet(ports.health, path);
          return got.status === 200 ? got : undefined;
        }, `${path} answers 200`);
        assert.equal(answer.body, 'ok');
      }
      assert.equal((await httpGet(ports.metrics, '/metrics')).status, 200);

      let pid = operator.child.pid ?? 0;
      if (isolate) {
        // unshare forks the container's first process: that is node, which sh and setpriv exec'd into.
        pid = Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0]);
        assert.equal(procStatus(pid, 'NSpid').at(-1), '1', 'node is PID 1 of its namespace');
        assert.deepEqual(procStatus(pid, 'Uid'), ['1000', '1000', '1000', '1000']);
        assert.deepEqual(procStatus(pid, 'NoNewPrivs'), ['1']);
        assert.deepEqual(procStatus(pid, 'CapEff'), ['0000000000000000']);
      }
      const problems = operator.logs.filter((l) =>
        /EROFS|EACCES|read-only file system/i.test(JSON.stringify(l)),
      );
      assert.deepEqual(problems, [], 'nothing tried to write outside /tmp');
      assert.deepEqual(operator.rawErrors, [], 'only JSON log lines on standard error');

      const stopping = Date.now();
      process.kill(pid, 'SIGTERM');
      const exit = await operator.exited;
      const took = Date.now() - stopping;
      t.diagnostic(`exited ${JSON.stringify(exit)} ${took} ms after SIGTERM`);
      assert.deepEqual(exit, { code: 0, signal: null }, operator.tail());
      assert.ok(took < 10_000, `SIGTERM ends it promptly (${took} ms)`);
      assert.ok(
        operator.logs.some((l) => l.msg === 'Received signal; shutting down'),
        operator.tail(),
      );
    } finally {
      await operator.kill();
    }
  });
});
