// The schemas of the HTTP API. The peer wire format (the vote, heartbeat and
// handoff bodies and replies, and the primitives they are made of) is written
// once in the core (src/core/messages.ts and its siblings) and only listed
// here; the schemas below are the HTTP-only ones: the status, members and
// history views, the probes, switchover and errors. Each carries a `$id`: the
// app adds them as shared schemas, routes refer to them with `ref()`, Ajv
// validates requests against them, fast-json-stringify serializes replies
// with them, and the OpenAPI generator (scripts/openapi.ts) emits each one
// once under components/schemas in openapi.yaml. The service contract
// (src/runtime/service.ts) takes the views' types from these schemas.

import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import {
  HandoffBody,
  HeartbeatBody,
  HeartbeatReply,
  LogPosition,
  Member,
  MemberKind,
  MemberState,
  ClusterConfig,
  ConfigPosition,
  TimingsSchema,
  Refusal,
  VoteBody,
  VoteReply,
} from './core/index.js';
import { Count, Id, MemberUrl, StringEnum, Term, closed, ref } from './core/wire-types.js';

export { ClusterConfig, ConfigPosition, HandoffBody, HeartbeatBody, HeartbeatReply, LogPosition, MemberKind, MemberState, Refusal, VoteBody, VoteReply };
export { Member as WireMember, MAX_MEMBERS } from './core/index.js';
export {
  Count,
  ID_DESCRIPTION,
  ID_PATTERN,
  Id,
  MAX_COUNT,
  MAX_TERM,
  MemberUrl,
  Term,
  URL_DESCRIPTION,
  URL_MAX_LENGTH,
  URL_PATTERN,
  ref,
} from './core/wire-types.js';

/** refWith points at a shared schema and says what this use of it means (a response's description). */
export function refWith<T extends TSchema>(schema: T, description: string): TUnsafe<Static<T>> {
  if (schema.$id === undefined) throw new Error('refWith() needs a schema with an $id');
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id, { description }));
}

// Role's `description` completes the sentence "<field> must be ...", as the
// wire primitives' do: validation error messages use it as written.
export const Role = StringEnum(['follower', 'precandidate', 'candidate', 'primary'] as const, {
  $id: 'Role',
  description: 'one of "follower", "precandidate", "candidate" and "primary"',
});

/** The $ids of the schemas whose description completes "<field> must be ...". */
export const describedPrimitives: ReadonlySet<string> = new Set(['Count', 'Term', 'Id', 'MemberUrl', 'MemberKind', 'MemberState', 'Role']);

// ---- requests ----

export const SwitchoverBody = Type.Object(
  { target: Type.Optional(ref(Id)) },
  { ...closed, $id: 'SwitchoverBody', description: 'Without a target the primary picks the best member.' },
);

/**
 * PUT /log: the agent's report of this node's durable position and, if it
 * wants the lease on its own clock, a reading of its monotonic clock.
 */
export const PositionReport = Type.Object(
  {
    term: ref(Term),
    lsn: ref(Count),
    agentClockMs: Type.Optional(
      refWith(
        Count,
        "The agent's monotonic clock, in whole milliseconds (rounded down), read before it sent this report: the reply's leaseUntil is an instant on that clock.",
      ),
    ),
  },
  {
    ...closed,
    $id: 'PositionReport',
    description: "The { term, lsn } of the last durable entry of this node's log, and optionally the agent's clock reading.",
  },
);

/** PUT /members/{id}: the member as it should be; the id is the path's. */
export const PutMemberBody = Type.Object(
  {
    url: ref(MemberUrl),
    kind: ref(MemberKind),
    state: Type.Optional(ref(MemberState)),
    autoPromote: Type.Optional(Type.Boolean({ description: 'false: the primary never promotes this member by itself (default true)' })),
    priority: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100,
        description: 'failover priority: higher is preferred as heir and switchover target; 0 never becomes primary (default 1)',
      }),
    ),
  },
  {
    ...closed,
    $id: 'PutMemberBody',
    description:
      'A new member joins catching_up (state may be omitted) and the primary promotes it once it has caught up; for a member already listed, the fields given replace its own, and an omitted state keeps it.',
  },
);

// ---- replies ----

const NullablePosition = Type.Union([ref(LogPosition), Type.Null()]);
// A refused or abandoned switchover is an error, answered as ErrorReply
// (switchover_refused, switchover_abandoned); only its successes are here.
export const SwitchoverReply = Type.Union(
  [
    Type.Object({ status: Type.Literal('started'), target: ref(Id) }, closed),
    Type.Object({ status: Type.Literal('completed'), target: ref(Id), term: ref(Count) }, closed),
  ],
  { $id: 'SwitchoverReply' },
);

/** One voter that refused a round, and why: its refusal, or null when no usable answer came (unreachable, timed out). */
export const VoterRefusal = Type.Object(
  { voterId: ref(Id), reason: Type.Union([ref(Refusal), Type.Null()]) },
  { ...closed, $id: 'VoterRefusal', description: 'A voter that did not grant, and its refusal; reason null: no usable answer came.' },
);

export const ElectionView = Type.Object(
  {
    kind: StringEnum(['elected', 'probe_failed', 'lost', 'timed_out'] as const, {
      description: 'elected; probe_failed: the dry-run probe found no majority; lost: the ballot found none; timed_out: no majority either way in time',
    }),
    term: refWith(Count, 'The term stood for.'),
    votes: refWith(Count, 'The grants counted, its own included.'),
    needed: refWith(Count, 'The quorum of the voters.'),
    refusals: Type.Array(ref(VoterRefusal), { description: 'The voters that refused, with their reasons, in the order they answered.' }),
    at: Type.String({ format: 'date-time', description: 'When the election ended.' }),
  },
  { ...closed, $id: 'ElectionView', description: "The outcome of this node's last election (one it held: a node that may not stand holds none)." },
);

export const StatusView = Type.Object(
  {
    id: ref(Id),
    kind: ref(MemberKind),
    role: ref(Role),
    term: ref(Count),
    votedFor: Type.Union([ref(Id), Type.Null()]),
    primaryId: Type.Union([ref(Id), Type.Null()]),
    position: NullablePosition,
    commitWatermark: ref(LogPosition),
    lease: Type.Object({ holds: Type.Boolean(), remainingMs: ref(Count) }, closed),
    timings: Type.Object({ heartbeatMs: ref(Count), electionTimeoutMs: ref(Count), electionJitterMs: ref(Count), leaseMs: ref(Count) }, closed),
    clusterId: Type.Union([ref(Id), Type.Null()], { description: 'The cluster this node belongs to; null while it joins and has not heard the primary.' }),
    config: Type.Union([ref(ConfigPosition), Type.Null()], { description: "The position of this node's cluster configuration; null while it joins." }),
    membership: StringEnum(['member', 'joining', 'removed'] as const, {
      description:
        'member: listed in its configuration; joining: holds no configuration yet; removed: its configuration no longer lists it, so it neither votes nor stands',
    }),
    paused: Type.Boolean({ description: 'Whether automatic failover is paused (maintenance mode): no member stands by itself; a switchover still works.' }),
    configDifferences: Type.Array(Type.String(), {
      description: "Where this node's own settings (environment, flags, file) differ from the replicated configuration, which wins; empty when they agree.",
    }),
    lastElection: Type.Union([ref(ElectionView), Type.Null()], { description: 'The last election this node held since it started; null if none.' }),
    startedAt: Type.String({ format: 'date-time' }),
  },
  { ...closed, $id: 'StatusView' },
);

/**
 * The PUT /log reply: the node's status and the lease on the agent's clock,
 * so that a store can stop serving when the lease ends even if quorumd is
 * hung or dead. Exactly one of leaseUntil (with agentClockMs) and
 * leaseRemainingMs (without) is present.
 */
export const PositionReply = Type.Object(
  {
    ...StatusView.properties,
    leaseUntil: Type.Optional(
      Type.Union([ref(Count), Type.Null()], {
        description:
          "With agentClockMs: the instant on the agent's clock before which this node may serve as primary (serve while the clock reads less); null when it may not (not the primary, or no lease).",
      }),
    ),
    leaseRemainingMs: Type.Optional(
      Type.Union([ref(Count), Type.Null()], {
        description:
          "Without agentClockMs: how long this node may serve as primary, counted on the agent's clock from a reading taken before it sent the report; null when it may not.",
      }),
    ),
  },
  { ...closed, $id: 'PositionReply', description: "This node's status after the report, and how long it may serve as primary on the agent's clock." },
);

export const MemberView = Type.Object(
  {
    id: ref(Id),
    url: ref(MemberUrl),
    kind: ref(MemberKind),
    state: ref(MemberState),
    autoPromote: Type.Boolean({ description: 'Whether the primary promotes this member by itself once it has caught up.' }),
    priority: Type.Integer({
      minimum: 0,
      maximum: 100,
      description: 'Failover priority: higher is preferred as heir and switchover target; 0 never becomes primary.',
    }),
    voter: Type.Boolean(),
    electable: Type.Boolean(),
    role: Type.Union([ref(Role), Type.Literal('unknown')]),
    position: NullablePosition,
    lastContactAgoMs: Type.Union([ref(Count), Type.Null()]),
    answersAs: Type.Union([ref(Id), Type.Null()], {
      description: "The id this member's url last answered as, when that is another member's: its replies are not counted. Null otherwise.",
    }),
  },
  { ...closed, $id: 'MemberView' },
);

export const MembersView = Type.Object(
  {
    clusterId: Type.Union([ref(Id), Type.Null()]),
    configTerm: refWith(Term, 'The term of the primary that wrote this configuration.'),
    version: ref(Count),
    committed: Type.Union([Type.Boolean(), Type.Null()], {
      description: 'On the primary, whether this configuration is committed (a majority of its voters hold it); null on other members, which cannot know.',
    }),
    pendingVersion: Type.Union([ref(Count), Type.Null()], { description: 'On the primary, the version of the change under way; null if none.' }),
    quorum: ref(Count),
    voters: ref(Count),
    watermarkHolders: ref(Count),
    members: Type.Array(ref(MemberView)),
  },
  { ...closed, $id: 'MembersView' },
);

export const ClusterMember = Type.Object(
  {
    id: ref(Id),
    url: ref(MemberUrl),
    kind: ref(MemberKind),
    state: ref(MemberState),
    autoPromote: Type.Boolean(),
    priority: Type.Integer({
      minimum: 0,
      maximum: 100,
      description: 'Failover priority: higher is preferred as heir and switchover target; 0 never becomes primary.',
    }),
    voter: Type.Boolean(),
    role: Type.Union([ref(Role), Type.Literal('unknown')], {
      description: 'unknown: not heard lately by the node whose view this is (or, in a partial view, a member it cannot tell about)',
    }),
    term: Type.Union([ref(Count), Type.Null()], {
      description:
        "The member's term, where known: the viewing node's own, and that of the members it heard lately (they answer only in its term); null otherwise.",
    }),
    position: NullablePosition,
    lag: Type.Union([ref(Count), Type.Null()], {
      description:
        'How many lsn the position is behind the commit watermark (0 at or past it); null when the position is unknown or of another term than the watermark.',
    }),
    lastContactAgoMs: Type.Union([ref(Count), Type.Null()], { description: 'Milliseconds since the viewing node last heard it; 0 for itself; null if never.' }),
    electable: Type.Boolean({ description: 'Whether it could stand in an election now, as the viewing node judges it.' }),
    notElectableBecause: Type.Union([Type.String(), Type.Null()], { description: 'Why it could not stand now; null when electable.' }),
    answersAs: Type.Union([ref(Id), Type.Null()], { description: "The id this member's url last answered as, when that is another member's; null otherwise." }),
  },
  { ...closed, $id: 'ClusterMember' },
);

export const ClusterView = Type.Object(
  {
    view: StringEnum(['primary', 'partial'] as const, {
      description:
        "primary: the primary's view, which hears every member; partial: the view of a node that is not the primary, when the primary could not be asked",
    }),
    viewedBy: refWith(Id, 'The node whose view this is.'),
    partialBecause: Type.Union([Type.String(), Type.Null()], {
      description: "Why the view is partial (no primary known, or the primary could not be reached); null for the primary's view.",
    }),
    clusterId: Type.Union([ref(Id), Type.Null()]),
    term: refWith(Count, "The viewing node's term."),
    primaryId: Type.Union([ref(Id), Type.Null()]),
    commitWatermark: ref(LogPosition),
    config: Type.Union([ref(ConfigPosition), Type.Null()]),
    committed: Type.Union([Type.Boolean(), Type.Null()], { description: "Whether the configuration is committed: the primary's view only, null otherwise." }),
    paused: Type.Boolean({ description: 'Whether automatic failover is paused (maintenance mode): no member stands by itself; a switchover still works.' }),
    quorum: ref(Count),
    voters: ref(Count),
    members: Type.Array(ref(ClusterMember)),
  },
  { ...closed, $id: 'ClusterView', description: 'The whole cluster in one view: each member, its role, position, lag, last contact and electability.' },
);

/** One voter's answer to a dry-run probe on behalf of a member. */
export const WhyVoterAnswer = Type.Object(
  {
    voterId: ref(Id),
    granted: Type.Boolean(),
    reason: Type.Union([ref(Refusal), Type.Null()], { description: 'The refusal, with its details; null when granted or when no usable answer came.' }),
    error: Type.Union([Type.String(), Type.Null()], {
      description: 'Why no answer came (unreachable, timed out, an HTTP error); null when the voter answered.',
    }),
  },
  { ...closed, $id: 'WhyVoterAnswer' },
);

export const WhyReply = Type.Object(
  {
    candidateId: refWith(Id, 'The node asked: the would-be candidate.'),
    kind: ref(MemberKind),
    term: refWith(Count, 'The term it would stand for: its own plus one.'),
    position: NullablePosition,
    config: Type.Union([ref(ConfigPosition), Type.Null()]),
    electable: Type.Boolean({ description: 'Whether it may stand at all, by its own judgement (the same as before an election).' }),
    notElectableBecause: Type.Union([Type.String(), Type.Null()]),
    probed: Type.Boolean({
      description: 'Whether the voters were probed: not for a node that cannot ask at all (a witness, a non-member, no configuration or no known position).',
    }),
    votes: refWith(Count, 'The grants its probe got, its own included when it is a voter.'),
    needed: refWith(Count, 'The quorum of the voters.'),
    wouldWin: Type.Boolean({ description: 'Electable, and the probe found a majority: it would pass the probe of an election held now.' }),
    voters: Type.Array(ref(WhyVoterAnswer), { description: 'Each other voter and its answer to the dry-run probe, in the configuration order.' }),
  },
  {
    ...closed,
    $id: 'WhyReply',
    description:
      'Whether this node would be elected now, and why not: a dry-run probe (the pre-vote of an election) sent to every voter, which changes nothing on them.',
  },
);

export const MembershipChangeReply = Type.Object(
  {
    status: StringEnum(['committed', 'unchanged'] as const, {
      description: 'committed: a majority of the new configuration holds it; unchanged: the configuration already said so',
    }),
    clusterId: ref(Id),
    configTerm: ref(Term),
    version: ref(Count),
    quorum: ref(Count),
    voters: ref(Count),
    members: Type.Array(ref(Member)),
    paused: Type.Boolean({ description: 'Whether automatic failover is paused (maintenance mode).' }),
  },
  { ...closed, $id: 'MembershipChangeReply', description: 'The configuration in force after the change: what was committed.' },
);

export const HistoryEntry = Type.Object(
  {
    term: ref(Count),
    primaryId: ref(Id),
    at: Type.String({ format: 'date-time' }),
    reason: StringEnum(['elected', 'heartbeat'] as const),
    election: Type.Optional(
      Type.Object(
        {
          cause: StringEnum(['timeout', 'evidence', 'handoff', 'resume'] as const, {
            description:
              "why the election began: a follower's election timeout ran out, the primary's port refused a connection, the primary handed over (switchover or shutdown), or an operator resumed failover",
          }),
          durationMs: Type.Number({ minimum: 0, description: "from the winner's first probe (or a handoff's ballot) to its win, on its clock" }),
          position: Type.Union([ref(LogPosition), Type.Null()], { description: "the winner's log position when it won" }),
          votes: ref(Count),
          needed: ref(Count),
        },
        closed,
      ),
    ),
  },
  {
    ...closed,
    $id: 'HistoryEntry',
    description: 'A term and its primary as this node learnt it; the winner also records how its election went.',
  },
);

export const History = Type.Array(ref(HistoryEntry), { $id: 'History' });

export const Check = Type.Object({ ok: Type.Boolean(), reason: Type.Optional(Type.String()) }, { ...closed, $id: 'Check' });

export const RoleProbe = Type.Object(
  {
    id: ref(Id),
    role: ref(Role),
    term: refWith(Count, 'The fencing token: refuse writes from any lower term.'),
    primaryId: Type.Union([ref(Id), Type.Null()]),
  },
  { ...closed, $id: 'RoleProbe', description: 'What /primary and /replica answer, 200 or 503 alike.' },
);

export const ErrorReply = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ description: 'A stable snake_case code, e.g. invalid_request, unauthorized, not_found, switchover_refused.' }),
        message: Type.String(),
        field: Type.Optional(Type.String({ description: 'The request field at fault, as a path such as membership.members[0].id.' })),
      },
      closed,
    ),
  },
  { ...closed, $id: 'ErrorReply', description: 'Every error the API answers has this shape.' },
);

/** The error replies a route may declare, by status. */
export const errorReplies = {
  400: refWith(ErrorReply, 'The request is not valid: the message and `field` say which field and why.'),
  401: refWith(ErrorReply, 'Credentials are configured and the request carries none this node knows (unauthorized).'),
  403: refWith(
    ErrorReply,
    "The request's credential belongs to another role (forbidden), or the body claims another member than the peer token proves (identity_mismatch).",
  ),
  409: refWith(ErrorReply, 'The node cannot do this in its present state.'),
  413: refWith(ErrorReply, 'The body is larger than the limit.'),
  415: refWith(ErrorReply, 'The body is not sent as application/json.'),
  503: refWith(ErrorReply, 'The node hit a fatal fault and answers nothing.'),
} as const;

/**
 * The security schemes. Each protected route declares the role whose
 * credential it takes (peer, agent or operator) or, as the alternative,
 * the shared token: OpenAPI reads a list of requirements as "any one of
 * these". A node enforces one of the two modes, whichever is configured.
 */
export const BEARER = 'bearerAuth';
export const PEER_AUTH = 'peerAuth';
export const AGENT_AUTH = 'agentAuth';
export const OPERATOR_AUTH = 'operatorAuth';

type Security = Array<Record<string, string[]>>;
export const peerSecurity: Security = [{ [PEER_AUTH]: [] }, { [BEARER]: [] }];
export const agentSecurity: Security = [{ [AGENT_AUTH]: [] }, { [BEARER]: [] }];
export const operatorSecurity: Security = [{ [OPERATOR_AUTH]: [] }, { [BEARER]: [] }];

export const securitySchemes = {
  [PEER_AUTH]: {
    type: 'http',
    scheme: 'bearer',
    description: "The calling member's own peer token (per-member credentials); the message may only claim that member's id.",
  },
  [AGENT_AUTH]: { type: 'http', scheme: 'bearer', description: "One of the data store agent's tokens (agentTokens)." },
  [OPERATOR_AUTH]: { type: 'http', scheme: 'bearer', description: 'One of the operator tokens (operatorTokens).' },
  [BEARER]: { type: 'http', scheme: 'bearer', description: 'The shared token, when the node runs in the shared-token mode instead.' },
} as const;

/** Every shared schema, in the order the app adds them. */
export const sharedSchemas: readonly TSchema[] = [
  Count,
  Term,
  Id,
  MemberUrl,
  MemberKind,
  MemberState,
  Role,
  LogPosition,
  Member,
  TimingsSchema,
  ClusterConfig,
  ConfigPosition,
  VoteBody,
  HeartbeatBody,
  HandoffBody,
  SwitchoverBody,
  PositionReport,
  PutMemberBody,
  Refusal,
  VoteReply,
  HeartbeatReply,
  SwitchoverReply,
  MembershipChangeReply,
  VoterRefusal,
  ElectionView,
  StatusView,
  PositionReply,
  MemberView,
  MembersView,
  ClusterMember,
  ClusterView,
  WhyVoterAnswer,
  WhyReply,
  HistoryEntry,
  History,
  Check,
  RoleProbe,
  ErrorReply,
];
