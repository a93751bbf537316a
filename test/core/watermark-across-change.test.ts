// The commit watermark across a single-voter membership change. While a change
// spreads, the primary may still count the old voter list while the others
// already count the new one, and the next election may be won by a majority of
// the new list. Two cases from an operator's report: a witness added to two
// data nodes, and a fifth voter added to four. In both, the primary on the old
// list must not acknowledge a write that a majority of the new list can elect
// around; with holders a majority of the voters it does not, and the new
// primary holds everything that was acknowledged.

import t from 'tap';
import { ZERO_POSITION, comparePositions, covers, formatPosition, type LogPosition, type Membership } from '../../src/core/index.js';
import { AFTER_START_LOYALTY, Cluster, TIMINGS, data, clusterConfig, pos, witness, type NodeSetup } from '../support/core-harness.js';

const HB = TIMINGS.heartbeatMs;
/** Long enough for a lease to lapse and an election to be won, with every jitter draw. */
const SETTLE = 4 * (TIMINGS.electionTimeoutMs + TIMINGS.electionJitterMs);

/**
 * mixed starts a Cluster whose nodes each start from their own membership,
 * and keeps the highest watermark any node persisted: the most a client can
 * have been told is acknowledged.
 */
function mixed(setups: Record<string, NodeSetup & { membership: Membership }>): { c: Cluster; acknowledged: () => LogPosition } {
  let acknowledged: LogPosition = ZERO_POSITION;
  const ids = Object.keys(setups);
  const all = [...new Map(ids.flatMap((id) => setups[id]!.membership.members).map((m) => [m.id, m])).values()];
  const c = new Cluster(
    all.filter((m) => ids.includes(m.id)),
    setups,
  );
  c.onStep = (_id, _ev, effects) => {
    for (const e of effects) if (e.type === 'persist' && comparePositions(e.state.commitWatermark, acknowledged) > 0) acknowledged = e.state.commitWatermark;
  };
  return { c, acknowledged: () => acknowledged };
}

/** report: the node's data store reports its position now. */
function report(c: Cluster, id: string, position: LogPosition): void {
  c.step(id, { type: 'position', now: c.now, position });
}

t.test('a primary still on two data voters does not acknowledge a write only it holds once a witness is being added', async (t) => {
  // Proves scenario 1: a and b are data voters; a witness w is added by a
  // rolling restart, so b and w count {a, b, w} while a still counts {a, b}.
  // a leads term 2 and holds 2/20, b holds 2/10. With 1 of 2 voters as holders
  // a would acknowledge 2/20 and, once it crashed, b and w (2 of 3) would elect
  // b without it. With a majority as holders a acknowledges only 2/10, and b
  // wins term 3 holding everything acknowledged.
  const OLD = clusterConfig([data('a'), data('b')], 1);
  const NEW = clusterConfig([data('a'), data('b'), witness('w')], 2);
  const { c, acknowledged } = mixed({
    a: { membership: OLD, term: 1, position: pos(1, 10) },
    b: { membership: NEW, term: 1, position: pos(1, 10) },
    w: { membership: NEW, term: 1 },
  });
  c.elect('a', AFTER_START_LOYALTY);
  t.equal(c.node('a').term, 2, 'a leads term 2 on the old list');

  // Both hold the promotion entry 2/10; the heartbeats carry it to a and the watermark to b.
  report(c, 'a', pos(2, 10));
  report(c, 'b', pos(2, 10));
  c.run(c.now + 2 * HB);
  t.same(c.node('a').contactOf('b')?.position, pos(2, 10), 'a saw b report 2/10');
  t.same(c.node('b').hardState.commitWatermark, pos(2, 10), 'both hold 2/10, so it is acknowledged and b knows it');

  // a writes up to 2/20; b has not received it yet.
  report(c, 'a', pos(2, 20));
  t.same(c.node('a').hardState.commitWatermark, pos(2, 10), 'a must not acknowledge 2/20 while only a holds it (1 of 2 voters)');
  t.notOk(covers(acknowledged(), pos(2, 20)), 'no node ever persisted a watermark covering 2/20');

  // a crashes before another round; b and w elect b.
  c.run(c.now + SETTLE, new Set(['a']));
  t.same(c.primariesOf(3), ['b'], 'b and w elect b for term 3 without a');
  const b = c.node('b').logPosition ?? ZERO_POSITION;
  t.ok(covers(b, acknowledged()), `b (${formatPosition(b)}) holds everything acknowledged (${formatPosition(acknowledged())})`);
});

t.test('the old-list primary of two data voters still acknowledges a write once both hold it', async (t) => {
  // Proves the liveness cost is only the one extra holder: in the same mixed
  // configuration, as soon as b reports 2/20 too, a acknowledges it.
  const OLD = clusterConfig([data('a'), data('b')], 1);
  const NEW = clusterConfig([data('a'), data('b'), witness('w')], 2);
  const { c } = mixed({
    a: { membership: OLD, term: 1, position: pos(1, 10) },
    b: { membership: NEW, term: 1, position: pos(1, 10) },
    w: { membership: NEW, term: 1 },
  });
  c.elect('a', AFTER_START_LOYALTY);
  report(c, 'a', pos(2, 20));
  report(c, 'b', pos(2, 20));
  c.run(c.now + 2 * HB);
  t.same(c.node('a').hardState.commitWatermark, pos(2, 20), 'both data voters hold 2/20, so a acknowledges it');
});

t.test('a primary still on four voters does not acknowledge a write two of them hold once a fifth is being added', async (t) => {
  // Proves scenario 2: a, b, c, d are data voters and e is promoted to a
  // fifth; a and b still count the four, c, d and e the five. a leads term 2;
  // after a partition {a, b} | {c, d, e}, a and b hold 2/20 and c, d, e 2/10.
  // With 2 of 4 voters as holders a would acknowledge 2/20, and c, d, e (3 of
  // 5) would elect one of them without it. With a majority as holders a
  // acknowledges only 2/10, and the new primary holds everything acknowledged.
  const OLD = clusterConfig([data('a'), data('b'), data('c'), data('d')], 1);
  const NEW = clusterConfig([data('a'), data('b'), data('c'), data('d'), data('e')], 2);
  const { c, acknowledged } = mixed({
    a: { membership: OLD, term: 1, position: pos(1, 10) },
    b: { membership: OLD, term: 1, position: pos(1, 10) },
    c: { membership: NEW, term: 1, position: pos(1, 10) },
    d: { membership: NEW, term: 1, position: pos(1, 10) },
    e: { membership: NEW, term: 1, position: pos(1, 10) },
  });
  c.elect('a', AFTER_START_LOYALTY);
  t.equal(c.node('a').term, 2, 'a leads term 2 on the old list');

  // Everyone holds the promotion entry 2/10 (e caught up to it from the data store).
  for (const id of ['a', 'b', 'c', 'd', 'e']) report(c, id, pos(2, 10));
  c.run(c.now + 2 * HB);
  t.same(c.node('c').hardState.commitWatermark, pos(2, 10), '2/10 is acknowledged and c knows it');

  // The partition; a and b write on to 2/20 and the next round carries b's position to a.
  const side = (id: string) => (id === 'a' || id === 'b' ? 'ab' : 'cde');
  c.cut = (from, to) => side(from) !== side(to);
  report(c, 'a', pos(2, 20));
  report(c, 'b', pos(2, 20));
  c.run(c.now + HB);
  t.same(c.node('a').contactOf('b')?.position, pos(2, 20), 'a saw b report 2/20');
  t.same(c.node('a').hardState.commitWatermark, pos(2, 10), 'a must not acknowledge 2/20 while only 2 of 4 voters hold it');
  t.notOk(covers(acknowledged(), pos(2, 20)), 'no node ever persisted a watermark covering 2/20');

  // a loses its lease; c, d and e, a majority of five, elect one of them.
  c.run(c.now + SETTLE);
  t.equal(c.node('a').currentRole, 'follower', 'a stepped down when its lease lapsed');
  const [winner, ...others] = c.primariesOf(3);
  t.ok(winner !== undefined && others.length === 0 && ['c', 'd', 'e'].includes(winner), `one of c, d, e leads term 3 (got ${String(winner)})`);
  const p = c.node(winner ?? 'c').logPosition ?? ZERO_POSITION;
  t.ok(covers(p, acknowledged()), `${String(winner)} (${formatPosition(p)}) holds everything acknowledged (${formatPosition(acknowledged())})`);
});
