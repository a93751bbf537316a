// The model of a data node's replicated log, the data store quorumd sits
// beside: the simulator, the chaos test's store and the demo store under
// scripts/ all keep their logs in it. The primary appends (a no-op first on
// promotion, then client writes); followers copy a prefix of their primary's
// log, truncating any divergent suffix first. Entries are shared objects: a
// follower holds the very entry its primary appended, so "holds this write" is
// identity at its LSN, and each entry points at the entry before it in its
// writer's log, so one entry names the whole prefix it was written on. The log
// is the data store's and durable: it survives a crash of the node's quorumd.

import { ZERO_POSITION, type LogPosition } from '../../src/core/index.js';

export interface Entry {
  readonly term: number;
  readonly lsn: number;
  /** The client write this entry carries; 0 for the no-op a new primary writes first. */
  readonly writeId: number;
  /** The node that appended it as primary: the owner of the log it was written in. */
  readonly writer: string;
  /** The entry before it in its writer's log when it was written. */
  readonly prev: Entry | null;
}

export class DataLog {
  private readonly list: Entry[] = [];

  /** owner names the node whose log this is; it is the writer of every entry appended here. */
  constructor(readonly owner = '') {}

  /** Every entry, by LSN from 1; a view that the next change of the log alters. */
  get entries(): readonly Entry[] {
    return this.list;
  }

  get length(): number {
    return this.list.length;
  }

  get lastTerm(): number {
    return this.list.at(-1)?.term ?? 0;
  }

  position(): LogPosition {
    const last = this.list.at(-1);
    return last ? { term: last.term, lsn: last.lsn } : ZERO_POSITION;
  }

  /** append writes one entry as this log's owner, the primary of `term`. */
  append(term: number, writeId: number): Entry {
    const e: Entry = { term, lsn: this.list.length + 1, writeId, writer: this.owner, prev: this.list.at(-1) ?? null };
    this.list.push(e);
    return e;
  }

  /** The entry at `lsn`, if the log reaches it. */
  at(lsn: number): Entry | undefined {
    return this.list[lsn - 1];
  }

  holds(e: Entry): boolean {
    return this.list[e.lsn - 1] === e;
  }

  /**
   * commonPrefix is how many leading entries this log shares with `src`. An
   * entry object sits at one LSN only, and a log gains entries by appending or
   * by copying a prefix, so one shared entry at index i means the whole prefix
   * up to i is shared: scanning back from the shorter end is enough.
   */
  commonPrefix(src: DataLog): number {
    let i = Math.min(this.list.length, src.list.length) - 1;
    while (i >= 0 && this.list[i] !== src.list[i]) i--;
    return i + 1;
  }

  /**
   * copyFrom makes this log a prefix of `src`: it drops whatever does not
   * match (a deposed primary's divergent suffix) and copies up to `maxNew`
   * entries (at least one) past the shared prefix. It returns whether anything
   * changed.
   */
  copyFrom(src: DataLog, maxNew: number): boolean {
    const common = this.commonPrefix(src);
    const end = Math.min(src.list.length, common + Math.max(1, maxNew));
    if (common === this.list.length && end === common) return false;
    this.list.length = common;
    for (let i = common; i < end; i++) this.list.push(src.list[i]!);
    return true;
  }
}
