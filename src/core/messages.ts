// The messages quorumd nodes exchange, and the refusal reasons a voter gives.
// `round` is a candidate's or primary's own counter, echoed in the reply so
// that late replies of a finished round are recognised and ignored; the HTTP
// transport keeps it beside the request instead of putting it on the wire.

import type { LogPosition } from './position.js';
import type { Membership } from './membership.js';

export type RefusalCode =
  | 'watermark_not_covered'
  | 'not_a_member'
  | 'not_electable'
  | 'not_voting'
  | 'stale_term'
  | 'log_behind'
  | 'primary_alive'
  | 'already_voted';

export type Refusal =
  | { code: 'watermark_not_covered'; candidatePosition: LogPosition; commitWatermark: LogPosition }
  | { code: 'not_a_member'; candidateId: string }
  | { code: 'not_electable'; candidateId: string }
  | { code: 'not_voting'; voterId: string; why: 'not_a_member' | 'catching_up' | 'position_unknown' }
  | { code: 'stale_term'; candidateTerm: number; voterTerm: number }
  | { code: 'log_behind'; candidatePosition: LogPosition; voterPosition: LogPosition }
  /** primaryId is null while a freshly started voter cannot yet know the primary. */
  | { code: 'primary_alive'; primaryId: string | null; lastHeartbeatAgoMs: number }
  | { code: 'already_voted'; term: number; votedFor: string };

export interface VoteRequest {
  readonly type: 'vote_request';
  readonly round: number;
  readonly candidateId: string;
  /** The term the candidate stands for: its current term + 1. */
  readonly term: number;
  readonly lastLogTerm: number;
  readonly lastLogLsn: number;
  /** A probe asks "would you vote for me?" and changes nothing anywhere. */
  readonly dryRun: boolean;
  /** Set when the primary itself handed leadership to this candidate. */
  readonly handoff?: boolean;
}

export interface VoteResponse {
  readonly type: 'vote_response';
  readonly round: number;
  readonly voterId: string;
  readonly term: number;
  readonly granted: boolean;
  readonly dryRun: boolean;
  readonly reason?: Refusal;
}

export interface Heartbeat {
  readonly type: 'heartbeat';
  readonly round: number;
  readonly term: number;
  readonly primaryId: string;
  readonly commitWatermark: LogPosition;
  readonly membership: Membership;
  readonly leaseMs: number;
  /** The member the primary is handing leadership to, if it is. */
  readonly handoffTo?: string;
  /**
   * The electable follower the primary judges most caught up. When the
   * primary's process is seen gone, the heir stands at once and the others
   * wait a heartbeat interval or two, so they do not split the vote.
   */
  readonly heir?: string;
}

export interface HeartbeatResponse {
  readonly type: 'heartbeat_response';
  readonly round: number;
  readonly memberId: string;
  readonly term: number;
  readonly success: boolean;
  /** The member's durable log position; null for witnesses. */
  readonly position: LogPosition | null;
}

/** Handoff tells the chosen member to stand now, on the primary's behalf. */
export interface Handoff {
  readonly type: 'handoff';
  readonly term: number;
  readonly primaryId: string;
}

export type Message = VoteRequest | VoteResponse | Heartbeat | HeartbeatResponse | Handoff;
