// Every checker holds over 1300 seeded runs of 5-voter clusters (all data, with
// witnesses, with catching-up members) under partitions, drops, delays,
// duplicates, crashes (also mid-persist), pauses, clock drift and switchovers.

import t from 'tap';
import { assertSweep } from './assert-sweep.js';
import { shapesWithVoters } from './shapes.js';
import { sweep } from './sweep.js';

t.test('no violation over 1300 seeds of 5-voter clusters', async (t) => {
  assertSweep(t, sweep(50001, 1300, { shapes: shapesWithVoters(5) }), '--shape 5');
});
