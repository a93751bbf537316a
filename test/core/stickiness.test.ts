// Leader stickiness: a voter that heard a live primary within leaseMs (or
// started less than that long ago) refuses probes and ballots with
// primary_alive. Evidence that the primary's port refuses connections only
// brings the follower's own election forward; it waives no loyalty, since a
// firewall REJECT or a stale url refuses while the primary lives.

import t from 'tap';
import { TIMINGS, ask, checkedStep, data, deliver, heartbeat, makeNode, clusterConfig, persists, pos, voteReply } from '../support/core-harness.js';

const MS = clusterConfig([data('a'), data('b'), data('c')]);
const LOYALTY = TIMINGS.leaseMs;

/** b, a follower of a in term 2, heard a's heartbeat at `heardAt`. */
function followerOfA(heardAt: number) {
  const b = makeNode('b', MS, { term: 2, position: pos(2, 10) });
  deliver(b, heardAt, heartbeat(MS, 2, 'a'));
  return b;
}

t.test('a follower refuses probes and ballots within leaseMs of the last heartbeat', async (t) => {
  // Proves stickiness at its edges: refused right after the heartbeat and one
  // millisecond before the loyalty ends, with the primary named and how long
  // ago it was heard; granted once leaseMs has passed.
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
    t.equal(voteReply(effects).granted, true, `dryRun ${dryRun}: granted exactly leaseMs after the heartbeat`);
  }
});

t.test('a freshly started node refuses until leaseMs after its start, naming no primary', async (t) => {
  // Proves the start-up loyalty: a restarted voter cannot know whether a
  // primary still holds its lease, so it refuses for one lease,
  // with primaryId null.
  const startedAt = 500;
  for (const dryRun of [true, false]) {
    const b = makeNode('b', MS, { term: 2, position: pos(2, 10), now: startedAt });
    for (const ago of [0, LOYALTY - 1]) {
      const reply = voteReply(ask(b, startedAt + ago, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun }));
      t.same(reply.reason, { code: 'primary_alive', primaryId: null, lastHeartbeatAgoMs: ago }, `dryRun ${dryRun}, ${ago} ms after start`);
    }
    const reply = voteReply(ask(b, startedAt + LOYALTY, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun }));
    t.equal(reply.granted, true, `dryRun ${dryRun}: granted leaseMs after start`);
  }
});

t.test('a node built long before it starts to answer is loyal for leaseMs from its start, not from its building', async (t) => {
  // Proves the start-up loyalty is timed from when the node can first answer:
  // a process may take seconds from building its runtime to listening, and a
  // window spent before then would let a restarted voter help depose a
  // primary that still holds its lease. The first election waits as long.
  const builtAt = 0;
  const startedAt = 5 * LOYALTY;
  const b = makeNode('b', MS, { term: 2, position: pos(2, 10), now: builtAt });
  checkedStep(b, { type: 'start', now: startedAt });
  t.ok(b.nextTimer >= startedAt + TIMINGS.electionTimeoutMs, 'its first election deadline runs from the start');
  const early = voteReply(ask(b, startedAt + LOYALTY - 1, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun: false }));
  t.same(early.reason, { code: 'primary_alive', primaryId: null, lastHeartbeatAgoMs: LOYALTY - 1 }, 'refused one ms before the loyalty ends');
  const later = voteReply(ask(b, startedAt + LOYALTY, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun: false }));
  t.equal(later.granted, true, 'granted leaseMs after the start');
});

t.test('start changes nothing once the node has heard a primary', async (t) => {
  const b = followerOfA(1000);
  checkedStep(b, { type: 'start', now: 1000 + LOYALTY - 10 });
  const reply = voteReply(ask(b, 1000 + LOYALTY, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun: true }));
  t.equal(reply.granted, true, 'loyalty still runs from the heartbeat');
});

t.test("'primary_unreachable' for the current primary brings the election forward and waives no loyalty", async (t) => {
  // Proves evidence only starts the probe: the follower stands within a
  // heartbeat interval instead of a whole election timeout, but as a voter it
  // still refuses others until leaseMs after the last heartbeat, because a
  // refusal can lie (a firewall REJECT, a stale url) while the primary serves.
  const heardAt = 1000;
  const b = followerOfA(heardAt);
  const effects = checkedStep(b, { type: 'primary_unreachable', now: heardAt + 1, primaryId: 'a' });
  t.same(persists(effects), [], 'the evidence itself persists nothing');
  t.ok(b.nextTimer <= heardAt + 1 + TIMINGS.heartbeatMs, `the election deadline ${b.nextTimer} is brought within a heartbeat interval`);
  const early = voteReply(ask(b, heardAt + 2, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun: true }));
  t.same(early.reason, { code: 'primary_alive', primaryId: 'a', lastHeartbeatAgoMs: 2 }, 'a probe 2 ms after the last heartbeat is still refused');
  const later = voteReply(ask(b, heardAt + LOYALTY, { candidateId: 'c', term: 3, position: pos(2, 10), config: { term: 2, version: 1 }, dryRun: true }));
  t.equal(later.granted, true, 'granted once leaseMs has passed, as without evidence');
});

t.test("'primary_unreachable' about another node, or with no primary known, brings nothing forward", async (t) => {
  // Proves the evidence is specific: about some other node, or while the
  // node has not heard a primary since start, it changes no deadline.
  const heardAt = 1000;
  const b = followerOfA(heardAt);
  const before = b.nextTimer;
  checkedStep(b, { type: 'primary_unreachable', now: heardAt + 1, primaryId: 'c' });
  t.equal(b.nextTimer, before, 'evidence about c');

  const fresh = makeNode('b', MS, { term: 2, position: pos(2, 10) });
  const freshBefore = fresh.nextTimer;
  checkedStep(fresh, { type: 'primary_unreachable', now: 1, primaryId: 'a' });
  t.equal(fresh.nextTimer, freshBefore, 'just started');
});

t.test('a heartbeat after primary_unreachable ends the quick retries', async (t) => {
  // Proves a lying refusal costs one early probe at most: once the primary is
  // heard again, the next election deadline is a whole timeout away.
  const b = followerOfA(1000);
  checkedStep(b, { type: 'primary_unreachable', now: 1001, primaryId: 'a' });
  deliver(b, 1005, heartbeat(MS, 2, 'a', { round: 2 }));
  t.ok(b.nextTimer >= 1005 + TIMINGS.electionTimeoutMs, `the next deadline ${b.nextTimer} is a whole election timeout after the heartbeat`);
});
