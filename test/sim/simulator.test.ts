// The simulator itself: a run replays exactly from its seed, and its parts (the
// event queue, the network's partitions, the data log, the crash, pause and
// clock models) do what the checkers' verdicts rely on.

import t from 'tap';
import { DEFAULT_TIMINGS } from '../../src/core/index.js';
import { Checkers, livenessBoundMs } from './checkers.js';
import { DataLog } from '../kit/data-log.js';
import { Network, PARTITION_KINDS } from './network.js';
import { EventQueue } from './queue.js';
import { SimRandom, mixSeed } from './random.js';
import { MEMBER_CHANGE_WEIGHT, runSeed, type RunResult } from './simulator.js';
import { drawMismatch } from './mismatch.js';
import { initialConfig } from '../../src/runtime/bootstrap.js';
import { isElectable, isVoter, quorumSize } from '../../src/core/index.js';
import { SHAPES, TIMING_PROFILES, makeShape } from './shapes.js';

t.test('a seed replays exactly: the same seed gives the identical trace, event for event', async (t) => {
  const first = runSeed({ seed: 4242, traceLimit: Infinity });
  runSeed({ seed: 99 }); // another run in between shares no state with it
  const again = runSeed({ seed: 4242, traceLimit: Infinity });
  t.ok(first.trace.length > 500, 'the full trace has every line');
  t.same(again.trace, first.trace, 'identical trace');
  t.equal(again.digest, first.digest, 'identical digest');
  t.same(again.stats, first.stats, 'identical stats');
});

t.test('a hundred seeds each replay to their digest, and no two seeds run alike', async (t) => {
  const digests = new Set<number>();
  let replayed = 0;
  for (let seed = 1; seed <= 100; seed++) {
    const d = runSeed({ seed }).digest;
    if (runSeed({ seed }).digest === d) replayed++;
    digests.add(d);
  }
  t.equal(replayed, 100, 'every seed replays to its digest');
  t.equal(digests.size, 100, 'every seed runs differently');
});

t.test('the event queue pops by true time, and events at the same time in the order scheduled', async (t) => {
  const q = new EventQueue<{ at: number; seq: number; name: string }>();
  const rng = new SimRandom(7);
  const expected: string[] = [];
  for (let i = 0; i < 200; i++) q.push({ at: rng.int(20), seq: 0, name: `e${i}` });
  const popped: { at: number; seq: number; name: string }[] = [];
  for (let e = q.pop(); e; e = q.pop()) popped.push(e);
  for (let i = 1; i < popped.length; i++) {
    const a = popped[i - 1]!;
    const b = popped[i]!;
    if (a.at > b.at || (a.at === b.at && a.seq > b.seq)) expected.push(`${a.name} before ${b.name}`);
  }
  t.equal(popped.length, 200);
  t.same(expected, [], 'no event pops before an earlier one');
  t.equal(q.pop(), undefined, 'an empty queue pops nothing');
});

t.test('seeded randomness is deterministic and stays in its ranges', async (t) => {
  const a = new SimRandom(mixSeed(1, 2, 3));
  const b = new SimRandom(mixSeed(1, 2, 3));
  const xs = Array.from({ length: 50 }, () => a.next());
  t.same(
    Array.from({ length: 50 }, () => b.next()),
    xs,
    'same seed, same stream',
  );
  t.ok(
    xs.every((x) => x >= 0 && x < 1),
    'next() is in [0, 1)',
  );
  t.not(mixSeed(1, 2, 3), mixSeed(3, 2, 1), 'mixSeed depends on order');
  const r = new SimRandom(5);
  for (let i = 0; i < 100; i++) {
    const v = r.intRange(3, 5);
    if (v < 3 || v > 5) t.fail(`intRange gave ${v}`);
  }
  t.equal(r.weighted({ never: 0, always: 1 }), 'always', 'weight 0 is never picked');
  t.throws(() => r.pick([]), RangeError);
  t.same(r.shuffle([1, 2, 3, 4]).sort(), [1, 2, 3, 4], 'a shuffle keeps every item');
});

function linksUp(net: Network): boolean[][] {
  return Array.from({ length: net.size }, (_, a) => Array.from({ length: net.size }, (_, b) => net.isUp(a, b)));
}

t.test('each partition kind cuts the links it names, and heal() restores them all', async (t) => {
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  for (const kind of PARTITION_KINDS) {
    for (let seed = 1; seed <= 20; seed++) {
      const net = new Network(names);
      const words = net.partition(kind, new SimRandom(seed), seed % 2 === 0 ? 2 : -1);
      const up = linksUp(net);
      const n = names.length;
      const degree = (a: number): number => up[a]!.filter((x, b) => x && b !== a).length;
      switch (kind) {
        case 'halves':
        case 'minority':
        case 'isolate': {
          // Symmetric cuts into groups: "up" is an equivalence relation.
          const symmetric = up.every((row, a) => row.every((x, b) => x === up[b]![a]));
          const groups = new Set(up.map((row) => row.map((x) => (x ? 1 : 0)).join('')));
          if (!symmetric || groups.size !== 2) t.fail(`${kind} seed ${seed}: ${words}`);
          const sizes = [...groups].map((g) => g.split('').filter((c) => c === '1').length);
          if (kind === 'minority' && Math.min(...sizes) > (n - 1) / 2) t.fail(`minority too large: ${words}`);
          if (kind === 'isolate' && Math.min(...sizes) !== 1) t.fail(`isolate cut more than one node: ${words}`);
          if (seed % 2 === 0 && kind !== 'halves' && degree(2) !== Math.min(...sizes) - 1) t.fail(`focus not in the cut-off side: ${words}`);
          break;
        }
        case 'ring':
          if (!names.every((_, a) => degree(a) === 2)) t.fail(`ring seed ${seed}: ${words}`);
          break;
        case 'bridge': {
          const bridges = names.map((_, a) => a).filter((a) => degree(a) === n - 1);
          if (bridges.length !== 1 || names.every((_, a) => degree(a) === n - 1)) t.fail(`bridge seed ${seed}: ${words}`);
          break;
        }
        case 'one_way': {
          const oneWay = up.some((row, a) => row.some((x, b) => !x && up[b]![a]));
          if (!oneWay) t.fail(`one_way seed ${seed}: ${words}`);
          break;
        }
      }
      net.heal();
      if (!linksUp(net).every((row) => row.every(Boolean))) t.fail(`${kind}: heal left a link down`);
    }
  }
  t.pass(`${PARTITION_KINDS.length} partition kinds × 20 seeds checked`);
});

t.test('a follower copies a prefix of its primary, dropping a deposed primary’s divergent suffix', async (t) => {
  const oldPrimary = new DataLog();
  oldPrimary.append(1, 1);
  oldPrimary.append(1, 2);
  const follower = new DataLog();
  t.ok(follower.copyFrom(oldPrimary, 1000), 'a copy changes an empty log');
  const unacked = oldPrimary.append(1, 3); // never replicated
  const newPrimary = new DataLog();
  newPrimary.copyFrom(follower, 1000);
  const noop = newPrimary.append(2, 0);
  newPrimary.append(2, 4);
  t.equal(oldPrimary.commonPrefix(newPrimary), 2, 'the shared history is the first two entries');
  t.ok(oldPrimary.copyFrom(newPrimary, 1), 'the deposed primary follows the new one');
  t.notOk(oldPrimary.holds(unacked), 'its divergent entry is gone');
  t.ok(oldPrimary.holds(noop), 'and it holds the new primary’s no-op (one entry per copy at most)');
  t.same(oldPrimary.position(), { term: 2, lsn: 3 });
  t.ok(oldPrimary.copyFrom(newPrimary, 1000));
  t.notOk(oldPrimary.copyFrom(newPrimary, 1000), 'nothing left to copy');
  t.same(oldPrimary.position(), newPrimary.position());
  const longer = new DataLog();
  longer.copyFrom(newPrimary, 1000);
  longer.append(2, 5);
  const shorter = new DataLog();
  shorter.copyFrom(newPrimary, 2);
  t.ok(longer.copyFrom(shorter, 1000), 'a log longer than its source is cut back to it');
  t.same(longer.position(), shorter.position());
  t.same(new DataLog().position(), { term: 0, lsn: 0 }, 'an empty log is at 0/0');
});

t.test('each checker flags what breaks its invariant and nothing else', async (t) => {
  const held = new DataLog();
  const w = held.append(1, 1);
  const empty = new DataLog();
  const c = new Checkers((id) => (id === 'full' ? held : id === 'empty' ? empty : null));
  c.primaryElected(1, 'a', 1);
  c.primaryElected(2, 'a', 1);
  c.voteGranted(1, 'v', 'a', 1);
  c.voteGranted(2, 'v', 'a', 1);
  c.termObserved(1, 'a', 2, 'step');
  c.termObserved(2, 'a', 2, 'restart');
  c.writeAcknowledged(3, 'a', 1, w, { term: 1, lsn: 1 });
  c.primaryLog(4, 'full', 2, held, 'elected');
  c.leaseHeld(5, 'a', []);
  t.same(c.violations, [], 'a clean history has no violation');

  c.primaryElected(6, 'b', 1);
  c.voteGranted(7, 'v', 'b', 1);
  c.termObserved(8, 'a', 1, 'restart');
  c.primaryLog(9, 'empty', 2, empty, 'first write');
  c.leaseHeld(10, 'a', ['b']);
  c.writeAcknowledged(11, 'a', 1, held.append(1, 2), { term: 1, lsn: 1 });
  c.persistNotFirst(12, 'a', 2);
  c.nodeThrew(13, 'a', new Error('boom'));
  c.runaway(14, 'too many events');
  t.same(
    c.violations.map((v) => v.checker),
    [
      'one_primary_per_term',
      'vote_ledger',
      'term_monotonic',
      'acked_writes_kept',
      'single_lease',
      'acked_writes_kept',
      'persist_first',
      'node_threw',
      'runaway',
    ],
  );
});

t.test('an acknowledged write that an already elected later primary lacks is flagged at once', async (t) => {
  const c = new Checkers((id) => (id === 'b' ? new DataLog() : null));
  c.primaryElected(1, 'b', 3);
  const log = new DataLog();
  c.writeAcknowledged(2, 'a', 2, log.append(2, 9), { term: 2, lsn: 1 });
  t.equal(c.violations[0]?.checker, 'acked_writes_kept');
});

t.test('a prefix acknowledged in a later term binds only the primaries after the acknowledging term', async (t) => {
  const empty = new DataLog();
  const c = new Checkers((id) => (id === 'd' ? empty : null));
  const log = new DataLog();
  const written = log.append(3, 7); // written in term 3, left uncovered when its writer was deposed
  c.primaryElected(1, 'd', 4); // d leads term 4 without it: nothing acknowledged it yet
  c.writeAcknowledged(2, 'a', 5, written, { term: 5, lsn: 2 }); // a, re-elected in term 5, covers its prefix
  c.primaryLog(3, 'd', 4, empty, 'first write');
  t.same(c.violations, [], 'term 4 is before the acknowledging term 5');
  c.writeAcknowledged(4, 'a', 5, written, { term: 5, lsn: 2 });
  t.equal(c.acked.length, 1, 'an entry is acknowledged once');
  c.primaryLog(5, 'e', 6, empty, 'elected');
  t.equal(c.violations[0]?.checker, 'acked_writes_kept', 'a primary of term 6 without it is flagged');
  t.match(c.violations[0]?.message, /acked by a in term 5/);
});

t.test('liveness: a healed majority must show a lease of one of its own within the bound', async (t) => {
  const late = new Checkers(() => null);
  late.healed(100, 500, new Set(['a', 'b']));
  late.leaseHeld(200, 'x', []); // not of the stable majority: does not count
  late.livenessDeadline(600);
  t.equal(late.violations[0]?.checker, 'liveness');
  const prompt = new Checkers(() => null);
  prompt.healed(100, 500, new Set(['a', 'b']));
  prompt.leaseHeld(300, 'b', []);
  prompt.livenessDeadline(600);
  t.same(prompt.violations, []);
  t.equal(prompt.primaryAfterHeal, 300);
  // The stated bound for the defaults: (E + 4 × 2 × (E + J) + (E + J) + lease wait + heartbeat) / (1 - drift),
  // the lease wait right after an acknowledgement being ceil(90 × 1.05 / 0.95) + 1 = 101.
  t.equal(livenessBoundMs(DEFAULT_TIMINGS), Math.ceil((500 + 8 * 750 + 750 + 101 + 30) / 0.95));
});

function runsWithFullTraces(count: number): RunResult[] {
  return Array.from({ length: count }, (_, i) => runSeed({ seed: 500 + i, traceLimit: Infinity }));
}

const traced = runsWithFullTraces(40);

function nodeOf(line: string): string {
  return line.slice(12, 15).trim();
}

t.test('a crash during a persist keeps the whole new state or none of it, and the step does nothing after it', async (t) => {
  let kept = 0;
  let lost = 0;
  for (const r of traced) {
    const lines = r.trace;
    lines.forEach((line, i) => {
      const m = / crash in the middle of a persist \(new state (kept|lost): (t\d+ vote \S+ wm \S+ config \S+)\)/.exec(line);
      if (!m) return;
      const id = nodeOf(line);
      // The state the node had durable before: its last persist or (re)start line.
      let before: string | null = null;
      for (let j = i - 1; j >= 0 && before === null; j--) {
        const l = lines[j]!;
        const p = / (?:persist|start|restart) (t\d+ vote \S+ wm \S+ config \S+)/.exec(l);
        if (nodeOf(l) === id && p) before = p[1]!;
      }
      for (let j = i + 1; j < lines.length; j++) {
        const l = lines[j]!;
        // Not its doing: its clock's rate, and its earlier messages cut in flight.
        if (nodeOf(l) !== id || / clock rate now | lost \(cut in flight\)/.test(l)) continue;
        const restart = / restart (t\d+ vote \S+ wm \S+ config \S+)/.exec(l);
        if (!restart) {
          t.fail(`seed ${r.seed}: ${id} acted while down: ${l}`);
          return;
        }
        const expected = m[1] === 'kept' ? m[2] : before;
        if (restart[1] !== expected) t.fail(`seed ${r.seed}: ${id} restarted with ${restart[1]}, expected ${expected}`);
        if (m[1] === 'kept') kept++;
        else lost++;
        return;
      }
    });
  }
  t.ok(kept > 0 && lost > 0, `both outcomes happen (${kept} kept, ${lost} lost) and restart with the state they say`);
});

t.test('a paused node receives nothing and does nothing until it resumes, then handles what waited', async (t) => {
  let pauses = 0;
  let waited = 0;
  for (const r of traced) {
    const lines = r.trace;
    lines.forEach((line, i) => {
      if (!/ pause for /.test(line)) return;
      const id = nodeOf(line);
      for (let j = i + 1; j < lines.length; j++) {
        const l = lines[j]!;
        if (nodeOf(l) !== id || / clock rate now | lost \(cut in flight\)/.test(l)) continue;
        const resumed = / resume \((\d+) waiting\)/.exec(l);
        if (resumed) {
          pauses++;
          waited += Number(resumed[1]);
        } else if (!/ crash /.test(l)) t.fail(`seed ${r.seed}: ${id} acted while paused: ${l}`);
        return;
      }
    });
  }
  t.ok(pauses > 0 && waited > 0, `${pauses} pauses; ${waited} events waited for their node to resume`);
});

t.test('clock rates stay within the timings’ drift bound, and requests without a reply become undeliverable', async (t) => {
  let rates = 0;
  let undeliverable = 0;
  let unreachable = 0;
  for (const r of traced) {
    const d = r.timings.clockDriftBound;
    for (const l of r.trace) {
      const m = / clock rate (?:now )?([\d.]+)/.exec(l);
      if (m) {
        rates++;
        if (Math.abs(Number(m[1]) - 1) > d + 1e-4) t.fail(`seed ${r.seed}: rate ${m[1]} beyond ${d}`);
      }
      if (/ undeliverable \(no reply\)/.test(l)) undeliverable++;
      if (/ port closed/.test(l)) unreachable++;
    }
  }
  t.ok(rates > 100, `${rates} clock rates checked`);
  t.ok(undeliverable > 0, `${undeliverable} requests timed out into 'undeliverable'`);
  t.ok(unreachable > 0, `${unreachable} followers saw a crashed primary's port closed`);
});

t.test('every shape has 3, 5 or 7 voters, and a seed picks only among the shapes it is given', async (t) => {
  t.same([...new Set(SHAPES.map((s) => s.voters))].sort(), [3, 5, 7]);
  const only = makeShape(2, 1, 0);
  t.equal(runSeed({ seed: 3, shapes: [only] }).shape.name, '2d+1w');
});

t.test('a node added to the network starts with every link up and leaves the others’ links as they were', async (t) => {
  const net = new Network(['a', 'b', 'c']);
  net.block(0, 1);
  net.block(2, 0);
  t.equal(net.add('d'), 3, 'the new node takes the next index');
  t.equal(net.size, 4);
  t.notOk(net.isUp(0, 1), 'a cut link stays cut');
  t.notOk(net.isUp(2, 0), 'a cut link stays cut');
  t.ok(net.isUp(1, 0) && net.isUp(0, 2) && net.isUp(1, 2), 'the other links stay up');
  t.ok(
    [0, 1, 2].every((i) => net.bothUp(i, 3)),
    'the new node reaches and is reached by every node',
  );
  t.match(net.partition('isolate', new SimRandom(1), 3), /isolate \{d\}/, 'the next partition takes it in');
});

t.test('membership runs replay exactly, and the members they add join, catch up and vote', async (t) => {
  const opts = { faults: { member_change: MEMBER_CHANGE_WEIGHT }, traceLimit: Infinity };
  const first = runSeed({ seed: 110007, ...opts });
  const again = runSeed({ seed: 110007, ...opts });
  t.equal(again.digest, first.digest, 'identical digest');
  t.same(again.stats, first.stats, 'identical stats');
  let joinedAndVoted = 0;
  let removed = 0;
  for (let seed = 110001; seed <= 110040; seed++) {
    const r = runSeed({ seed, ...opts });
    const joiners = new Set(r.trace.filter((l) => / start t0 vote - wm 0\/0 config - \(joining /.test(l)).map(nodeOf));
    for (const id of joiners) {
      // Listed as a voter (not catching up) in a configuration its primary committed.
      if (r.trace.some((l) => / configuration \S+ committed: /.test(l) && new RegExp(`[{,]${id}@`).test(l))) joinedAndVoted++;
    }
    r.trace.forEach((l, i) => {
      const asked = / membership change: remove (\S+)/.exec(l);
      if (!asked) return;
      const answer = r.trace.slice(i + 1).find((x) => / membership change (started|refused)| membership change: already/.test(x));
      if (!answer || !/ started/.test(answer)) return;
      const id = asked[1]!;
      const committed = r.trace.slice(i + 1).find((x) => / configuration \S+ committed: /.test(x));
      if (committed && !new RegExp(`[{,]${id}(\\(|@)`).test(committed)) removed++;
    });
  }
  t.ok(joinedAndVoted > 0, `${joinedAndVoted} joining processes were promoted to voters by the primary`);
  t.ok(removed > 0, `${removed} removals committed without the removed member`);
});

t.test('mismatched starts: each group is too few to elect on its own, and the rest keep an electable majority', async (t) => {
  let groups = 0;
  for (const shape of SHAPES) {
    const config = initialConfig('sim', shape.members, TIMING_PROFILES[0]!);
    for (let seed = 1; seed <= 40; seed++) {
      const mismatch = drawMismatch(new SimRandom(seed), config, TIMING_PROFILES);
      if (mismatch.size === 0) t.fail(`${shape.name} seed ${seed}: no node mismatched`);
      const byCluster = new Map<string, string[]>();
      for (const [id, c] of mismatch) {
        if (c.clusterId === config.clusterId) t.fail(`${shape.name} seed ${seed}: ${id} kept the cluster id`);
        byCluster.set(c.clusterId, [...(byCluster.get(c.clusterId) ?? []), id]);
      }
      for (const ids of byCluster.values()) {
        groups++;
        const alt = mismatch.get(ids[0]!)!;
        const altVoters = alt.members.filter(isVoter).map((m) => m.id);
        if (ids.filter((id) => altVoters.includes(id)).length >= quorumSize(altVoters.length)) {
          t.fail(`${shape.name} seed ${seed}: {${ids.join(',')}} are a majority of their own list`);
        }
      }
      const rest = config.members.filter((m) => !mismatch.has(m.id));
      if (rest.filter(isVoter).length < quorumSize(config.members.filter(isVoter).length) || !rest.some(isElectable)) {
        t.fail(`${shape.name} seed ${seed}: the rest lost its electable majority`);
      }
    }
  }
  t.ok(groups > SHAPES.length * 40, `${groups} mismatched groups checked`);
});
