// Every checker holds over 1200 seeded runs of every shape in which the heal
// leaves only a majority of voters connected (the rest cut off or down): a
// primary of that majority still comes within the liveness bound.

import t from 'tap';
import { assertSweep } from './assert-sweep.js';
import { sweep } from './sweep.js';

t.test('no violation over 1200 seeds that heal only a majority', async (t) => {
  const s = sweep(90001, 1200, { heal: 'majority' });
  assertSweep(t, s, '--heal majority');
  // Runs whose configuration is not settled (still the bootstrap one, or a
  // change in flight) heal every node; a good share must heal only a majority.
  t.ok(s.majorityHealed > s.runs / 3, `a good share of the runs healed only a majority (${s.majorityHealed} of ${s.runs})`);
});
