// Maintenance mode and failover priority in the core. A pause is a
// configuration change: while it holds, no member stands by itself and voters
// refuse with `paused`, but a planned switchover goes on; a resume through the
// primary lifts it, and so does an operator's resume on a member when the
// primary died meanwhile. Priority orders the heir and a switchover's target;
// 0 never becomes primary.

import t from 'tap';
import type { ConfigChange, ConfigChangeAnswer, Effect, Member } from '../../src/core/index.js';
import { AFTER_START_LOYALTY, Cluster, TIMINGS, clusterConfig, data, pos, voteReply, witness, ask as askVote } from '../support/core-harness.js';

const HB = TIMINGS.heartbeatMs;
const QUIET = 5 * (TIMINGS.electionTimeoutMs + TIMINGS.electionJitterMs);

/** {a, b, c} (data at 1/10) led by a, which has committed its configuration and a write of its term. */
function led(members: Member[] = [data('a'), data('b'), data('c')], positions: Record<string, number> = {}): Cluster {
  const config = clusterConfig(members);
  const setups = Object.fromEntries(members.map((m) => [m.id, { term: 1, config, ...(m.kind === 'data' ? { position: pos(1, 10) } : {}) }]));
  const c = new Cluster(members, setups);
  c.elect('a', AFTER_START_LOYALTY);
  for (const m of members) if (m.kind === 'data') c.step(m.id, { type: 'position', now: c.now, position: pos(2, positions[m.id] ?? 10) });
  c.run(c.now + 2 * HB);
  return c;
}

function change(c: Cluster, id: string, ch: ConfigChange): ConfigChangeAnswer | undefined {
  const effects = c.step(id, { type: 'config_change', now: c.now, change: ch });
  return effects.find((e): e is Extract<Effect, { type: 'config_change_answer' }> => e.type === 'config_change_answer')?.answer;
}

/** pause asks a to pause and lets the cluster commit it. */
function pause(c: Cluster): void {
  const answer = change(c, 'a', { op: 'pause', paused: true });
  if (answer?.status !== 'started') throw new Error(`pause not started: ${JSON.stringify(answer)}`);
  c.run(c.now + 2 * HB);
}

t.test('a pause commits on every member, and a paused follower neither stands nor grants', async (t) => {
  const c = led();
  pause(c);
  for (const id of ['a', 'b', 'c']) t.equal(c.node(id).config?.paused, true, `${id} holds the paused configuration`);
  t.equal(c.node('a').configCommitted, true, 'committed');
  t.equal(change(c, 'a', { op: 'pause', paused: true })?.status, 'unchanged', 'a second pause changes nothing');
  // The primary dies: nobody stands for a long while.
  const diedAt = c.now;
  c.run(diedAt + QUIET, new Set(['a']));
  t.same(c.primariesOf(3), [], 'no election while paused');
  t.ok(
    c.outcomeLog.some((o) => o.id === 'b' && o.outcome.kind === 'not_electable' && /paused/.test(o.outcome.why)),
    'b declined to stand: failover is paused',
  );
  const probe = voteReply(askVote(c.node('c'), c.now, { candidateId: 'b', term: 3, position: pos(2, 10), config: { term: 2, version: 2 }, dryRun: true }));
  t.same(probe.reason, { code: 'paused', voterId: 'c' }, 'a voter refuses a probe with paused');
});

t.test('the primary keeps its lease while paused, and a resume through it restores failover', async (t) => {
  const c = led();
  pause(c);
  c.run(c.now + QUIET);
  t.ok(c.node('a').holdsLease(c.now), 'a still serves');
  t.equal(change(c, 'a', { op: 'pause', paused: false })?.status, 'started', 'resume started');
  c.run(c.now + 2 * HB);
  for (const id of ['a', 'b', 'c']) t.notOk(c.node(id).config?.paused, `${id} holds the resumed configuration`);
  c.run(c.now + QUIET, new Set(['a']));
  t.equal(c.primariesOf(3).length, 1, 'a primary dies after the resume: another is elected');
});

t.test('a planned switchover still works while paused', async (t) => {
  const c = led();
  pause(c);
  const effects = c.step('a', { type: 'switchover', now: c.now, target: 'b' });
  t.match(
    effects.find((e) => e.type === 'switchover_answer'),
    { answer: { status: 'started', target: 'b' } },
  );
  c.run(c.now + 4 * HB);
  t.same(c.primariesOf(3), ['b'], 'b leads term 3 by handoff');
  t.equal(c.node('b').config?.paused, true, 'and the cluster stays paused');
});

t.test('an operator resume on a member, with the primary dead, elects it and writes the resume', async (t) => {
  const c = led();
  pause(c);
  const stopped = new Set(['a']);
  c.run(c.now + QUIET, stopped);
  t.same(c.primariesOf(3), [], 'nobody stood while paused');
  c.cut = (from, to) => from === 'a' || to === 'a';
  c.step('b', { type: 'resume', now: c.now });
  c.run(c.now + 4 * HB, stopped);
  t.same(c.primariesOf(3), ['b'], 'b stood with the resume and won');
  t.match(c.outcomeLog.find((o) => o.id === 'b' && o.outcome.kind === 'elected')?.outcome, { cause: 'resume' }, 'and its election says the operator began it');
  t.notOk(c.node('b').config?.paused, "b's configuration of term 3 is resumed");
  t.notOk(c.node('c').config?.paused, 'and c holds it');
});

t.test('priority orders the switchover target and the heir; 0 never stands or is granted', async (t) => {
  // c has the higher priority but lags the watermark at first; d, furthest
  // ahead, has priority 0.
  const members = [data('a'), data('b'), { ...data('c'), priority: 5 }, { ...data('d'), priority: 0 }, witness('w')];
  const c = led(members, { a: 40, b: 40, c: 30, d: 50 });
  t.same(c.node('a').hardState.commitWatermark, pos(2, 40), 'the watermark');
  c.run(c.now + HB);
  const last = c.sentLog.filter((e) => e.message.type === 'heartbeat' && e.from === 'a').at(-1);
  t.match(last?.message, { heir: 'b' }, 'c does not hold the watermark: the heir is b, not d');
  c.step('c', { type: 'position', now: c.now, position: pos(2, 40) });
  c.run(c.now + 2 * HB);
  const next = c.sentLog.filter((e) => e.message.type === 'heartbeat' && e.from === 'a').at(-1);
  t.match(next?.message, { heir: 'c' }, 'once c holds it, c is the heir by priority, though b is as far');
  const effects = c.step('a', { type: 'switchover', now: c.now, target: null });
  t.match(
    effects.find((e) => e.type === 'switchover_answer'),
    { answer: { status: 'started', target: 'c' } },
    'a switchover without a target picks c',
  );
  t.equal(c.node('d').electability(), 'its failover priority is 0: it never stands', 'd may not stand, and says why');
  const refusal = voteReply(
    askVote(c.node('b'), c.now + QUIET, { candidateId: 'd', term: 3, position: pos(2, 50), config: { term: 2, version: 1 }, dryRun: true }),
  );
  t.same(refusal.reason, { code: 'not_electable', candidateId: 'd' }, 'a voter refuses d');
  const named = c.step('a', { type: 'switchover', now: c.now, target: 'd' });
  t.notOk(
    named.some((e) => e.type === 'switchover_answer' && e.answer.status === 'started'),
    'a switchover to d is refused',
  );
});
