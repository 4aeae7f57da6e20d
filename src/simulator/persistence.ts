// The optional state file: loaded once at start, saved after mutations with a short debounce and an
// atomic rename, so the request path never writes synchronously and a crash never leaves half a file.

import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { World } from './world.ts';

export function loadWorld(file: string): World | undefined {
  if (!existsSync(file)) return undefined;
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<World>;
  if (parsed.version !== 1 || typeof parsed.accountId !== 'string') {
    throw new Error(`${file} is not a simulator state file (version 1)`);
  }
  const world = parsed as World;
  // Files written before ingress connections existed lack the list.
  for (const r of Object.values(world.regions) as Partial<World['regions'][string]>[]) {
    r.ingressConnections ??= [];
  }
  return world;
}

export class StateSaver {
  readonly #file: string;
  readonly #snapshot: () => World;
  readonly #debounceMs: number;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #dirty = false;

  constructor(file: string, snapshot: () => World, debounceMs = 20) {
    this.#file = file;
    this.#snapshot = snapshot;
    this.#debounceMs = debounceMs;
  }

  /** Marks the world changed; the file is rewritten shortly after (coalescing bursts). */
  schedule(): void {
    this.#dirty = true;
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.#write();
    }, this.#debounceMs);
  }

  #write(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      if (!this.#dirty) return;
      this.#dirty = false;
      const tmp = `${this.#file}.${process.pid}.tmp`;
      try {
        await writeFile(tmp, JSON.stringify(this.#snapshot()));
        await rename(tmp, this.#file);
      } catch (e) {
        // The world stays in memory; a lost save must not take the request path (or close) down.
        process.stderr.write(
          `apprunner-net simulator: could not save ${this.#file}: ${(e as Error).message}\n`,
        );
      }
    });
    return this.#writing;
  }

  /** Writes any pending change now and stops the timer (used by close()). */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    await this.#write();
  }
}
