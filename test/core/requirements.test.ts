// The seed's five hard requirements, one test (or a small table) each:
// 1. the dry-run probe, 2. the durable last vote, 3. the watermark rule,
// 4. randomized election timeouts, 5. the membership rules.

import t from 'tap';
import fc from 'fast-check';
import { quorumOf, quorumSize, type HardState } from '../../src/core/index.js';
import {
  AFTER_START_LOYALTY,
  Cluster,
  TIMINGS,
  ask,
  catchingUp,
  checkProperty,
  checkedStep,
  data,
  makeNode,
  clusterConfig,
  outcomes,
  persists,
  pos,
  sends,
  voteReply,
  witness,
  type NodeSetup,
} from '../support/core-harness.js';

const MS = clusterConfig([data('a'), data('b'), data('c'), witness('w'), catchingUp('x')]);
const NOW = AFTER_START_LOYALTY;

/** Voter b: term 3, watermark 3/50, its own log at 3/60, past its start-up loyalty at NOW. */
function voterB(setup: NodeSetup = {}) {
  return makeNode('b', MS, { term: 3, commitWatermark: pos(3, 50), position: pos(3, 60), ...setup });
}

// ---- 1. Dry-run probe ---------------------------------------------------------

t.test('a granted dry-run probe persists nothing and leaves the voter term and vote as they were', async (t) => {
  // Proves requirement 1 on the grant path: the voter says yes to a probe for a
  // far higher term, yet writes nothing and stays in its term.
  const node = voterB({ votedFor: 'c' });
  const before = node.hardState;
  const effects = ask(node, NOW, { candidateId: 'a', term: 1_000_000, position: pos(3, 60), dryRun: true });
  t.equal(voteReply(effects).granted, true, 'the probe should have been granted (otherwise this test proves nothing)');
  t.same(persists(effects), [], 'a probe must never persist');
  t.equal(node.hardState, before, 'a probe must leave the hard state untouched');
  t.equal(node.term, 3, 'a probe must not advance the voter term');
  t.equal(voteReply(effects).term, 3, 'the probe reply carries the voter unchanged term');
});

t.test('no sequence of dry-run probes ever persists or moves the voter term (property)', async (t) => {
  // Proves requirement 1 for any probes: whatever candidate, term (up to
  // 2^53 - 1), log position and arrival time, granted or refused.
  let granted = 0;
  let refused = 0;
  checkProperty(
    t,
    'no probe persisted or moved the term',
    fc.property(
      fc.constantFrom(null, 'a', 'c'),
      fc.array(
        fc.record({
          candidateId: fc.constantFrom('a', 'b', 'c', 'w', 'x', 'z'),
          term: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
          logTerm: fc.integer({ min: 2, max: 4 }),
          lsn: fc.integer({ min: 40, max: 70 }),
          afterMs: fc.integer({ min: 0, max: 200 }),
        }),
        { minLength: 1, maxLength: 12 },
      ),
      (votedFor, probes) => {
        const node = voterB({ votedFor });
        const before: HardState = node.hardState;
        let now = 0;
        for (const p of probes) {
          now += p.afterMs;
          const effects = ask(node, now, { candidateId: p.candidateId, term: p.term, position: pos(p.logTerm, p.lsn), dryRun: true });
          if (persists(effects).length > 0) return false;
          if (voteReply(effects).granted) granted++;
          else refused++;
        }
        return node.hardState === before && node.term === 3 && node.hardState.votedFor === votedFor;
      },
    ),
    { numRuns: 300 },
  );
  t.ok(granted > 0 && refused > 0, `probes were both granted (${granted}) and refused (${refused})`);
});

t.test('a candidate whose probe fails has not bumped its term', async (t) => {
  // Proves requirement 1 on the candidate side: only a real election bumps
  // the term, so a failed probe leaves the candidate where it was.
  const cluster = new Cluster([data('a'), data('b'), data('c')], {
    a: { term: 4, position: pos(4, 10) },
    b: { term: 4, position: pos(4, 10) },
    c: { term: 4, position: pos(4, 10) },
  });
  cluster.cut = (from, to) => from === 'a' || to === 'a';
  const effects = cluster.elect('a');
  t.same(persists(effects), [], 'standing (the probe) must not persist');
  t.same(
    cluster.outcomeLog.map((o) => o.outcome),
    [{ kind: 'probe_failed', term: 5, votes: 1, needed: 2, refusals: ['b', 'c'].map((voterId) => ({ voterId, reason: null })) }],
    'the cut-off candidate should fail its probe',
  );
  t.equal(cluster.node('a').term, 4, 'a failed probe must leave the candidate term as it was');
});

// ---- 2. Durable last vote ----------------------------------------------------

t.test('a real grant persists { term, votedFor } first, before the vote_response is sent', async (t) => {
  // Proves requirement 2: the effects of a grant begin with the persist of the
  // new vote, so the runtime has it on disk before the reply leaves.
  const node = voterB();
  const effects = ask(node, NOW, { candidateId: 'a', term: 4, position: pos(3, 60) });
  const first = effects[0];
  t.equal(first?.type, 'persist', 'the first effect of a grant must be the persist');
  if (first?.type === 'persist') {
    t.same({ term: first.state.term, votedFor: first.state.votedFor }, { term: 4, votedFor: 'a' }, 'the persisted vote is the grant');
  }
  const replyAt = effects.findIndex((e) => e.type === 'reply' && e.message.type === 'vote_response');
  t.ok(replyAt > 0, `the vote_response must come after the persist (index ${replyAt})`);
  t.equal(voteReply(effects).granted, true, 'the reply grants the vote');
});

t.test('a voter restarted from what it persisted refuses a second candidate in that term', async (t) => {
  // Proves requirement 2 across a crash: the vote is read back from disk, so a
  // restart mid-term never double-votes.
  const node = voterB();
  const effects = ask(node, NOW, { candidateId: 'a', term: 4, position: pos(3, 60) });
  const saved = persists(effects)[0]?.state;
  if (!saved) throw new Error('the grant persisted nothing');
  const restarted = makeNode('b', saved.config, {
    term: saved.term,
    votedFor: saved.votedFor,
    commitWatermark: saved.commitWatermark,
    position: pos(3, 60),
    now: 10_000,
  });
  const later = 10_000 + TIMINGS.electionTimeoutMs;
  const reply = voteReply(ask(restarted, later, { candidateId: 'c', term: 4, position: pos(3, 60) }));
  t.same(reply.reason, { code: 'already_voted', term: 4, votedFor: 'a' }, 'the restarted voter must refuse c: it voted for a in term 4');
  t.equal(voteReply(ask(restarted, later, { candidateId: 'a', term: 4, position: pos(3, 60) })).granted, true, 'a may ask again and is granted');
});

// ---- 3. Watermark rule -------------------------------------------------------

t.test('the watermark rule is checked first: below the watermark is watermark_not_covered, even with a stale term', async (t) => {
  // Proves requirement 3 and its place in the order: a candidate that cannot
  // carry an acknowledged write is refused for that reason whatever else is
  // also wrong with its request, and the refusal changes nothing.
  const cases = [
    { name: 'stale term', candidateId: 'a', term: 2, position: pos(3, 49) },
    { name: 'higher lsn, older log term', candidateId: 'a', term: 9, position: pos(2, 500) },
    { name: 'stale term and not a member', candidateId: 'z', term: 1, position: pos(1, 1) },
    { name: 'a witness asking', candidateId: 'w', term: 9, position: pos(0, 0) },
  ];
  for (const c of cases) {
    const node = voterB({ now: 0 });
    const before = node.hardState;
    // Within start-up loyalty too: the watermark rule still comes first.
    const effects = ask(node, 10, { candidateId: c.candidateId, term: c.term, position: c.position });
    t.same(
      voteReply(effects).reason,
      { code: 'watermark_not_covered', candidatePosition: c.position, commitWatermark: pos(3, 50) },
      `${c.name}: the refusal must be watermark_not_covered`,
    );
    t.equal(node.hardState, before, `${c.name}: the refusal must change nothing`);
  }
});

// ---- 4. Randomized election timeouts --------------------------------------------

t.test('followers started together time out at different moments within [base, base + jitter)', async (t) => {
  // Proves requirement 4 in the node: each node draws its election deadline
  // from its own random source, so nodes started at once do not stand together.
  const deadlines = new Set<number>();
  for (let seed = 1; seed <= 20; seed++) {
    const node = makeNode('a', MS, { term: 1, position: pos(1, 1), seed });
    const at = node.nextTimer;
    t.ok(at >= TIMINGS.electionTimeoutMs && at < TIMINGS.electionTimeoutMs + TIMINGS.electionJitterMs, `seed ${seed}: deadline ${at} out of range`);
    deadlines.add(at);
  }
  t.ok(deadlines.size >= 15, `20 seeds should give (nearly) 20 different deadlines, got ${deadlines.size}`);
});

// ---- 5. Membership rules -----------------------------------------------------

t.test('a quorum is floor(voters / 2) + 1', async (t) => {
  // Proves the quorum arithmetic of requirement 5 on a table.
  const table: Array<[number, number]> = [
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
    [6, 4],
    [7, 4],
    [8, 5],
    [9, 5],
  ];
  for (const [voters, quorum] of table) t.equal(quorumSize(voters), quorum, `quorum of ${voters} voters`);
});

t.test('witnesses count toward the quorum, catching-up members do not', async (t) => {
  // Proves the denominator of requirement 5: only voting members count.
  t.equal(quorumOf([data('a'), data('b'), witness('w')]), 2, '2 data + 1 witness is 3 voters: quorum 2');
  t.equal(quorumOf([data('a'), data('b'), data('c'), catchingUp('x'), catchingUp('y')]), 2, 'catching-up members must not count: quorum 2 of 3');
  t.equal(quorumOf([data('a'), data('b'), witness('w'), catchingUp('x')]), 2, 'a witness counts, a catching-up member does not');
});

t.test('two data members and a witness elect a primary while one data member is down', async (t) => {
  // Proves that 2 data + 1 witness is a valid shape: the witness's vote
  // completes the majority when the other data member is unreachable.
  const cluster = new Cluster([data('a'), data('b'), witness('w')], {
    a: { term: 1, position: pos(1, 10) },
    b: { term: 1, position: pos(1, 10) },
    w: { term: 1 },
  });
  cluster.cut = (from, to) => from === 'b' || to === 'b';
  cluster.elect('a');
  t.same(cluster.primariesOf(2), ['a'], 'a should be primary of term 2');
  t.same(
    cluster.outcomeLog.filter((o) => o.id === 'a').map((o) => o.outcome),
    [{ kind: 'elected', term: 2, votes: 2, needed: 2, refusals: [{ voterId: 'b', reason: null }], cause: 'timeout', durationMs: 0, position: pos(1, 10) }],
    'a won with its own vote and the witness vote (b, cut off, never answered)',
  );
});

t.test('a catching-up member never votes: it refuses probes and ballots with not_voting', async (t) => {
  // Proves requirement 5: a catching-up member is not a voter, whatever it is asked.
  const node = makeNode('x', MS, { term: 3, position: pos(3, 60) });
  for (const dryRun of [true, false]) {
    const before = node.hardState;
    const effects = ask(node, NOW, { candidateId: 'a', term: 4, position: pos(3, 60), dryRun });
    t.same(voteReply(effects).reason, { code: 'not_voting', voterId: 'x', why: 'catching_up' }, `dryRun ${dryRun}: refusal reason`);
    t.equal(node.hardState, before, `dryRun ${dryRun}: the refusal must change nothing`);
  }
});

t.test('a catching-up member never stands: its timer ends in not_electable and sends nothing', async (t) => {
  // Proves requirement 5: a catching-up member's election timer runs out
  // like anyone's, yet it asks no one for a vote.
  const node = makeNode('x', MS, { term: 3, position: pos(3, 60) });
  const effects = checkedStep(node, { type: 'tick', now: NOW });
  t.same(
    outcomes(effects).map((o) => o.kind),
    ['not_electable'],
    'the outcome must be not_electable',
  );
  t.same(sends(effects), [], 'a catching-up member must send no vote request');
  t.equal(node.currentRole, 'follower', 'it stays a follower');
});

t.test('a candidate asks only voters and wins with floor(voters / 2) + 1 of them, catching-up members aside', async (t) => {
  // Proves requirement 5: catching-up members are out of the denominator
  // (two of three voters suffice though five members exist) and out of the
  // tally (a grant claimed by one is not counted).
  const members = [data('a'), data('b'), data('c'), catchingUp('x'), catchingUp('y')];
  const setups = Object.fromEntries(members.map((m) => [m.id, { term: 1, position: pos(1, 10) }]));
  const cluster = new Cluster(members, setups);
  const probeEffects = cluster.tick('a', NOW);
  t.same(
    sends(probeEffects, 'vote_request')
      .map((s) => s.to)
      .sort(),
    ['b', 'c'],
    'probes must go to the other voters only',
  );
  // A forged grant from a catching-up member is not counted.
  const forged = checkedStep(cluster.node('a'), {
    type: 'message',
    now: NOW,
    message: { type: 'vote_response', round: 1, voterId: 'x', term: 1, granted: true, dryRun: true },
  });
  t.same(persists(forged), [], 'a grant from a catching-up member must not complete the probe');
  cluster.cut = (from, to) => from === 'c' || to === 'c';
  cluster.deliver();
  t.same(cluster.primariesOf(2), ['a'], 'a should win term 2 with b alone');
  t.same(
    cluster.outcomeLog.filter((o) => o.id === 'a').map((o) => o.outcome),
    [{ kind: 'elected', term: 2, votes: 2, needed: 2, refusals: [{ voterId: 'c', reason: null }], cause: 'timeout', durationMs: 0, position: pos(1, 10) }],
    'two votes of three voters are a quorum (c never answered)',
  );
});
