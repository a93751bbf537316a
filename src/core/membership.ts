// Membership: who is in the cluster, who votes, who may stand, and the
// arithmetic of majorities. Witnesses vote but hold no data; catching-up
// members neither vote, nor count in the denominator, nor stand. The member
// and membership types are derived from their wire schemas.

import { Type, type Static } from '@sinclair/typebox';
import { Id, MemberUrl, StringEnum, closed, ref, type Frozen } from './wire-types.js';

export const MemberKind = StringEnum(['data', 'witness'] as const, {
  $id: 'MemberKind',
  description: 'one of "data" and "witness"',
});
export type MemberKind = Static<typeof MemberKind>;

export const MemberState = StringEnum(['voting', 'catching_up'] as const, {
  $id: 'MemberState',
  description: 'one of "voting" and "catching_up"',
});
export type MemberState = Static<typeof MemberState>;

// The schema keeps the $id WireMember, the name the API has always given it.
// autoPromote false keeps a catching-up member from being made a voter by the
// primary once it has caught up; absent means true. priority orders the
// members that may take over (the heir, a switchover's target); 0 means never
// primary, as a disaster-recovery replica should be; absent means 1.
export const Member = Type.Object(
  {
    id: ref(Id),
    url: ref(MemberUrl),
    kind: ref(MemberKind),
    state: ref(MemberState),
    autoPromote: Type.Optional(Type.Boolean({ description: 'false: the primary never promotes this member by itself (default true)' })),
    priority: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100,
        description: 'failover priority: among members that hold every acknowledged write, a higher one is preferred; 0 never becomes primary (default 1)',
      }),
    ),
  },
  { ...closed, $id: 'WireMember' },
);
export type Member = Frozen<Static<typeof Member>>;

/** The most members a membership list may carry; the HTTP body limit is sized for 16. */
export const MAX_MEMBERS = 64;

/** isVoter: only members in the voting state count toward a quorum. */
export function isVoter(m: Member): boolean {
  return m.state === 'voting';
}

/** The default failover priority. */
export const DEFAULT_PRIORITY = 1;

/** priorityOf: a member's failover priority; 0 means never primary. */
export function priorityOf(m: Member): number {
  return m.priority ?? DEFAULT_PRIORITY;
}

/** isElectable: only a voting data member whose priority is not 0 may become primary. */
export function isElectable(m: Member): boolean {
  return m.kind === 'data' && isVoter(m) && priorityOf(m) > 0;
}

export function voters(members: readonly Member[]): Member[] {
  return members.filter(isVoter);
}

export function findMember(members: readonly Member[], id: string): Member | undefined {
  return members.find((m) => m.id === id);
}

/** quorumSize is a strict majority of voters: floor(voters / 2) + 1. */
export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * watermarkHolders is how many voting members must hold a position before it
 * may be acknowledged: a majority of voters, floor(voters / 2) + 1.
 *
 * Membership changes one voter at a time, and while a change spreads some
 * members still count the old list and others the new one, so the next
 * election may be won by a majority of either. The holders must therefore meet
 * every majority of this configuration and of any configuration with one voter
 * added or removed. With v voters, a majority of v + 1 takes at least
 * floor((v + 1) / 2) of the old voters and so leaves out at most floor(v / 2);
 * a majority of v - 1 leaves out at most floor(v / 2) - 1 of the remaining
 * voters, among whom one holder may be missing (the removed voter). Either way
 * only more than floor(v / 2) holders, a majority, meet all of them. The
 * smaller count voters - quorum + 1 meets every majority of this configuration
 * alone and falls short when the count is even: with 2 voters it is 1 holder,
 * and once a third voter is added the other two form a majority without it.
 */
export function watermarkHolders(voterCount: number): number {
  return quorumSize(voterCount);
}

export function quorumOf(members: readonly Member[]): number {
  return quorumSize(voters(members).length);
}
