// Log positions: the { term, lsn } of the last durable entry of a data node's
// log. The term that wrote an entry comes first in the order, as in Raft, so a
// deposed primary's divergent suffix with a higher LSN still sorts below the
// new history.

import { Type, type Static } from '@sinclair/typebox';
import { Count, Term, closed, ref, type Frozen } from './wire-types.js';

export const LogPosition = Type.Object(
  { term: ref(Term), lsn: ref(Count) },
  { ...closed, $id: 'LogPosition', description: 'The { term, lsn } of the last durable entry of a log; positions compare by term, then lsn.' },
);
export type LogPosition = Frozen<Static<typeof LogPosition>>;

export const ZERO_POSITION: LogPosition = Object.freeze({ term: 0, lsn: 0 });

/** comparePositions orders by term, then lsn: negative, zero or positive. */
export function comparePositions(a: LogPosition, b: LogPosition): number {
  if (a.term !== b.term) return a.term < b.term ? -1 : 1;
  if (a.lsn !== b.lsn) return a.lsn < b.lsn ? -1 : 1;
  return 0;
}

/** covers says whether position a is at or beyond position b. */
export function covers(a: LogPosition, b: LogPosition): boolean {
  return comparePositions(a, b) >= 0;
}

export function maxPosition(a: LogPosition, b: LogPosition): LogPosition {
  return covers(a, b) ? a : b;
}

export function formatPosition(p: LogPosition): string {
  return `${p.term}/${p.lsn}`;
}
