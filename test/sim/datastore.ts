// DataLog models a data node's replicated log, the data store quorumd sits
// beside. The primary appends (a no-op first on promotion, then client
// writes); followers copy a prefix of their primary's log, truncating any
// divergent suffix first. Entries are shared objects: a follower holds the very
// entry the primary appended, so "holds this write" is identity at its index.
// The log is the data store's and durable: it survives a crash of the node.

import { ZERO_POSITION, type LogPosition } from '../../src/core/index.js';

export interface Entry {
  readonly term: number;
  readonly lsn: number;
  /** The client write this entry carries; 0 for the no-op a new primary writes first. */
  readonly writeId: number;
}

export class DataLog {
  private readonly entries: Entry[] = [];

  get length(): number {
    return this.entries.length;
  }

  get lastTerm(): number {
    return this.entries[this.entries.length - 1]?.term ?? 0;
  }

  position(): LogPosition {
    const last = this.entries[this.entries.length - 1];
    return last ? { term: last.term, lsn: last.lsn } : ZERO_POSITION;
  }

  append(term: number, writeId: number): Entry {
    const e: Entry = { term, lsn: this.entries.length + 1, writeId };
    this.entries.push(e);
    return e;
  }

  /** The entry at `lsn`, if the log reaches it. */
  at(lsn: number): Entry | undefined {
    return this.entries[lsn - 1];
  }

  holds(e: Entry): boolean {
    return this.entries[e.lsn - 1] === e;
  }

  /**
   * commonPrefix is how many leading entries this log shares with `src`. An
   * entry object sits at one index only, and a log gains entries by appending
   * or by copying a prefix, so one shared entry at index i means the whole
   * prefix up to i is shared: scanning back from the shorter end is enough.
   */
  commonPrefix(src: DataLog): number {
    let i = Math.min(this.entries.length, src.entries.length) - 1;
    while (i >= 0 && this.entries[i] !== src.entries[i]) i--;
    return i + 1;
  }

  /**
   * copyFrom makes this log a prefix of `src`: it drops whatever does not
   * match (a deposed primary's divergent suffix) and copies up to `maxNew`
   * entries past the shared prefix. It returns whether anything changed.
   */
  copyFrom(src: DataLog, maxNew: number): boolean {
    const common = this.commonPrefix(src);
    const end = Math.min(src.entries.length, common + Math.max(1, maxNew));
    if (common === this.entries.length && end === common) return false;
    this.entries.length = common;
    for (let i = common; i < end; i++) this.entries.push(src.entries[i] as Entry);
    return true;
  }
}
