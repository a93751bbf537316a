// Leases rest on clocks, never on evidence. A refused connection to the
// primary's port (which a firewall REJECT, a proxy with no backend or a stale
// url gives while the primary lives) only makes a follower probe early; a new
// primary serves only once every older lease it could overlap has ended, which
// it learns from how long ago each voter last acknowledged a primary.

import t from 'tap';
import type { Node } from '../../src/core/index.js';
import { AFTER_START_LOYALTY, Cluster, TIMINGS, data, pos, sends, type Envelope } from '../support/core-harness.js';

/** a has won term 2 of {a, b, c}, every member at 1/10. */
function primaryA(): Cluster {
  const cluster = new Cluster([data('a'), data('b'), data('c')], {
    a: { term: 1, position: pos(1, 10) },
    b: { term: 1, position: pos(1, 10) },
    c: { term: 1, position: pos(1, 10) },
  });
  cluster.elect('a', AFTER_START_LOYALTY);
  if (!cluster.node('a').holdsLease(cluster.now)) throw new Error('a does not serve term 2');
  return cluster;
}

/** holders lists the nodes holding a lease at `now`. */
function holders(cluster: Cluster, ids: readonly string[], now: number): string[] {
  return ids.filter((id) => cluster.node(id).holdsLease(now));
}

t.test('a lying refusal makes a follower probe early and costs nothing more: the primary keeps its lease and its term', async (t) => {
  const cluster = primaryA();
  const a = cluster.node('a');
  const start = cluster.now;
  let probes = 0;
  // b's watch reports a's port refused every heartbeat interval while a, b
  // and c all reach each other: the REJECT sits only on b's own path.
  for (let now = start + 1; now < start + 20 * TIMINGS.heartbeatMs; now += TIMINGS.heartbeatMs) {
    const effects = cluster.step('b', { type: 'primary_unreachable', now, primaryId: 'a' });
    probes += sends(effects, 'vote_request').length;
    cluster.run(now + TIMINGS.heartbeatMs - 1);
    probes += cluster.take((e: Envelope) => e.message.type === 'vote_request').length;
    t.ok(a.holdsLease(cluster.now), `a holds its lease at ${cluster.now}`);
  }
  t.equal(a.term, 2, 'no term was spent');
  t.same(cluster.primariesOf(3), [], 'nobody became primary of term 3');
  t.same([cluster.node('b').knownPrimary, cluster.node('c').knownPrimary], ['a', 'a'], 'both followers still follow a');
  t.comment(`b's early probes: ${probes}`);
});

t.test('behind a REJECT cut the followers elect a successor, which serves only once the cut-off primary lease has ended', async (t) => {
  const cluster = primaryA();
  const ids = ['a', 'b', 'c'];
  const cutAt = cluster.now + 5;
  cluster.run(cutAt);
  const a = cluster.node('a');
  // The cut refuses every connection to and from a, at once: both followers see a refused port.
  cluster.cut = (from, to) => from === 'a' || to === 'a';
  cluster.step('b', { type: 'primary_unreachable', now: cutAt, primaryId: 'a' });
  cluster.step('c', { type: 'primary_unreachable', now: cutAt, primaryId: 'a' });
  const aLeaseEnds = a.leaseExpiry ?? -1;
  let elected: { id: string; at: number } | null = null;
  let servedAt: number | null = null;
  for (let now = cutAt; now < cutAt + 3 * TIMINGS.electionTimeoutMs && servedAt === null; now++) {
    cluster.run(now);
    const held = holders(cluster, ids, now);
    t.ok(held.length <= 1, `at most one lease at ${now}: ${held.join(', ') || 'none'}`);
    const winner: Node | undefined = ['b', 'c'].map((id) => cluster.node(id)).find((n) => n.currentRole === 'primary');
    if (winner && !elected) elected = { id: winner.id, at: now };
    if (winner?.holdsLease(now)) servedAt = now;
  }
  t.ok(elected, `a successor was elected (${elected?.id} at ${elected?.at})`);
  t.ok(servedAt !== null && servedAt >= aLeaseEnds, `it serves from ${servedAt}, after a's lease ended at ${aLeaseEnds}`);
  const won = cluster.outcomeLog.find((o) => o.id === elected?.id && o.outcome.kind === 'elected')?.outcome;
  t.match(won, { kind: 'elected', term: 3, cause: 'evidence' }, 'its election began on the evidence, and says so');
});

t.test('each grant reports how long ago the voter last acknowledged a primary, and the winner waits out that lease', async (t) => {
  const cluster = primaryA();
  const heardAt = cluster.now;
  cluster.cut = (from, to) => from === 'a' || to === 'a';
  // c last acknowledged a at heardAt; b stands once c's loyalty (a lease) has run.
  const standAt = heardAt + TIMINGS.leaseMs + 7;
  cluster.step('b', { type: 'primary_unreachable', now: standAt, primaryId: 'a' });
  cluster.tick('b', cluster.node('b').nextTimer);
  cluster.deliver((e) => e.message.type === 'vote_request' && e.to === 'c');
  const grants = cluster.take((e) => e.message.type === 'vote_response' && e.from === 'c');
  t.match(
    grants.map((e) => e.message),
    [{ granted: true, lastAckAgoMs: cluster.now - heardAt }],
    "c's probe grant says how long ago it last acknowledged a",
  );
  for (const env of grants) cluster.deliverEnvelope(env);
  cluster.deliver((e) => e.to !== 'a');
  const b = cluster.node('b');
  const wonAt = cluster.now;
  t.equal(b.currentRole, 'primary', 'b won term 3 with c');
  t.notOk(b.holdsLease(wonAt), "but does not serve yet: a's lease may still run on a clock slower than c's");
  const servesAt = b.nextTimer;
  const ago = wonAt - heardAt;
  t.equal(
    servesAt,
    wonAt + Math.ceil((TIMINGS.leaseMs * (1 + TIMINGS.clockDriftBound)) / (1 - TIMINGS.clockDriftBound) - ago) + 1,
    'its next timer is when the wait ends',
  );
  cluster.tick('b', servesAt);
  t.ok(b.holdsLease(servesAt), 'from then on it serves');
});

t.test('a member the primary handed over to serves at once: its primary stopped serving before the handoff', async (t) => {
  const cluster = primaryA();
  cluster.run(cluster.now + TIMINGS.heartbeatMs);
  const at = cluster.now;
  cluster.step('a', { type: 'switchover', now: at, target: 'b' });
  cluster.deliver();
  const b = cluster.node('b');
  t.equal(b.currentRole, 'primary', 'b won by handoff');
  t.ok(b.holdsLease(cluster.now), 'and serves in the same instant');
  t.notOk(cluster.node('a').holdsLease(cluster.now), 'a does not');
  t.match(
    cluster.outcomeLog.find((o) => o.id === 'b' && o.outcome.kind === 'elected')?.outcome,
    { cause: 'handoff', durationMs: 0 },
    'its election began with the handoff',
  );
});

// Found by the simulator (seed 525038 with membership changes): a primary
// elected behind a cut, still waiting out the cut-off primary's lease, took a
// switchover and handed over at once; its target, elected by handoff, served
// at once while the old lease still ran. A primary now hands over only once
// it serves.
t.test('a primary still waiting out an older lease hands over only once it serves', async (t) => {
  const cluster = primaryA();
  const heardAt = cluster.now;
  const ids = ['a', 'b', 'c'];
  cluster.cut = (from, to) => from === 'a' || to === 'a';
  const standAt = heardAt + TIMINGS.leaseMs + 7;
  cluster.step('b', { type: 'primary_unreachable', now: standAt, primaryId: 'a' });
  cluster.tick('b', cluster.node('b').nextTimer);
  cluster.deliver((e) => e.to !== 'a');
  const b = cluster.node('b');
  t.equal(b.currentRole, 'primary', 'b won term 3 with c');
  t.notOk(b.holdsLease(cluster.now), 'and waits out the lease a may still hold');
  const answers = cluster.step('b', { type: 'switchover', now: cluster.now, target: 'c' });
  t.match(answers, [{ type: 'switchover_answer', answer: { status: 'started', target: 'c' } }], 'the switchover is taken');
  const servesAt = b.nextTimer;
  let handoffAt: number | null = null;
  let servedAt: number | null = null;
  for (let now = cluster.now; now < servesAt + 3 * TIMINGS.electionTimeoutMs && servedAt === null; now++) {
    cluster.run(now);
    if (handoffAt === null && cluster.sentLog.some((e) => e.message.type === 'handoff')) handoffAt = now;
    const held = holders(cluster, ids, now);
    t.ok(held.length <= 1, `at most one lease at ${now}: ${held.join(', ') || 'none'}`);
    if (cluster.node('c').holdsLease(now)) servedAt = now;
  }
  t.ok(handoffAt !== null && handoffAt >= servesAt, `b sent the handoff at ${handoffAt}, once it served from ${servesAt}`);
  t.ok(servedAt !== null, `c serves from ${servedAt}`);
  t.match(
    cluster.outcomeLog.filter((o) => o.id === 'c' && o.outcome.kind === 'elected').map((o) => o.outcome),
    [{ term: 4, cause: 'handoff' }],
    'c won term 4 by the handoff',
  );
});

// Every answer to the store's position report carries the primary's lease
// (PUT /log's leaseUntil), and the store may serve until then. A handoff's
// target serves at once, so the primary hands over only once that has ended.
t.test("a switchover hands over only once the lease last given to the primary's store has ended", async (t) => {
  const cluster = primaryA();
  const a = cluster.node('a');
  cluster.run(cluster.now + TIMINGS.heartbeatMs);
  cluster.step('a', { type: 'position', now: cluster.now, position: pos(1, 10) });
  const storeLeaseEnds = a.leaseExpiry!;
  t.ok(storeLeaseEnds > cluster.now, `the store was given a's lease, to ${storeLeaseEnds}`);
  cluster.step('a', { type: 'switchover', now: cluster.now, target: 'b' });
  t.equal(a.leaseExpiry, 0, 'from the switchover on, a gives no lease');
  let handoffAt: number | null = null;
  let bServes: number | null = null;
  for (let now = cluster.now; now < storeLeaseEnds + 3 * TIMINGS.electionTimeoutMs && bServes === null; now++) {
    cluster.run(now);
    if (handoffAt === null && cluster.sentLog.some((e) => e.message.type === 'handoff')) handoffAt = now;
    if (cluster.node('b').holdsLease(now)) bServes = now;
  }
  t.ok(handoffAt !== null && handoffAt >= storeLeaseEnds, `a sent the handoff at ${handoffAt}, once the store's lease ended at ${storeLeaseEnds}`);
  t.ok(bServes !== null && bServes >= storeLeaseEnds, `b serves from ${bServes}`);
});

t.test('with no lease given to its store, a switchover hands over as soon as the target is named', async (t) => {
  const cluster = primaryA();
  const a = cluster.node('a');
  cluster.run(cluster.now + TIMINGS.heartbeatMs);
  const leaseEnds = a.leaseExpiry!;
  cluster.step('a', { type: 'switchover', now: cluster.now, target: 'b' });
  cluster.deliver();
  t.equal(cluster.node('b').currentRole, 'primary', 'b won by handoff');
  t.ok(cluster.now < leaseEnds, `before a's own lease would have ended (${cluster.now} < ${leaseEnds})`);
});
