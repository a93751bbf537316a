// Membership: who is in the cluster, who votes, who may stand, and the
// arithmetic of majorities. Witnesses vote but hold no data; catching-up
// members neither vote, nor count in the denominator, nor stand.

export type MemberKind = 'data' | 'witness';
export type MemberState = 'voting' | 'catching_up';

export interface Member {
  readonly id: string;
  readonly url: string;
  readonly kind: MemberKind;
  readonly state: MemberState;
}

/** Membership is a versioned member list; a higher version replaces a lower. */
export interface Membership {
  readonly version: number;
  readonly members: readonly Member[];
}

/** isVoter: only members in the voting state count toward a quorum. */
export function isVoter(m: Member): boolean {
  return m.state === 'voting';
}

/** isElectable: only a voting data member may become primary. */
export function isElectable(m: Member): boolean {
  return m.kind === 'data' && isVoter(m);
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
 * watermarkHolders is how many voting members must hold a position for every
 * possible election majority to contain one of them. A majority can leave out
 * at most voters - quorum voters, so one holder more than that,
 * voters - quorum + 1, puts a holder inside every majority.
 */
export function watermarkHolders(voterCount: number): number {
  return voterCount - quorumSize(voterCount) + 1;
}

export function quorumOf(members: readonly Member[]): number {
  return quorumSize(voters(members).length);
}
