// The wire schemas of the HTTP API, written once in TypeBox. Each carries a
// `$id`: the app adds them as shared schemas, routes refer to them with
// `ref()`, Ajv validates requests against them, fast-json-stringify
// serializes replies with them, and @fastify/swagger emits each one once
// under components/schemas in openapi.yaml. The compile-time checks at the
// end keep them equal, field for field, to the types in
// src/runtime/service.ts that the runtime implements.

import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import type { LogPosition as CoreLogPosition, Refusal as CoreRefusal } from './core/index.js';
import type {
  Check as ServiceCheck,
  HandoffBody as ServiceHandoffBody,
  HeartbeatBody as ServiceHeartbeatBody,
  HeartbeatReply as ServiceHeartbeatReply,
  HistoryEntry as ServiceHistoryEntry,
  MembersView as ServiceMembersView,
  StatusView as ServiceStatusView,
  SwitchoverReply as ServiceSwitchoverReply,
  VoteBody as ServiceVoteBody,
  VoteReply as ServiceVoteReply,
  WireMember as ServiceWireMember,
} from './runtime/service.js';

/** ref points at a shared schema by its $id while keeping its static type. */
export function ref<T extends TSchema>(schema: T): TUnsafe<Static<T>> {
  if (schema.$id === undefined) throw new Error('ref() needs a schema with an $id');
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id));
}

/** refWith points at a shared schema and says what this use of it means (a response's description). */
export function refWith<T extends TSchema>(schema: T, description: string): TUnsafe<Static<T>> {
  if (schema.$id === undefined) throw new Error('refWith() needs a schema with an $id');
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id, { description }));
}

/** StringEnum is a plain `enum` of strings, which Ajv reports in one clear error. */
function StringEnum<const T extends readonly string[]>(values: T, options: { $id?: string; description?: string } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** The largest integer the API accepts: 2^53 - 1, the last one a JSON number carries exactly. */
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;

// The `description` of each primitive schema below completes the sentence
// "<field> must be ...": validation error messages use it as written.

export const Count = Type.Integer({
  $id: 'Count',
  minimum: 0,
  maximum: MAX_COUNT,
  description: `a whole number from 0 to ${MAX_COUNT}`,
});

export const ID_PATTERN = '^[A-Za-z0-9._-]{1,64}$';
export const ID_DESCRIPTION = '1 to 64 characters of A-Z, a-z, 0-9, ".", "_" and "-"';
export const Id = Type.String({ $id: 'Id', pattern: ID_PATTERN, description: ID_DESCRIPTION });

export const URL_PATTERN = '^https?://[^\\s/?#]+(/[^\\s?#]*)?$';
export const URL_MAX_LENGTH = 256;
export const URL_DESCRIPTION = `an http:// or https:// URL (no query or fragment) of at most ${URL_MAX_LENGTH} characters`;
export const MemberUrl = Type.String({ $id: 'MemberUrl', pattern: URL_PATTERN, maxLength: URL_MAX_LENGTH, description: URL_DESCRIPTION });

export const MemberKind = StringEnum(['data', 'witness'] as const, {
  $id: 'MemberKind',
  description: 'one of "data" and "witness"',
});

export const MemberState = StringEnum(['voting', 'catching_up'] as const, {
  $id: 'MemberState',
  description: 'one of "voting" and "catching_up"',
});

export const Role = StringEnum(['follower', 'precandidate', 'candidate', 'primary'] as const, {
  $id: 'Role',
  description: 'one of "follower", "precandidate", "candidate" and "primary"',
});

/** The $ids of the schemas whose description completes "<field> must be ...". */
export const describedPrimitives: ReadonlySet<string> = new Set(['Count', 'Id', 'MemberUrl', 'MemberKind', 'MemberState', 'Role']);

const closed = { additionalProperties: false } as const;

export const LogPosition = Type.Object(
  { term: ref(Count), lsn: ref(Count) },
  { ...closed, $id: 'LogPosition', description: 'The { term, lsn } of the last durable entry of a log; positions compare by term, then lsn.' },
);

export const WireMember = Type.Object(
  { id: ref(Id), url: ref(MemberUrl), kind: ref(MemberKind), state: ref(MemberState) },
  { ...closed, $id: 'WireMember' },
);

/** The most members a membership list may carry; the body limit is sized for 16. */
export const MAX_MEMBERS = 64;

export const Membership = Type.Object(
  { version: ref(Count), members: Type.Array(ref(WireMember), { minItems: 1, maxItems: MAX_MEMBERS }) },
  { ...closed, $id: 'Membership' },
);

// ---- requests ----

export const VoteBody = Type.Object(
  {
    candidateId: ref(Id),
    term: ref(Count),
    lastLogTerm: ref(Count),
    lastLogLsn: ref(Count),
    dryRun: Type.Boolean({ description: 'true for a probe, which never persists and never advances the voter\'s term' }),
    handoff: Type.Optional(Type.Boolean({ description: 'set by a candidate the primary handed leadership to' })),
  },
  { ...closed, $id: 'VoteBody' },
);

export const HeartbeatBody = Type.Object(
  {
    term: ref(Count),
    primaryId: ref(Id),
    commitWatermark: ref(LogPosition),
    membership: ref(Membership),
    leaseMs: ref(Count),
    handoffTo: Type.Optional(ref(Id)),
    heir: Type.Optional(ref(Id)),
  },
  { ...closed, $id: 'HeartbeatBody' },
);

export const HandoffBody = Type.Object({ term: ref(Count), primaryId: ref(Id) }, { ...closed, $id: 'HandoffBody' });

export const SwitchoverBody = Type.Object(
  { target: Type.Optional(ref(Id)) },
  { ...closed, $id: 'SwitchoverBody', description: 'Without a target the primary picks the best member.' },
);

// ---- replies ----

const refusal = <const C extends string, P extends Record<string, TSchema>>(code: C, props: P) =>
  Type.Object({ code: Type.Literal(code), ...props }, closed);

export const Refusal = Type.Union(
  [
    refusal('watermark_not_covered', { candidatePosition: ref(LogPosition), commitWatermark: ref(LogPosition) }),
    refusal('not_a_member', { candidateId: ref(Id) }),
    refusal('not_electable', { candidateId: ref(Id) }),
    refusal('not_voting', { voterId: ref(Id), why: StringEnum(['not_a_member', 'catching_up', 'position_unknown'] as const) }),
    refusal('stale_term', { candidateTerm: ref(Count), voterTerm: ref(Count) }),
    refusal('log_behind', { candidatePosition: ref(LogPosition), voterPosition: ref(LogPosition) }),
    refusal('primary_alive', {
      primaryId: Type.Union([ref(Id), Type.Null()]),
      // Measured on the voter's monotonic clock: it may carry a fraction.
      lastHeartbeatAgoMs: Type.Number({ minimum: 0, description: 'milliseconds since the voter last heard the primary' }),
    }),
    refusal('already_voted', { term: ref(Count), votedFor: ref(Id) }),
  ],
  { $id: 'Refusal', description: 'Why a voter refused: a code and its details.' },
);

export const VoteReply = Type.Object(
  { granted: Type.Boolean(), term: ref(Count), voterId: ref(Id), reason: Type.Optional(ref(Refusal)) },
  { ...closed, $id: 'VoteReply' },
);

const NullablePosition = Type.Union([ref(LogPosition), Type.Null()]);

export const HeartbeatReply = Type.Object(
  { term: ref(Count), success: Type.Boolean(), memberId: ref(Id), position: NullablePosition },
  { ...closed, $id: 'HeartbeatReply' },
);

export const SwitchoverReply = Type.Union(
  [
    Type.Object({ status: Type.Literal('started'), target: ref(Id) }, closed),
    Type.Object({ status: Type.Literal('refused'), reason: Type.String() }, closed),
    Type.Object({ status: Type.Literal('completed'), target: ref(Id), term: ref(Count) }, closed),
    Type.Object({ status: Type.Literal('abandoned'), target: ref(Id) }, closed),
  ],
  { $id: 'SwitchoverReply' },
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
    timings: Type.Object(
      { heartbeatMs: ref(Count), electionTimeoutMs: ref(Count), electionJitterMs: ref(Count), leaseMs: ref(Count) },
      closed,
    ),
    startedAt: Type.String({ format: 'date-time' }),
  },
  { ...closed, $id: 'StatusView' },
);

export const MemberView = Type.Object(
  {
    id: ref(Id),
    url: ref(MemberUrl),
    kind: ref(MemberKind),
    state: ref(MemberState),
    voter: Type.Boolean(),
    electable: Type.Boolean(),
    role: Type.Union([ref(Role), Type.Literal('unknown')]),
    position: NullablePosition,
    lastContactAgoMs: Type.Union([ref(Count), Type.Null()]),
  },
  { ...closed, $id: 'MemberView' },
);

export const MembersView = Type.Object(
  {
    version: ref(Count),
    quorum: ref(Count),
    voters: ref(Count),
    watermarkHolders: ref(Count),
    members: Type.Array(ref(MemberView)),
  },
  { ...closed, $id: 'MembersView' },
);

export const HistoryEntry = Type.Object(
  {
    term: ref(Count),
    primaryId: ref(Id),
    at: Type.String({ format: 'date-time' }),
    reason: StringEnum(['elected', 'heartbeat'] as const),
  },
  { ...closed, $id: 'HistoryEntry' },
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
        code: Type.String({ description: 'A stable snake_case code, e.g. invalid_request, unauthorized, not_found.' }),
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
  401: refWith(ErrorReply, 'A cluster token is configured and the request does not carry it.'),
  409: refWith(ErrorReply, 'The node cannot do this in its present state.'),
  413: refWith(ErrorReply, 'The body is larger than the limit.'),
  415: refWith(ErrorReply, 'The body is not sent as application/json.'),
  503: refWith(ErrorReply, 'The node hit a fatal fault and answers nothing.'),
} as const;

/** The security scheme protected routes declare; the app enforces it when a token is configured. */
export const BEARER = 'bearerAuth';
export const requiresToken: Array<Record<string, string[]>> = [{ [BEARER]: [] }];

/** Every shared schema, in the order the app adds them. */
export const sharedSchemas: readonly TSchema[] = [
  Count,
  Id,
  MemberUrl,
  MemberKind,
  MemberState,
  Role,
  LogPosition,
  WireMember,
  Membership,
  VoteBody,
  HeartbeatBody,
  HandoffBody,
  SwitchoverBody,
  Refusal,
  VoteReply,
  HeartbeatReply,
  SwitchoverReply,
  StatusView,
  MemberView,
  MembersView,
  HistoryEntry,
  History,
  Check,
  RoleProbe,
  ErrorReply,
];

// ---- the schemas and the service contract describe the same values ----

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type SchemasMatchServiceTypes = [
  Assert<Same<Static<typeof LogPosition>, CoreLogPosition>>,
  Assert<Same<Static<typeof WireMember>, ServiceWireMember>>,
  Assert<Same<Static<typeof VoteBody>, ServiceVoteBody>>,
  Assert<Same<Static<typeof VoteReply>, ServiceVoteReply>>,
  Assert<Same<Static<typeof Refusal>, CoreRefusal>>,
  Assert<Same<Static<typeof HeartbeatBody>, ServiceHeartbeatBody>>,
  Assert<Same<Static<typeof HeartbeatReply>, ServiceHeartbeatReply>>,
  Assert<Same<Static<typeof HandoffBody>, ServiceHandoffBody>>,
  Assert<Same<Static<typeof SwitchoverReply>, ServiceSwitchoverReply>>,
  Assert<Same<Static<typeof StatusView>, ServiceStatusView>>,
  Assert<Same<Static<typeof MembersView>, ServiceMembersView>>,
  Assert<Same<Static<typeof HistoryEntry>, ServiceHistoryEntry>>,
  Assert<Same<Static<typeof Check>, ServiceCheck>>,
];
