// assertSweep states what a CI seed sweep must show: no violation on any seed
// (a failing seed is printed with its trace and the command that replays it),
// and evidence that the runs did exercise elections, writes and every fault,
// lying evidence included (refusals while the primary lives).

import type { Test } from 'tap';
import type { BuiltPlugins } from '@tapjs/test';
import { formatFailure } from './simulator.js';
import type { SweepSummary } from './sweep.js';

/** `flags` are the command-line flags that give the sweep's options, for the replay command. */
export function assertSweep(t: Test & BuiltPlugins, s: SweepSummary, flags: string): void {
  for (const f of s.failures.slice(0, 3)) t.comment(`\n${formatFailure(f, 40, `npm run sim -- --seed ${f.seed} ${flags}`)}\n`);
  t.equal(s.failures.length, 0, `no checker reports a violation over ${s.runs} seeds (failing: ${s.failures.map((f) => f.seed).join(', ') || 'none'})`);
  t.ok(s.elections >= s.runs, 'the runs elect primaries, again and again');
  t.ok(s.acked > 0, 'writes are acknowledged');
  t.ok(s.crashes > 0 && s.midPersistCrashes > 0, 'nodes crash, between steps and in the middle of a persist');
  t.ok(s.pauses > 0 && s.partitions > 0 && s.switchovers > 0, 'nodes pause, the network partitions, operators switch over');
  t.ok(s.lost > 0 && s.duplicated > 0, 'messages are lost and duplicated');
  t.ok(
    s.rejectCuts > 0 && s.staleUrls > 0 && s.proxiesWithoutBackend > 0,
    `links refuse while the primary lives: REJECT cuts (${s.rejectCuts}), stale urls (${s.staleUrls}), proxies without a backend (${s.proxiesWithoutBackend})`,
  );
  t.ok(s.lyingEvidence > s.runs, `followers are told, again and again, that a live primary is gone (${s.lyingEvidence} times)`);
  t.equal(s.livenessChecked, s.runs, 'every run elected a stable primary after the heal');
  t.comment(
    `${s.runs} seeds over ${[...s.shapes].join(', ')} in ${s.seconds.toFixed(1)} s (${(s.runs / s.seconds).toFixed(0)} runs/s); ` +
      `slowest primary after the heal used ${(s.worstLivenessShare * 100).toFixed(0)}% of the liveness bound`,
  );
}
