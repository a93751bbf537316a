// Every checker holds while the membership changes under the faults: 1000
// seeded runs over every shape in which an operator adds members (new
// processes that join, data and witnesses), removes them (the primary too,
// which must hand over first), changes their urls and turns autoPromote off
// and on, through the real core on whichever node looks like the primary;
// and 500 runs that start some nodes with another member list or other
// timings, hence another cluster id: nobody is elected in those.

import t from 'tap';
import { assertSweep } from './assert-sweep.js';
import { MAX_SIM_MEMBERS, MEMBER_CHANGE_WEIGHT, NO_LIES, formatFailure, runSeed } from './simulator.js';
import { shapesWithVoters } from './shapes.js';
import { sweep } from './sweep.js';

t.test('no violation over 1000 seeds in which operators change the membership', async (t) => {
  const s = sweep(110001, 1000, { faults: { member_change: MEMBER_CHANGE_WEIGHT } });
  assertSweep(t, s, '--members');
  t.ok(s.changesStarted > s.runs, 'the primary takes changes, more than one a run');
  t.ok(s.configsCommitted > s.runs, 'configurations of later versions commit');
  t.ok(s.changesFailed > 0, 'some changes fail: the primary steps down, or they time out');
  t.ok(s.joiners > s.runs / 2, 'new members start as joining processes');
  t.ok(s.maxMembers >= MAX_SIM_MEMBERS, `configurations grow to ${MAX_SIM_MEMBERS} members`);
  for (const code of ['hand_over_first', 'would_break_cluster', 'change_in_progress']) {
    t.ok((s.changesRefused[code] ?? 0) > 0, `the core refuses some changes: ${code}`);
  }
  t.comment(
    `changes: ${s.memberChanges} asked, ${s.changesStarted} started, refused ${JSON.stringify(s.changesRefused)}, ${s.configsCommitted} committed, ${s.changesFailed} failed`,
  );
});

t.test('no safety violation over 500 seeds that start some nodes with a mismatched configuration', async (t) => {
  // Every node is healed. The mismatched nodes speak another cluster id, and a
  // new cluster's first election waits to hear every voter of its list: where
  // a mismatched node is one of them, nobody is elected on either side (the
  // liveness checker complains, as it should: the settings must be fixed);
  // where it is not a voter, the cluster elects without it.
  const s = sweep(130001, 500, { mismatch: 1, heal: 'all' });
  const unsafe = s.failures.flatMap((r) => r.violations.filter((v) => v.checker !== 'liveness').map((v) => `seed ${r.seed}: ${v.checker}`));
  t.same(unsafe, [], 'no safety checker reports a violation');
  t.equal(s.mismatchedRuns, s.runs, 'every run starts some nodes with another cluster id');
  t.comment(`${s.runs - s.failures.length} of ${s.runs} runs elected a stable primary (a mismatched node was no voter there)`);
});

// Found by this simulator: in 2d+1w, d2 (term 1) acknowledges write #4 at
// 1/5, held by d1 and d2. d2 pauses; d1 wins term 2 knowing the watermark only
// to 1/2, commits its configuration with w1 and, its own watermark never
// reaching term 2, took two adds (witness x1, data j2) and promoted both: j2
// counted as caught up at 1/2, and j2 (at 1/4) + w1 + x1 elected j2 without
// write #4. A primary now changes nothing before its watermark is of its own
// term, and writes a change only when a majority of the new voters is known
// to hold the watermark.
t.test('seed 752 (2d+1w, --members): a primary whose watermark lags takes no change, and no acknowledged write is lost', async (t) => {
  // Without lying evidence, which the seed was found before: with it, it runs another course.
  const r = runSeed({ seed: 752, shapes: shapesWithVoters(3), faults: { member_change: MEMBER_CHANGE_WEIGHT, ...NO_LIES } });
  const lost = r.violations.filter((v) => v.checker === 'acked_writes_kept');
  t.same(lost, [], lost.length === 0 ? 'no acknowledged write lost' : formatFailure(r, 20, 'npm run sim -- --seed 752 --shape 3 --members --lies none'));
});

// Found by this simulator: in 2d+1w with members added, a change could not
// commit and could not be rolled back either (a majority of the members before
// it did not hold every acknowledged write). Its time to roll back stayed in
// the past, so the primary's timer fired at once, for ever, and the primary
// never reached the lease check that steps it down: no primary after the heal.
// A change left to the lease is now never looked at again.
t.test('seed 1004268 (2d+1w, --members): a change that can neither commit nor roll back is left to the lease', async (t) => {
  const r = runSeed({ seed: 1004268, faults: { member_change: MEMBER_CHANGE_WEIGHT, ...NO_LIES } });
  t.same(
    r.violations.map((v) => v.checker),
    [],
    r.violations.length === 0 ? 'no violation' : formatFailure(r, 20, 'npm run sim -- --seed 1004268 --members --lies none'),
  );
  t.not(r.stats.primaryAfterHealMs, null, 'a primary holds a lease after the heal');
});
