// Every checker holds over 1000 seeded runs of 7-voter clusters (all data, with
// witnesses, with catching-up members) under partitions, drops, delays,
// duplicates, crashes (also mid-persist), pauses, clock drift and switchovers.

import t from 'tap';
import { assertSweep } from './assert-sweep.js';
import { shapesWithVoters } from './shapes.js';
import { sweep } from './sweep.js';

t.test('no violation over 1000 seeds of 7-voter clusters', async (t) => {
  assertSweep(t, sweep(70001, 1000, { shapes: shapesWithVoters(7) }), '--shape 7');
});
