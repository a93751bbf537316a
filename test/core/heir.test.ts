// The heir: a primary names, on every heartbeat, the electable follower it
// heard from lately with the highest position. When the primary's process is
// seen gone, the heir stands first and the others hold back, so the fast path
// of failure detection does not split the vote.

import t from 'tap';
import type { Effect, Heartbeat, Node } from '../../src/core/index.js';
import { TIMINGS, checkedStep, data, deliver, heartbeat, makeNode, clusterConfig, pos, sends, witness } from '../support/core-harness.js';

const MS = clusterConfig([data('a'), data('b'), data('c'), data('d'), witness('w')]);
const HB = TIMINGS.heartbeatMs;

/** a's heartbeat of term 2, naming `heir` if given. */
function heirHeartbeat(heir: string | undefined): Heartbeat {
  return heartbeat(MS, 2, 'a', heir ? { heir } : {});
}

/** The moment a follower that heard `heir` named at time 1000 first sends a probe after the evidence at 1010. */
function firstProbeAt(id: string, heir: string | undefined, seed: number): number {
  const node = makeNode(id, MS, { term: 2, position: pos(2, 10), seed });
  deliver(node, 1000, heirHeartbeat(heir));
  checkedStep(node, { type: 'primary_unreachable', now: 1010, primaryId: 'a' });
  for (let now = 1010; now < 1010 + TIMINGS.electionTimeoutMs + TIMINGS.electionJitterMs; now++) {
    if (sends(checkedStep(node, { type: 'tick', now }), 'vote_request').length > 0) return now - 1010;
  }
  return Infinity;
}

t.test('a primary names as heir the electable follower with the highest position it heard from lately', async (t) => {
  // Proves the choice: not a witness, not a silent member, the most caught up.
  const a = makeNode('a', MS, { term: 1, position: pos(1, 50) });
  let now = TIMINGS.electionTimeoutMs + TIMINGS.electionJitterMs + 1;
  const voters = ['b', 'c', 'd', 'w'];
  // Grant every probe, then every ballot, gathering what a does.
  const grant = (requests: ReturnType<typeof sends<'vote_request'>>): Effect[] =>
    requests.flatMap((r) =>
      checkedStep(a, {
        type: 'message',
        now,
        message: { type: 'vote_response', round: r.message.round, voterId: r.to, term: r.message.term, granted: true, dryRun: r.message.dryRun },
      }),
    );
  const afterProbes = grant(sends(checkedStep(a, { type: 'tick', now }), 'vote_request'));
  const effects = grant(sends(afterProbes, 'vote_request'));
  t.equal(a.currentRole, 'primary', 'a won');
  const positions: Record<string, ReturnType<typeof pos> | null> = { b: pos(2, 7), c: pos(2, 9), d: pos(2, 3), w: null };
  for (const hb of sends(effects, 'heartbeat')) {
    checkedStep(a, {
      type: 'message',
      now,
      message: {
        type: 'heartbeat_response',
        round: hb.message.round,
        memberId: hb.to,
        term: a.term,
        success: true,
        position: positions[hb.to] ?? null,
        config: null,
      },
    });
  }
  now += HB;
  const next = sends(checkedStep(a, { type: 'tick', now }), 'heartbeat');
  t.equal(next.length, voters.length, 'a heartbeat goes to every member');
  t.ok(
    next.every((s) => s.message.heir === 'c'),
    'the heir is c, the most caught-up data follower',
  );
  // c goes silent while the others answer every round: once it has not been
  // heard for an election timeout, the heir changes.
  let round = next;
  for (let i = 0; i <= TIMINGS.electionTimeoutMs / HB; i++) {
    for (const hb of round) {
      if (hb.to === 'c') continue;
      checkedStep(a, {
        type: 'message',
        now,
        message: {
          type: 'heartbeat_response',
          round: hb.message.round,
          memberId: hb.to,
          term: a.term,
          success: true,
          position: positions[hb.to] ?? null,
          config: null,
        },
      });
    }
    now += HB;
    round = sends(checkedStep(a, { type: 'tick', now }), 'heartbeat');
  }
  t.equal(a.currentRole, 'primary', 'a is still primary');
  t.ok(round.length > 0 && round.every((s) => s.message.heir === 'b'), 'a silent member is no heir: b is next');
});

t.test('on evidence that the primary is gone, the heir stands first and the others hold back past the loyalty', async (t) => {
  // Proves the stagger, over many seeds: the heir probes a third of a
  // heartbeat interval after the evidence; every other follower holds back
  // until a lease and one to three intervals have passed (its own timeout, if
  // that comes first), by when the heir has won, since the voters refuse
  // everyone until their loyalty of a lease runs out; without an heir,
  // everyone within one interval.
  for (let seed = 1; seed <= 50; seed++) {
    t.equal(firstProbeAt('b', 'b', seed), Math.floor(HB / 3), `seed ${seed}: the heir probes after a third of an interval`);
    const other = firstProbeAt('c', 'b', seed);
    t.ok(other >= TIMINGS.leaseMs + HB && other < TIMINGS.leaseMs + 3 * HB, `seed ${seed}: a non-heir waits past a lease and an interval (${other} ms)`);
    const none = firstProbeAt('c', undefined, seed);
    t.ok(none >= 0 && none < HB, `seed ${seed}: with no heir named, within one interval (${none} ms)`);
  }
});

t.test('right after the evidence, a failed probe is retried within a heartbeat interval or two, not a whole timeout', async (t) => {
  // Proves the quick retry: a voter that had not seen the evidence refused
  // with primary_alive; the heir tries again within one interval, and only
  // for one election timeout after the evidence.
  const b: Node = makeNode('b', MS, { term: 2, position: pos(2, 10), seed: 3 });
  deliver(b, 1000, heirHeartbeat('b'));
  checkedStep(b, { type: 'primary_unreachable', now: 1010, primaryId: 'a' });
  const probes = sends(checkedStep(b, { type: 'tick', now: 1010 + Math.floor(HB / 3) }), 'vote_request');
  t.equal(probes.length, 4, 'b probes every other voter');
  const start = 1010 + Math.floor(HB / 3);
  for (const p of probes) {
    checkedStep(b, {
      type: 'message',
      now: start + 1,
      message: {
        type: 'vote_response',
        round: p.message.round,
        voterId: p.to,
        term: 2,
        granted: false,
        dryRun: true,
        reason: { code: 'primary_alive', primaryId: 'a', lastHeartbeatAgoMs: 5 },
      },
    });
  }
  t.equal(b.currentRole, 'follower', 'the probe failed');
  let retryAt = Infinity;
  for (let now = start + 1; now < start + TIMINGS.electionTimeoutMs; now++) {
    if (sends(checkedStep(b, { type: 'tick', now }), 'vote_request').length > 0) {
      retryAt = now - start - 1;
      break;
    }
  }
  t.ok(retryAt < HB, `the heir retried within one interval (${retryAt} ms), not a whole timeout`);
});
