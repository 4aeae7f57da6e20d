// Stopping a test run abruptly (Ctrl-C, a crash, SIGKILL) must leave no kube-apiserver or etcd process
// and no listening port behind.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..', '..');
const starter = `
import { startControlPlane } from ${JSON.stringify(join(root, 'test/harness/control-plane.ts'))};
const plane = await startControlPlane();
process.stdout.write(JSON.stringify({ pids: plane.pids, port: new URL(plane.server).port }) + '\\n');
setInterval(() => undefined, 1000);
`;

interface Started {
  pids: { etcd: number; apiserver: number };
  port: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function listening(port: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

async function startInChild(): Promise<{ child: ReturnType<typeof spawn>; started: Started }> {
  // Its own process group, like a test run in a terminal, so a Ctrl-C can be sent to the whole group.
  const child = spawn(process.execPath, ['--input-type=module', '-e', starter], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const started = await new Promise<Started>((resolve, reject) => {
    let buffer = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      const line = buffer.split('\n')[0];
      if (buffer.includes('\n') && line !== undefined) resolve(JSON.parse(line) as Started);
    });
    child.once('exit', (code) => {
      reject(new Error(`starter exited with ${code}`));
    });
  });
  return { child, started };
}

async function gone(started: Started, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = [started.pids.apiserver, started.pids.etcd].filter(alive);
    const open = await listening(started.port);
    if (left.length === 0 && !open) return;
    if (Date.now() > deadline) {
      throw new Error(
        `still running after ${timeoutMs} ms: pids ${left.join(', ')}; port ${started.port} open: ${open}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('the control plane after an abrupt stop', () => {
  test('is gone after the test process is interrupted (Ctrl-C)', async () => {
    const { child, started } = await startInChild();
    assert.ok(await listening(started.port), 'the API server listens while the test runs');
    // A terminal delivers Ctrl-C to every process of the foreground group.
    process.kill(-(child.pid ?? 0), 'SIGINT');
    await gone(started, 20_000);
  });

  test('is gone after the test process is killed outright (SIGKILL)', async () => {
    const { child, started } = await startInChild();
    assert.ok(await listening(started.port));
    child.kill('SIGKILL');
    // The watchdog notices within a second and gives the processes 5 s to exit before SIGKILL.
    await gone(started, 20_000);
  });
});
