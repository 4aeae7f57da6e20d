// The demo's output. On a terminal: lines that stay, above a live region redrawn in place (ANSI cursor
// movement), so a table refreshes instead of scrolling. Elsewhere (CI, a pipe, a file): lines only; the
// caller prints what changed instead of a live region.
import type { Style } from './table.ts';

const ESC = '\u001b[';

export class Screen {
  readonly #out: NodeJS.WriteStream;
  readonly tty: boolean;
  readonly style: Style;
  #live: string[] = [];

  constructor(out: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env) {
    this.#out = out;
    this.tty = out.isTTY;
    const color = this.tty && env.NO_COLOR === undefined && env.TERM !== 'dumb';
    const sgr = (code: string) => (text: string) => (color ? `${ESC}${code}m${text}${ESC}0m` : text);
    const green = sgr('32');
    const yellow = sgr('33');
    const red = sgr('31');
    this.style = {
      bold: sgr('1'),
      state: (padded, value) => {
        if (value === 'True' || value === 'ACTIVE' || value === 'present') return green(padded);
        if (value === 'False' || value === 'INACTIVE' || value === 'Unknown') return yellow(padded);
        if (value === 'Deleted' || value === 'deleted') return red(padded);
        return padded;
      },
    };
  }

  /** The terminal's width; 120 columns elsewhere. */
  get width(): number {
    return this.tty ? this.#out.columns : 120;
  }

  /** The terminal's height, which bounds the live region (a taller one could not be redrawn). */
  get #height(): number {
    return this.tty ? this.#out.rows : Infinity;
  }

  /** Writes lines that stay; on a terminal they go above the live region, which is drawn again below. */
  print(...lines: string[]): void {
    if (!this.tty) {
      this.#out.write(lines.map((l) => `${l}\n`).join(''));
      return;
    }
    this.#out.write(this.#erase() + lines.map((l) => `${l}\n`).join('') + this.#draw(this.#live));
  }

  /** Replaces the live region (terminal only; without one, callers print changes instead). */
  live(lines: readonly string[]): void {
    if (!this.tty) return;
    // A line that wrapped would take two rows and break the next redraw: cut each to the width.
    const shown = lines.slice(Math.max(0, lines.length - (this.#height - 1))).map((l) => fit(l, this.width));
    this.#out.write(this.#erase() + this.#draw(shown));
    this.#live = shown;
  }

  /** Leaves the live region on screen as the last lines that stay, and starts an empty one. */
  keep(): void {
    this.#live = [];
    if (this.tty) this.#out.write(`${ESC}?25h`);
  }

  /** Erases the live region. */
  clear(): void {
    if (!this.tty) return;
    this.#out.write(`${this.#erase()}${ESC}?25h`);
    this.#live = [];
  }

  #erase(): string {
    // After the region's last newline the cursor is at column 0 below it: up N lines, then clear downwards.
    return this.#live.length === 0 ? '' : `${ESC}${this.#live.length}F${ESC}J`;
  }

  #draw(lines: readonly string[]): string {
    if (lines.length === 0) return '';
    return `${ESC}?25l${lines.map((l) => `${l}\n`).join('')}`;
  }
}

/** SGR and cursor sequences, which take no column. */
// eslint-disable-next-line no-control-regex -- the escape character is what this matches.
const escapes = /\u001b\[[0-9;?]*[A-Za-z]/g;

/** The line as it is when it fits in `width` columns, else its text without colours, cut to fit. */
function fit(line: string, width: number): string {
  const bare = line.replace(escapes, '');
  return bare.length <= width ? line : `${bare.slice(0, Math.max(0, width - 1))}…`;
}

/** A spinner frame for a time in milliseconds. */
export function spinner(ms: number): string {
  const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  return frames[Math.floor(ms / 100) % frames.length] ?? '';
}

/** `4.2 s`, `2 min 5 s`. */
export function duration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}
