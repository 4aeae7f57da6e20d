// The Dockerfile, replayed without a Docker engine: parsed into stages, each stage's file system built in a
// directory (COPY from the build context as .dockerignore filters it, or from an earlier stage; RUN in the
// stage's working directory), and the final stage's ENV, USER, ENTRYPOINT and CMD kept for running it. Only
// the instructions and flags the Dockerfile uses are known; anything else is an error rather than a step
// silently skipped.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';

export interface Instruction {
  keyword: string;
  /** `--name=value` options before the arguments (`--from=deps`, `--mount=type=cache,...`). */
  flags: Record<string, string>;
  /** The rest of the line. */
  text: string;
  line: number;
}

export interface Stage {
  name: string | undefined;
  /** The image the stage starts from, e.g. node:24.21.0-trixie-slim. */
  base: string;
  platform: string | undefined;
  instructions: Instruction[];
}

/** Parses a Dockerfile: comments and parser directives dropped, continuation lines joined. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]?.trim() ?? '';
    if (line === '' || line.startsWith('#')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      const next = lines[i]?.trim() ?? '';
      if (next.startsWith('#')) continue;
      line = `${line.slice(0, -1).trimEnd()} ${next}`;
    }
    const [keyword = '', ...rest] = line.split(/\s+/);
    const flags: Record<string, string> = {};
    while (rest[0]?.startsWith('--') === true) {
      const [name = '', value = ''] = (rest.shift() ?? '').slice(2).split(/=(.*)/s);
      flags[name] = value;
    }
    const instruction: Instruction = {
      keyword: keyword.toUpperCase(),
      flags,
      text: rest.join(' '),
      line: start,
    };
    if (instruction.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.text);
      if (match === null) throw new Error(`Dockerfile:${start}: cannot read FROM ${instruction.text}`);
      stages.push({ base: match[1] ?? '', name: match[2], platform: flags.platform, instructions: [] });
    } else {
      const stage = stages[stages.length - 1];
      if (stage === undefined) throw new Error(`Dockerfile:${start}: ${keyword} before FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

/** ENTRYPOINT and CMD must be JSON arrays (exec form): in shell form, /bin/sh would be PID 1, not node. */
export function execForm(instruction: Instruction): string[] {
  const parsed: unknown = JSON.parse(instruction.text);
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) {
    throw new Error(`Dockerfile:${instruction.line}: ${instruction.keyword} is not in exec form`);
  }
  return parsed;
}

/**
 * .dockerignore: the last pattern that matches a path (or one of its parent directories) decides; `!`
 * re-includes. `*` and `?` stay within one path segment, `**` crosses them.
 */
export function dockerignore(patterns: readonly string[]): (path: string) => boolean {
  const rules = patterns
    .map((p) => p.trim())
    .filter((p) => p !== '' && !p.startsWith('#'))
    .map((p) => {
      const include = p.startsWith('!');
      const body = (include ? p.slice(1) : p).replace(/^\/+|\/+$/g, '');
      const source = body
        .split(/(\*\*|\*|\?)/)
        .map((part) => {
          if (part === '**') return '.*';
          if (part === '*') return '[^/]*';
          if (part === '?') return '[^/]';
          return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
        })
        .join('');
      return { include, regex: new RegExp(`^${source}(/.*)?$`) };
    });
  return (path) => {
    let ignored = false;
    for (const rule of rules) if (rule.regex.test(path)) ignored = !rule.include;
    return ignored;
  };
}

export interface ReplayedImage {
  /** The final stage's file system. */
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: { uid: number; gid: number };
  entrypoint: string[];
  cmd: string[];
}

export interface ReplayOptions {
  context: string;
  dockerfile: Stage[];
  /** Where the stages' file systems go (one directory each). */
  into: string;
  /** The PATH a RUN step sees: where the base image's node and npm are, here. */
  path: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

/**
 * The environment of a RUN step besides the image's own: the machine's, as a builder's network settings
 * (proxies, CA certificates) reach its build steps, but none of the npm_* variables an enclosing `npm test`
 * sets, which would change what `npm ci` does.
 */
function builderEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')),
  );
}

/** Builds every stage in order; returns the final one. */
export function replay(options: ReplayOptions): ReplayedImage {
  const ignored = existsSync(join(options.context, '.dockerignore'))
    ? dockerignore(readFileSync(join(options.context, '.dockerignore'), 'utf8').split('\n'))
    : () => false;
  const built = new Map<string, string>();
  let image: ReplayedImage | undefined;
  options.dockerfile.forEach((stage, index) => {
    const root = join(options.into, `stage-${index}`);
    mkdirSync(root, { recursive: true });
    let workdir = '/';
    const env: Record<string, string> = {};
    let user = { uid: 0, gid: 0 };
    let entrypoint: string[] = [];
    let cmd: string[] = [];
    const inRoot = (path: string): string => join(root, isAbsolute(path) ? path : join(workdir, path));
    for (const step of stage.instructions) {
      const where = `Dockerfile:${step.line}`;
      options.log?.(`${where}: ${step.keyword} ${step.text}`);
      switch (step.keyword) {
        case 'WORKDIR':
          workdir = isAbsolute(step.text) ? step.text : join(workdir, step.text);
          mkdirSync(join(root, workdir), { recursive: true });
          break;
        case 'ENV':
          for (const match of step.text.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
            env[match[1] ?? ''] = (match[2] ?? '').replace(/^"|"$/g, '');
          }
          break;
        case 'COPY': {
          const parts = step.text.split(/\s+/);
          const dest = parts.pop() ?? '';
          const from = step.flags.from;
          const sourceRoot = from === undefined ? options.context : built.get(from);
          if (sourceRoot === undefined) throw new Error(`${where}: no earlier stage named ${from ?? ''}`);
          for (const source of parts) {
            const path = join(sourceRoot, source);
            const target =
              dest.endsWith('/') && !statSync(path).isDirectory() ? join(inRoot(dest), source) : inRoot(dest);
            mkdirSync(dirname(target), { recursive: true });
            cpSync(path, target, {
              recursive: true,
              verbatimSymlinks: true,
              filter: (file) => from !== undefined || !ignored(relative(options.context, file)),
            });
          }
          break;
        }
        case 'RUN': {
          const mount = step.flags.mount;
          // The one build cache the Dockerfile mounts is npm's cache of root (/root/.npm): npm here uses the
          // machine's own cache, which is what a warm builder's cache mount would hold.
          if (mount !== undefined && mount !== 'type=cache,target=/root/.npm') {
            throw new Error(`${where}: the replay does not know --mount=${mount}`);
          }
          const result = spawnSync('sh', ['-c', step.text], {
            cwd: join(root, workdir),
            env: { ...builderEnv(), PATH: options.path, ...env },
            encoding: 'utf8',
            timeout: 300_000,
          });
          if (result.status !== 0) {
            throw new Error(
              `${where}: RUN ${step.text} failed (${String(result.status)}):\n${result.stdout}${result.stderr}`,
            );
          }
          break;
        }
        case 'USER': {
          const [uid = '', gid = uid] = step.text.split(':');
          if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid)) {
            throw new Error(
              `${where}: USER ${step.text} is not numeric, so the kubelet cannot check runAsNonRoot`,
            );
          }
          user = { uid: Number(uid), gid: Number(gid) };
          break;
        }
        case 'ENTRYPOINT':
          entrypoint = execForm(step);
          break;
        case 'CMD':
          cmd = execForm(step);
          break;
        default:
          throw new Error(`${where}: the replay does not know ${step.keyword}`);
      }
    }
    if (stage.name !== undefined) built.set(stage.name, root);
    image = { root, workdir, env, user, entrypoint, cmd };
  });
  if (image === undefined) throw new Error('the Dockerfile has no stage');
  return image;
}
