// The messages quorumd nodes exchange, and the refusal reasons a voter gives.
// Each request and reply body is written once, here, as a TypeBox schema: the
// HTTP API serves and validates these very schemas (src/schemas.ts), the peer
// client checks replies against them, and the protocol message types below
// are derived from them. A message is its wire body plus the fields that stay
// local: its `type`, and `round`, a candidate's or primary's own counter,
// echoed in the reply so that late replies of a finished round are recognised
// and ignored; the HTTP transport keeps both beside the request instead of
// putting them on the wire.

import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { LogPosition } from './position.js';
import { Member, MemberKind, MemberState } from './membership.js';
import { ClusterConfig, ConfigPosition } from './cluster-config.js';
import { TimingsSchema } from './timings.js';
import { Count, Id, MemberUrl, StringEnum, Term, closed, ref, type Frozen } from './wire-types.js';

// ---- request bodies ----

export const VoteBody = Type.Object(
  {
    clusterId: ref(Id),
    candidateId: ref(Id),
    // The candidate's configuration position: a voter holding a later one refuses (config_behind).
    config: ref(ConfigPosition),
    // The term the candidate stands for: its current term + 1. Terms on the
    // wire are at most MAX_TERM (see wire-types.ts).
    term: ref(Term),
    lastLogTerm: ref(Term),
    lastLogLsn: ref(Count),
    dryRun: Type.Boolean({ description: "true for a probe, which never persists and never advances the voter's term" }),
    handoff: Type.Optional(Type.Boolean({ description: 'set by a candidate the primary handed leadership to' })),
    resume: Type.Optional(
      Type.Boolean({
        description: 'set by a candidate an operator told to resume automatic failover while no primary is known: voters paused for maintenance grant it',
      }),
    ),
  },
  { ...closed, $id: 'VoteBody' },
);
export type VoteBody = Static<typeof VoteBody>;

export const HeartbeatBody = Type.Object(
  {
    term: ref(Term),
    primaryId: ref(Id),
    commitWatermark: ref(LogPosition),
    // The primary's cluster configuration, whole: a member holding an earlier one takes it.
    config: ref(ClusterConfig),
    // The member the primary is handing leadership to, if it is.
    handoffTo: Type.Optional(ref(Id)),
    // The electable follower the primary judges most caught up. When the
    // primary's process is seen gone, the heir stands at once and the others
    // wait a heartbeat interval or two, so they do not split the vote.
    heir: Type.Optional(ref(Id)),
  },
  { ...closed, $id: 'HeartbeatBody' },
);
export type HeartbeatBody = Static<typeof HeartbeatBody>;

/** A handoff tells the chosen member to stand now, on the primary's behalf. */
export const HandoffBody = Type.Object({ clusterId: ref(Id), term: ref(Term), primaryId: ref(Id) }, { ...closed, $id: 'HandoffBody' });
export type HandoffBody = Static<typeof HandoffBody>;

// ---- replies ----

const refusal = <const C extends string, P extends Record<string, TSchema>>(code: C, props: P) => Type.Object({ code: Type.Literal(code), ...props }, closed);

export const Refusal = Type.Union(
  [
    refusal('wrong_cluster', { clusterId: Type.Union([ref(Id), Type.Null()]), candidateClusterId: ref(Id) }),
    refusal('config_behind', { candidateConfig: ref(ConfigPosition), voterConfig: ref(ConfigPosition) }),
    refusal('watermark_not_covered', { candidatePosition: ref(LogPosition), commitWatermark: ref(LogPosition) }),
    refusal('not_a_member', { candidateId: ref(Id) }),
    refusal('not_electable', { candidateId: ref(Id) }),
    refusal('not_voting', { voterId: ref(Id), why: StringEnum(['not_a_member', 'catching_up', 'position_unknown'] as const) }),
    refusal('stale_term', { candidateTerm: ref(Count), voterTerm: ref(Count) }),
    refusal('log_behind', { candidatePosition: ref(LogPosition), voterPosition: ref(LogPosition) }),
    refusal('primary_alive', {
      // Null while a freshly started voter cannot yet know the primary.
      primaryId: Type.Union([ref(Id), Type.Null()]),
      // Measured on the voter's monotonic clock: it may carry a fraction.
      lastHeartbeatAgoMs: Type.Number({ minimum: 0, description: 'milliseconds since the voter last heard the primary' }),
    }),
    refusal('already_voted', { term: ref(Count), votedFor: ref(Id) }),
    // Maintenance mode: the voter grants only a candidate the primary handed over to.
    refusal('paused', { voterId: ref(Id) }),
  ],
  { $id: 'Refusal', description: 'Why a voter refused: a code and its details.' },
);
export type Refusal = Frozen<Static<typeof Refusal>>;
export type RefusalCode = Refusal['code'];

export const VoteReply = Type.Object(
  {
    granted: Type.Boolean(),
    term: ref(Count),
    voterId: ref(Id),
    reason: Type.Optional(ref(Refusal)),
    // With a grant: how long ago, on the voter's clock, it last acknowledged
    // a primary that may still hold a lease (a heartbeat, a ballot it
    // granted, or its own start, which stands for whatever it acknowledged
    // before it restarted). The winner waits out that primary's lease; a
    // grant without it counts as just now, the longest wait.
    lastAckAgoMs: Type.Optional(Type.Number({ minimum: 0, maximum: 86_400_000, description: 'milliseconds since the voter last acknowledged a primary' })),
    // With a refusal, when the voter's configuration is later than the candidate's: the candidate takes it.
    config: Type.Optional(ref(ClusterConfig)),
  },
  { ...closed, $id: 'VoteReply' },
);
export type VoteReply = Static<typeof VoteReply>;

export const HeartbeatReply = Type.Object(
  {
    term: ref(Count),
    success: Type.Boolean(),
    memberId: ref(Id),
    // The member's durable log position; null for witnesses.
    position: Type.Union([ref(LogPosition), Type.Null()]),
    // The member's configuration position after this heartbeat; null while it holds none.
    config: Type.Union([ref(ConfigPosition), Type.Null()]),
  },
  { ...closed, $id: 'HeartbeatReply' },
);
export type HeartbeatReply = Static<typeof HeartbeatReply>;

// ---- protocol messages: a wire body plus the fields that stay local ----

export type VoteRequest = Frozen<{ type: 'vote_request'; round: number } & VoteBody>;

/** dryRun is the request's, kept beside it: the reply does not repeat it. */
export type VoteResponse = Frozen<{ type: 'vote_response'; round: number; dryRun: boolean } & VoteReply>;

export type Heartbeat = Frozen<{ type: 'heartbeat'; round: number } & HeartbeatBody>;

export type HeartbeatResponse = Frozen<{ type: 'heartbeat_response'; round: number } & HeartbeatReply>;

/** Handoff has no reply, so it needs no round. */
export type Handoff = Frozen<{ type: 'handoff' } & HandoffBody>;

export type Message = VoteRequest | VoteResponse | Heartbeat | HeartbeatResponse | Handoff;

/**
 * wireReferences are the schemas a wire body or reply refers to by $id: a
 * TypeBox checker resolves each `$ref` against this list.
 */
export const wireReferences: readonly TSchema[] = [
  Count,
  Term,
  Id,
  MemberUrl,
  MemberKind,
  MemberState,
  LogPosition,
  Member,
  TimingsSchema,
  ClusterConfig,
  ConfigPosition,
  Refusal,
];
