// Every checker holds over 1500 seeded runs of 3-voter clusters (all data, with
// witnesses, with catching-up members) under partitions, drops, delays,
// duplicates, crashes (also mid-persist), pauses, clock drift and switchovers.

import t from 'tap';
import { assertSweep } from './assert-sweep.js';
import { shapesWithVoters } from './shapes.js';
import { sweep } from './sweep.js';

t.test('no violation over 1500 seeds of 3-voter clusters', async (t) => {
  assertSweep(t, sweep(30001, 1500, { shapes: shapesWithVoters(3) }), '--shape 3');
});
