// Which operator code a benchmark or chaos report describes: the commit, and whether src/ differed from it.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `abc1234`, `abc1234 with uncommitted changes in src/`, or `unknown` outside a git checkout. */
export function revision(): string {
  const git = (...args: string[]): string | undefined => {
    const out = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
    return out.status === 0 ? out.stdout.trim() : undefined;
  };
  const commit = git('rev-parse', '--short', 'HEAD');
  if (commit === undefined) return 'unknown';
  return git('status', '--porcelain', '--', 'src') === ''
    ? commit
    : `${commit} with uncommitted changes in src/`;
}
