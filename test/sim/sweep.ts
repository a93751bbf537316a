// sweep runs a range of seeds with every checker on, for the CI seed tests and
// the command line: it gathers what the runs did, so a test can assert both
// that nothing was violated and that the faults it claims to cover happened.

import { livenessBoundMs } from './checkers.js';
import { addMembershipCounts, noMembershipCounts, runSeed, type MembershipCounts, type RunResult, type SimOptions } from './simulator.js';

export interface SweepSummary extends MembershipCounts {
  runs: number;
  failures: RunResult[];
  shapes: Set<string>;
  elections: number;
  acked: number;
  crashes: number;
  midPersistCrashes: number;
  pauses: number;
  partitions: number;
  switchovers: number;
  lost: number;
  duplicated: number;
  /** Runs whose heal left only a majority of voters stable. */
  majorityHealed: number;
  /** Runs that started some nodes with a mismatched configuration. */
  mismatchedRuns: number;
  /** Faults that refused connections to a live primary, and the lying evidence steps they caused. */
  rejectCuts: number;
  staleUrls: number;
  proxiesWithoutBackend: number;
  lyingEvidence: number;
  /** Runs whose heal left only a majority stable (the rest cut off or down). */
  livenessChecked: number;
  /** The largest share of the liveness bound a run needed before a stable primary held its lease. */
  worstLivenessShare: number;
  seconds: number;
}

export function sweep(from: number, count: number, opts: Omit<SimOptions, 'seed'> = {}): SweepSummary {
  const s: SweepSummary = {
    runs: 0,
    failures: [],
    shapes: new Set(),
    elections: 0,
    acked: 0,
    crashes: 0,
    midPersistCrashes: 0,
    pauses: 0,
    partitions: 0,
    switchovers: 0,
    lost: 0,
    duplicated: 0,
    ...noMembershipCounts(),
    majorityHealed: 0,
    mismatchedRuns: 0,
    rejectCuts: 0,
    staleUrls: 0,
    proxiesWithoutBackend: 0,
    lyingEvidence: 0,
    livenessChecked: 0,
    worstLivenessShare: 0,
    seconds: 0,
  };
  const started = process.hrtime.bigint();
  for (let seed = from; seed < from + count; seed++) {
    const r = runSeed({ ...opts, seed });
    s.runs++;
    s.shapes.add(r.shape.name);
    s.elections += r.stats.elections;
    s.acked += r.stats.acked;
    s.crashes += r.stats.crashes;
    s.midPersistCrashes += r.stats.midPersistCrashes;
    s.pauses += r.stats.pauses;
    s.partitions += r.stats.partitions;
    s.switchovers += r.stats.switchovers;
    s.lost += r.stats.lost;
    s.duplicated += r.stats.duplicated;
    addMembershipCounts(s, r.stats);
    s.majorityHealed += r.stats.majorityHealed;
    if (r.stats.mismatched > 0) s.mismatchedRuns++;
    s.rejectCuts += r.stats.rejectCuts;
    s.staleUrls += r.stats.staleUrls;
    s.proxiesWithoutBackend += r.stats.proxiesWithoutBackend;
    s.lyingEvidence += r.stats.lyingEvidence;
    if (r.stats.primaryAfterHealMs !== null) {
      s.livenessChecked++;
      s.worstLivenessShare = Math.max(s.worstLivenessShare, r.stats.primaryAfterHealMs / livenessBoundMs(r.timings));
    }
    if (r.violations.length > 0) s.failures.push(r);
  }
  s.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return s;
}
