// The vote rule (vote.ts): every refusal reason, the documented order between
// them, what a grant records, and that a refusal changes nothing on the voter,
// for the pure rule and for a node applying it.

import t from 'tap';
import { decideVote, type RefusalCode, type VoteDecision, type VoterView } from '../../src/core/index.js';
import {
  AFTER_START_LOYALTY,
  Cluster,
  TIMINGS,
  ask,
  catchingUp,
  data,
  deliver,
  heartbeat,
  makeNode,
  clusterConfig,
  persists,
  pos,
  roleChanges,
  type NodeSetup,
  type VoteRequestFields,
  voteReply,
  voteRequest,
  witness,
} from '../support/core-harness.js';

const MS = clusterConfig([data('a'), data('b'), data('c'), witness('w'), catchingUp('x')]);
const NOW = AFTER_START_LOYALTY;

/** A data voter b in term 3 that would grant candidate a's request for term 4. */
function view(patch: Partial<VoterView> = {}): VoterView {
  return {
    id: 'b',
    term: 3,
    votedFor: null,
    commitWatermark: pos(3, 50),
    clusterId: MS.clusterId,
    config: { term: MS.term, version: MS.version },
    members: MS.members,
    kind: 'data',
    position: pos(3, 60),
    paused: false,
    livePrimary: null,
    handoffCandidate: null,
    ...patch,
  };
}

function request(patch: Partial<VoteRequestFields> = {}) {
  return voteRequest({ candidateId: 'a', term: 4, position: pos(3, 60), ...patch });
}

function codeOf(d: VoteDecision): RefusalCode | 'granted' {
  return d.granted ? 'granted' : d.reason.code;
}

// ---- Each reason on its own -----------------------------------------------------

t.test('the base voter grants the base request', async (t) => {
  // Proves the fixtures below start from a grant, so each refusal is caused by
  // exactly the one thing its row changes.
  t.same(decideVote(view(), request()), { granted: true }, 'base case must be a grant');
});

t.test('every refusal reason, each with its details', async (t) => {
  // Proves each refusal of vote.ts is given, with the details the API
  // documents, when exactly that one rule is broken.
  const rows: Array<{ name: string; view?: Partial<VoterView>; req?: Partial<VoteRequestFields>; reason: unknown }> = [
    {
      name: 'candidate below the watermark (same log term, lower lsn)',
      req: { position: pos(3, 49) },
      reason: { code: 'watermark_not_covered', candidatePosition: pos(3, 49), commitWatermark: pos(3, 50) },
    },
    {
      name: 'candidate below the watermark (higher lsn, older log term)',
      req: { position: pos(2, 900) },
      reason: { code: 'watermark_not_covered', candidatePosition: pos(2, 900), commitWatermark: pos(3, 50) },
    },
    { name: 'candidate not a member', req: { candidateId: 'z' }, reason: { code: 'not_a_member', candidateId: 'z' } },
    { name: 'candidate a witness', req: { candidateId: 'w' }, reason: { code: 'not_electable', candidateId: 'w' } },
    { name: 'candidate catching up', req: { candidateId: 'x' }, reason: { code: 'not_electable', candidateId: 'x' } },
    { name: 'voter not a member', view: { id: 'z' }, reason: { code: 'not_voting', voterId: 'z', why: 'not_a_member' } },
    { name: 'voter catching up', view: { id: 'x' }, reason: { code: 'not_voting', voterId: 'x', why: 'catching_up' } },
    { name: 'data voter without a known position', view: { position: null }, reason: { code: 'not_voting', voterId: 'b', why: 'position_unknown' } },
    { name: 'candidate term below the voter term', req: { term: 2 }, reason: { code: 'stale_term', candidateTerm: 2, voterTerm: 3 } },
    {
      name: 'candidate log behind the voter log (same term)',
      req: { position: pos(3, 55) },
      reason: { code: 'log_behind', candidatePosition: pos(3, 55), voterPosition: pos(3, 60) },
    },
    {
      name: 'candidate log behind the voter log (older log term, higher lsn)',
      view: { commitWatermark: pos(1, 0) },
      req: { position: pos(2, 99) },
      reason: { code: 'log_behind', candidatePosition: pos(2, 99), voterPosition: pos(3, 60) },
    },
    {
      name: 'a live primary heard 40 ms ago',
      view: { livePrimary: { id: 'c', agoMs: 40 } },
      reason: { code: 'primary_alive', primaryId: 'c', lastHeartbeatAgoMs: 40 },
    },
    {
      name: 'just started, primary not known yet',
      view: { livePrimary: { id: null, agoMs: 5 } },
      reason: { code: 'primary_alive', primaryId: null, lastHeartbeatAgoMs: 5 },
    },
    {
      name: 'already voted for another in this term',
      view: { votedFor: 'c' },
      req: { term: 3 },
      reason: { code: 'already_voted', term: 3, votedFor: 'c' },
    },
  ];
  for (const row of rows) {
    const d = decideVote(view(row.view), request(row.req));
    t.same(d, { granted: false, reason: row.reason }, `${row.name}: refused with the documented reason and details`);
  }
});

t.test('a witness voter needs no position and never refuses for log_behind', async (t) => {
  // Proves that for a witness the watermark rule is the whole of the log check.
  const w = view({ id: 'w', kind: 'witness', position: null });
  t.same(decideVote(w, request({ position: pos(3, 50) })), { granted: true }, 'a witness grants a candidate that covers the watermark');
  t.equal(codeOf(decideVote(w, request({ position: pos(3, 49) }))), 'watermark_not_covered', 'a witness refuses below the watermark');
});

t.test('the same candidate asking again in a term is granted again', async (t) => {
  // Proves the re-ask: a lost reply must not cost the candidate the vote.
  t.same(decideVote(view({ term: 4, votedFor: 'a' }), request({ term: 4 })), { granted: true }, 'a re-ask by a must be granted');
  t.equal(codeOf(decideVote(view({ term: 4, votedFor: 'a' }), request({ term: 4, candidateId: 'c' }))), 'already_voted', 'c must still be refused');
});

t.test('a higher term clears the previous term vote', async (t) => {
  // Proves the vote binds one term only: a vote for c in term 3 does not stop
  // a grant to a in term 4.
  t.same(decideVote(view({ term: 3, votedFor: 'c' }), request({ term: 4 })), { granted: true }, 'term 4 must be grantable');
});

t.test("primary_alive is waived only for a handoff the primary named, never for a ballot in the primary's own name", async (t) => {
  // Proves the one exception to stickiness, the candidate the primary handed
  // leadership to (only with the handoff flag), and that a ballot naming the
  // live primary itself is refused: granted, its higher term would depose it.
  const live = { id: 'c', agoMs: 10 };
  t.equal(codeOf(decideVote(view({ livePrimary: live }), request({ candidateId: 'c' }))), 'primary_alive', 'a ballot naming the live primary');
  t.same(
    decideVote(view({ livePrimary: live, handoffCandidate: 'a' }), request({ handoff: true })),
    { granted: true },
    'the candidate the primary named, asking with the handoff flag',
  );
  t.equal(codeOf(decideVote(view({ livePrimary: live, handoffCandidate: 'a' }), request())), 'primary_alive', 'the named candidate without the handoff flag');
  t.equal(
    codeOf(decideVote(view({ livePrimary: live, handoffCandidate: 'a' }), request({ candidateId: 'b', handoff: true }))),
    'primary_alive',
    'a handoff flag from a candidate the primary did not name',
  );
});

// ---- The order between reasons ---------------------------------------------------

/** One way to break each rule, on fields disjoint from the others where possible. */
const BREAKS: ReadonlyArray<{ code: RefusalCode; view?: Partial<VoterView>; req?: Partial<VoteRequestFields> }> = [
  { code: 'watermark_not_covered', view: { commitWatermark: pos(3, 70) } },
  { code: 'not_a_member', req: { candidateId: 'z' } },
  { code: 'not_electable', req: { candidateId: 'w' } },
  { code: 'not_voting', view: { id: 'x' } },
  { code: 'stale_term', req: { term: 2 } },
  { code: 'log_behind', view: { position: pos(3, 65) } },
  { code: 'primary_alive', view: { livePrimary: { id: 'c', agoMs: 10 } } },
  { code: 'already_voted', view: { votedFor: 'c' }, req: { term: 3 } },
];

t.test('the documented order: when two rules are broken, the earlier one is the reason', async (t) => {
  // Proves the order of vote.ts (watermark_not_covered, not_a_member,
  // not_electable, not_voting, stale_term, log_behind, primary_alive,
  // already_voted) pair by pair. Two pairs break the same field and cannot
  // both hold: not_a_member with not_electable, stale_term with already_voted.
  const conflicting = new Set(['not_a_member+not_electable', 'stale_term+already_voted']);
  let pairs = 0;
  for (let i = 0; i < BREAKS.length; i++) {
    for (let j = i + 1; j < BREAKS.length; j++) {
      const a = BREAKS[i]!;
      const b = BREAKS[j]!;
      if (conflicting.has(`${a.code}+${b.code}`)) continue;
      const d = decideVote(view({ ...b.view, ...a.view }), request({ ...b.req, ...a.req }));
      t.equal(codeOf(d), a.code, `${a.code} must come before ${b.code}`);
      pairs++;
    }
  }
  t.equal(pairs, 26, 'all 28 pairs but the two conflicting ones were checked');
});

t.test('the order holds with every rule broken at once, peeled one rule at a time', async (t) => {
  // Proves the order as a chain: with all the rules broken the first is the
  // reason; mending it makes the next one the reason, and so on to a grant.
  // The two chains take either side of the two conflicting pairs.
  const chains: RefusalCode[][] = [
    ['watermark_not_covered', 'not_a_member', 'not_voting', 'stale_term', 'log_behind', 'primary_alive'],
    ['watermark_not_covered', 'not_electable', 'not_voting', 'log_behind', 'primary_alive', 'already_voted'],
  ];
  for (const chain of chains) {
    for (let k = 0; k <= chain.length; k++) {
      const broken = BREAKS.filter((b) => chain.slice(k).includes(b.code));
      const v = view(Object.assign({}, ...broken.map((b) => b.view ?? {})));
      const r = request(Object.assign({}, ...broken.map((b) => b.req ?? {})));
      t.equal(codeOf(decideVote(v, r)), chain[k] ?? 'granted', `broken: ${chain.slice(k).join(', ') || 'nothing'}`);
    }
  }
});

// ---- A node applying the rule ------------------------------------------------------

/** Node b: term 3, watermark 3/50, log at 3/60. */
function nodeB(setup: NodeSetup = {}) {
  return makeNode('b', MS, { term: 3, commitWatermark: pos(3, 50), position: pos(3, 60), ...setup });
}

t.test('a node refusing for any reason changes nothing: no persist, same term, same vote', async (t) => {
  // Proves that a refusal leaves the voter as it was, for each refusal reason
  // and for both probes and ballots, even when the request's term is higher.
  const rows: Array<{ code: RefusalCode; id?: string; setup?: NodeSetup; req: VoteRequestFields; heartbeatFirst?: boolean }> = [
    { code: 'watermark_not_covered', req: { candidateId: 'a', term: 99, position: pos(3, 40) } },
    { code: 'not_a_member', req: { candidateId: 'z', term: 99, position: pos(3, 60) } },
    { code: 'not_electable', req: { candidateId: 'w', term: 99, position: pos(3, 60) } },
    { code: 'not_electable', req: { candidateId: 'x', term: 99, position: pos(3, 60) } },
    { code: 'not_voting', id: 'x', req: { candidateId: 'a', term: 99, position: pos(3, 60) } },
    { code: 'not_voting', setup: { position: undefined }, req: { candidateId: 'a', term: 99, position: pos(3, 60) } },
    { code: 'stale_term', req: { candidateId: 'a', term: 2, position: pos(3, 60) } },
    { code: 'log_behind', req: { candidateId: 'a', term: 99, position: pos(3, 55) } },
    { code: 'primary_alive', heartbeatFirst: true, req: { candidateId: 'a', term: 99, position: pos(3, 60) } },
    { code: 'already_voted', setup: { votedFor: 'c' }, req: { candidateId: 'a', term: 3, position: pos(3, 60) } },
  ];
  for (const row of rows) {
    for (const dryRun of [true, false]) {
      const id = row.id ?? 'b';
      const node = makeNode(id, MS, { term: 3, commitWatermark: pos(3, 50), position: pos(3, 60), ...row.setup });
      if (row.heartbeatFirst) {
        deliver(node, NOW - 10, heartbeat(MS, 3, 'c', { commitWatermark: pos(3, 50) }));
      }
      const before = node.hardState;
      const effects = ask(node, NOW, { ...row.req, dryRun });
      const reply = voteReply(effects);
      const label = `${row.code} (${dryRun ? 'probe' : 'ballot'}, ${JSON.stringify(row.req)})`;
      t.equal(reply.reason?.code, row.code, `${label}: refused for ${row.code}`);
      t.same(persists(effects), [], `${label}: a refusal must not persist`);
      t.equal(node.hardState, before, `${label}: a refusal must leave the hard state as it was`);
      t.equal(reply.term, 3, `${label}: the reply carries the unchanged term`);
    }
  }
});

t.test('a node re-asked by the candidate it voted for grants again without persisting again', async (t) => {
  // Proves the idempotent re-grant at the node: the vote is already on disk.
  const node = nodeB();
  const first = ask(node, NOW, { candidateId: 'a', term: 4, position: pos(3, 60) });
  t.equal(persists(first).length, 1, 'the first grant persists');
  const again = ask(node, NOW + 5, { candidateId: 'a', term: 4, position: pos(3, 60) });
  t.equal(voteReply(again).granted, true, 'the re-ask must be granted');
  t.same(persists(again), [], 'nothing new to persist');
  t.equal(voteReply(ask(node, NOW + 6, { candidateId: 'c', term: 4, position: pos(3, 60) })).reason?.code, 'already_voted', 'c is still refused');
});

t.test('a node that voted in one term grants a candidate of a higher term and records the new vote', async (t) => {
  // Proves at the node that a higher term clears the previous vote.
  const node = nodeB({ votedFor: 'c' });
  const effects = ask(node, NOW, { candidateId: 'a', term: 4, position: pos(3, 60) });
  t.equal(voteReply(effects).granted, true, 'term 4 must be granted to a');
  t.same(
    persists(effects).map((p) => ({ term: p.state.term, votedFor: p.state.votedFor })),
    [{ term: 4, votedFor: 'a' }],
    'the new vote is persisted',
  );
});

t.test('a flood of probes and ballots with huge terms disturbs nothing in a healthy cluster', async (t) => {
  // Proves the hashicorp/raft#586 case: a disruptive member and a stranger send
  // requests with terms up to 2^53 - 1; every voter refuses without persisting
  // or moving its term, and the primary keeps its followers and its lease.
  const members = [data('a'), data('b'), data('c'), witness('w')];
  const setups = Object.fromEntries(members.map((m) => [m.id, { term: 1, ...(m.kind === 'data' ? { position: pos(1, 10) } : {}) }]));
  const cluster = new Cluster(members, setups);
  cluster.elect('a');
  t.same(cluster.primariesOf(2), ['a'], 'a is primary of term 2 before the flood');
  const before = new Map([...cluster.nodes].map(([id, n]) => [id, n.hardState]));
  let refused = 0;
  const terms = [3, 1000, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER];
  for (let i = 0; i < 400; i++) {
    const term = terms[i % terms.length]!;
    const req = voteRequest({
      candidateId: i % 3 === 0 ? 'z' : 'c',
      term,
      position: i % 2 === 0 ? pos(1, 10) : pos(term, 10 ** 9),
      dryRun: i % 4 < 2,
      round: i,
    });
    for (const voter of ['a', 'b', 'w']) {
      const effects = cluster.step(voter, { type: 'message', now: cluster.now + 1, message: req });
      if (persists(effects).length > 0) t.fail(`${voter} persisted on request ${JSON.stringify(req)}`);
      if (!voteReply(effects).granted) refused++;
    }
  }
  cluster.take((e) => e.message.type === 'vote_response');
  t.equal(refused, 1200, 'every request must have been refused');
  for (const [id, n] of cluster.nodes) {
    if (id !== 'c') t.equal(n.hardState, before.get(id), `${id}: the flood must leave the hard state as it was`);
  }
  // The primary carries on: its next heartbeat round is acknowledged and renews its lease.
  const next = cluster.node('a').nextTimer;
  cluster.tick('a', next);
  cluster.deliver();
  t.equal(cluster.node('a').currentRole, 'primary', 'a is still primary');
  t.ok(cluster.node('a').holdsLease(next + 1), 'a still holds its lease after the flood');
  t.equal(cluster.node('b').knownPrimary, 'a', 'b still follows a');
});

t.test('a node that grants a ballot for a newer term no longer names the old term primary', async (t) => {
  // Proves that the role change a grant causes does not report the previous
  // term's primary as the primary of the new term (the runtime records it in
  // the term history).
  const node = nodeB();
  deliver(node, 0, { type: 'heartbeat', round: 1, term: 3, primaryId: 'c', commitWatermark: pos(3, 50), config: { ...MS, term: 3 } });
  t.equal(node.knownPrimary, 'c', 'b follows c in term 3');
  const later = TIMINGS.electionTimeoutMs + 1;
  const effects = ask(node, later, { candidateId: 'a', term: 4, position: pos(3, 60), config: { term: 3, version: 1 } });
  t.equal(voteReply(effects).granted, true, 'b grants a the vote for term 4');
  t.same(
    roleChanges(effects).map((r) => ({ term: r.term, primaryId: r.primaryId, reason: r.reason })),
    [{ term: 4, primaryId: null, reason: 'voted' }],
    'the role change for term 4 must name no primary',
  );
  t.equal(node.knownPrimary, null, 'b knows no primary of term 4 yet');
});
