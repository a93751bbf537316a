// The vote rule: whether a voter grants a candidate, and if not, why. It is a
// pure function of what the voter knows; the node applies its consequences.
//
// The checks run in this order, and the first that fails is the reason:
//  0. wrong_cluster: the candidate names another cluster id (or this voter
//     holds no configuration yet, while it joins): nothing else is judged.
//  1. watermark_not_covered: the candidate's log must cover the commit
//     watermark. This is the safety core and comes before anything else, so a
//     candidate that could lose an acknowledged write is refused whatever its
//     term.
//  2. not_a_member: the candidate must be in this voter's membership.
//  3. not_electable: the candidate must be a voting data member.
//  4. not_voting: this voter must itself be a voting member and, if it holds
//     data, know its own log position (the data store's agent reported it).
//     When the candidate's configuration is later than the voter's, the
//     membership parts of 2 to 4 are the candidate's configuration's to judge
//     and are skipped: the voter's own list is out of date.
//  4b. paused: the voter's configuration pauses automatic failover
//     (maintenance mode); only a candidate the primary named for a handoff
//     (a planned switchover), or one an operator told to resume while no
//     primary is known, is granted. Skipped, too, for a candidate whose
//     configuration is later: it may be the one that resumed.
//  5. stale_term: the candidate's term must not be below the voter's.
//  6. log_behind: a data voter refuses a candidate behind its own durable
//     position (Raft's up-to-date rule), so safety does not hang on how fresh
//     the voter's view of the watermark is.
//  7. primary_alive: a voter that heard from a live primary within the minimum
//     election timeout (or started less than that long ago) refuses, unless
//     that primary named this candidate for a handoff. The live primary itself
//     gets no exception: a ballot in its name for a higher term would depose it. The node clears
//     livePrimary once it has seen the primary's process is gone.
//  8. already_voted: one grant per term; the same candidate asking again in
//     the term is granted again.
//  9. config_behind: the candidate's configuration position must not be
//     before the voter's own. A configuration is committed only once a
//     majority of its voters hold it, and every majority of a configuration
//     meets every majority of the next (one voter changes at a time), so a
//     candidate behind a committed configuration always meets a voter that
//     refuses it: the configuration's analogue of the log rule, as Raft's log
//     rule does for its configuration entries. It comes last only so that the
//     reasons before it, which say more, are reported first.

import { findMember, isElectable, isVoter, type Member, type MemberKind } from './membership.js';
import { compareConfigs, type ConfigPosition } from './cluster-config.js';
import { comparePositions, covers, type LogPosition } from './position.js';
import type { Refusal, VoteRequest } from './messages.js';

/** VoterView is everything the rule needs to know about the voter. */
export interface VoterView {
  readonly id: string;
  readonly term: number;
  readonly votedFor: string | null;
  readonly commitWatermark: LogPosition;
  /** The voter's cluster id and configuration position; null while it joins and holds none. */
  readonly clusterId: string | null;
  readonly config: ConfigPosition | null;
  readonly members: readonly Member[];
  readonly kind: MemberKind;
  /** A data voter's own durable log position; null if not known (or a witness). */
  readonly position: LogPosition | null;
  /** Whether the voter's configuration pauses automatic failover. */
  readonly paused: boolean;
  /** The live primary this voter hears from, if any (id null: not known yet). */
  readonly livePrimary: { readonly id: string | null; readonly agoMs: number } | null;
  /** A candidate the live primary named for a handoff. */
  readonly handoffCandidate: string | null;
}

export type VoteDecision = { granted: true } | { granted: false; reason: Refusal };

export function candidatePosition(req: VoteRequest): LogPosition {
  return { term: req.lastLogTerm, lsn: req.lastLogLsn };
}

export function decideVote(voter: VoterView, req: VoteRequest): VoteDecision {
  if (voter.clusterId !== req.clusterId) return refuse({ code: 'wrong_cluster', clusterId: voter.clusterId, candidateClusterId: req.clusterId });
  const candidate = candidatePosition(req);
  if (!covers(candidate, voter.commitWatermark)) {
    return refuse({ code: 'watermark_not_covered', candidatePosition: candidate, commitWatermark: voter.commitWatermark });
  }
  // Who is a member and who votes is the later configuration's to say: a
  // candidate holding a later one than this voter's was promoted, or counts
  // this voter, in it (Raft's voters likewise vote whatever their own list).
  const later = voter.config !== null && compareConfigs(req.config, voter.config) > 0;
  if (!later) {
    const member = findMember(voter.members, req.candidateId);
    if (!member) return refuse({ code: 'not_a_member', candidateId: req.candidateId });
    if (!isElectable(member)) return refuse({ code: 'not_electable', candidateId: req.candidateId });
    const self = findMember(voter.members, voter.id);
    if (!self) return refuse({ code: 'not_voting', voterId: voter.id, why: 'not_a_member' });
    if (!isVoter(self)) return refuse({ code: 'not_voting', voterId: voter.id, why: 'catching_up' });
    if (voter.paused && !req.resume && !(req.handoff && voter.handoffCandidate === req.candidateId)) return refuse({ code: 'paused', voterId: voter.id });
  }
  if (voter.kind === 'data' && !voter.position) return refuse({ code: 'not_voting', voterId: voter.id, why: 'position_unknown' });
  if (req.term < voter.term) return refuse({ code: 'stale_term', candidateTerm: req.term, voterTerm: voter.term });
  if (voter.kind === 'data' && voter.position && comparePositions(candidate, voter.position) < 0) {
    return refuse({ code: 'log_behind', candidatePosition: candidate, voterPosition: voter.position });
  }
  const primary = voter.livePrimary;
  if (primary && !(req.handoff && voter.handoffCandidate === req.candidateId)) {
    return refuse({ code: 'primary_alive', primaryId: primary.id, lastHeartbeatAgoMs: primary.agoMs });
  }
  if (req.term === voter.term && voter.votedFor !== null && voter.votedFor !== req.candidateId) {
    return refuse({ code: 'already_voted', term: voter.term, votedFor: voter.votedFor });
  }
  if (voter.config && compareConfigs(req.config, voter.config) < 0) {
    return refuse({ code: 'config_behind', candidateConfig: req.config, voterConfig: voter.config });
  }
  return { granted: true };
}

function refuse(reason: Refusal): VoteDecision {
  return { granted: false, reason };
}
