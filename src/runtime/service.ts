// The contract between the HTTP layer (src/app.ts, routes/) and the runtime
// that drives a protocol node (src/runtime/node-runtime.ts). Routes validate
// and translate; everything they can ask of a node is here. The body types are
// the wire shapes of the API, field for field (see openapi.yaml).

import type { Static } from '@sinclair/typebox';
import type { Registry } from 'prom-client';
import type { ClusterConfig, ConfigChange, HandoffBody, HeartbeatBody, HeartbeatReply, Member, VoteBody, VoteReply } from '../core/index.js';
import type {
  Check as CheckSchema,
  ClusterView as ClusterViewSchema,
  ElectionView as ElectionViewSchema,
  WhyReply as WhyReplySchema,
  HistoryEntry as HistoryEntrySchema,
  MemberView as MemberViewSchema,
  MembersView as MembersViewSchema,
  PositionReply as PositionReplySchema,
  PositionReport as PositionReportSchema,
  StatusView as StatusViewSchema,
  SwitchoverReply as SwitchoverReplySchema,
} from '../schemas.js';

// The peer bodies and replies are the static types of the core's wire schemas
// (src/core/messages.ts): written once there, used here as they are.
export type { HandoffBody, HeartbeatBody, HeartbeatReply, VoteBody, VoteReply };

/** A member as the API writes it: the static type of the core's member schema. */
export type WireMember = Static<typeof Member>;

// The views and the switchover reply are the static types of the HTTP schemas
// (src/schemas.ts), which also serialize them and document them in openapi.yaml.
export type SwitchoverReply = Static<typeof SwitchoverReplySchema>;
/**
 * How a switchover ended: a reply, or a refusal (with the core's reason) or
 * an abandonment, which routes/switchover.ts answers as errors.
 */
export type SwitchoverOutcome =
  | SwitchoverReply
  | { readonly status: 'refused'; readonly reason: string }
  | { readonly status: 'abandoned'; readonly target: string };
export type StatusView = Static<typeof StatusViewSchema>;
export type PositionReport = Static<typeof PositionReportSchema>;
export type PositionReply = Static<typeof PositionReplySchema>;
export type MemberView = Static<typeof MemberViewSchema>;
export type MembersView = Static<typeof MembersViewSchema>;
export type HistoryEntry = Static<typeof HistoryEntrySchema>;
export type Check = Static<typeof CheckSchema>;
export type ClusterView = Static<typeof ClusterViewSchema>;
export type ElectionView = Static<typeof ElectionViewSchema>;
export type WhyReply = Static<typeof WhyReplySchema>;

/** What a membership change left in force: the committed configuration, or the one that already said so. */
export interface MembershipChange {
  readonly status: 'committed' | 'unchanged';
  readonly config: ClusterConfig;
}

export interface QuorumService {
  readonly id: string;
  readonly registry: Registry;
  vote(body: VoteBody): VoteReply;
  heartbeat(body: HeartbeatBody): HeartbeatReply;
  handoff(body: HandoffBody): void;
  /**
   * The local data store's agent reports this node's durable position; the
   * reply is the status after it and the lease on the agent's clock
   * (leaseUntil when the report carries agentClockMs, else leaseRemainingMs).
   */
  reportPosition(report: PositionReport): PositionReply;
  /** Resolves once the switchover finished, was refused, or was abandoned. */
  switchover(target: string | null): Promise<SwitchoverOutcome>;
  /**
   * One membership change, made by this node as the primary; resolves once
   * committed. Throws ApiError: not_primary (forward it to primaryUrl()),
   * unknown_member, change_in_progress, would_break_cluster, not_caught_up,
   * change_timed_out, change_interrupted.
   */
  changeMembers(change: ConfigChange): Promise<MembershipChange>;
  /** The url of the primary this node follows, or null (none known, or this node). */
  primaryUrl(): string | null;
  status(): StatusView;
  members(): MembersView;
  /**
   * The whole cluster as this node sees it: the primary's view on the
   * primary, else this node's partial view, saying why (`partialBecause`).
   * GET /cluster asks the primary for its view first.
   */
  cluster(partialBecause: string | null): ClusterView;
  /** Whether this node would be elected now: a dry-run probe to every other voter, which changes nothing anywhere. */
  why(): Promise<WhyReply>;
  history(): HistoryEntry[];
  /** Liveness: this process and its store, never the cluster. */
  health(): Check;
  /** Readiness: able to take part in quorum (healthy, a voting member, a data node with a reported position). */
  readiness(): Check;
  /** 200 on /primary: the primary holding its lease. */
  isPrimary(): boolean;
  /** 200 on /replica: a healthy data follower that hears its primary. */
  isReplica(): boolean;
}
