// The divergent ex-primary: a deposed primary holds an unacknowledged suffix
// whose LSN is higher than the new history's acknowledged writes. Positions
// carry the term that wrote them, so it sorts below the new history: it cannot
// win, and no acknowledged write is lost.

import t from 'tap';
import { covers, decideVote, formatPosition, type LogPosition, type VoterView } from '../../src/core/index.js';
import { Cluster, TIMINGS, data, clusterConfig, pos, voteRequest, witness } from '../support/core-harness.js';

const EX_PRIMARY = pos(1, 120);
const NEW_HISTORY = pos(2, 100);
const MS = clusterConfig([data('a'), data('b'), data('c'), witness('w')]);

t.test('every voter that holds or knows the new history refuses the ex-primary', async (t) => {
  // Proves the rule on the exact positions: a voter that knows the watermark
  // 2/100 refuses 1/120 as watermark_not_covered, a witness too, and a data
  // voter whose watermark view is stale still refuses it as log_behind.
  const base: VoterView = {
    id: 'c',
    term: 2,
    votedFor: null,
    commitWatermark: NEW_HISTORY,
    clusterId: MS.clusterId,
    config: { term: MS.term, version: MS.version },
    members: MS.members,
    kind: 'data',
    position: NEW_HISTORY,
    paused: false,
    livePrimary: null,
    handoffCandidate: null,
  };
  const request = voteRequest({ candidateId: 'a', term: 3, position: EX_PRIMARY });
  const rows: Array<{ name: string; voter: VoterView; code: string }> = [
    { name: 'data voter on the new history', voter: base, code: 'watermark_not_covered' },
    { name: 'witness that heard the new watermark', voter: { ...base, id: 'w', kind: 'witness', position: null }, code: 'watermark_not_covered' },
    { name: 'data voter on the new history, stale watermark view', voter: { ...base, commitWatermark: pos(1, 90) }, code: 'log_behind' },
  ];
  for (const row of rows) {
    const d = decideVote(row.voter, request);
    t.equal(d.granted ? 'granted' : d.reason.code, row.code, `${row.name}: must refuse ${formatPosition(EX_PRIMARY)}`);
  }
});

t.test('a deposed primary with a longer divergent log cannot win, and no acknowledged write is lost', async (t) => {
  // Proves the story end to end with real nodes: a leads term 1 and holds
  // 1/120, of which 1/90 is acknowledged. It is cut off; b or c wins term 2,
  // and the new history acknowledges 2/100. The term-2 primary crashes and a
  // returns: every attempt of a is refused (watermark_not_covered), the
  // survivor wins instead, and every primary after term 2 holds 2/100.
  const members = [data('a'), data('b'), data('c')];
  const setups = Object.fromEntries(members.map((m) => [m.id, { term: 0, position: pos(0, 0) }]));
  const cluster = new Cluster(members, setups);
  cluster.elect('a');
  t.same(cluster.primariesOf(1), ['a'], 'a leads term 1');

  // Term 1: a writes up to 1/120; b and c acknowledge up to 1/90.
  for (const [id, p] of [
    ['a', EX_PRIMARY],
    ['b', pos(1, 90)],
    ['c', pos(1, 90)],
  ] as const) {
    cluster.step(id, { type: 'position', now: cluster.now, position: p });
  }
  cluster.run(cluster.now + 3 * TIMINGS.heartbeatMs);
  t.same(cluster.node('c').hardState.commitWatermark, pos(1, 90), 'term 1 acknowledged up to 1/90 and c persisted it');

  // a is cut off; it loses its lease and b or c wins term 2.
  cluster.cut = (from, to) => from === 'a' || to === 'a';
  cluster.run(cluster.now + 4 * (TIMINGS.electionTimeoutMs + TIMINGS.electionJitterMs));
  t.equal(cluster.node('a').currentRole, 'follower', 'a stepped down when its lease lapsed');
  const [p2] = cluster.primariesOf(2);
  t.ok(p2 === 'b' || p2 === 'c', `b or c leads term 2 (got ${String(p2)})`);
  const primary2 = p2 ?? 'b';
  const survivor = primary2 === 'b' ? 'c' : 'b';

  // The new history: both b and c hold 2/100, which becomes the watermark.
  for (const id of [primary2, survivor]) cluster.step(id, { type: 'position', now: cluster.now, position: NEW_HISTORY });
  cluster.run(cluster.now + 3 * TIMINGS.heartbeatMs);
  t.same(cluster.node(survivor).hardState.commitWatermark, NEW_HISTORY, `2/100 is acknowledged and ${survivor} persisted it`);
  t.ok(EX_PRIMARY.lsn > NEW_HISTORY.lsn, 'the ex-primary has the higher lsn (the case under test)');

  // The term-2 primary crashes; a is reachable again.
  cluster.cut = () => false;
  const crashed = new Set([primary2]);
  const sentBefore = cluster.sentLog.length;
  cluster.run(cluster.now + 10 * (TIMINGS.electionTimeoutMs + TIMINGS.electionJitterMs), crashed);

  const refusalsToA = cluster.sentLog
    .slice(sentBefore)
    .filter((e) => e.to === 'a' && e.message.type === 'vote_response')
    .map((e) => (e.message.type === 'vote_response' ? (e.message.granted ? 'granted' : e.message.reason?.code) : ''));
  t.ok(refusalsToA.length > 0, 'a stood again and asked the survivor for votes');
  t.same([...new Set(refusalsToA)], ['watermark_not_covered'], 'every answer to a was watermark_not_covered');
  for (const [term, ids] of cluster.primaries) {
    if (term > 1) t.notOk(ids.has('a'), `a must not lead term ${term}`);
  }
  const later = [...cluster.primaries].filter(([term]) => term > 2).flatMap(([term, ids]) => [...ids].map((id) => ({ term, id })));
  t.ok(later.length > 0, `the survivor took over (${JSON.stringify(later)})`);
  for (const { term, id } of later) {
    const held = cluster.node(id).logPosition as LogPosition;
    t.ok(covers(held, NEW_HISTORY), `the primary of term ${term}, ${id}, holds ${formatPosition(held)}: it must cover 2/100`);
  }
  t.equal(cluster.node(survivor).currentRole, 'primary', `${survivor} leads`);
  t.same(cluster.node(survivor).hardState.commitWatermark, NEW_HISTORY, 'the acknowledged watermark survived');
  t.equal(cluster.node('a').knownPrimary, survivor, `a follows ${survivor}`);
  t.equal(cluster.node('a').currentRole, 'follower', 'a is a follower');
});
