// Every checker holds while the membership changes under the faults: 1000
// seeded runs over every shape in which an operator adds members (new
// processes that join, data and witnesses), removes them (the primary too,
// which must hand over first), changes their urls and turns autoPromote off
// and on, through the real core on whichever node looks like the primary;
// and 500 runs that start some nodes with another member list or other
// timings, hence another cluster id, too few to elect on their own.

import t from 'tap';
import { assertSweep } from './assert-sweep.js';
import { MAX_SIM_MEMBERS, MEMBER_CHANGE_WEIGHT } from './simulator.js';
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

t.test('no violation over 500 seeds that start some nodes with a mismatched configuration', async (t) => {
  const s = sweep(130001, 500, { mismatch: 1 });
  assertSweep(t, s, '--mismatch 1');
  t.equal(s.mismatchedRuns, s.runs, 'every run starts some nodes with another cluster id');
});
