// Tallying a round of votes: won once a quorum granted, lost once so many
// refused that a quorum can no longer be reached, pending otherwise.

export type TallyResult = 'won' | 'lost' | 'pending';

export function tally(granted: number, refused: number, voterCount: number, quorum: number): TallyResult {
  if (granted >= quorum) return 'won';
  if (voterCount - refused < quorum) return 'lost';
  return 'pending';
}
