// The commit watermark across single-voter membership changes, driven through
// the configuration protocol itself. A primary counts a configuration from the
// moment it writes it, before anyone else holds it, and until the change
// commits a majority of the previous configuration may still elect without
// it. The watermark's holders (a majority of the voters) must therefore meet
// every majority of both. Three cases: a witness added to two data nodes (the
// operator's report), a voter removed from three (an even count while the
// removal spreads), and a fifth voter added to four.

import t from 'tap';
import {
  ZERO_POSITION,
  comparePositions,
  covers,
  formatPosition,
  type ClusterConfig,
  type ConfigChange,
  type LogPosition,
  type Member,
} from '../../src/core/index.js';
import { AFTER_START_LOYALTY, Cluster, TIMINGS, catchingUp, clusterConfig, data, pos, witness } from '../support/core-harness.js';

const HB = TIMINGS.heartbeatMs;
/** Long enough for a lease to lapse and an election to be won, with every jitter draw. */
const SETTLE = 4 * (TIMINGS.electionTimeoutMs + TIMINGS.electionJitterMs);

/**
 * started runs a Cluster of `members` (each node starts from `config`, or
 * joins when its entry in `joining` says so) and keeps the highest watermark
 * any node persisted: the most a client can have been told is acknowledged.
 */
function started(members: readonly Member[], config: ClusterConfig, joining: readonly string[] = []): { c: Cluster; acknowledged: () => LogPosition } {
  let acknowledged: LogPosition = ZERO_POSITION;
  const setups = Object.fromEntries(members.map((m) => [m.id, { term: 1, ...(joining.includes(m.id) ? { config: null } : { config }) }]));
  const c = new Cluster(members, setups);
  c.onStep = (_id, _ev, effects) => {
    for (const e of effects) if (e.type === 'persist' && comparePositions(e.state.commitWatermark, acknowledged) > 0) acknowledged = e.state.commitWatermark;
  };
  return { c, acknowledged: () => acknowledged };
}

function report(c: Cluster, id: string, position: LogPosition): void {
  c.step(id, { type: 'position', now: c.now, position });
}

function change(c: Cluster, id: string, ch: ConfigChange) {
  return c.step(id, { type: 'config_change', now: c.now, change: ch });
}

t.test('a witness added to two data nodes: the primary never acknowledges a write only it holds', async (t) => {
  // Proves scenario 1 of the operator's report under the configuration
  // protocol. a and b are data voters; w is added, catches up and is
  // promoted, so the voters become {a, b, w}. a holds 2/20, b 2/10. With one
  // holder of two (the old rule) a would acknowledge 2/20, and once a crashed
  // b and w would elect b without it. With a majority of voters as holders a
  // acknowledges only 2/10, and b wins term 3 holding everything acknowledged.
  const { c, acknowledged } = started([data('a'), data('b'), witness('w')], clusterConfig([data('a'), data('b')]), ['w']);
  for (const id of ['a', 'b']) report(c, id, pos(1, 10));
  c.elect('a', AFTER_START_LOYALTY);
  t.equal(c.node('a').term, 2, 'a leads term 2');
  report(c, 'a', pos(2, 10));
  report(c, 'b', pos(2, 10));
  c.run(c.now + 2 * HB);
  t.same(c.node('b').hardState.commitWatermark, pos(2, 10), '2/10 is acknowledged and b knows it');

  change(c, 'a', { op: 'put', member: { ...witness('w'), state: 'catching_up' } });
  c.run(c.now + 4 * HB);
  const w = c.node('a').config?.members.find((m) => m.id === 'w');
  t.equal(w?.state, 'voting', 'w joined catching_up and a promoted it once it answered');
  t.same(
    c.node('b').config?.members.map((m) => `${m.id}:${m.state}`),
    ['a:voting', 'b:voting', 'w:voting'],
    'b holds the new configuration',
  );

  report(c, 'a', pos(2, 20));
  c.run(c.now + HB);
  t.same(c.node('a').hardState.commitWatermark, pos(2, 10), 'a must not acknowledge 2/20 while only it holds it (1 of 3 voters, the other a witness)');
  t.notOk(covers(acknowledged(), pos(2, 20)), 'no node ever persisted a watermark covering 2/20');

  c.run(c.now + SETTLE, new Set(['a']));
  t.same(c.primariesOf(3), ['b'], 'b and w elect b for term 3 without a');
  const b = c.node('b').logPosition ?? ZERO_POSITION;
  t.ok(covers(b, acknowledged()), `b (${formatPosition(b)}) holds everything acknowledged (${formatPosition(acknowledged())})`);
});

t.test('a voter removed from three: while the removal spreads, two voters both hold what is acknowledged', async (t) => {
  // Proves the even count a removal makes. a, b, c are data voters; a leads and
  // removes c, so it counts {a, b} at once, while b and c still count
  // {a, b, c} until they hear the new configuration. a holds 2/20 and is cut
  // off before the heartbeat carrying the removal reaches anyone. With one
  // holder of two (the old rule, voters - quorum + 1) a would acknowledge
  // 2/20, and after a crashed, b and c (a majority of the old three) would
  // elect b without it.
  const all = [data('a'), data('b'), data('c')];
  const { c, acknowledged } = started(all, clusterConfig(all));
  for (const id of ['a', 'b', 'c']) report(c, id, pos(1, 10));
  c.elect('a', AFTER_START_LOYALTY);
  for (const id of ['a', 'b', 'c']) report(c, id, pos(2, 10));
  c.run(c.now + 2 * HB);
  t.same(c.node('b').hardState.commitWatermark, pos(2, 10), '2/10 is acknowledged');

  c.cut = (from, to) => from === 'a' || to === 'a';
  change(c, 'a', { op: 'remove', id: 'c' });
  report(c, 'a', pos(2, 20));
  c.run(c.now + HB);
  t.same(
    c.node('a').config?.members.map((m) => m.id),
    ['a', 'b'],
    'a counts {a, b} from the moment it wrote the change',
  );
  t.same(
    c.node('b').config?.members.map((m) => m.id),
    ['a', 'b', 'c'],
    'b still counts {a, b, c}',
  );
  t.same(
    c.node('c').config?.members.map((m) => m.id),
    ['a', 'b', 'c'],
    'c too',
  );
  t.same(c.node('a').hardState.commitWatermark, pos(2, 10), 'a must not acknowledge 2/20 as its only holder');
  t.notOk(covers(acknowledged(), pos(2, 20)), 'no node ever persisted a watermark covering 2/20');

  c.run(c.now + SETTLE, new Set(['a']));
  const [winner, ...others] = c.primariesOf(3);
  t.ok(winner !== undefined && others.length === 0 && winner !== 'a', `b or c leads term 3 on the old list (got ${String(winner)})`);
  const p = c.node(winner ?? 'b').logPosition ?? ZERO_POSITION;
  t.ok(covers(p, acknowledged()), `${String(winner)} (${formatPosition(p)}) holds everything acknowledged (${formatPosition(acknowledged())})`);
});

t.test('a fifth voter added to four: a write two of five hold is not acknowledged across a partition', async (t) => {
  // Proves scenario 2 of the operator's report under the configuration
  // protocol. a, b, c, d are data voters and e joins, catches up and is
  // promoted to a fifth voter. After a partition {a, b} | {c, d, e}, a and b
  // hold 2/20 and c, d, e 2/10. With 2 of 4 as holders a would acknowledge
  // 2/20 while c, d, e (3 of 5) elect one of them without it.
  const four = [data('a'), data('b'), data('c'), data('d')];
  const { c, acknowledged } = started([...four, data('e')], clusterConfig(four), ['e']);
  for (const id of ['a', 'b', 'c', 'd']) report(c, id, pos(1, 10));
  c.elect('a', AFTER_START_LOYALTY);
  for (const id of ['a', 'b', 'c', 'd']) report(c, id, pos(2, 10));
  c.run(c.now + 2 * HB);

  change(c, 'a', { op: 'put', member: catchingUp('e') });
  c.run(c.now + 2 * HB);
  t.equal(c.node('a').config?.members.find((m) => m.id === 'e')?.state, 'catching_up', 'e holds nothing yet, so it stays catching_up');
  report(c, 'e', pos(2, 10));
  c.run(c.now + 4 * HB);
  t.equal(c.node('a').config?.members.find((m) => m.id === 'e')?.state, 'voting', 'e covers the watermark and is promoted');
  t.equal(c.node('c').config?.members.length, 5, 'c holds the five-voter configuration');

  const side = (id: string) => (id === 'a' || id === 'b' ? 'ab' : 'cde');
  c.cut = (from, to) => side(from) !== side(to);
  report(c, 'a', pos(2, 20));
  report(c, 'b', pos(2, 20));
  c.run(c.now + HB);
  t.same(c.node('a').contactOf('b')?.position, pos(2, 20), 'a saw b report 2/20');
  t.same(c.node('a').hardState.commitWatermark, pos(2, 10), 'a must not acknowledge 2/20 while only 2 of 5 voters hold it');

  c.run(c.now + SETTLE);
  t.equal(c.node('a').currentRole, 'follower', 'a stepped down when its lease lapsed');
  const [winner, ...others] = c.primariesOf(3);
  t.ok(winner !== undefined && others.length === 0 && ['c', 'd', 'e'].includes(winner), `one of c, d, e leads term 3 (got ${String(winner)})`);
  const p = c.node(winner ?? 'c').logPosition ?? ZERO_POSITION;
  t.ok(covers(p, acknowledged()), `${String(winner)} (${formatPosition(p)}) holds everything acknowledged (${formatPosition(acknowledged())})`);
});

t.test('the primary acknowledges a write as soon as a majority of the new voters holds it', async (t) => {
  // Proves the liveness cost is only the holders a majority needs: with
  // {a, b, w} voting, 2/20 is acknowledged the moment b holds it too.
  const { c } = started([data('a'), data('b'), witness('w')], clusterConfig([data('a'), data('b'), witness('w')]));
  for (const id of ['a', 'b']) report(c, id, pos(1, 10));
  c.elect('a', AFTER_START_LOYALTY);
  report(c, 'a', pos(2, 20));
  report(c, 'b', pos(2, 20));
  c.run(c.now + 2 * HB);
  t.same(c.node('a').hardState.commitWatermark, pos(2, 20), 'both data voters hold 2/20, so a acknowledges it');
});
