// "Why": would this node be elected now, and if not, why not. It sends the
// very dry-run probe an election starts with (a pre-vote for its term + 1,
// with its own log and configuration positions) to every other voter, and
// returns each voter's answer with its refusal reason and details. A dry-run
// request never persists and never advances a voter's term (Node.onVoteRequest),
// and the answers are read here, never stepped into this node, so asking
// changes nothing on either side: it is safe on a live cluster. The node's
// election itself is untouched: this only builds the same request.

import { MAX_TERM, configPosition, findMember, isPaused, isVoter, quorumSize, voters, type Node, type VoteRequest } from '../core/index.js';
import type { Delivery } from '../transport/peer-client.js';
import type { WhyReply } from './service.js';
import { ownElectability } from './views.js';

/** Sends one message to a member and says what came of it: the peer client's deliver. */
export type Deliver = (url: string, message: VoteRequest, signal: AbortSignal, memberId: string) => Promise<Delivery>;

/**
 * why probes every other voter on behalf of `node`, each with `timeoutMs` to
 * answer. A node that cannot even ask (no configuration, not a member, a
 * witness, its own position unknown, or no term left) is answered at once
 * without probing, with the reason.
 */
export async function why(node: Node, deliver: Deliver, timeoutMs: number): Promise<WhyReply> {
  const config = node.config;
  const self = node.self;
  const position = node.logPosition;
  // In maintenance mode nobody stands by itself, in the core's own words; the
  // voters are still probed (they refuse with paused), so the answer shows it.
  const notElectableBecause = ownElectability(node) ?? (isPaused(config) ? 'automatic failover is paused (maintenance mode)' : null);
  const voterIds = voters(node.members).map((m) => m.id);
  const base = {
    candidateId: node.id,
    kind: self?.kind ?? 'data',
    term: Math.min(node.term + 1, MAX_TERM),
    position,
    config: config ? configPosition(config) : null,
    electable: notElectableBecause === null,
    notElectableBecause,
    needed: quorumSize(voterIds.length),
  } as const;
  if (config === null || !self || self.kind !== 'data' || position === null || node.term >= MAX_TERM) {
    return { ...base, probed: false, votes: 0, wouldWin: false, voters: [] };
  }
  const request: VoteRequest = {
    type: 'vote_request',
    // Local only (never on the wire): the answers are read here, not stepped.
    round: 0,
    clusterId: config.clusterId,
    candidateId: node.id,
    config: configPosition(config),
    term: node.term + 1,
    lastLogTerm: position.term,
    lastLogLsn: position.lsn,
    dryRun: true,
  };
  const others = voterIds.filter((id) => id !== node.id);
  const answers = await Promise.all(
    others.map(async (voterId) => {
      const url = findMember(config.members, voterId)?.url;
      const d: Delivery = url
        ? await deliver(url, request, AbortSignal.timeout(timeoutMs), voterId)
        : { ok: false, refused: false, error: 'no url known for it' };
      if (!d.ok) return { voterId, granted: false, reason: null, error: d.refused ? 'connection refused' : d.error };
      const reply = d.reply;
      if (reply?.type !== 'vote_response') return { voterId, granted: false, reason: null, error: 'no vote reply' };
      return { voterId, granted: reply.granted, reason: reply.reason ?? null, error: null };
    }),
  );
  const votes = answers.filter((a) => a.granted).length + (isVoter(self) ? 1 : 0);
  return { ...base, probed: true, votes, wouldWin: base.electable && votes >= base.needed, voters: answers };
}
