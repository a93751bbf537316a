// Deliberately broken variants of the protocol's decision functions, for
// proving that each checker can fail. Test tooling only: they are swapped in
// with tap's t.mockImport, never through a flag of the shipped code.

import { ZERO_POSITION, decideVote, type VoteDecision, type VoteRequest, type VoterView } from '../../src/core/index.js';
import type { CheckerName } from './checkers.js';
import type { RunResult, SimOptions } from './simulator.js';
import { runSeed } from './simulator.js';

/** A vote rule that forgets it already voted this term: double votes, two primaries. */
export function decideVoteIgnoringVotedFor(voter: VoterView, req: VoteRequest): VoteDecision {
  return decideVote({ ...voter, votedFor: null }, req);
}

/** A vote rule without the watermark and up-to-date checks: a lagging candidate can win and lose acknowledged writes. */
export function decideVoteIgnoringLogs(voter: VoterView, req: VoteRequest): VoteDecision {
  return decideVote({ ...voter, commitWatermark: ZERO_POSITION, position: voter.position ? ZERO_POSITION : null }, req);
}

/** A vote rule without leader stickiness: voters elect while the old primary still holds its lease. */
export function decideVoteIgnoringLivePrimary(voter: VoterView, req: VoteRequest): VoteDecision {
  return decideVote({ ...voter, livePrimary: null }, req);
}

export interface Hunt {
  /** The first seed whose run showed a violation of the checker, or null. */
  readonly seed: number | null;
  readonly result: RunResult | null;
  readonly seedsRun: number;
}

/** hunt runs seeds 1..maxSeeds until one shows a violation of `checker` (`run`: a simulator with a broken import swapped in). */
export function hunt(checker: CheckerName, maxSeeds: number, opts: Omit<SimOptions, 'seed'>, run: typeof runSeed = runSeed): Hunt {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const result = run({ ...opts, seed, stopOn: [checker] });
    if (result.violations.some((v) => v.checker === checker)) return { seed, result, seedsRun: seed };
  }
  return { seed: null, result: null, seedsRun: maxSeeds };
}
