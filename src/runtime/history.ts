// The history of terms this node has seen: which member led each term, when
// this node learned it, and how (it won the election, or heard a heartbeat);
// a winner also records why its election began, how long it took and the
// position it won with.
// Kept in memory and appended to <dataDir>/history.jsonl so it outlives a
// restart; it is a record for operators, not protocol state, so it is not
// fsynced and a damaged line is skipped rather than fatal.

import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HistoryEntry } from './service.js';

const KEEP = 1000;
export const HISTORY_FILE = 'history.jsonl';

export class History {
  private readonly entries: HistoryEntry[] = [];
  private readonly file: string | null;

  constructor(dataDir: string | null) {
    this.file = dataDir ? join(dataDir, HISTORY_FILE) : null;
    if (!this.file) return;
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return;
    }
    for (const line of text.split('\n')) {
      try {
        const e = JSON.parse(line) as HistoryEntry;
        if (Number.isSafeInteger(e.term) && typeof e.primaryId === 'string') this.entries.push(e);
      } catch {
        // A torn last line after a crash: skip it.
      }
    }
    this.entries.splice(0, Math.max(0, this.entries.length - KEEP));
  }

  /** record adds term's primary once; it returns whether the entry is new. */
  record(term: number, primaryId: string, reason: HistoryEntry['reason'], at: Date, election?: HistoryEntry['election']): boolean {
    if (this.entries.some((e) => e.term === term)) return false;
    const entry: HistoryEntry = { term, primaryId, at: at.toISOString(), reason, ...(election ? { election } : {}) };
    this.entries.push(entry);
    if (this.entries.length > KEEP) this.entries.shift();
    if (this.file) {
      try {
        appendFileSync(this.file, JSON.stringify(entry) + '\n');
      } catch {
        // History is advisory; the protocol state is elsewhere.
      }
    }
    return true;
  }

  list(): HistoryEntry[] {
    return [...this.entries].sort((a, b) => a.term - b.term);
  }
}
