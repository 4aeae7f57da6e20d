// The processes a chaos run starts and kills: operator replicas (each its own AWS access key, so the
// simulator's audit log attributes every call, and its own POD_NAME, so the Lease names the holder), and a
// restart of the kube-apiserver that keeps etcd and the serving port.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, openSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';

export interface LogLine {
  level: string;
  msg: string;
  time?: string;
  [key: string]: unknown;
}

export interface OperatorReplica {
  /** "a-3": replica slot a, third process. */
  readonly id: string;
  readonly slot: string;
  readonly startedAt: number;
  endedAt: number | undefined;
  /** The newest log lines (bounded) and every line that was not JSON (a crash trace). */
  readonly recent: LogLine[];
  readonly rawErrors: string[];
  /** First time a line matching the predicate was logged, or undefined. */
  firstLog(match: (line: LogLine) => boolean): number | undefined;
  waitForLog(match: (line: LogLine) => boolean, timeoutMs: number): Promise<boolean>;
  kill(): Promise<void>;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ReplicaOptions {
  root: string;
  slot: string;
  serial: number;
  kubeconfigPath: string;
  args: readonly string[];
  /** Log lines kept per process. */
  keep?: number;
  /** Where the process's standard error is also written, whole. */
  logFile?: string;
  /** Messages whose first time is remembered (e.g. 'Became leader; started reconciling'). */
  milestones?: readonly string[];
}

/** The access key replica `slot` signs with; the simulator's caller is this key and the SDK's app id. */
export const accessKeyOf = (slot: string): string => `chaos-replica-${slot}`;
export const callerOf = (slot: string): string => `${accessKeyOf(slot)} app/apprunner-net`;

export function startReplica(options: ReplicaOptions): OperatorReplica {
  const keep = options.keep ?? 200;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    KUBECONFIG: options.kubeconfigPath,
    POD_NAME: `replica-${options.slot}`,
    AWS_ACCESS_KEY_ID: accessKeyOf(options.slot),
    AWS_SECRET_ACCESS_KEY: 'chaos',
  };
  const child: ChildProcess = spawn(
    join(options.root, 'node_modules', '.bin', 'node'),
    [join(options.root, 'bin', 'apprunner-net.js'), 'run', ...options.args],
    { cwd: options.root, env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const recent: LogLine[] = [];
  const rawErrors: string[] = [];
  const seen = new Map<string, number>();
  const waiters = new Set<() => void>();
  let buffered = '';
  child.stderr?.setEncoding('utf8');
  const file = options.logFile === undefined ? undefined : createWriteStream(options.logFile);
  child.stderr?.on('end', () => file?.end());
  child.stderr?.on('data', (chunk: string) => {
    file?.write(chunk);
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        const line = JSON.parse(text) as LogLine;
        recent.push(line);
        if (recent.length > keep) recent.shift();
        if (options.milestones?.includes(line.msg) === true && !seen.has(line.msg))
          seen.set(line.msg, Date.now());
      } catch {
        if (rawErrors.length < 200) rawErrors.push(text);
      }
    }
    for (const wake of waiters) wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      replica.endedAt = Date.now();
      for (const wake of waiters) wake();
      resolve({ code, signal });
    });
  });
  const replica: OperatorReplica = {
    id: `${options.slot}-${options.serial}`,
    slot: options.slot,
    startedAt: Date.now(),
    endedAt: undefined,
    recent,
    rawErrors,
    firstLog(match) {
      for (const [msg, t] of seen) if (match({ level: 'info', msg })) return t;
      return undefined;
    },
    waitForLog(match, timeoutMs) {
      return new Promise((resolve) => {
        const check = (): void => {
          if (recent.some(match) || [...seen.keys()].some((msg) => match({ level: 'info', msg })))
            finish(true);
          else if (replica.endedAt !== undefined) finish(false);
        };
        const timer = setTimeout(() => {
          finish(false);
        }, timeoutMs);
        const finish = (ok: boolean): void => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(ok);
        };
        waiters.add(check);
        check();
      });
    },
    async kill() {
      if (replica.endedAt !== undefined) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (replica.endedAt !== undefined) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    exited,
  };
  return replica;
}

/** The kube-apiserver of a harness control plane, restartable in place (same binary, flags, port, certs). */
export interface ApiServer {
  /** SIGTERM, wait, start again and wait for /readyz; resolves with how long it was unavailable. */
  restart(): Promise<number>;
  /** Stops the process this module started last (the harness stops the original one). */
  stop(): Promise<void>;
}

export function restartableApiServer(options: {
  pid: number;
  server: string;
  ca: Buffer;
  token: string;
  logFile: string;
}): ApiServer {
  const argv = readFileSync(`/proc/${options.pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((a) => a !== '');
  const [binary, ...args] = argv;
  if (binary === undefined) throw new Error(`cannot read the command line of kube-apiserver ${options.pid}`);
  let pid = options.pid;
  let child: ChildProcess | undefined;
  const alive = (p: number): boolean => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  };
  const waitGone = async (p: number): Promise<void> => {
    for (let i = 0; i < 150 && alive(p); i++) await sleep(100);
    if (alive(p)) process.kill(p, 'SIGKILL');
    for (let i = 0; i < 50 && alive(p); i++) await sleep(100);
  };
  const ready = (): Promise<boolean> =>
    new Promise((resolve) => {
      const req = request(
        `${options.server}/readyz`,
        { ca: options.ca, headers: { Authorization: `Bearer ${options.token}` }, timeout: 2000 },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        resolve(false);
      });
      req.end();
    });
  return {
    async restart() {
      const started = Date.now();
      process.kill(pid, 'SIGTERM');
      await waitGone(pid);
      const out = openSync(options.logFile, 'a');
      child = spawn(binary, args, { stdio: ['ignore', out, out] });
      closeSync(out);
      pid = child.pid ?? 0;
      for (let i = 0; i < 600; i++) {
        if (await ready()) return Date.now() - started;
        await sleep(100);
      }
      throw new Error('kube-apiserver did not become ready within 60 s of its restart');
    },
    async stop() {
      if (child === undefined || !alive(pid)) return;
      process.kill(pid, 'SIGTERM');
      await waitGone(pid);
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
