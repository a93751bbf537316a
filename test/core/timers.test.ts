// Election timers: randomized timeouts drawn from [base, base + jitter) and
// spread over it, and the follower's election deadline pushed back by every
// valid heartbeat (and by nothing else).

import t from 'tap';
import fc from 'fast-check';
import { randomizedElectionTimeout, seededRandom } from '../../src/core/index.js';
import { TIMINGS, checkedStep, checkProperty, data, deliver, heartbeat, makeNode, clusterConfig, pos, sends } from '../support/core-harness.js';

const BASE = TIMINGS.electionTimeoutMs;
const JITTER = TIMINGS.electionJitterMs;
const MS = clusterConfig([data('a'), data('b'), data('c')]);

t.test('randomizedElectionTimeout is a whole number in [base, base + jitter) (property)', async (t) => {
  // Proves the range for any base, jitter and seed.
  checkProperty(
    t,
    'every draw lies in [base, base + jitter)',
    fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1, max: 10_000 }), fc.integer(), (base, jitter, seed) => {
      const random = seededRandom(seed);
      for (let i = 0; i < 20; i++) {
        const v = randomizedElectionTimeout(base, jitter, random);
        if (!Number.isInteger(v) || v < base || v >= base + jitter) return false;
      }
      return true;
    }),
  );
});

t.test('a zero or negative jitter gives exactly the base timeout', async (t) => {
  // Proves the degenerate case draws nothing and returns the base.
  const random = seededRandom(7);
  t.equal(randomizedElectionTimeout(150, 0, random), 150, 'jitter 0');
  t.equal(randomizedElectionTimeout(150, -5, random), 150, 'negative jitter');
});

t.test('timeouts spread over the whole interval', async (t) => {
  // Proves the draws are not clustered: over 30,000 draws per seed, both ends
  // of [150, 300) are reached, every 10 ms bucket holds its fair share within
  // 15 %, and the mean is the middle of the interval.
  for (const seed of [1, 42, 2 ** 31 - 1]) {
    const random = seededRandom(seed);
    const draws = 30_000;
    const buckets = new Array<number>(JITTER / 10).fill(0);
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (let i = 0; i < draws; i++) {
      const v = randomizedElectionTimeout(BASE, JITTER, random);
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
      const b = Math.floor((v - BASE) / 10);
      buckets[b] = (buckets[b] ?? 0) + 1;
    }
    t.equal(min, BASE, `seed ${seed}: the lowest draw should be the base`);
    t.equal(max, BASE + JITTER - 1, `seed ${seed}: the highest draw should be base + jitter - 1`);
    const fair = draws / buckets.length;
    const unfair = buckets.map((n, i) => [i, n]).filter(([, n]) => Math.abs(n! - fair) > fair * 0.15);
    t.same(unfair, [], `seed ${seed}: 10 ms buckets out of ${fair} ± 15 %`);
    t.ok(Math.abs(sum / draws - (BASE + (JITTER - 1) / 2)) < 1.5, `seed ${seed}: mean ${sum / draws} should be near the middle`);
  }
});

t.test('the same seed replays the same timeouts, another seed does not', async (t) => {
  // Proves the source is deterministic in its seed (the simulator replays runs)
  // and that seeds matter.
  const draw = (seed: number) => {
    const r = seededRandom(seed);
    return Array.from({ length: 10 }, () => randomizedElectionTimeout(BASE, JITTER, r));
  };
  t.same(draw(99), draw(99), 'seed 99 twice must draw the same');
  t.not(JSON.stringify(draw(99)), JSON.stringify(draw(100)), 'seeds 99 and 100 should draw differently');
});

t.test('a valid heartbeat pushes the election deadline back', async (t) => {
  // Proves the follower's deadline restarts at every heartbeat of its term,
  // not only at the first from a new primary: the old deadline passes without
  // an election, the new one is a fresh draw from [now + base, now + base +
  // jitter), and it starts an election if nothing is heard before it.
  const b = makeNode('b', MS, { term: 2, position: pos(2, 10) });
  deliver(b, 0, heartbeat(MS, 2, 'a'));
  t.equal(b.knownPrimary, 'a', 'b already follows a');
  const first = b.nextTimer;
  const heardAt = first - 10;
  const effects = deliver(b, heardAt, heartbeat(MS, 2, 'a', { round: 2 }));
  const timer = effects.find((e) => e.type === 'timer');
  t.ok(
    timer && timer.type === 'timer' && timer.at >= heardAt + BASE && timer.at < heardAt + BASE + JITTER,
    `new deadline ${JSON.stringify(timer)} out of range`,
  );
  t.same(sends(checkedStep(b, { type: 'tick', now: first }), 'vote_request'), [], 'the old deadline passes without an election');
  const second = b.nextTimer;
  t.same(sends(checkedStep(b, { type: 'tick', now: second - 1 }), 'vote_request'), [], 'no election before the new deadline');
  t.equal(sends(checkedStep(b, { type: 'tick', now: second }), 'vote_request').length, 2, 'an election starts at the new deadline');
});

t.test('every heartbeat draws a fresh timeout', async (t) => {
  // Proves the follower does not reuse one draw: over 50 heartbeats the
  // deadlines sit at many different offsets from the heartbeat.
  const b = makeNode('b', MS, { term: 2, position: pos(2, 10) });
  const offsets = new Set<number>();
  for (let i = 0; i < 50; i++) {
    const now = 100 + i * 30;
    deliver(b, now, { type: 'heartbeat', round: i + 1, term: 2, primaryId: 'a', commitWatermark: pos(0, 0), config: { ...MS, term: 2 } });
    const offset = b.nextTimer - now;
    if (offset < BASE || offset >= BASE + JITTER) t.fail(`heartbeat ${i + 1}: deadline ${offset} ms after it, outside [${BASE}, ${BASE + JITTER})`);
    offsets.add(offset);
  }
  t.ok(offsets.size >= 35, `50 heartbeats should give many different offsets, got ${offsets.size}`);
});

t.test('a heartbeat of an older term does not push the deadline back', async (t) => {
  // Proves only a valid heartbeat resets the deadline: a deposed primary's
  // heartbeat is refused and the follower still stands on time.
  const b = makeNode('b', MS, { term: 3, position: pos(2, 10) });
  const deadline = b.nextTimer;
  const effects = deliver(b, deadline - 10, heartbeat(MS, 2, 'a'));
  t.match(sends(effects, 'heartbeat_response')[0]?.message, { success: false, term: 3 }, 'the stale heartbeat is refused with the newer term');
  t.equal(b.nextTimer, deadline, 'the deadline is unchanged');
  t.equal(sends(checkedStep(b, { type: 'tick', now: deadline }), 'vote_request').length, 2, 'the election starts at the old deadline');
});
