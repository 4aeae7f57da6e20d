// A small seeded PRNG (xorshift128+ style over 32-bit words, via mulberry32 for seeding) so every
// random choice the simulator makes (ids, fault dice, short pages) is reproducible from one seed.

export interface Prng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** `n` lowercase hex characters. */
  hex(n: number): string;
  /** A version-4 UUID (RFC 4122 variant bits). */
  uuid(): string;
  /** `n` characters from `alphabet`. */
  chars(n: number, alphabet: string): string;
  /** The internal state, for the state file. */
  state(): number;
}

/** mulberry32: 32-bit state, good enough statistical quality for simulation dice and ids. */
export function createPrng(seed: number): Prng {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const chars = (n: number, alphabet: string): string => {
    let out = '';
    for (let i = 0; i < n; i++) out += alphabet[Math.floor(next() * alphabet.length)] ?? '';
    return out;
  };
  const hex = (n: number): string => chars(n, '0123456789abcdef');
  return {
    next,
    hex,
    chars,
    uuid: () => {
      const variant = '89ab'[Math.floor(next() * 4)] ?? '8';
      return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
    },
    state: () => s,
  };
}
