// Reading the operator's Prometheus text exposition: just enough for the benchmark (counters and gauges
// by name and labels, and the difference of two scrapes).

/** A scrape: series (`name{a="x",b="y"}` with labels sorted as exposed) to value. */
export type Scrape = Map<string, number>;

/** A busy operator at N = 5,000 on 2 cores can take seconds to answer; a minute means it is wedged. */
const SCRAPE_TIMEOUT_MS = 60_000;

export async function scrape(url: string): Promise<Scrape> {
  const response = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) }).catch(
    (err: unknown) => {
      throw new Error(`GET ${url}: no answer within ${SCRAPE_TIMEOUT_MS / 1000} s`, { cause: err });
    },
  );
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return parseExposition(await response.text());
}

export function parseExposition(text: string): Scrape {
  const series: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const value = Number(line.slice(space + 1));
    if (space > 0 && Number.isFinite(value)) series.set(line.slice(0, space), value);
  }
  return series;
}

/** Series of metric `name` as { labels, value }. */
export function seriesOf(s: Scrape, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const [key, value] of s) {
    const brace = key.indexOf('{');
    const metric = brace < 0 ? key : key.slice(0, brace);
    if (metric !== name) continue;
    const labels: Record<string, string> = {};
    if (brace >= 0) {
      for (const m of key.slice(brace + 1, -1).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
        labels[m[1] ?? ''] = m[2] ?? '';
      }
    }
    out.push({ labels, value });
  }
  return out;
}

/** Sum of metric `name` grouped by one label (undefined label: one group ''). */
export function sumBy(s: Scrape, name: string, label?: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { labels, value } of seriesOf(s, name)) {
    const group = label === undefined ? '' : (labels[label] ?? '');
    out[group] = (out[group] ?? 0) + value;
  }
  return out;
}

/** later - earlier, per key (keys only in `later` count from 0). */
export function delta(
  later: Record<string, number>,
  earlier: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(later)) out[k] = v - (earlier[k] ?? 0);
  return out;
}
