// Every checker holds over 1200 seeded runs of every shape in which the heal
// leaves only a majority of voters connected (the rest cut off or down): a
// primary of that majority still comes within the liveness bound.

import t from 'tap';
import { assertSweep } from './assert-sweep.js';
import { sweep } from './sweep.js';

t.test('no violation over 1200 seeds that heal only a majority', async (t) => {
  assertSweep(t, sweep(90001, 1200, { heal: 'majority' }), '--heal majority');
});
