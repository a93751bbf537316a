// The contract between the HTTP layer (src/app.ts, routes/) and the runtime
// that drives a protocol node (src/runtime/node-runtime.ts). Routes validate
// and translate; everything they can ask of a node is here. The body types are
// the wire shapes of the API, field for field (see openapi.yaml).

import type { Static } from '@sinclair/typebox';
import type { Registry } from 'prom-client';
import type {
  HandoffBody,
  HeartbeatBody,
  HeartbeatReply,
  LogPosition,
  Member,
  MemberKind,
  Role,
  VoteBody,
  VoteReply,
} from '../core/index.js';

// The peer bodies and replies are the static types of the core's wire schemas
// (src/core/messages.ts): written once there, used here as they are.
export type { HandoffBody, HeartbeatBody, HeartbeatReply, VoteBody, VoteReply };

/** A member as the API writes it: the static type of the core's member schema. */
export type WireMember = Static<typeof Member>;

export type SwitchoverReply =
  | { status: 'started'; target: string }
  | { status: 'refused'; reason: string }
  | { status: 'completed'; target: string; term: number }
  | { status: 'abandoned'; target: string };

export interface StatusView {
  id: string;
  kind: MemberKind;
  role: Role;
  term: number;
  votedFor: string | null;
  primaryId: string | null;
  /** This node's durable log position as last reported; null if unknown or a witness. */
  position: LogPosition | null;
  commitWatermark: LogPosition;
  lease: { holds: boolean; remainingMs: number };
  timings: { heartbeatMs: number; electionTimeoutMs: number; electionJitterMs: number; leaseMs: number };
  startedAt: string;
}

export interface MemberView extends WireMember {
  voter: boolean;
  electable: boolean;
  /** What this node last knew of the member. */
  role: Role | 'unknown';
  position: LogPosition | null;
  lastContactAgoMs: number | null;
}

export interface MembersView {
  version: number;
  quorum: number;
  voters: number;
  watermarkHolders: number;
  members: MemberView[];
}

export interface HistoryEntry {
  term: number;
  primaryId: string;
  /** When this node learned that primaryId leads term (ISO 8601). */
  at: string;
  /** elected: this node won; heartbeat: it heard the new primary. */
  reason: 'elected' | 'heartbeat';
}

export interface Check {
  ok: boolean;
  reason?: string;
}

export interface QuorumService {
  readonly id: string;
  readonly registry: Registry;
  vote(body: VoteBody): VoteReply;
  heartbeat(body: HeartbeatBody): HeartbeatReply;
  handoff(body: HandoffBody): void;
  /** The local data store's agent reports this node's durable position. */
  reportPosition(position: LogPosition): StatusView;
  /** Resolves once the switchover finished, was refused, or was abandoned. */
  switchover(target: string | null): Promise<SwitchoverReply>;
  status(): StatusView;
  members(): MembersView;
  history(): HistoryEntry[];
  /** Liveness: this process and its store, never the cluster. */
  health(): Check;
  /** Readiness: ready to serve its role (primary with lease, or a follower that knows its primary). */
  readiness(): Check;
  /** 200 on /primary: the primary holding its lease. */
  isPrimary(): boolean;
  /** 200 on /replica: a healthy data follower that hears its primary. */
  isReplica(): boolean;
}
