// Leader stickiness: a voter that heard a live primary within electionTimeoutMs
// (or started less than that long ago) refuses probes and ballots with
// primary_alive, unless the runtime saw that primary's process gone.

import t from 'tap';
import type { Heartbeat } from '../../src/core/index.js';
import {
  AFTER_START_LOYALTY,
  Cluster,
  TIMINGS,
  ask,
  checkedStep,
  data,
  deliver,
  heartbeat,
  makeNode,
  clusterConfig,
  persists,
  pos,
  voteReply,
  witness,
} from '../support/core-harness.js';

const MS = clusterConfig([data('a'), data('b'), data('c')]);
const LOYALTY = TIMINGS.electionTimeoutMs;

/** b, a follower of a in term 2, heard a's heartbeat at `heardAt`. */
function followerOfA(heardAt: number) {
  const b = makeNode('b', MS, { term: 2, position: pos(2, 10) });
  deliver(b, heardAt, heartbeat(MS, 2, 'a'));
  return b;
}

t.test('a follower refuses probes and ballots within electionTimeoutMs of the last heartbeat', async (t) => {
  // Proves stickiness at its edges: refused right after the heartbeat and one
  // millisecond before the loyalty ends, with the primary named and how long
  // ago it was heard; granted once electionTimeoutMs has passed.
  const heardAt = 1000;
  for (const dryRun of [true, false]) {
    const b = followerOfA(heardAt);
    for (const ago of [0, 1, LOYALTY - 1]) {
      const effects = ask(b, heardAt + ago, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun });
      t.same(
        voteReply(effects).reason,
        { code: 'primary_alive', primaryId: 'a', lastHeartbeatAgoMs: ago },
        `dryRun ${dryRun}, ${ago} ms after the heartbeat: refused for primary_alive`,
      );
      t.same(persists(effects), [], 'the refusal persists nothing');
    }
    const effects = ask(b, heardAt + LOYALTY, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun });
    t.equal(voteReply(effects).granted, true, `dryRun ${dryRun}: granted exactly electionTimeoutMs after the heartbeat`);
  }
});

t.test('a freshly started node refuses until electionTimeoutMs after its start, naming no primary', async (t) => {
  // Proves the start-up loyalty: a restarted voter cannot know whether a
  // primary still holds its lease, so it refuses for one election timeout,
  // with primaryId null.
  const startedAt = 500;
  for (const dryRun of [true, false]) {
    const b = makeNode('b', MS, { term: 2, position: pos(2, 10), now: startedAt });
    for (const ago of [0, LOYALTY - 1]) {
      const reply = voteReply(ask(b, startedAt + ago, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun }));
      t.same(reply.reason, { code: 'primary_alive', primaryId: null, lastHeartbeatAgoMs: ago }, `dryRun ${dryRun}, ${ago} ms after start`);
    }
    const reply = voteReply(ask(b, startedAt + LOYALTY, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun }));
    t.equal(reply.granted, true, `dryRun ${dryRun}: granted electionTimeoutMs after start`);
  }
});

t.test('a node built long before it starts to answer is loyal for electionTimeoutMs from its start, not from its building', async (t) => {
  // Proves the start-up loyalty is timed from when the node can first answer:
  // a process may take seconds from building its runtime to listening, and a
  // window spent before then would let a restarted voter help depose a
  // primary that still holds its lease. The first election waits as long.
  const builtAt = 0;
  const startedAt = 5 * LOYALTY;
  const b = makeNode('b', MS, { term: 2, position: pos(2, 10), now: builtAt });
  checkedStep(b, { type: 'start', now: startedAt });
  t.ok(b.nextTimer >= startedAt + LOYALTY, 'its first election deadline runs from the start');
  const early = voteReply(ask(b, startedAt + LOYALTY - 1, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun: false }));
  t.same(early.reason, { code: 'primary_alive', primaryId: null, lastHeartbeatAgoMs: LOYALTY - 1 }, 'refused one ms before the loyalty ends');
  const later = voteReply(ask(b, startedAt + LOYALTY, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun: false }));
  t.equal(later.granted, true, 'granted electionTimeoutMs after the start');
});

t.test('start changes nothing once the node has heard a primary', async (t) => {
  const b = followerOfA(1000);
  checkedStep(b, { type: 'start', now: 1000 + LOYALTY - 10 });
  const reply = voteReply(ask(b, 1000 + LOYALTY, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun: true }));
  t.equal(reply.granted, true, 'loyalty still runs from the heartbeat');
});

t.test("'primary_unreachable' for the current primary waives stickiness at once and brings the election forward", async (t) => {
  // Proves the one waiver a follower grants itself: its runtime saw the
  // primary's port refuse a connection, so it votes at once, and stands within
  // a heartbeat interval instead of a whole election timeout.
  const heardAt = 1000;
  const b = followerOfA(heardAt);
  const effects = checkedStep(b, { type: 'primary_unreachable', now: heardAt + 1, primaryId: 'a' });
  t.same(persists(effects), [], 'the evidence itself persists nothing');
  t.ok(b.nextTimer <= heardAt + 1 + TIMINGS.heartbeatMs, `the election deadline ${b.nextTimer} is brought within a heartbeat interval`);
  const reply = voteReply(ask(b, heardAt + 2, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun: true }));
  t.equal(reply.granted, true, 'the probe is granted 2 ms after the last heartbeat');
});

t.test("'primary_unreachable' waives nothing for another node or when no primary is known", async (t) => {
  // Proves the waiver is specific: evidence about some other node, or about
  // anyone while the node has not heard a primary since start, leaves the
  // node loyal.
  const heardAt = 1000;
  const b = followerOfA(heardAt);
  checkedStep(b, { type: 'primary_unreachable', now: heardAt + 1, primaryId: 'c' });
  t.equal(
    voteReply(ask(b, heardAt + 2, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun: true })).reason?.code,
    'primary_alive',
    'evidence about c',
  );

  const fresh = makeNode('b', MS, { term: 2, position: pos(2, 10) });
  checkedStep(fresh, { type: 'primary_unreachable', now: 1, primaryId: 'a' });
  t.equal(
    voteReply(ask(fresh, 2, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun: true })).reason?.code,
    'primary_alive',
    'just started',
  );
});

t.test('a heartbeat after primary_unreachable restores stickiness', async (t) => {
  // Proves the waiver lasts only until the primary is heard again.
  const b = followerOfA(1000);
  checkedStep(b, { type: 'primary_unreachable', now: 1001, primaryId: 'a' });
  deliver(b, 1005, heartbeat(MS, 2, 'a', { round: 2 }));
  t.equal(
    voteReply(ask(b, 1006, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun: true })).reason?.code,
    'primary_alive',
    'loyal again',
  );
});

t.test('a primary refuses every other candidate, naming itself', async (t) => {
  // Proves a primary is sticky to itself: it never helps depose itself.
  const members = [data('a'), data('b'), data('c')];
  const setups = Object.fromEntries(members.map((m) => [m.id, { term: 1, position: pos(1, 10) }]));
  const cluster = new Cluster(members, setups);
  cluster.elect('a');
  const a = cluster.node('a');
  t.equal(a.currentRole, 'primary', 'a is primary');
  for (const dryRun of [true, false]) {
    const reply = voteReply(ask(a, cluster.now + 10 * LOYALTY, { candidateId: 'c', term: 50, position: pos(1, 10), dryRun }));
    t.same(reply.reason, { code: 'primary_alive', primaryId: 'a', lastHeartbeatAgoMs: 0 }, `dryRun ${dryRun}: a refuses c`);
  }
});

t.test('a node cut off from a healthy primary cannot depose it', async (t) => {
  // Proves the etcd #9333 case: c loses its link to primary a only. Its
  // elections fail at b, which still hears a; no term moves anywhere, and a
  // keeps its followers and its lease.
  const members = [data('a'), data('b'), data('c')];
  const setups = Object.fromEntries(members.map((m) => [m.id, { term: 1, position: pos(1, 10) }]));
  const cluster = new Cluster(members, setups);
  cluster.elect('a');
  t.same(cluster.primariesOf(2), ['a'], 'a is primary of term 2');
  cluster.cut = (from, to) => (from === 'a' && to === 'c') || (from === 'c' && to === 'a');
  const until = AFTER_START_LOYALTY + 20 * LOYALTY;
  cluster.run(until);
  const tried = cluster.outcomeLog.filter((o) => o.id === 'c').map((o) => o.outcome.kind);
  t.ok(tried.length >= 5, `c should have stood again and again, stood ${tried.length} times`);
  t.same([...new Set(tried)], ['probe_failed'], 'every attempt of c fails at the probe');
  t.same(
    [...cluster.nodes].map(([id, n]) => [id, n.term]),
    [
      ['a', 2],
      ['b', 2],
      ['c', 2],
    ],
    'no term moved past 2',
  );
  t.equal(cluster.node('a').currentRole, 'primary', 'a is still primary');
  t.ok(cluster.node('a').holdsLease(until), 'a still holds its lease');
  t.equal(cluster.node('b').knownPrimary, 'a', 'b still follows a');
});

t.test('a heartbeat naming a second primary for a known term, or sent by a member that may not lead, is refused and followed by nothing', async (t) => {
  // Proves that network input cannot make a node switch primaries within a
  // term or follow a witness or a stranger: the reply says no, nothing is
  // persisted, and the node keeps its primary (a forged heartbeat once made
  // the primary throw and exit).
  const ms = clusterConfig([data('a'), data('b'), data('c'), witness('w')]);
  const b = makeNode('b', ms, { term: 2, position: pos(2, 10) });
  deliver(b, 1000, heartbeat(ms, 2, 'a'));
  const cases: Array<[string, Heartbeat]> = [
    ['another primary in the same term', heartbeat(ms, 2, 'c')],
    ['a witness', heartbeat(ms, 3, 'w')],
    ['a stranger', heartbeat(ms, 3, 'zz')],
  ];
  for (const [what, hb] of cases) {
    const effects = deliver(b, 1010, hb);
    const reply = effects.find((e) => e.type === 'reply' && e.message.type === 'heartbeat_response');
    t.match(reply, { message: { success: false, term: 2 } }, `${what}: refused`);
    t.same(persists(effects), [], `${what}: nothing persisted`);
    t.equal(b.knownPrimary, 'a', `${what}: b still follows a`);
  }
});
