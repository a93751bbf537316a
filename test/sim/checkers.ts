// Checkers watch every simulated run for the invariants quorumd promises
// (DESIGN.md) and record each violation with the true time it was seen. They
// judge only what the run did: role effects, vote grants on the wire, terms
// after each completed step and after each restart, acknowledged writes against
// the logs of later primaries, leases (the nodes' and their stores') at one
// instant of true time, and whether a
// healed cluster elects a primary within a stated bound.
//
// Liveness bound. Once the faults are healed and a majority of voters that
// includes an electable data member is connected and stable, a primary of that
// majority holds its lease within livenessBoundMs(timings) of true time:
//   - loyalty: a voter refuses candidates for leaseMs after it last heard a
//     primary (or after it restarted), on its own clock, and the winner then
//     waits out older leases, at most leaseWaitMs(timings, 0) more;
//   - a follower stands at most electionTimeoutMs + electionJitterMs after it
//     last heard a primary, and one attempt (probe, then ballot) lasts at most
//     that long too, so an attempt that fails costs at most 2 × (E + J);
//   - we allow for the loyalty period plus four failed attempts (split votes,
//     probes refused while a voter still counts a primary alive) before the
//     one that wins, and one more heartbeat round for the lease;
//   - everything is measured on clocks that may run slow by clockDriftBound,
//     so it is divided by 1 - clockDriftBound to get true time.
// Thousands of seeds run well inside this (see the README comment of run.ts
// for the measured distribution); a run that needs longer is reported.

import { covers, leaseWaitMs, type Timings } from '../../src/core/index.js';
import type { Entry } from '../kit/data-log.js';

export type CheckerName =
  | 'one_primary_per_term'
  | 'vote_ledger'
  | 'term_monotonic'
  | 'acked_writes_kept'
  | 'single_lease'
  | 'liveness'
  | 'persist_first'
  | 'node_threw'
  | 'runaway';

export interface Violation {
  readonly checker: CheckerName;
  /** True time of the run, in milliseconds. */
  readonly at: number;
  readonly node: string | null;
  readonly message: string;
}

/** A log the checkers can ask whether it holds an entry. */
export interface HeldLog {
  holds(e: Entry): boolean;
}

export interface AckedWrite {
  readonly entry: Entry;
  readonly primaryId: string;
  /** The term of the primary that acknowledged it: later primaries than this must hold it. */
  readonly term: number;
  readonly at: number;
}

/** livenessBoundMs: how long a healed, connected majority may go without a primary holding its lease (true time). */
export function livenessBoundMs(t: Timings): number {
  const attemptMs = t.electionTimeoutMs + t.electionJitterMs;
  return Math.ceil((t.electionTimeoutMs + 4 * 2 * attemptMs + attemptMs + leaseWaitMs(t, 0) + t.heartbeatMs) / (1 - t.clockDriftBound));
}

export class Checkers {
  readonly violations: Violation[] = [];
  readonly acked: AckedWrite[] = [];
  private readonly ackedEntries = new Set<Entry>();
  private readonly primaryOfTerm = new Map<number, string>();
  /** The vote ledger: `${voter}@${term}` -> the candidate granted, across restarts. */
  private readonly grants = new Map<string, string>();
  private readonly lastTerm = new Map<string, number>();
  private readonly logOf: (id: string) => HeldLog | null;

  private healedAt: number | null = null;
  private boundMs = 0;
  private stableMembers: ReadonlySet<string> = new Set();
  private primaryAfterHealAt: number | null = null;

  constructor(logOf: (id: string) => HeldLog | null) {
    this.logOf = logOf;
  }

  get ok(): boolean {
    return this.violations.length === 0;
  }

  get primaryAfterHeal(): number | null {
    return this.primaryAfterHealAt;
  }

  private fail(checker: CheckerName, at: number, node: string | null, message: string): void {
    this.violations.push({ checker, at, node, message });
  }

  /** primaryElected: from a role effect naming the node primary. At most one primary per term. */
  primaryElected(at: number, id: string, term: number): void {
    const earlier = this.primaryOfTerm.get(term);
    if (earlier === undefined) this.primaryOfTerm.set(term, id);
    else if (earlier !== id) this.fail('one_primary_per_term', at, id, `${id} became primary of term ${term}, which ${earlier} already leads`);
  }

  /** voteGranted: from a vote_response sent with granted && !dryRun. One real grant per voter and term. */
  voteGranted(at: number, voterId: string, candidateId: string, term: number): void {
    const key = `${voterId}@${term}`;
    const earlier = this.grants.get(key);
    if (earlier === undefined) this.grants.set(key, candidateId);
    else if (earlier !== candidateId) {
      this.fail('vote_ledger', at, voterId, `${voterId} granted term ${term} to ${candidateId} after granting it to ${earlier}`);
    }
  }

  /** termObserved: after each completed step and each restart. A node's term never goes back. */
  termObserved(at: number, id: string, term: number, when: 'step' | 'restart'): void {
    const last = this.lastTerm.get(id) ?? 0;
    if (term < last) this.fail('term_monotonic', at, id, `${id}'s term went back from ${last} to ${term} (${when})`);
    else this.lastTerm.set(id, term);
  }

  /**
   * primaryLog: when a node is elected and when it first writes, its log must
   * hold every write acknowledged in an earlier term. The acknowledging term
   * counts, not the entry's: an entry of term 3 covered only in term 5 (a
   * prefix of that term's first covered entry) binds primaries from term 6 on.
   */
  primaryLog(at: number, id: string, term: number, log: HeldLog, moment: 'elected' | 'first write'): void {
    for (const w of this.acked) {
      if (w.term < term && !log.holds(w.entry)) {
        this.fail(
          'acked_writes_kept',
          at,
          id,
          `${id}, primary of term ${term}, lacks acknowledged write #${w.entry.writeId} at ${w.entry.term}/${w.entry.lsn} (acked by ${w.primaryId} in term ${w.term}) when ${moment === 'elected' ? 'elected' : 'it first writes'}`,
        );
        return;
      }
    }
  }

  /**
   * writeAcknowledged: `primaryId`, primary of `primaryTerm`, acknowledges
   * `entry` (a client write or a no-op, of its own term or of an earlier term's
   * prefix). Record it once; every primary already elected for a later term
   * than primaryTerm must hold it too.
   */
  writeAcknowledged(at: number, primaryId: string, primaryTerm: number, entry: Entry, commitWatermark: { term: number; lsn: number }): void {
    if (this.ackedEntries.has(entry)) return;
    this.ackedEntries.add(entry);
    if (!covers(commitWatermark, entry)) {
      this.fail('acked_writes_kept', at, primaryId, `write #${entry.writeId} acknowledged above the commit watermark`);
    }
    this.acked.push({ entry, primaryId, term: primaryTerm, at });
    for (const [term, id] of this.primaryOfTerm) {
      if (term <= primaryTerm) continue;
      const log = this.logOf(id);
      if (log && !log.holds(entry)) {
        this.fail(
          'acked_writes_kept',
          at,
          primaryId,
          `write #${entry.writeId} at ${entry.term}/${entry.lsn} acknowledged by ${primaryId} in term ${primaryTerm}, but ${id}, primary of later term ${term}, does not hold it`,
        );
        return;
      }
    }
  }

  /** leaseHeld: after a step that leaves `id` holding its lease; `others` hold theirs at the same instant of true time. */
  leaseHeld(at: number, id: string, others: readonly string[]): void {
    if (others.length > 0)
      this.fail('single_lease', at, id, `${id} holds a lease while ${others.join(', ')} ${others.length === 1 ? 'holds' : 'hold'} one too`);
    if (this.healedAt !== null && this.primaryAfterHealAt === null && this.stableMembers.has(id)) this.primaryAfterHealAt = at;
  }

  /** healed: from now on the members given are connected and stable; a primary among them is due within boundMs. */
  healed(at: number, boundMs: number, stableMembers: ReadonlySet<string>): void {
    this.healedAt = at;
    this.boundMs = boundMs;
    this.stableMembers = stableMembers;
  }

  /** livenessDeadline: called at healedAt + boundMs. */
  livenessDeadline(at: number): void {
    if (this.healedAt === null || this.primaryAfterHealAt !== null) return;
    this.fail(
      'liveness',
      at,
      null,
      `no primary of {${[...this.stableMembers].join(',')}} held a lease within ${this.boundMs} ms of the heal at ${this.healedAt.toFixed(3)}`,
    );
  }

  persistNotFirst(at: number, id: string, index: number): void {
    this.fail('persist_first', at, id, `${id} emitted a persist as effect ${index}, after effects that depend on it`);
  }

  nodeThrew(at: number, id: string, err: unknown): void {
    this.fail('node_threw', at, id, `${id} threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }

  runaway(at: number, message: string): void {
    this.fail('runaway', at, null, message);
  }
}
