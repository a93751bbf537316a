// Randomized election timeouts: each wait is drawn from [base, base + jitter)
// so that candidates rarely stand in lockstep and split votes stay rare.

import type { Random } from './random.js';

export function randomizedElectionTimeout(baseMs: number, jitterMs: number, random: Random): number {
  if (jitterMs <= 0) return baseMs;
  return baseMs + random.nextInt(jitterMs);
}
