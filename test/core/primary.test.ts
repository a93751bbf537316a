// The primary: heartbeat rounds on the interval, the lease from
// quorum-acknowledged rounds and the step-down when it lapses, and the commit
// watermark (computed from voting data members, only advanced, only to a
// position of the primary's own term, carried to and persisted by followers).

import t from 'tap';
import fc from 'fast-check';
import { ZERO_POSITION, leaseMs, type Member, type Timings } from '../../src/core/index.js';
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

const LEASE = leaseMs(TIMINGS);
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
  // primary, the commit watermark, the membership and the lease length.
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
      t.match(
        h.message,
        { term: 2, primaryId: 'a', commitWatermark: ZERO_POSITION, leaseMs: LEASE, config: { ...cluster.config, term: 2 } },
        `round ${k} to ${h.to}`,
      );
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

t.test('a primary whose lease lapses without a quorum steps down exactly when it lapses', async (t) => {
  // Proves the step-down: cut off from every follower, the primary keeps
  // sending rounds but none is acknowledged; at the lease expiry it becomes a
  // follower for reason lease_lapsed, and it never held the lease past it.
  const cluster = withPrimaryA([data('a'), data('b'), data('c')]);
  const a = cluster.node('a');
  const expiry = a.leaseExpiry ?? -1;
  cluster.cut = (from, to) => from === 'a' || to === 'a';
  let heartbeatsSent = 0;
  for (let now = ELECTED + 1; a.currentRole === 'primary'; now = a.nextTimer) {
    t.ok(now <= expiry, `still primary at ${now}, after the lease expiry ${expiry}`);
    if (now > expiry) break;
    heartbeatsSent += sends(cluster.tick('a', now), 'heartbeat').length;
    cluster.deliver();
    if (a.currentRole === 'primary') t.ok(a.holdsLease(now) === now < expiry, `holds the lease at ${now} only before ${expiry}`);
  }
  t.ok(heartbeatsSent >= 2 * Math.floor(LEASE / HB) - 2, `it kept sending rounds while primary (${heartbeatsSent} heartbeats)`);
  const last = cluster.roleLog.filter((r) => r.id === 'a').at(-1)?.change;
  t.match(last, { role: 'follower', term: 2, reason: 'lease_lapsed' }, 'a stepped down for lease_lapsed');
  t.equal(cluster.now, expiry, 'the step-down happened at the lease expiry');
  t.equal(a.leaseExpiry, null, 'a follower has no lease');
});

t.test('leaseMs keeps a lease shorter than every voter loyalty under the drift bound (property)', async (t) => {
  // Proves the lease arithmetic of timings.ts: a lease measured on a clock
  // running fast by the drift bound still ends, in true time, before a voter
  // whose clock runs slow by the bound stops being loyal.
  t.equal(leaseMs(TIMINGS), 134, 'the default lease: floor(150 * 0.95 / 1.05) - 1');
  checkProperty(
    t,
    'lease / (1 - d) < electionTimeout / (1 + d), and the lease is a whole number >= 0',
    fc.property(fc.integer({ min: 2, max: 60_000 }), fc.double({ min: 0, max: 0.49, noNaN: true }), (electionTimeoutMs, clockDriftBound) => {
      const timings: Timings = { heartbeatMs: 1, electionTimeoutMs, electionJitterMs: 0, clockDriftBound };
      const lease = leaseMs(timings);
      return Number.isInteger(lease) && lease >= 0 && lease / (1 - clockDriftBound) < electionTimeoutMs / (1 + clockDriftBound);
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
