// Views of one protocol node for the HTTP API: its status, what it knows of
// the members, and the answers of the health, readiness, /primary and /replica
// probes. Each reads the node at a given time on its clock and changes nothing.

import {
  configPosition,
  covers,
  isElectable,
  isPaused,
  isVoter,
  priorityOf,
  quorumSize,
  voters,
  watermarkHolders,
  type LogPosition,
  type Member,
  type Node,
  type Role,
} from '../core/index.js';
import type { Check, ClusterView, ElectionView, MembersView, StatusView } from './service.js';

export function statusView(
  node: Node,
  now: number,
  startedAt: Date,
  configDifferences: readonly string[] = [],
  lastElection: ElectionView | null = null,
): StatusView {
  const hard = node.hardState;
  const config = node.config;
  const expiry = node.leaseExpiry;
  const t = node.timings;
  return {
    id: node.id,
    kind: node.self?.kind ?? 'data',
    role: node.currentRole,
    term: hard.term,
    votedFor: hard.votedFor,
    primaryId: node.knownPrimary,
    position: node.logPosition,
    commitWatermark: hard.commitWatermark,
    lease: { holds: node.holdsLease(now), remainingMs: expiry === null ? 0 : Math.max(0, Math.round(expiry - now)) },
    timings: {
      heartbeatMs: t.heartbeatMs,
      electionTimeoutMs: t.electionTimeoutMs,
      electionJitterMs: t.electionJitterMs,
      leaseMs: t.leaseMs,
    },
    clusterId: config?.clusterId ?? null,
    config: config ? { term: config.term, version: config.version } : null,
    membership: config === null ? 'joining' : node.self ? 'member' : 'removed',
    paused: isPaused(config),
    configDifferences: [...configDifferences],
    lastElection,
    startedAt: startedAt.toISOString(),
  };
}

/** configured: a member as the configuration has it, the way every view shows it. */
function configured(member: Member) {
  return {
    id: member.id,
    url: member.url,
    kind: member.kind,
    state: member.state,
    autoPromote: member.autoPromote ?? true,
    priority: priorityOf(member),
    voter: isVoter(member),
  };
}

/** seenOf: what this node last heard of a member (itself: now, at its own position). */
function seenOf(node: Node, member: Member, now: number) {
  const isSelf = member.id === node.id;
  if (isSelf) return { isSelf, position: node.logPosition, lastContactAgoMs: 0 };
  const contact = node.contactOf(member.id);
  return { isSelf, position: contact?.position ?? null, lastContactAgoMs: contact ? Math.round(now - contact.lastContactAt) : null };
}

/**
 * membersView: what this node knows of each member. `answersAs` holds the
 * members whose url last answered in another member's name.
 */
export function membersView(node: Node, now: number, answersAs: ReadonlyMap<string, string> = new Map()): MembersView {
  const config = node.config;
  const members = node.members;
  const voterCount = voters(members).length;
  const primaryId = node.knownPrimary;
  return {
    clusterId: config?.clusterId ?? null,
    configTerm: config?.term ?? 0,
    version: config?.version ?? 0,
    committed: node.configCommitted,
    pendingVersion: node.pendingChange,
    quorum: quorumSize(voterCount),
    voters: voterCount,
    watermarkHolders: watermarkHolders(voterCount),
    members: members.map((member) => {
      const seen = seenOf(node, member, now);
      const role: Role | 'unknown' = seen.isSelf
        ? node.currentRole
        : member.id === primaryId
          ? 'primary'
          : primaryId === node.id && seen.lastContactAgoMs !== null
            ? 'follower'
            : 'unknown';
      return {
        ...configured(member),
        electable: isElectable(member),
        role,
        position: seen.position,
        lastContactAgoMs: seen.lastContactAgoMs,
        answersAs: seen.isSelf ? null : (answersAs.get(member.id) ?? null),
      };
    }),
  };
}

/**
 * clusterView is the whole cluster as this node sees it: the primary's view
 * (it hears every member on each heartbeat) or, on any other node, a partial
 * one, with the reason it is partial. A member is "heard lately" when it
 * answered within an election timeout, the window the primary's own
 * switchover and promotions use.
 */
export function clusterView(node: Node, now: number, answersAs: ReadonlyMap<string, string>, partialBecause: string | null): ClusterView {
  const config = node.config;
  const hard = node.hardState;
  const primaryId = node.knownPrimary;
  const isPrimary = node.currentRole === 'primary';
  const window = node.timings.electionTimeoutMs;
  const voterCount = voters(node.members).length;
  return {
    view: isPrimary ? 'primary' : 'partial',
    viewedBy: node.id,
    partialBecause: isPrimary ? null : (partialBecause ?? 'this node is not the primary'),
    clusterId: config?.clusterId ?? null,
    term: hard.term,
    primaryId,
    commitWatermark: hard.commitWatermark,
    config: config ? configPosition(config) : null,
    committed: node.configCommitted,
    paused: isPaused(config),
    quorum: quorumSize(voterCount),
    voters: voterCount,
    members: node.members.map((member) => {
      const { isSelf, position, lastContactAgoMs } = seenOf(node, member, now);
      const heard = lastContactAgoMs !== null && lastContactAgoMs < window;
      const role: Role | 'unknown' = isSelf ? node.currentRole : member.id === primaryId ? 'primary' : isPrimary && heard ? 'follower' : 'unknown';
      const notElectableBecause = isSelf ? ownElectability(node) : whyNotElectable(member, position, hard.commitWatermark, heard);
      return {
        ...configured(member),
        role,
        term: heard ? hard.term : null,
        position,
        lag: lagBehind(position, hard.commitWatermark),
        lastContactAgoMs,
        electable: notElectableBecause === null,
        notElectableBecause,
        answersAs: isSelf ? null : (answersAs.get(member.id) ?? null),
      };
    }),
  };
}

/**
 * whyNotElectable judges another member as the core judges itself before
 * standing (Node.electability, whose reasons it words alike), from what this
 * node knows of it, plus one the core cannot see from inside: a member not
 * heard lately (down, or cut off) will not stand either.
 */
export function whyNotElectable(member: Member, position: LogPosition | null, watermark: LogPosition, heard: boolean): string | null {
  if (member.kind !== 'data') return 'a witness never stands';
  if (!isVoter(member)) return 'a catching-up member never stands';
  if (!isElectable(member)) return 'its priority is 0: it never stands';
  if (!heard) return 'it has not been heard lately';
  if (position === null) return 'its log position is not known';
  if (!covers(position, watermark)) return 'its log does not cover the commit watermark';
  return null;
}

/**
 * ownElectability is why this node may not stand: what the view says of any
 * member (a priority of 0 by its own words), then the node's own reasons (no
 * configuration, not a member, position unknown, no term left).
 */
export function ownElectability(node: Node): string | null {
  const self = node.self;
  const mine = self ? whyNotElectable(self, node.logPosition, node.hardState.commitWatermark, true) : null;
  return mine ?? node.electability();
}

/** lagBehind: how many lsn a position is behind the watermark, when both are of one term (lsns of different terms do not compare). */
export function lagBehind(position: LogPosition | null, watermark: LogPosition): number | null {
  if (position === null || position.term !== watermark.term) return null;
  return Math.max(0, watermark.lsn - position.lsn);
}

/** healthCheck is liveness: this process and its store, never the cluster. */
export function healthCheck(failed: Error | null): Check {
  if (failed) return { ok: false, reason: `fatal fault: ${failed.message}` };
  return { ok: true };
}

/**
 * readinessCheck: able to take part in quorum: healthy, a voting member of
 * the configuration it holds, and, for a data node, with a position its agent
 * reported (a data node neither votes nor stands before that). It does not
 * ask for a known primary: in a cluster with none, every member must stay
 * ready (a Service's endpoints, a PodDisruptionBudget's count) for the
 * election that ends it. Serving a role is what /primary and /replica say.
 */
export function readinessCheck(node: Node, failed: Error | null): Check {
  const health = healthCheck(failed);
  if (!health.ok) return health;
  if (node.config === null) return { ok: false, reason: 'joining: holds no cluster configuration yet' };
  const self = node.self;
  if (!self) return { ok: false, reason: 'removed: its cluster configuration no longer lists it' };
  if (!isVoter(self)) return { ok: false, reason: `not a voter: its state is ${self.state}` };
  if (self.kind === 'data' && node.logPosition === null) return { ok: false, reason: 'no log position reported by its agent yet' };
  return { ok: true };
}

export function isPrimary(node: Node, now: number, failed: Error | null): boolean {
  return !failed && node.holdsLease(now);
}

/** isReplica: a healthy data follower that hears its primary. */
export function isReplica(node: Node, now: number, failed: Error | null): boolean {
  return !failed && node.currentRole === 'follower' && node.self?.kind === 'data' && node.logPosition !== null && node.hearsPrimary(now);
}

/** The url of a member as this node knows it (or of one its last change removed), or null. */
export function memberUrl(node: Node, id: string): string | null {
  return node.urlOf(id);
}
