// The candidate side of an election: who may stand, the probe and the ballot
// fan-outs, the one persist of the term bump, every outcome with its votes and
// quorum, stepping down on a higher term, and which replies are ignored.

import t from 'tap';
import type { Effect, Node, VoteResponse } from '../../src/core/index.js';
import {
  AFTER_START_LOYALTY,
  Cluster,
  TIMINGS,
  catchingUp,
  checkedStep,
  data,
  deliver,
  makeNode,
  clusterConfig,
  outcomes,
  persists,
  pos,
  roleChanges,
  sends,
  witness,
  type NodeSetup,
} from '../support/core-harness.js';

const NOW = AFTER_START_LOYALTY;
const MEMBERS = [data('a'), data('b'), data('c'), data('d'), witness('w'), catchingUp('x')];
const MS = clusterConfig(MEMBERS);
/** a, b, c, d and w vote: five voters, quorum three. */
const OTHER_VOTERS = ['b', 'c', 'd', 'w'];

function cluster(setups: Record<string, NodeSetup> = {}): Cluster {
  const base: Record<string, NodeSetup> = {};
  for (const m of MEMBERS) base[m.id] = { term: 1, ...(m.kind === 'data' ? { position: pos(1, 10) } : {}), ...setups[m.id] };
  return new Cluster(MEMBERS, base);
}

function reply(voterId: string, round: number, granted: boolean, term: number, dryRun: boolean): VoteResponse {
  return { type: 'vote_response', round, voterId, term, granted, dryRun };
}

function receive(node: Node, now: number, r: VoteResponse): Effect[] {
  return deliver(node, now, r);
}

t.test('a node that may not stand ends in not_electable and sends no probe', async (t) => {
  // Proves the electability guard: a witness, a catching-up member, a data
  // member whose position is unknown or below the watermark, and a node
  // missing from its own membership never probe, never persist, stay followers.
  const rows: Array<{ name: string; id: string; setup: NodeSetup }> = [
    { name: 'witness', id: 'w', setup: { term: 1 } },
    { name: 'catching-up member', id: 'x', setup: { term: 1, position: pos(1, 10) } },
    { name: 'data member with no position reported', id: 'a', setup: { term: 1 } },
    { name: 'data member below the watermark', id: 'a', setup: { term: 1, position: pos(1, 10), commitWatermark: pos(1, 11) } },
    { name: 'not in its own membership', id: 'z', setup: { term: 1, position: pos(1, 10) } },
  ];
  for (const row of rows) {
    const node = makeNode(row.id, MS, row.setup);
    const effects = checkedStep(node, { type: 'tick', now: NOW });
    const got = outcomes(effects);
    t.equal(got.length, 1, `${row.name}: one election outcome`);
    t.match(got[0], { kind: 'not_electable', term: 1, why: /\w/ }, `${row.name}: the outcome must be not_electable, with why`);
    t.same(sends(effects), [], `${row.name}: no probe may be sent`);
    t.same(persists(effects), [], `${row.name}: nothing may be persisted`);
    t.equal(node.currentRole, 'follower', `${row.name}: stays a follower`);
    t.ok(node.nextTimer > NOW, `${row.name}: its election timer is rearmed`);
  }
});

t.test('a standing node probes every other voter at once, each request with the election deadline', async (t) => {
  // Proves the probe fan-out: one step sends a dry-run request for term + 1 to
  // every other voter (not to itself, not to a catching-up member), each with
  // the time left to the randomized election deadline, and persists nothing.
  const c = cluster();
  const effects = c.tick('a', NOW);
  const probes = sends(effects, 'vote_request');
  t.same(probes.map((p) => p.to).sort(), OTHER_VOTERS, 'probes go to every other voter');
  for (const p of probes) {
    t.match(p.message, { candidateId: 'a', term: 2, lastLogTerm: 1, lastLogLsn: 10, dryRun: true }, `probe to ${p.to}`);
  }
  const deadlines = new Set(probes.map((p) => p.timeoutMs));
  const [timeoutMs] = deadlines;
  t.equal(deadlines.size, 1, 'every probe shares the one election deadline');
  t.ok(
    timeoutMs !== undefined && timeoutMs >= TIMINGS.electionTimeoutMs && timeoutMs < TIMINGS.electionTimeoutMs + TIMINGS.electionJitterMs,
    `the deadline ${timeoutMs} lies in the randomized election timeout`,
  );
  t.same(persists(effects), [], 'a probe persists nothing');
  t.same(
    roleChanges(effects).map((r) => [r.role, r.term, r.reason]),
    [['precandidate', 1, 'election_started']],
    'the node becomes a precandidate in its unchanged term',
  );
  t.equal(c.node('a').nextTimer, NOW + (timeoutMs ?? 0), 'the node ticks again at the deadline');
});

t.test('the candidate persists { term + 1, votedFor: self } once, after a probe quorum, then sends every ballot', async (t) => {
  // Proves the term bump: nothing is persisted while the probe lacks a quorum;
  // the step that completes it begins with exactly one persist of the new term
  // and the self-vote, then aborts the probe round and sends a ballot to every
  // other voter at once. Later probe replies change nothing.
  const c = cluster();
  c.tick('a', NOW);
  const a = c.node('a');
  const first = receive(a, NOW + 1, reply('b', 1, true, 1, true));
  t.same(persists(first), [], 'two of five probe grants are not a quorum: nothing persisted');
  t.equal(a.currentRole, 'precandidate', 'still probing');
  const second = receive(a, NOW + 2, reply('c', 1, true, 1, true));
  t.equal(second[0]?.type, 'persist', 'the step completing the probe quorum begins with the persist');
  t.same(
    persists(second).map((p) => ({ term: p.state.term, votedFor: p.state.votedFor })),
    [{ term: 2, votedFor: 'a' }],
    'exactly one persist, of term 2 and the self-vote',
  );
  t.ok(
    second.some((e) => e.type === 'abort' && e.round === 1),
    'the probe round is aborted',
  );
  const ballots = sends(second, 'vote_request');
  t.same(ballots.map((b) => b.to).sort(), OTHER_VOTERS, 'ballots go to every other voter in the same step');
  for (const b of ballots) t.match(b.message, { candidateId: 'a', term: 2, dryRun: false, round: 2 }, `ballot to ${b.to}`);
  t.equal(a.currentRole, 'candidate', 'a is a candidate');
  const late = receive(a, NOW + 3, reply('d', 1, true, 1, true));
  t.same(late, [], 'a late probe grant does nothing');
  t.same(a.hardState.term, 2, 'the term was bumped once');
});

t.test('a ballot quorum makes the candidate primary: elected with its votes and the quorum', async (t) => {
  // Proves the win: on the third of five grants (its own included) the
  // candidate aborts the ballot round, reports elected, becomes primary and
  // sends its first heartbeats; the one persist stamps its configuration with
  // the term it won, and the term and vote stay as they are.
  const c = cluster();
  c.tick('a', NOW);
  const a = c.node('a');
  receive(a, NOW, reply('b', 1, true, 1, true));
  receive(a, NOW, reply('c', 1, true, 1, true));
  const one = receive(a, NOW + 1, reply('b', 2, true, 2, false));
  t.equal(a.currentRole, 'candidate', 'two of five ballots are not a quorum');
  t.same(outcomes(one), [], 'no outcome yet');
  const win = receive(a, NOW + 2, reply('w', 2, true, 2, false));
  t.same(
    outcomes(win),
    [{ kind: 'elected', term: 2, votes: 3, needed: 3, refusals: [], cause: 'timeout', durationMs: 2, position: pos(1, 10) }],
    'elected with 3 of the 3 needed, 2 ms after its timeout began the attempt, at its position',
  );
  t.match(
    persists(win).map((p) => [p.state.term, p.state.votedFor, p.state.config?.term, p.state.config?.version]),
    [[2, 'a', 2, 1]],
    'winning persists only the configuration, stamped with term 2',
  );
  t.ok(
    win.some((e) => e.type === 'abort' && e.round === 2),
    'the ballot round is aborted',
  );
  t.same(
    roleChanges(win).map((r) => [r.role, r.term, r.primaryId, r.reason]),
    [['primary', 2, 'a', 'elected']],
    'a becomes primary',
  );
  t.same(
    sends(win, 'heartbeat')
      .map((h) => h.to)
      .sort(),
    ['b', 'c', 'd', 'w', 'x'],
    'the first heartbeats go to every other member',
  );
});

t.test('every election outcome carries its term, votes, quorum and refusals', async (t) => {
  // Proves each outcome of an election that ran: elected, probe_failed (too
  // many probe refusals), lost (too many ballot refusals), timed_out in the
  // probe and in the ballot phase, each listing the voters that refused (these
  // replies carry no reason, so each reason is null). (not_electable is proved above.)
  const refusedBy = (...ids: string[]) => ids.map((voterId) => ({ voterId, reason: null }));
  const rows: Array<{ name: string; run: (a: Node) => Effect[]; outcome: unknown; term: number }> = [
    {
      name: 'elected',
      run: (a) => [
        ...receive(a, NOW, reply('b', 1, true, 1, true)),
        ...receive(a, NOW, reply('c', 1, true, 1, true)),
        ...receive(a, NOW, reply('b', 2, true, 2, false)),
        ...receive(a, NOW, reply('c', 2, true, 2, false)),
      ],
      outcome: { kind: 'elected', term: 2, votes: 3, needed: 3, refusals: [], cause: 'timeout', durationMs: 0, position: pos(1, 10) },
      term: 2,
    },
    {
      name: 'probe_failed',
      run: (a) => [
        ...receive(a, NOW, reply('b', 1, true, 1, true)),
        ...receive(a, NOW, reply('c', 1, false, 1, true)),
        ...receive(a, NOW, reply('d', 1, false, 1, true)),
        ...receive(a, NOW, reply('w', 1, false, 1, true)),
      ],
      outcome: { kind: 'probe_failed', term: 2, votes: 2, needed: 3, refusals: refusedBy('c', 'd', 'w') },
      term: 1,
    },
    {
      name: 'lost',
      run: (a) => [
        ...receive(a, NOW, reply('b', 1, true, 1, true)),
        ...receive(a, NOW, reply('c', 1, true, 1, true)),
        ...receive(a, NOW, reply('b', 2, false, 2, false)),
        ...receive(a, NOW, reply('c', 2, false, 2, false)),
        ...receive(a, NOW, reply('d', 2, true, 2, false)),
        ...receive(a, NOW, reply('w', 2, false, 2, false)),
      ],
      outcome: { kind: 'lost', term: 2, votes: 2, needed: 3, refusals: refusedBy('b', 'c', 'w') },
      term: 2,
    },
    {
      name: 'timed_out while probing',
      run: (a) => [
        ...receive(a, NOW, reply('b', 1, true, 1, true)),
        ...checkedStep(a, { type: 'tick', now: a.nextTimer - 1 }),
        ...checkedStep(a, { type: 'tick', now: a.nextTimer }),
      ],
      outcome: { kind: 'timed_out', term: 2, votes: 2, needed: 3, refusals: [] },
      term: 1,
    },
    {
      name: 'timed_out while balloting',
      run: (a) => [
        ...receive(a, NOW, reply('b', 1, true, 1, true)),
        ...receive(a, NOW, reply('c', 1, true, 1, true)),
        ...checkedStep(a, { type: 'tick', now: a.nextTimer }),
      ],
      outcome: { kind: 'timed_out', term: 2, votes: 1, needed: 3, refusals: [] },
      term: 2,
    },
  ];
  for (const row of rows) {
    const c = cluster();
    c.tick('a', NOW);
    const a = c.node('a');
    const effects = row.run(a);
    t.same(outcomes(effects), [row.outcome], `${row.name}: the outcome`);
    t.equal(a.currentRole, row.name === 'elected' ? 'primary' : 'follower', `${row.name}: the role after the election`);
    t.equal(a.term, row.term, `${row.name}: the term after the election`);
  }
});

t.test('a rival winning the voters first makes the candidate lose (lost, from real refusals)', async (t) => {
  // Proves lost from real voters: a passes its probe, but b, c and w grant
  // the rival d's ballot for the same term first and refuse a with already_voted
  // (d itself, primary by then, with primary_alive); the outcome keeps each reason.
  const c = cluster();
  c.tick('a', NOW);
  c.tick('d', NOW);
  c.deliver((e) => e.message.type === 'vote_request' && e.message.dryRun);
  c.deliver((e) => e.message.type === 'vote_response' && e.message.dryRun);
  t.same([c.node('a').currentRole, c.node('d').currentRole], ['candidate', 'candidate'], 'a and d both stand in term 2');
  c.deliver((e) => e.message.type === 'vote_request' && e.from === 'd');
  c.deliver((e) => e.message.type === 'vote_response' && e.to === 'd');
  t.same(c.primariesOf(2), ['d'], 'd won term 2');
  c.take((e) => e.message.type === 'heartbeat');
  c.deliver();
  const lost = c.outcomeLog.filter((o) => o.id === 'a').map((o) => o.outcome);
  t.match(lost, [{ kind: 'lost', term: 2, votes: 1, needed: 3 }], 'a lost term 2 with only its own vote');
  const reasons = lost[0]?.kind === 'lost' ? (lost[0].refusals ?? []) : [];
  t.same(
    Object.fromEntries(reasons.map((r) => [r.voterId, r.reason?.code ?? null])),
    { b: 'already_voted', c: 'already_voted', d: 'primary_alive' },
    "and kept each voter's refusal with its reason",
  );
  t.same(c.primariesOf(2), ['d'], 'd is still the only primary of term 2');
});

t.test('a reply with a higher term makes the candidate step down and adopt that term', async (t) => {
  // Proves stepping down on a higher term, in the probe and in the ballot
  // phase: the candidate persists the higher term (with no vote) first, becomes
  // a follower for reason higher_term and reports the election it abandoned.
  for (const phase of ['probe', 'ballot'] as const) {
    const c = cluster({ b: { term: 7, position: pos(1, 10) } });
    c.tick('a', NOW);
    const a = c.node('a');
    if (phase === 'ballot') {
      c.deliver((e) => e.message.type === 'vote_request' && e.message.dryRun && (e.to === 'c' || e.to === 'd'));
      c.deliver((e) => e.message.type === 'vote_response' && (e.from === 'c' || e.from === 'd'));
      t.equal(a.currentRole, 'candidate', 'a reached its ballot phase');
    }
    // b is in term 7: it refuses a's request as stale and says so.
    const request = c.take((e) => e.to === 'b' && e.message.type === 'vote_request' && e.message.dryRun === (phase === 'probe'));
    const [env] = request;
    if (!env) throw new Error('no request to b in flight');
    const refusal = sends(c.deliverEnvelope(env), 'vote_response')[0];
    t.match(refusal?.message, { granted: false, term: 7, reason: { code: 'stale_term' } }, `${phase}: b refuses with its term 7`);
    const delivered = c.deliver((e) => e.to === 'a' && e.message.type === 'vote_response' && e.from === 'b');
    t.equal(delivered, 1, "b's refusal was delivered to a");
    t.same({ term: a.hardState.term, votedFor: a.hardState.votedFor }, { term: 7, votedFor: null }, `${phase}: a adopts term 7 with no vote`);
    t.equal(a.currentRole, 'follower', `${phase}: a steps down`);
    t.same(c.roleLog.filter((r) => r.id === 'a').at(-1)?.change.reason, 'higher_term', `${phase}: for reason higher_term`);
    t.same(
      c.outcomeLog.filter((o) => o.id === 'a').map((o) => o.outcome.kind),
      [phase === 'probe' ? 'probe_failed' : 'lost'],
      `${phase}: the abandoned election is reported`,
    );
  }
});

t.test('the step-down on a higher term persists before anything else', async (t) => {
  // Proves the higher-term step-down keeps persist-first: the step's first
  // effect is the persist of the new term.
  const c = cluster();
  c.tick('a', NOW);
  const a = c.node('a');
  const effects = receive(a, NOW, reply('b', 1, false, 9, true));
  t.equal(effects[0]?.type, 'persist', 'the persist comes first');
  t.equal(a.term, 9, 'a adopted term 9');
});

t.test('late replies of a finished round are ignored', async (t) => {
  // Proves that replies to a round that is decided change nothing: a probe
  // grant after the ballot began, a higher-term refusal after the win, and a
  // grant after the election timed out.
  const c = cluster();
  c.tick('a', NOW);
  const a = c.node('a');
  receive(a, NOW, reply('b', 1, true, 1, true));
  receive(a, NOW, reply('c', 1, true, 1, true));
  receive(a, NOW, reply('b', 2, true, 2, false));
  receive(a, NOW, reply('c', 2, true, 2, false));
  t.equal(a.currentRole, 'primary', 'a won term 2');
  const before = a.hardState;
  for (const late of [reply('d', 1, true, 1, true), reply('d', 1, false, 9, true), reply('w', 2, false, 9, false), reply('d', 2, true, 2, false)]) {
    const effects = receive(a, NOW + 1, late);
    t.same(effects, [], `late ${JSON.stringify(late)} must do nothing`);
  }
  t.equal(a.hardState, before, 'the primary is unchanged');
  t.equal(a.currentRole, 'primary', 'and still primary');

  const timedOut = cluster();
  timedOut.tick('a', NOW);
  const b = timedOut.node('a');
  receive(b, NOW, reply('b', 1, true, 1, true));
  receive(b, NOW, reply('c', 1, true, 1, true));
  checkedStep(b, { type: 'tick', now: b.nextTimer });
  t.equal(b.currentRole, 'follower', 'the second candidate timed out');
  for (const late of ['b', 'c', 'd']) {
    const effects = receive(b, b.nextTimer - 1, reply(late, 2, true, 2, false));
    t.same(outcomes(effects), [], `a late grant from ${late} after the timeout must not elect`);
    t.equal(b.currentRole, 'follower', `still a follower after ${late}'s late grant`);
  }
});

t.test('late grants to an earlier probe round do not count in the next one', async (t) => {
  // Proves replies are matched to their round, not only to their phase: after
  // a probe times out and the node stands again, grants to the old probe
  // cannot complete the new probe.
  const c = cluster();
  c.tick('a', NOW);
  const a = c.node('a');
  const oldGrants = [reply('b', 1, true, 1, true), reply('c', 1, true, 1, true)];
  checkedStep(a, { type: 'tick', now: a.nextTimer });
  t.equal(a.currentRole, 'follower', 'the first probe timed out');
  const probes = sends(checkedStep(a, { type: 'tick', now: a.nextTimer }), 'vote_request');
  t.ok(probes.length === 4 && probes.every((p) => p.message.round === 2 && p.message.dryRun), 'a probes again, in round 2');
  for (const late of oldGrants) t.same(persists(receive(a, a.nextTimer - 1, late)), [], `round 1 grant from ${late.voterId} must not count`);
  t.equal(a.currentRole, 'precandidate', 'a is still probing');
  t.equal(a.term, 1, 'and has not bumped its term');
});

t.test('an undeliverable request counts as a refusal, never as a grant', async (t) => {
  // Proves that a request the transport could not deliver is a non-grant: three
  // undeliverable probes of five voters end the probe, and an undeliverable
  // report for a voter that already granted does not take its grant away.
  const c = cluster();
  const probes = sends(c.tick('a', NOW), 'vote_request');
  const a = c.node('a');
  const probeTo = (id: string) => probes.find((p) => p.to === id)!.message;
  checkedStep(a, { type: 'undeliverable', now: NOW, to: 'b', message: probeTo('b') });
  const second = checkedStep(a, { type: 'undeliverable', now: NOW, to: 'c', message: probeTo('c') });
  t.same(outcomes(second), [], 'two undeliverable of five: still pending');
  const third = checkedStep(a, { type: 'undeliverable', now: NOW, to: 'd', message: probeTo('d') });
  t.same(
    outcomes(third),
    [{ kind: 'probe_failed', term: 2, votes: 1, needed: 3, refusals: ['b', 'c', 'd'].map((voterId) => ({ voterId, reason: null })) }],
    'three undeliverable: the probe fails, each listed with no reason',
  );

  const again = cluster();
  const probes2 = sends(again.tick('a', NOW), 'vote_request');
  const a2 = again.node('a');
  receive(a2, NOW, reply('b', 1, true, 1, true));
  checkedStep(a2, { type: 'undeliverable', now: NOW, to: 'b', message: probes2.find((p) => p.to === 'b')!.message });
  const effects = receive(a2, NOW, reply('c', 1, true, 1, true));
  t.equal(persists(effects).length, 1, "b's grant still counts: c's grant completes the probe quorum");
  t.equal(a2.currentRole, 'candidate', 'a moved on to its ballot');
});

t.test('a grant given in an earlier term never counts toward a ballot, even under a reused round number', async (t) => {
  // Proves that a restarted candidate, whose round numbers start again, does
  // not count delayed grants to its previous incarnation's ballot (term 2) in
  // its new ballot (term 3) of the same round number; otherwise it and the
  // real winner of term 3 would both be primary.
  const c = cluster({ d: { term: 2, position: pos(1, 10) } });
  c.tick('a', NOW);
  c.deliver((e) => e.message.type === 'vote_request' && e.message.dryRun);
  c.deliver((e) => e.message.type === 'vote_response' && e.to === 'a' && e.message.dryRun);
  t.equal(c.node('a').currentRole, 'candidate', 'a stands in term 2');
  c.deliver((e) => e.message.type === 'vote_request' && !e.message.dryRun && (e.to === 'b' || e.to === 'c'));
  const delayed = c.take((e) => e.message.type === 'vote_response' && e.to === 'a');
  t.match(
    delayed.map((e) => e.message),
    [reply('b', 2, true, 2, false), reply('c', 2, true, 2, false)],
    'b and c granted a for term 2 (round 2); their replies are delayed',
  );
  c.take();
  // a crashes and restarts from its persisted state: round numbers restart.
  c.restart('a', NOW + 10, pos(1, 10));
  t.same([c.node('a').term, c.node('a').hardState.votedFor], [2, 'a'], 'the restarted a remembers its term-2 vote');
  c.tick('a', c.node('a').nextTimer);
  c.deliver((e) => e.message.type === 'vote_request' && e.message.dryRun);
  c.deliver((e) => e.message.type === 'vote_response' && e.to === 'a' && e.message.dryRun);
  t.match(c.node('a'), { currentRole: 'candidate', term: 3 }, 'the restarted a stands in term 3, ballot round 2 again');
  for (const env of delayed) c.deliverEnvelope(env);
  t.equal(c.node('a').currentRole, 'candidate', 'the term-2 grants must not make a primary of term 3');
  // Meanwhile d, cut off from a, wins term 3 with the real votes of b, c and w.
  c.take();
  c.cut = (from, to) => from === 'a' || to === 'a';
  c.tick('d', c.now);
  c.deliver((e) => e.message.type !== 'heartbeat');
  t.same(c.primariesOf(3), ['d'], 'd alone is primary of term 3');
});
