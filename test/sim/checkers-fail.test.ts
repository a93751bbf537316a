// Each checker can fail: the simulator runs deliberately broken variants of the
// protocol (swapped in with t.mockImport, never through a production flag) and
// the matching checker reports a violation within a stated number of seeds.
// The shapes and faults of each hunt are the ones that provoke its bug.

import t, { type Test } from 'tap';
import type { BuiltPlugins } from '@tapjs/test';
import * as vote from '../../src/core/vote.js';
import * as timings from '../../src/core/timings.js';
import * as tally from '../../src/core/tally.js';
import * as leaseReport from '../../src/runtime/lease-report.js';
import { Node, type Effect, type Event } from '../../src/core/index.js';
import { decideVoteIgnoringLivePrimary, decideVoteIgnoringLogs, decideVoteIgnoringVotedFor, hunt } from './broken.js';
import type { CheckerName } from './checkers.js';
import { formatFailure, type NodeModule, type SimOptions, type runSeed } from './simulator.js';
import { makeShape, shapesWithVoters } from './shapes.js';

type NodeJs = typeof import('../../src/core/node.js');
type Tap = Test & BuiltPlugins;

async function withVote(t: Tap, decideVote: typeof vote.decideVote): Promise<NodeModule> {
  return t.mockImport<NodeJs>('../../src/core/node.js', { '../../src/core/vote.js': { ...vote, decideVote } });
}

/** withLeaseWait swaps the winner's wait for older leases, and may drop the voters' stickiness too. */
async function withLeaseWait(t: Tap, leaseWaitMs: typeof timings.leaseWaitMs, decideVote: typeof vote.decideVote = vote.decideVote): Promise<NodeModule> {
  return t.mockImport<NodeJs>('../../src/core/node.js', {
    '../../src/core/timings.js': { ...timings, leaseWaitMs },
    '../../src/core/vote.js': { ...vote, decideVote },
  });
}

/** expectCaught hunts seeds 1..maxSeeds for a violation of `checker` and shows the trace that caught it. */
function expectCaught(t: Tap, checker: CheckerName, maxSeeds: number, opts: Omit<SimOptions, 'seed'>, run?: typeof runSeed): void {
  const h = hunt(checker, maxSeeds, opts, run);
  t.not(h.seed, null, `${checker} reports a violation within ${maxSeeds} seeds${h.seed === null ? '' : ` (at seed ${h.seed})`}`);
  if (h.result) {
    const caught = { ...h.result, violations: h.result.violations.filter((v) => v.checker === checker) };
    t.comment(formatFailure(caught, 12, null));
  }
}

t.test('a vote rule that forgets votedFor double-votes: the vote ledger catches it within 50 seeds', async (t) => {
  const nodeModule = await withVote(t, decideVoteIgnoringVotedFor);
  expectCaught(t, 'vote_ledger', 50, { nodeModule, shapes: shapesWithVoters(3) });
});

t.test('a vote rule that forgets votedFor elects two primaries in a term: one-primary-per-term catches it within 400 seeds', async (t) => {
  const nodeModule = await withVote(t, decideVoteIgnoringVotedFor);
  // Rarer than it was: a voter that has heard the new primary holds its
  // configuration stamped with the term, and refuses the rival (config_behind),
  // so both ballots must reach it before the first heartbeat; and a new cluster's
  // first election waits to hear every voter (seed 171 today).
  expectCaught(t, 'one_primary_per_term', 400, { nodeModule, shapes: shapesWithVoters(3) });
});

t.test('a vote rule without the watermark and log checks loses acknowledged writes: acked-writes-kept catches it within 50 seeds', async (t) => {
  const nodeModule = await withVote(t, decideVoteIgnoringLogs);
  expectCaught(t, 'acked_writes_kept', 50, { nodeModule, shapes: shapesWithVoters(5) });
});

t.test('a winner that does not wait out older leases serves beside a live one: single-lease catches it within 50 seeds', async (t) => {
  // Without stickiness voters elect beside a live primary at once (what a
  // lying refusal would do under a rule that trusted it); the wait is all
  // that keeps the leases apart.
  const nodeModule = await withLeaseWait(t, () => 0, decideVoteIgnoringLivePrimary);
  expectCaught(t, 'single_lease', 50, { nodeModule, shapes: shapesWithVoters(3), partitions: ['one_way', 'bridge'], faults: { partition: 10 } });
});

t.test('a lease wait without the clock-drift margin overlaps under drifting clocks: single-lease catches it within 2000 seeds', async (t) => {
  // Stickiness off again, so that the wait alone keeps the leases apart and
  // its margin is what is under test. The overlap needs clocks near opposite
  // extremes and a short lease (the 15/45 profile): rare, seed 1315 today.
  const nodeModule = await withLeaseWait(t, (x, agoMs) => Math.max(0, x.leaseMs - agoMs), decideVoteIgnoringLivePrimary);
  expectCaught(t, 'single_lease', 2000, {
    nodeModule,
    shapes: shapesWithVoters(3),
    partitions: ['one_way', 'bridge'],
    faults: { partition: 10, clock_drift: 3 },
  });
});

t.test("an agent lease shortened for one clock's drift outlasts the primary's under drifting clocks: single-lease catches it within 200 seeds", async (t) => {
  // The data store serves until the leaseUntil its agent was given; shortened
  // by (1 - d) alone, an agent clock running slow beside a node clock running
  // fast keeps it past the lease the next primary waited out.
  const sim = await t.mockImport<typeof import('./simulator.js')>('./simulator.js', {
    '../../src/runtime/lease-report.js': {
      ...leaseReport,
      agentLease: (remainingMs: number | null, d: number, clockMs: number | undefined) =>
        leaseReport.agentLease(remainingMs === null ? null : remainingMs * (1 + d), d, clockMs),
    },
  });
  expectCaught(t, 'single_lease', 200, { shapes: shapesWithVoters(3), faults: { clock_drift: 3 } }, sim.runSeed);
});

t.test('a store that forgets the vote on restart double-votes: the vote ledger catches it within 200 seeds', async (t) => {
  // A restarted voter stays loyal for a lease, which hides most of it: crash often, in a storm.
  expectCaught(t, 'vote_ledger', 200, {
    store: 'forget_votes',
    shapes: shapesWithVoters(5),
    faultGapMs: [5, 60],
    faults: { crash: 4, crash_mid_persist: 4, crash_primary: 2, weather: 2 },
  });
});

t.test('a store that loses its last save on restart sends the term back: term-monotonic catches it within 10 seeds', async (t) => {
  expectCaught(t, 'term_monotonic', 10, { store: 'rollback', shapes: shapesWithVoters(3) });
});

t.test('a tally that needs every voter never elects with a voter cut off: liveness catches it within 10 seeds', async (t) => {
  const unanimous: typeof tally.tally = (granted, refused, voterCount) => (granted >= voterCount ? 'won' : refused > 0 ? 'lost' : 'pending');
  const nodeModule = await t.mockImport<NodeJs>('../../src/core/node.js', { '../../src/core/tally.js': { ...tally, tally: unanimous } });
  expectCaught(t, 'liveness', 10, { nodeModule, shapes: shapesWithVoters(5), heal: 'majority' });
});

t.test('a node that emits its persist after its sends: persist-first catches it within 5 seeds', async (t) => {
  class SendsFirst extends Node {
    override step(ev: Event): Effect[] {
      const effects = super.step(ev);
      return [...effects.filter((e) => e.type !== 'persist'), ...effects.filter((e) => e.type === 'persist')];
    }
  }
  expectCaught(t, 'persist_first', 5, { nodeModule: { Node: SendsFirst }, shapes: [makeShape(3, 0, 0)] });
});

t.test('a node that throws is reported, not swallowed: node-threw catches it within 5 seeds', async (t) => {
  class Throws extends Node {
    override step(ev: Event): Effect[] {
      if (ev.type === 'message' && ev.message.type === 'vote_request' && !ev.message.dryRun) throw new Error('broken on purpose');
      return super.step(ev);
    }
  }
  expectCaught(t, 'node_threw', 5, { nodeModule: { Node: Throws }, shapes: [makeShape(3, 0, 0)] });
});
