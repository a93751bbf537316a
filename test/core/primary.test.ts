// The primary: heartbeat rounds on the interval, the lease from
// quorum-acknowledged rounds, the step-down an election timeout after the last
// one, the wait for older leases before it serves, and the commit
// watermark (computed from voting data members, only advanced, only to a
// position of the primary's own term, carried to and persisted by followers).

import t from 'tap';
import fc from 'fast-check';
import { ZERO_POSITION, leaseWaitMs, type Member, type Timings } from '../../src/core/index.js';
import {
  AFTER_START_LOYALTY,
  Cluster,
  TIMINGS,
  catchingUp,
  checkProperty,
  data,
  persists,
  pos,
  sends,
  witness,
  type Envelope,
  type NodeSetup,
} from '../support/core-harness.js';

const LEASE = TIMINGS.leaseMs;
const HB = TIMINGS.heartbeatMs;
const ELECTED = AFTER_START_LOYALTY;

/** A cluster of `members` (all in term 1, data at 1/10) whose member a has just won term 2 at ELECTED. */
function withPrimaryA(members: Member[]): Cluster {
  const setups: Record<string, NodeSetup> = {};
  for (const m of members) setups[m.id] = { term: 1, ...(m.kind === 'data' ? { position: pos(1, 10) } : {}) };
  const cluster = new Cluster(members, setups);
  cluster.elect('a', ELECTED);
  if (cluster.node('a').currentRole !== 'primary') throw new Error('a did not win term 2');
  return cluster;
}

t.test('a primary sends a heartbeat round to every other member every heartbeatMs', async (t) => {
  // Proves the heartbeat interval: nothing between rounds, then one heartbeat
  // to each other member (the catching-up one too) carrying the term, the
  // primary, the commit watermark and the configuration (with its timings).
  // x does not catch up here (autoPromote off), so the configuration stays as it started.
  const cluster = withPrimaryA([data('a'), data('b'), data('c'), { ...catchingUp('x'), autoPromote: false }]);
  const a = cluster.node('a');
  const rounds: number[] = [];
  for (let k = 1; k <= 5; k++) {
    const due = ELECTED + k * HB;
    t.equal(a.nextTimer, due, `round ${k} is due at ${due}`);
    t.same(sends(cluster.tick('a', due - 1), 'heartbeat'), [], `no heartbeat before round ${k} is due`);
    const hbs = sends(cluster.tick('a', due), 'heartbeat');
    t.same(hbs.map((h) => h.to).sort(), ['b', 'c', 'x'], `round ${k} goes to every other member`);
    for (const h of hbs) {
      t.match(h.message, { term: 2, primaryId: 'a', commitWatermark: ZERO_POSITION, config: { ...cluster.config, term: 2 } }, `round ${k} to ${h.to}`);
    }
    rounds.push(hbs[0]?.message.round ?? -1);
    cluster.deliver();
  }
  t.same(
    rounds,
    [...rounds].sort((x, y) => x - y),
    'round numbers only grow',
  );
  t.equal(new Set(rounds).size, 5, 'each round has its own number');
});

t.test('the lease runs leaseMs from the send time of a round a quorum acknowledged', async (t) => {
  // Proves the lease is counted from when the round was sent, not when the
  // acknowledgements arrived, and that until a quorum acknowledges a round the
  // previous lease stands.
  const cluster = withPrimaryA([data('a'), data('b'), data('c')]);
  const a = cluster.node('a');
  t.equal(a.leaseExpiry, ELECTED + LEASE, 'the first round (sent on winning) was acknowledged at once');
  const sentAt = ELECTED + HB;
  cluster.tick('a', sentAt);
  cluster.deliver((e) => e.message.type === 'heartbeat');
  const acks = cluster.take((e) => e.message.type === 'heartbeat_response');
  t.equal(acks.length, 2, 'b and c acknowledged the round');
  cluster.now = sentAt + 40;
  cluster.deliverEnvelope(acks[0]!);
  t.equal(a.leaseExpiry, sentAt + LEASE, 'with b, a quorum (2 of 3) acknowledged: the lease runs from the send time');
  t.ok(a.holdsLease(sentAt + LEASE - 1), 'the lease holds until its last millisecond');
  t.notOk(a.holdsLease(sentAt + LEASE), 'and not a millisecond longer');
});

t.test('a round acknowledged by a minority does not renew the lease', async (t) => {
  // Proves only a quorum renews: with five voters, the primary and one
  // follower are two, not three.
  const cluster = withPrimaryA([data('a'), data('b'), data('c'), data('d'), witness('w')]);
  const a = cluster.node('a');
  const before = a.leaseExpiry;
  cluster.tick('a', ELECTED + HB);
  cluster.deliver((e) => e.message.type === 'heartbeat');
  const acks = cluster.take((e) => e.message.type === 'heartbeat_response');
  cluster.deliverEnvelope(acks.find((e) => e.from === 'b')!);
  t.equal(a.leaseExpiry, before, 'one acknowledgement of four must not renew the lease');
  cluster.deliverEnvelope(acks.find((e) => e.from === 'w')!);
  t.equal(a.leaseExpiry, ELECTED + HB + LEASE, "the witness's acknowledgement completes the quorum");
});

t.test('a primary no quorum acknowledges stops serving when its lease lapses and steps down an election timeout after its last quorum', async (t) => {
  // Proves the two deadlines: cut off from every follower, the primary keeps
  // sending rounds but none is acknowledged; it holds its lease only before
  // the expiry, and stays primary (serving nothing) until an election timeout
  // after the last acknowledged round, when it steps down for quorum_lost. A
  // primary only paused that long takes up its lease again with no election.
  const cluster = withPrimaryA([data('a'), data('b'), data('c')]);
  const a = cluster.node('a');
  const expiry = a.leaseExpiry ?? -1;
  const lastQuorum = expiry - LEASE;
  const stepDown = lastQuorum + TIMINGS.electionTimeoutMs;
  cluster.cut = (from, to) => from === 'a' || to === 'a';
  let heartbeatsSent = 0;
  for (let now = ELECTED + 1; a.currentRole === 'primary'; now = a.nextTimer) {
    t.ok(now <= stepDown, `still primary at ${now}, after ${stepDown}`);
    if (now > stepDown) break;
    heartbeatsSent += sends(cluster.tick('a', now), 'heartbeat').length;
    cluster.deliver();
    if (a.currentRole === 'primary') t.equal(a.holdsLease(now), now < expiry, `holds the lease at ${now} only before ${expiry}`);
  }
  t.ok(heartbeatsSent >= 2 * Math.floor(TIMINGS.electionTimeoutMs / HB) - 2, `it kept sending rounds while primary (${heartbeatsSent} heartbeats)`);
  const last = cluster.roleLog.filter((r) => r.id === 'a').at(-1)?.change;
  t.match(last, { role: 'follower', term: 2, reason: 'quorum_lost' }, 'a stepped down for quorum_lost');
  t.equal(cluster.now, stepDown, 'the step-down happened an election timeout after the last acknowledged round');
  t.equal(a.leaseExpiry, null, 'a follower has no lease');
});

t.test('leaseWaitMs outlasts any older lease a voter acknowledged, under the drift bound (property)', async (t) => {
  // Proves the arithmetic of timings.ts in true time. An older primary, its
  // clock at rate rp, sends a round at true time 0 and serves until leaseMs on
  // its clock. A voter acknowledges it at true time ack >= 0 and reports, at
  // true time ack + gap, how long ago that was on its own clock (rate rv); the
  // winner gets the report `travel` later and waits leaseWaitMs on its clock
  // (rate rw). Every rate is within the drift bound of true time; the wait
  // must end after the older lease.
  t.equal(
    leaseWaitMs(TIMINGS, 0),
    Math.ceil((100 * 1.05) / 0.95) + 1,
    'the wait right after an acknowledgement: the lease stretched by the drift both ways, plus 1',
  );
  t.equal(leaseWaitMs(TIMINGS, 1_000), 0, 'an acknowledgement long ago costs no wait');
  const rate = (d: number) => fc.double({ min: 1 - d, max: 1 + d, noNaN: true });
  const scenario = fc
    .tuple(fc.integer({ min: 2, max: 10_000 }), fc.double({ min: 0, max: 0.45, noNaN: true }))
    .chain(([leaseMs, d]) =>
      fc.tuple(
        fc.constant(leaseMs),
        fc.constant(d),
        rate(d),
        rate(d),
        rate(d),
        fc.double({ min: 0, max: 20_000, noNaN: true }),
        fc.double({ min: 0, max: 20_000, noNaN: true }),
        fc.double({ min: 0, max: 1_000, noNaN: true }),
      ),
    );
  checkProperty(
    t,
    'the winner serves only after the older lease ends, in true time',
    fc.property(scenario, ([leaseMs, d, rp, rv, rw, ack, gap, travel]) => {
      const timings: Timings = { heartbeatMs: 1, leaseMs, electionTimeoutMs: leaseMs, electionJitterMs: 0, clockDriftBound: d };
      const leaseEnds = leaseMs / rp;
      const servesAt = ack + gap + travel + leaseWaitMs(timings, gap * rv) / rw;
      return servesAt > leaseEnds;
    }),
  );
});

// ---- Commit watermark ---------------------------------------------------------------

/** Reports positions to nodes, then lets one heartbeat round carry them to the primary. */
function reportAndHeartbeat(cluster: Cluster, positions: Record<string, { term: number; lsn: number }>): void {
  for (const [id, p] of Object.entries(positions)) cluster.step(id, { type: 'position', now: cluster.now, position: p });
  cluster.tick('a', cluster.node('a').nextTimer);
  cluster.deliver();
}

t.test('the watermark is the position held by a majority of voters, counting voting data members only', async (t) => {
  // Proves the watermark computation on several shapes: only voting data
  // members' positions count (a catching-up member's never, a witness holds
  // none), and the watermark is the highest position that a majority of the
  // voters hold, so every election majority, in this configuration or one a
  // single-voter change makes, includes a holder.
  const rows: Array<{ name: string; members: Member[]; positions: Record<string, { term: number; lsn: number }>; expected: unknown }> = [
    {
      name: '3 data voters: 2 holders',
      members: [data('a'), data('b'), data('c')],
      positions: { a: pos(2, 50), b: pos(2, 40), c: pos(2, 30) },
      expected: pos(2, 40),
    },
    {
      name: '2 data + 1 witness: both data members must hold it',
      members: [data('a'), data('b'), witness('w')],
      positions: { a: pos(2, 50), b: pos(2, 40) },
      expected: pos(2, 40),
    },
    {
      name: '4 data + 1 witness + 1 catching-up: 3 holders, the catching-up member ignored',
      members: [data('a'), data('b'), data('c'), data('d'), witness('w'), catchingUp('x')],
      positions: { a: pos(2, 50), b: pos(2, 40), c: pos(2, 30), d: pos(2, 20), x: pos(2, 100) },
      expected: pos(2, 30),
    },
    {
      name: '4 data voters: 3 holders, a majority',
      members: [data('a'), data('b'), data('c'), data('d')],
      positions: { a: pos(2, 50), b: pos(2, 40), c: pos(2, 30), d: pos(2, 20) },
      expected: pos(2, 30),
    },
    {
      name: '2 data voters: both must hold it',
      members: [data('a'), data('b')],
      positions: { a: pos(2, 50), b: pos(2, 40) },
      expected: pos(2, 40),
    },
  ];
  for (const row of rows) {
    const cluster = withPrimaryA(row.members);
    reportAndHeartbeat(cluster, row.positions);
    t.same(cluster.node('a').hardState.commitWatermark, row.expected, `${row.name}: the watermark`);
  }
});

t.test('the watermark only advances', async (t) => {
  // Proves the watermark never goes back when members later report lower
  // positions (a restored follower, a lagging report).
  const cluster = withPrimaryA([data('a'), data('b'), data('c')]);
  reportAndHeartbeat(cluster, { a: pos(2, 50), b: pos(2, 40), c: pos(2, 30) });
  t.same(cluster.node('a').hardState.commitWatermark, pos(2, 40), 'first the watermark reaches 2/40');
  reportAndHeartbeat(cluster, { b: pos(2, 5), c: pos(2, 5) });
  t.same(cluster.node('a').hardState.commitWatermark, pos(2, 40), 'lower reports must not move it back');
  reportAndHeartbeat(cluster, { b: pos(2, 45), c: pos(2, 60) });
  t.same(cluster.node('a').hardState.commitWatermark, pos(2, 50), 'higher reports move it on');
});

t.test('the watermark never passes the primary own position, whatever its members report', async (t) => {
  // Proves the bound on what members may claim: the data store writes on the
  // primary first, so followers reporting more than the primary holds are
  // wrong (or lying), and a majority of them must not acknowledge writes the
  // primary never made. Without the bound, b and c reporting 2/1000 would
  // make a watermark that no candidate could ever cover. What they claim
  // includes what the primary holds of its term, so that much counts.
  const cluster = withPrimaryA([data('a'), data('b'), data('c')]);
  reportAndHeartbeat(cluster, { a: pos(2, 40), b: pos(2, 1000), c: pos(2, 1000) });
  t.same(cluster.node('a').hardState.commitWatermark, pos(2, 40), 'members ahead of the primary move it only to the primary own position');
  reportAndHeartbeat(cluster, { a: pos(2, 1000) });
  t.same(cluster.node('a').hardState.commitWatermark, pos(2, 1000), 'once the primary holds it, it may be acknowledged');
});

t.test('the watermark advances only to a position of the primary own term', async (t) => {
  // Proves Raft's commit rule: entries of earlier terms held by every member
  // do not move the watermark until an entry of the primary's term is held.
  const cluster = withPrimaryA([data('a'), data('b'), data('c')]);
  reportAndHeartbeat(cluster, { a: pos(1, 80), b: pos(1, 80), c: pos(1, 80) });
  t.same(cluster.node('a').hardState.commitWatermark, ZERO_POSITION, 'positions of term 1 must not become the watermark in term 2');
  reportAndHeartbeat(cluster, { a: pos(2, 81), b: pos(2, 81) });
  t.same(cluster.node('a').hardState.commitWatermark, pos(2, 81), 'a term-2 position held by a quorum becomes the watermark');
});

t.test('the watermark travels on heartbeats and each follower persists it, first, and never lowers it', async (t) => {
  // Proves the watermark reaches followers: the next round carries it, the
  // follower's step on it begins with the persist of the new watermark, the
  // primary persisted it too, and a heartbeat with a lower watermark leaves
  // the follower's as it was.
  const cluster = withPrimaryA([data('a'), data('b'), data('c'), witness('w')]);
  for (const [id, p] of Object.entries({ a: pos(2, 50), b: pos(2, 50), c: pos(2, 50) })) {
    cluster.step(id, { type: 'position', now: cluster.now, position: p });
  }
  const primaryEffects: ReturnType<Cluster['step']> = [];
  cluster.tick('a', cluster.node('a').nextTimer);
  cluster.deliver((e) => e.message.type === 'heartbeat');
  for (const ack of cluster.take((e) => e.message.type === 'heartbeat_response')) primaryEffects.push(...cluster.deliverEnvelope(ack));
  t.same(cluster.node('a').hardState.commitWatermark, pos(2, 50), 'the primary advanced its watermark to 2/50');
  t.same(
    persists(primaryEffects).map((p) => p.state.commitWatermark),
    [pos(2, 50)],
    'the primary persisted the new watermark once',
  );
  const due = cluster.node('a').nextTimer;
  const round = sends(cluster.tick('a', due), 'heartbeat');
  t.same(
    round.map((h) => h.message.commitWatermark),
    [pos(2, 50), pos(2, 50), pos(2, 50)],
    'the next round carries 2/50 to b, c and w',
  );
  for (const id of ['b', 'c', 'w']) {
    const env = cluster.take((e) => e.to === id && e.message.type === 'heartbeat')[0] as Envelope;
    const effects = cluster.deliverEnvelope(env);
    t.equal(effects[0]?.type, 'persist', `${id}: the step on the heartbeat begins with a persist`);
    t.same(
      persists(effects).map((p) => p.state.commitWatermark),
      [pos(2, 50)],
      `${id}: persists the watermark 2/50`,
    );
  }
  // The same watermark again: nothing new to persist.
  cluster.deliver();
  const again = cluster.tick('a', cluster.node('a').nextTimer);
  t.ok(sends(again, 'heartbeat').length === 3, 'another round went out');
  const envB = cluster.take((e) => e.to === 'b' && e.message.type === 'heartbeat')[0] as Envelope;
  t.same(persists(cluster.deliverEnvelope(envB)), [], 'an unchanged watermark is not persisted again');
  // A heartbeat of the same term with a lower watermark leaves b's as it was.
  const lower = { ...envB, message: { ...envB.message, commitWatermark: pos(2, 10), round: 999 } } as Envelope;
  t.same(persists(cluster.deliverEnvelope(lower)), [], 'a lower watermark is not persisted');
  t.same(cluster.node('b').hardState.commitWatermark, pos(2, 50), "b's watermark stays 2/50");
});
