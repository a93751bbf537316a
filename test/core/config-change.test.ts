// Membership changes in the core: who may make one and when, what each bad
// request is refused with, how a change commits, promotion of a caught-up
// member, the rollback of a change that cannot commit, a removed member
// learning it, and configurations of another cluster or an older position.

import t from 'tap';
import type { ConfigChange, ConfigChangeAnswer, Effect, Member } from '../../src/core/index.js';
import {
  AFTER_START_LOYALTY,
  CLUSTER_ID,
  Cluster,
  TIMINGS,
  catchingUp,
  clusterConfig,
  data,
  deliver,
  heartbeat,
  makeNode,
  pos,
  voteRequest,
  witness,
} from '../support/core-harness.js';

const HB = TIMINGS.heartbeatMs;

/** A cluster of `members` (data ones at 1/10) where a has been elected and has committed its configuration. */
function led(members: Member[], joining: string[] = []): Cluster {
  const config = clusterConfig(members.filter((m) => !joining.includes(m.id)));
  const setups = Object.fromEntries(
    members.map((m) => [
      m.id,
      joining.includes(m.id) ? { term: 1, config: null } : { term: 1, config, ...(m.kind === 'data' ? { position: pos(1, 10) } : {}) },
    ]),
  );
  const c = new Cluster(members, setups);
  c.elect('a', AFTER_START_LOYALTY);
  // The data store writes a promotion entry, 2/10, and the voters report it:
  // a acknowledges a write of its own term, which changes wait for.
  for (const m of members) if (m.kind === 'data' && !joining.includes(m.id)) c.step(m.id, { type: 'position', now: c.now, position: pos(2, 10) });
  c.run(c.now + 2 * HB);
  return c;
}

function ask(c: Cluster, id: string, change: ConfigChange): { answer: ConfigChangeAnswer | undefined; effects: Effect[] } {
  const effects = c.step(id, { type: 'config_change', now: c.now, change });
  const answer = effects.find((e): e is Extract<Effect, { type: 'config_change_answer' }> => e.type === 'config_change_answer')?.answer;
  return { answer, effects };
}

const ids = (ms: readonly Member[] | undefined) => (ms ?? []).map((m) => `${m.id}:${m.kind}:${m.state}`);

t.test('a change commits once a majority of the new voters holds it, and the reply effect says so', async (t) => {
  const c = led([data('a'), data('b'), data('c')]);
  t.equal(c.node('a').configCommitted, true, 'the new primary committed its configuration in its own term');
  t.equal(c.node('a').config?.term, 2, 'stamped with term 2');
  const { answer, effects } = ask(c, 'a', { op: 'put', member: { ...witness('w'), state: 'catching_up' } });
  t.same(answer, { status: 'started', version: 2 });
  t.equal(c.node('a').pendingChange, 2, 'the change is under way');
  t.notOk(
    effects.some((e) => e.type === 'config_committed'),
    'not committed before anyone acknowledged it',
  );
  const committed: number[] = [];
  c.onStep = (_id, _ev, fx) => {
    for (const e of fx) if (e.type === 'config_committed') committed.push(e.config.version);
  };
  c.deliver();
  t.same(committed, [2], 'committed when b and c acknowledged the round that carried it');
  t.equal(c.node('a').pendingChange, null);
  t.same(ids(c.node('b').config?.members), ['a:data:voting', 'b:data:voting', 'c:data:voting', 'w:witness:catching_up'], 'b holds version 2');
});

t.test('every bad change is refused with its reason and changes nothing', async (t) => {
  const c = led([data('a'), data('b'), witness('w')]);
  const before = c.node('a').config;
  const rows: Array<[string, string, ConfigChange, string]> = [
    ['a follower', 'b', { op: 'remove', id: 'w' }, 'not_primary'],
    ['an unknown member', 'a', { op: 'remove', id: 'zz' }, 'unknown_member'],
    ['removing the primary, which would leave one data member and a witness', 'a', { op: 'remove', id: 'a' }, 'would_break_cluster'],
    ['the primary made a witness', 'a', { op: 'put', member: { ...data('a'), kind: 'witness' } }, 'would_break_cluster'],
    ['a new member that asks to vote at once', 'a', { op: 'put', member: data('n') }, 'invalid_change'],
    [
      'a shape that can never acknowledge (one data member, two witnesses)',
      'a',
      { op: 'put', member: { ...data('b'), kind: 'witness' } },
      'would_break_cluster',
    ],
    ['removing the last other data voter', 'a', { op: 'remove', id: 'b' }, 'would_break_cluster'],
  ];
  for (const [name, at, change, code] of rows) {
    const { answer, effects } = ask(c, at, change);
    t.match(answer, { status: 'refused', code }, name);
    t.notOk(
      effects.some((e) => e.type === 'persist'),
      `${name}: nothing persisted`,
    );
  }
  t.same(c.node('a').config, before, 'the configuration is as it was');
});

t.test('one change at a time; a promotion of a member that has not caught up is refused', async (t) => {
  const c = led([data('a'), data('b'), data('c')]);
  t.match(ask(c, 'a', { op: 'remove', id: 'a' }).answer, { status: 'refused', code: 'hand_over_first' }, 'removing the primary that could go hands over first');
  t.match(
    ask(c, 'a', { op: 'put', member: { ...data('a'), state: 'catching_up' } }).answer,
    { status: 'refused', code: 'hand_over_first' },
    'so does demoting it',
  );
  ask(c, 'a', { op: 'put', member: { ...catchingUp('n'), autoPromote: false } });
  const second = ask(c, 'a', { op: 'put', member: { ...witness('w'), state: 'catching_up' } }).answer;
  t.match(second, { status: 'refused', code: 'change_in_progress' }, 'a second change waits for the first to commit');
  const again = ask(c, 'a', { op: 'put', member: { ...catchingUp('n'), autoPromote: false } }).answer;
  t.same(again, { status: 'started', version: 2 }, 'the same change asked again is the one under way');
  c.deliver();
  const promote = ask(c, 'a', { op: 'put', member: { ...catchingUp('n'), state: 'voting', autoPromote: false } }).answer;
  t.match(promote, { status: 'refused', code: 'not_caught_up' }, 'n never answered, so it may not vote');
  const same = ask(c, 'a', { op: 'put', member: { ...catchingUp('n'), autoPromote: false } }).answer;
  t.match(same, { status: 'unchanged' }, 'asking for what is already committed changes nothing');
});

t.test('a new primary takes no change until its configuration is committed and a write of its term acknowledged', async (t) => {
  const c = new Cluster([data('a'), data('b'), data('c')], {
    a: { term: 1, position: pos(1, 10) },
    b: { term: 1, position: pos(1, 10) },
    c: { term: 1, position: pos(1, 10) },
  });
  c.tick('a', AFTER_START_LOYALTY);
  // Deliver the probe and ballot rounds, but not the first heartbeat's replies.
  c.deliver((env) => env.message.type !== 'heartbeat_response');
  t.equal(c.node('a').currentRole, 'primary');
  t.equal(c.node('a').configCommitted, false, 'no round acknowledged yet');
  t.match(ask(c, 'a', { op: 'remove', id: 'c' }).answer, { status: 'refused', code: 'change_in_progress' });
  c.deliver();
  t.equal(c.node('a').configCommitted, true);
  t.match(ask(c, 'a', { op: 'remove', id: 'c' }).answer, { status: 'refused', code: 'not_ready' }, 'nor before it acknowledged a write of its term');
  for (const id of ['a', 'b', 'c']) c.step(id, { type: 'position', now: c.now, position: pos(2, 10) });
  c.run(c.now + 2 * HB);
  t.match(ask(c, 'a', { op: 'remove', id: 'c' }).answer, { status: 'started' });
});

t.test('the primary promotes a caught-up member by itself, unless told not to', async (t) => {
  const c = led([data('a'), data('b'), data('c'), data('n'), data('m')], ['n', 'm']);
  ask(c, 'a', { op: 'put', member: catchingUp('n') });
  c.run(c.now + 2 * HB);
  ask(c, 'a', { op: 'put', member: { ...catchingUp('m'), autoPromote: false } });
  c.run(c.now + 2 * HB);
  t.equal(c.node('a').config?.members.find((m) => m.id === 'n')?.state, 'catching_up', 'n reported no position: it stays catching_up');
  for (const id of ['n', 'm']) c.step(id, { type: 'position', now: c.now, position: pos(2, 10) });
  c.run(c.now + 4 * HB);
  t.equal(c.node('a').config?.members.find((m) => m.id === 'n')?.state, 'voting', 'n covers the watermark and was promoted');
  t.equal(c.node('a').config?.members.find((m) => m.id === 'm')?.state, 'catching_up', 'm has autoPromote off');
  t.equal(c.node('n').self?.state, 'voting', 'n knows it votes');
});

t.test('a change that cannot commit is rolled back before the lease lapses, and the cluster stays led', async (t) => {
  // a, b, c vote and c is down; d is promoted and dies at once. {a, b, c, d}
  // needs 3 acknowledgements and gets only a and b, so the change cannot
  // commit; rolled back to {a, b, c} (2 of 3), a keeps its lease.
  const c = led([data('a'), data('b'), data('c'), data('d')], ['d']);
  const down = new Set(['c']);
  c.cut = (from, to) => down.has(from) || down.has(to);
  ask(c, 'a', { op: 'put', member: catchingUp('d') });
  c.run(c.now + HB);
  const failures: string[] = [];
  c.onStep = (id, _ev, fx) => {
    for (const e of fx) {
      if (e.type === 'config_change_failed') failures.push(`${e.version} ${e.why}`);
      // d dies the moment a writes the promotion.
      if (id === 'a' && e.type === 'persist' && e.state.config?.members.some((m) => m.id === 'd' && m.state === 'voting')) down.add('d');
    }
  };
  c.step('d', { type: 'position', now: c.now, position: pos(2, 10) });
  c.run(c.now + HB);
  const promoted = c.node('a').config;
  t.equal(promoted?.members.find((m) => m.id === 'd')?.state, 'voting', 'a promoted d');
  c.run(c.now + 2 * TIMINGS.electionTimeoutMs);
  t.same(failures, [`${promoted?.version} timed_out`], 'the promotion timed out');
  t.equal(c.node('a').currentRole, 'primary', 'a still leads');
  t.ok(c.node('a').holdsLease(c.now), 'and holds its lease');
  t.equal(c.node('a').config?.members.find((m) => m.id === 'd')?.state, 'catching_up', 'd is back to catching_up');
  t.equal(c.node('a').configCommitted, true, 'the rollback committed with a and b');
});

t.test('a removed member learns it, and neither votes nor stands', async (t) => {
  const c = led([data('a'), data('b'), data('c'), data('d')]);
  ask(c, 'a', { op: 'remove', id: 'd' });
  c.run(c.now + 2 * HB);
  t.equal(c.node('d').self, undefined, 'd holds the configuration without itself');
  t.match(c.node('d').electability(), /not a member/, 'd does not stand');
  const reply = deliver(c.node('d'), c.now + 1000, voteRequest({ candidateId: 'b', term: 9, position: pos(2, 50), config: { term: 2, version: 2 } }));
  t.match(reply, [{ type: 'reply', message: { granted: false, reason: { code: 'not_voting', why: 'not_a_member' } } }]);
});

t.test('messages of another cluster are refused, and a joining node takes only its cluster', async (t) => {
  const ms = clusterConfig([data('a'), data('b'), data('j')]);
  const b = makeNode('b', ms, { term: 1, position: pos(1, 10) });
  const alien = heartbeat({ ...ms, clusterId: 'other' }, 2, 'a');
  const [r] = deliver(b, 10, alien).filter((e) => e.type === 'reply');
  t.match(r, { message: { success: false } }, 'a heartbeat of another cluster is refused');
  t.equal(b.term, 1, 'and changes nothing');
  const vote = deliver(b, 10_000, voteRequest({ candidateId: 'a', term: 2, clusterId: 'other' }));
  t.match(vote, [{ type: 'reply', message: { granted: false, reason: { code: 'wrong_cluster', clusterId: CLUSTER_ID, candidateClusterId: 'other' } } }]);

  const joiner = makeNode('j', null, { joinClusterId: CLUSTER_ID });
  t.match(joiner.electability(), /no configuration/);
  deliver(joiner, 10, alien);
  t.equal(joiner.config, null, 'a joining node ignores another cluster');
  deliver(joiner, 11, heartbeat(ms, 2, 'a'));
  t.equal(joiner.config?.clusterId, CLUSTER_ID, 'and takes the first configuration of its own that lists it');
  t.equal(joiner.knownPrimary, 'a');
});

t.test('a heartbeat whose configuration is older than the one held, or not of its own term, is refused', async (t) => {
  const ms = clusterConfig([data('a'), data('b'), data('c')]);
  const b = makeNode('b', { ...ms, term: 3, version: 4 }, { term: 3, position: pos(1, 10) });
  const old = deliver(b, 10, heartbeat(ms, 3, 'a', { config: { ...ms, term: 3, version: 2 } }));
  t.match(old, [{ type: 'reply', message: { success: false } }], 'an older configuration in a heartbeat of term 3');
  const stamped = deliver(b, 11, heartbeat(ms, 4, 'a', { config: { ...ms, term: 2, version: 9 } }));
  t.match(stamped, [{ type: 'reply', message: { success: false } }], 'a configuration not stamped with the heartbeat term');
  t.equal(b.term, 3, 'neither changed the term');
  t.equal(b.config?.version, 4);
});

t.test('a change that would leave fewer than a majority of the voters holding the watermark is refused', async (t) => {
  // Two removals in a row must not thin the holders of an acknowledged write
  // below a majority: here a, b and c hold 2/20, d and e only 2/10. Removing c
  // would leave a and b, 2 of 4, as its only holders.
  const c = led([data('a'), data('b'), data('c'), data('d'), data('e')]);
  for (const id of ['a', 'b', 'c']) c.step(id, { type: 'position', now: c.now, position: pos(2, 20) });
  c.run(c.now + 2 * HB);
  t.same(c.node('a').hardState.commitWatermark, pos(2, 20), '2/20 is acknowledged by a, b and c');
  const { answer } = ask(c, 'a', { op: 'remove', id: 'c' });
  t.match(answer, { status: 'refused', code: 'not_caught_up' });
  t.equal(c.node('a').config?.members.length, 5, 'nothing changed');
  for (const id of ['d', 'e']) c.step(id, { type: 'position', now: c.now, position: pos(2, 20) });
  c.run(c.now + 2 * HB);
  t.match(ask(c, 'a', { op: 'remove', id: 'c' }).answer, { status: 'started' }, 'once d and e hold it too, c may go');
});

t.test('a candidate behind a voter takes its configuration from the refusal, and voters judge membership by the later one', async (t) => {
  // d1 has the longer log but missed the configuration d2 stamped in term 3;
  // d3 heard it but holds less data. Each refuses the other (config_behind,
  // log_behind) until d1 takes d3's configuration from its refusal.
  const ms = clusterConfig([data('d1'), data('d2'), data('d3')]);
  const d1 = makeNode('d1', { ...ms, term: 2 }, { term: 3, position: pos(2, 16), commitWatermark: pos(1, 10) });
  const d3 = makeNode('d3', { ...ms, term: 3 }, { term: 3, position: pos(1, 14), commitWatermark: pos(1, 10) });
  const late = 10_000;
  const [refusal] = deliver(d3, late, voteRequest({ candidateId: 'd1', term: 4, position: pos(2, 16), config: { term: 2, version: 1 }, dryRun: true })).filter(
    (e) => e.type === 'reply',
  );
  t.match(
    refusal,
    { message: { granted: false, reason: { code: 'config_behind' }, config: { term: 3, version: 1 } } },
    'd3 refuses and sends its configuration',
  );
  handBack(d1, late, refusal);
  t.same(d1.config?.term, 3, 'd1 took the later configuration');
  const [grant] = deliver(
    d3,
    late + 1,
    voteRequest({ candidateId: 'd1', term: 4, position: pos(2, 16), config: { term: 3, version: 1 }, dryRun: true }),
  ).filter((e) => e.type === 'reply');
  t.match(grant, { message: { granted: true } }, 'standing on it, d1 is granted');

  // A voter whose own list does not yet show the candidate promoted grants a
  // candidate whose configuration is later.
  const old = makeNode('v', clusterConfig([data('v'), data('w'), catchingUp('n')]), { term: 3, position: pos(2, 1) });
  const promoted = voteRequest({ candidateId: 'n', term: 4, position: pos(2, 5), config: { term: 3, version: 2 }, dryRun: true });
  t.match(deliver(old, late, promoted), [{ type: 'reply', message: { granted: true } }]);
  const same = voteRequest({ candidateId: 'n', term: 4, position: pos(2, 5), config: { term: 1, version: 1 }, dryRun: true });
  t.match(
    deliver(old, late, same),
    [{ type: 'reply', message: { granted: false, reason: { code: 'not_electable' } } }],
    'on the same configuration it refuses',
  );
});

/** handBack hands a reply effect's message back to the node that asked. */
function handBack(node: ReturnType<typeof makeNode>, now: number, reply: Effect | undefined): void {
  if (reply?.type !== 'reply') throw new Error('no reply');
  // The reply is to a probe of round 0 that node never sent; only its configuration is taken.
  deliver(node, now, reply.message);
}

t.test("a new cluster's first election waits to hear every initial voter once; from then on a majority", async (t) => {
  // Proves the bootstrap rule: a, b and c start from a bootstrap configuration
  // (term 0). With c never heard, a and b are a majority but elect nobody;
  // once c answers, a primary is elected and its configuration carries its
  // term, after which a majority is enough again, c down or not.
  const boot = clusterConfig([data('a'), data('b'), data('c')], 1, 0);
  const setups = Object.fromEntries(['a', 'b', 'c'].map((id) => [id, { term: 1, config: boot, position: pos(1, 10) }]));
  const c = new Cluster([data('a'), data('b'), data('c')], setups);
  c.run(AFTER_START_LOYALTY + 3 * TIMINGS.electionTimeoutMs, new Set(['c']));
  t.same([...c.primaries.keys()], [], 'two of three bootstrap voters elect nobody while the third was never heard');
  t.ok(
    c.outcomeLog.some((o) => o.outcome.kind === 'probe_failed'),
    'their probes failed',
  );
  c.run(c.now + 4 * (TIMINGS.electionTimeoutMs + TIMINGS.electionJitterMs));
  const [first] = [...c.primaries.entries()];
  t.ok(first !== undefined, 'with c heard, a primary is elected');
  const leader = [...(first?.[1] ?? [])][0]!;
  t.equal(c.node(leader).config?.term, first?.[0], 'its configuration carries its term');
  c.run(c.now + 2 * HB);
  const rest = ['a', 'b', 'c'].filter((id) => id !== leader);
  c.run(c.now + 4 * (TIMINGS.electionTimeoutMs + TIMINGS.electionJitterMs), new Set([leader]));
  const later = [...c.primaries.keys()].filter((term) => term > (first?.[0] ?? 0));
  t.ok(later.length > 0, `without ${leader}, ${rest.join(' and ')} elect a primary: a majority is enough now`);
});

t.test('nodes started with different member lists form different clusters, and neither elects', async (t) => {
  // Proves the scenario at bootstrap: a and b were started with the
  // list {a, b, c}, c, d and e with {a..e}. The lists give different cluster
  // ids; a and b are a majority of their list, and c, d, e of theirs, but
  // neither side ever hears every voter of its own list speak its cluster
  // id, so nobody is elected in any term, and every refusal says wrong_cluster.
  const old = { ...clusterConfig([data('a'), data('b'), data('c')], 1, 0), clusterId: 'old' };
  const all = { ...clusterConfig([data('a'), data('b'), data('c'), data('d'), data('e')], 1, 0), clusterId: 'new' };
  const setups = Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((id) => [id, { term: 1, config: id < 'c' ? old : all, position: pos(1, 10) }]));
  const c = new Cluster([data('a'), data('b'), data('c'), data('d'), data('e')], setups);
  c.run(AFTER_START_LOYALTY + 10 * (TIMINGS.electionTimeoutMs + TIMINGS.electionJitterMs));
  t.same([...c.primaries.keys()], [], 'no primary in any term');
  const wrong = c.sentLog.filter((env) => env.message.type === 'vote_response' && env.message.reason?.code === 'wrong_cluster');
  t.ok(wrong.length > 0, 'the refusals between the two sides say wrong_cluster');
});
