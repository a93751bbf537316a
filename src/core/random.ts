// A small seeded pseudo-random source. The core never owns randomness: the
// runtime seeds this from the operating system, the simulator from its seed,
// so every run of the simulator replays exactly.

export interface Random {
  /** nextInt returns an integer in [0, bound); bound must be >= 1. */
  nextInt(bound: number): number;
}

/** seededRandom is mulberry32: fast, 32-bit state, good enough for jitter. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    nextInt(bound: number): number {
      if (!Number.isInteger(bound) || bound < 1) throw new RangeError(`nextInt bound must be a positive integer, got ${bound}`);
      return Math.floor(next() * bound);
    },
  };
}
