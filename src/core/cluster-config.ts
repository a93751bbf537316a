// The cluster configuration: the one replicated, versioned description of a
// cluster that every member holds in its hard state. It names the cluster,
// lists the members, and fixes the timings safety depends on. It changes only
// through the primary, one member per change, and travels on every
// heartbeat. A configuration has a position, (term, version): the term of the
// primary that last wrote it, then its version. Positions order like log
// positions, so a primary elected in a later term overrides an uncommitted
// configuration of an earlier one, as Raft's log truncation would.

import { Type, type Static } from '@sinclair/typebox';
import { MAX_MEMBERS, Member, isElectable, quorumSize, voters } from './membership.js';
import { TimingsSchema, validateTimings } from './timings.js';
import { Count, Id, Term, closed, ref, type Frozen } from './wire-types.js';

export const ClusterConfig = Type.Object(
  {
    clusterId: ref(Id),
    term: ref(Term),
    version: ref(Count),
    members: Type.Array(ref(Member), { minItems: 1, maxItems: MAX_MEMBERS }),
    timings: ref(TimingsSchema),
    // Maintenance mode: no member stands by itself (a planned switchover still works). Absent means false.
    paused: Type.Optional(Type.Boolean({ description: 'true: automatic failover is paused (maintenance mode); a switchover still works' })),
  },
  {
    ...closed,
    $id: 'ClusterConfig',
    description: 'The replicated cluster configuration: its id, position (term, version), members, timings and whether failover is paused.',
  },
);
export type ClusterConfig = Frozen<Static<typeof ClusterConfig>>;

/** Where a configuration stands: the term that wrote it, then its version. */
export const ConfigPosition = Type.Object(
  { term: ref(Term), version: ref(Count) },
  { ...closed, $id: 'ConfigPosition', description: 'A configuration position: the term of the primary that wrote it, then its version.' },
);
export type ConfigPosition = Frozen<Static<typeof ConfigPosition>>;

export function configPosition(c: ClusterConfig): ConfigPosition {
  return { term: c.term, version: c.version };
}

/** compareConfigs orders positions by term, then version: negative, zero or positive. */
export function compareConfigs(a: ConfigPosition, b: ConfigPosition): number {
  if (a.term !== b.term) return a.term < b.term ? -1 : 1;
  if (a.version !== b.version) return a.version < b.version ? -1 : 1;
  return 0;
}

/**
 * validateConfig says why a configuration can never acknowledge a write or
 * never elect a primary, or returns no problems. Every acknowledged write
 * must be held by a majority of the voters (membership.ts), and only data
 * members hold data, so the voting data members must be a majority on their
 * own: one data member with two witnesses can never acknowledge anything.
 */
export function validateConfig(c: ClusterConfig): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const m of c.members) {
    if (ids.has(m.id)) problems.push(`member ${m.id} is listed twice`);
    ids.add(m.id);
  }
  const urls = new Set<string>();
  for (const m of c.members) {
    if (urls.has(m.url)) problems.push(`url ${m.url} is given to two members`);
    urls.add(m.url);
  }
  problems.push(...shapeProblems(c.members));
  for (const why of validateTimings(c.timings)) problems.push(`timings: ${why}`);
  return problems;
}

/** shapeProblems says why a member list could never elect or never acknowledge a write (see validateConfig). */
export function shapeProblems(members: readonly Member[]): string[] {
  const voting = voters(members);
  const dataVoters = voting.filter((m) => m.kind === 'data').length;
  if (!members.some(isElectable)) return ['no voting data member whose priority is above 0: nobody could be elected'];
  if (dataVoters < quorumSize(voting.length)) {
    return [
      `${dataVoters} voting data member(s) among ${voting.length} voters: a write needs ${quorumSize(voting.length)} holders, so none could ever be acknowledged`,
    ];
  }
  return [];
}

/** A configuration change: add or change one member, remove one, or pause or resume automatic failover. */
export type ConfigChange =
  | { readonly op: 'put'; readonly member: Member }
  | { readonly op: 'remove'; readonly id: string }
  | { readonly op: 'pause'; readonly paused: boolean };

/** isPaused: whether the configuration pauses automatic failover. */
export function isPaused(c: ClusterConfig | null): boolean {
  return c?.paused === true;
}

export type ChangeRefusal = {
  readonly code: 'unknown_member' | 'invalid_change' | 'would_break_cluster';
  readonly why: string;
};

/**
 * applyChange returns the members after a change, or why the change cannot
 * be made. It never changes more than one voter: a put touches one member and
 * a remove one. A member added joins catching_up whatever it asks, so that a
 * voter is only ever counted once it answers (see Node.maybePromote).
 */
export function applyChange(
  c: ClusterConfig,
  change: Exclude<ConfigChange, { op: 'pause' }>,
): { ok: true; members: readonly Member[] } | { ok: false; refusal: ChangeRefusal } {
  const existing = c.members.find((m) => m.id === (change.op === 'put' ? change.member.id : change.id));
  let members: Member[];
  if (change.op === 'remove') {
    if (!existing) return refuse('unknown_member', `${change.id} is not a member`);
    members = c.members.filter((m) => m.id !== change.id);
  } else if (existing) {
    members = c.members.map((m) => (m.id === existing.id ? change.member : m));
  } else {
    if (change.member.state === 'voting') {
      return refuse('invalid_change', `${change.member.id} is new: a member joins catching_up and is promoted once it has caught up`);
    }
    members = [...c.members, change.member];
  }
  if (members.length > MAX_MEMBERS) return refuse('invalid_change', `a cluster has at most ${MAX_MEMBERS} members`);
  const problems = validateConfig({ ...c, members });
  if (problems.length > 0) return refuse('would_break_cluster', problems.join('; '));
  return { ok: true, members };
}

function refuse(code: ChangeRefusal['code'], why: string): { ok: false; refusal: ChangeRefusal } {
  return { ok: false, refusal: { code, why } };
}
