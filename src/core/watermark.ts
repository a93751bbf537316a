// The commit watermark: the highest position held by enough voting data
// members that every election majority contains one of them, in this
// configuration and in any the next single-voter change can make.

import { comparePositions, type LogPosition } from './position.js';

/**
 * watermarkCandidate returns the position held by at least `holders` of the
 * given positions (the holders-th highest), or null if there are too few.
 */
export function watermarkCandidate(positions: readonly LogPosition[], holders: number): LogPosition | null {
  if (holders < 1 || positions.length < holders) return null;
  const sorted = [...positions].sort((a, b) => comparePositions(b, a));
  return sorted[holders - 1] ?? null;
}
