// The term ceiling, MAX_TERM (2^52): a node never stands for a term above it,
// and a message that carries a term above it changes nothing on the node that
// gets it. The HTTP layer refuses such messages first (test/http); these tests
// show the core holds the line on its own, without throwing.

import t, { type Test } from 'tap';
import { MAX_TERM, type Effect, type HeartbeatResponse, type Node, type VoteResponse } from '../../src/core/index.js';
import {
  CLUSTER_ID,
  AFTER_START_LOYALTY,
  Cluster,
  ask,
  checkedStep,
  data,
  deliver,
  heartbeat,
  makeNode,
  clusterConfig,
  outcomes,
  persists,
  pos,
  roleChanges,
  sends,
  voteReply,
  witness,
} from '../support/core-harness.js';

const MEMBERS = [data('a'), data('b'), data('c'), witness('w')];
const MS = clusterConfig(MEMBERS);
const NOW = AFTER_START_LOYALTY;
/** The largest exact integer: the term that used to leave a node unable to stand or persist. */
const EDGE = Number.MAX_SAFE_INTEGER;

/** snapshot is what a message must not change on a node. */
function snapshot(node: Node) {
  return { hard: node.hardState, role: node.currentRole, primary: node.knownPrimary, lastHeartbeat: node.lastHeartbeat, timer: node.nextTimer };
}

/** unchanged checks that a step persisted nothing, changed no role and left the node as it was. */
function unchanged(t: Test, node: Node, before: ReturnType<typeof snapshot>, effects: readonly Effect[], what: string): void {
  t.same(persists(effects), [], `${what}: nothing persisted`);
  t.same(roleChanges(effects), [], `${what}: no role change`);
  t.same(outcomes(effects), [], `${what}: no election`);
  t.equal(node.hardState, before.hard, `${what}: the hard state is the same object`);
  t.equal(node.currentRole, before.role, `${what}: same role`);
  t.equal(node.knownPrimary, before.primary, `${what}: same primary`);
  t.equal(node.lastHeartbeat, before.lastHeartbeat, `${what}: loyalty not refreshed`);
}

t.test('MAX_TERM is 2^52, and term + 1 is still exact there', async (t) => {
  t.equal(MAX_TERM, 2 ** 52);
  t.ok(Number.isSafeInteger(MAX_TERM + 1) && MAX_TERM + 1 !== MAX_TERM, 'the term after the ceiling is exact');
});

t.test('a node at term MAX_TERM does not stand, says why, and does not throw', async (t) => {
  const node = makeNode('a', MS, { term: MAX_TERM, position: pos(MAX_TERM, 10) });
  let effects: Effect[] = [];
  t.doesNotThrow(() => {
    effects = checkedStep(node, { type: 'tick', now: NOW });
  }, 'the election timer firing does not throw');
  t.match(outcomes(effects), [{ kind: 'not_electable', term: MAX_TERM, why: 'the term space is exhausted' }]);
  t.equal(node.electability(), 'the term space is exhausted');
  t.same(sends(effects), [], 'no probe is sent');
  t.same(persists(effects), [], 'nothing is persisted');
  t.equal(node.term, MAX_TERM, 'the term stays at the ceiling');
  t.equal(node.currentRole, 'follower');
  t.ok(node.nextTimer > NOW, 'its election timer is rearmed');
  // It keeps saying so on every later timeout, never throwing.
  const again = checkedStep(node, { type: 'tick', now: node.nextTimer });
  t.match(outcomes(again), [{ kind: 'not_electable', why: 'the term space is exhausted' }], 'the next timeout too');
});

t.test('a handoff to a follower at term MAX_TERM does not make it stand', async (t) => {
  const node = makeNode('b', MS, { term: MAX_TERM, position: pos(MAX_TERM, 10) });
  deliver(node, 1, heartbeat(MS, MAX_TERM, 'a', { handoffTo: 'b' }));
  t.equal(node.knownPrimary, 'a', 'b follows a in term MAX_TERM');
  const effects = deliver(node, 2, { type: 'handoff', clusterId: CLUSTER_ID, term: MAX_TERM, primaryId: 'a' });
  t.match(outcomes(effects), [{ kind: 'not_electable', why: 'the term space is exhausted' }]);
  t.same(persists(effects), [], 'nothing is persisted');
  t.same(sends(effects, 'vote_request'), [], 'no ballot is sent');
  t.equal(node.term, MAX_TERM);
});

t.test('MAX_TERM itself is a term like any other: a node one below it is elected for it', async (t) => {
  const setups = Object.fromEntries(MEMBERS.map((m) => [m.id, { term: MAX_TERM - 1, ...(m.kind === 'data' ? { position: pos(MAX_TERM - 1, 10) } : {}) }]));
  const cluster = new Cluster(MEMBERS, setups);
  cluster.elect('a');
  t.same(cluster.primariesOf(MAX_TERM), ['a'], 'a is primary of term MAX_TERM');
  t.equal(cluster.node('b').knownPrimary, 'a', 'b follows it');
  t.equal(cluster.node('b').term, MAX_TERM, 'b took the term from a granted ballot or a heartbeat');
});

t.test('a heartbeat with a term above MAX_TERM changes nothing and is refused', async (t) => {
  for (const term of [MAX_TERM + 1, EDGE]) {
    const node = makeNode('b', MS, { term: 3, position: pos(3, 10) });
    deliver(node, 1, heartbeat(MS, 3, 'a'));
    const before = snapshot(node);
    const effects = deliver(node, 2, heartbeat(MS, term, 'a'));
    unchanged(t, node, before, effects, `heartbeat of term ${term}`);
    const replies = sends(effects, 'heartbeat_response');
    t.equal(replies.length, 1, `term ${term}: one reply`);
    t.match(replies[0]?.message, { success: false, term: 3, memberId: 'b' }, `term ${term}: refused with the node's own term`);
  }
});

t.test('a heartbeat of the current term with a watermark above MAX_TERM changes nothing and is refused', async (t) => {
  const node = makeNode('b', MS, { term: 3, position: pos(3, 10) });
  deliver(node, 1, heartbeat(MS, 3, 'a'));
  const before = snapshot(node);
  const effects = deliver(node, 2, heartbeat(MS, 3, 'a', { commitWatermark: pos(MAX_TERM + 1, 1) }));
  unchanged(t, node, before, effects, 'a watermark above MAX_TERM');
  t.match(sends(effects, 'heartbeat_response')[0]?.message, { success: false, term: 3 });
});

t.test('a probe or ballot with a term or last log term above MAX_TERM is refused without a reason and changes nothing', async (t) => {
  const rows = [
    { what: 'a ballot for MAX_TERM + 1', term: MAX_TERM + 1, position: pos(3, 10), dryRun: false },
    { what: 'a ballot for 2^53 - 1', term: EDGE, position: pos(3, 10), dryRun: false },
    { what: 'a probe for 2^53 - 1', term: EDGE, position: pos(3, 10), dryRun: true },
    { what: 'a ballot whose last log term is above MAX_TERM', term: 4, position: pos(MAX_TERM + 1, 10), dryRun: false },
  ];
  for (const row of rows) {
    // A voter that hears no primary and would grant an ordinary ballot for term 4.
    const node = makeNode('b', MS, { term: 3, position: pos(3, 10) });
    const before = snapshot(node);
    const effects = ask(node, NOW, { candidateId: 'c', term: row.term, position: row.position, dryRun: row.dryRun });
    unchanged(t, node, before, effects, row.what);
    const reply: VoteResponse = voteReply(effects);
    t.equal(reply.granted, false, `${row.what}: refused`);
    t.equal(reply.term, 3, `${row.what}: with the voter's own term`);
    t.equal(reply.reason, undefined, `${row.what}: no refusal code describes it, so none is given`);
    const control = ask(makeNode('b', MS, { term: 3, position: pos(3, 10) }), NOW, { candidateId: 'c', term: 4, position: pos(3, 10), dryRun: row.dryRun });
    t.equal(voteReply(control).granted, true, `${row.what}: the same voter grants an ordinary request`);
  }
});

t.test('replies and handoffs with a term above MAX_TERM are ignored', async (t) => {
  const setups = Object.fromEntries(MEMBERS.map((m) => [m.id, { term: 2, ...(m.kind === 'data' ? { position: pos(2, 10) } : {}) }]));
  const cluster = new Cluster(MEMBERS, setups);
  cluster.elect('a');
  const primary = cluster.node('a');
  t.equal(primary.currentRole, 'primary');
  const before = snapshot(primary);
  const hbReply: HeartbeatResponse = { type: 'heartbeat_response', round: 1, memberId: 'b', term: EDGE, success: false, position: pos(3, 10), config: null };
  unchanged(t, primary, before, deliver(primary, cluster.now, hbReply), 'a heartbeat reply of term 2^53 - 1');
  const posReply: HeartbeatResponse = { ...hbReply, term: primary.term, success: true, position: pos(MAX_TERM + 1, 10) };
  unchanged(t, primary, before, deliver(primary, cluster.now, posReply), 'a heartbeat reply with a position above MAX_TERM');

  // A candidate in its ballot round ignores a refusal that carries a huge term.
  const candidate = makeNode('c', MS, { term: 2, position: pos(2, 10) });
  const probes = sends(checkedStep(candidate, { type: 'tick', now: NOW }), 'vote_request');
  t.equal(candidate.currentRole, 'precandidate', 'c is probing');
  const round = probes[0]!.message.round;
  const c0 = snapshot(candidate);
  const refusal: VoteResponse = { type: 'vote_response', round, voterId: 'b', term: EDGE, granted: false, dryRun: true };
  unchanged(t, candidate, c0, deliver(candidate, NOW, refusal), 'a probe refusal of term 2^53 - 1');
  t.equal(candidate.currentRole, 'precandidate', 'c is still probing');

  const follower = cluster.node('b');
  const f0 = snapshot(follower);
  unchanged(
    t,
    follower,
    f0,
    deliver(follower, cluster.now, { type: 'handoff', clusterId: CLUSTER_ID, term: EDGE, primaryId: 'a' }),
    'a handoff of term 2^53 - 1',
  );
});
