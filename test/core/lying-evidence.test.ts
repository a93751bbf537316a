// Evidence that lies: the runtime tells a follower 'primary_unreachable' when
// its primary's port refused a connection, but a refusal also comes from a
// firewall REJECT rule, a proxy that lost its backend, or a stale url for a
// primary that lives and holds its lease. Whatever a follower is told, no two
// nodes may hold a lease at the same instant: a new primary serves only once
// the old lease has ended, and a primary whose heartbeats still reach a
// majority is not deposed at all.
//
// Each scenario runs three data nodes on one clock through the core harness,
// with a primary (a) that holds its lease, and checks after every step of any
// node that at most one node holds a lease at that instant.

import t from 'tap';
import type { Message } from '../../src/core/index.js';
import { AFTER_START_LOYALTY, Cluster, TIMINGS, data, pos, type Envelope } from '../support/core-harness.js';

const IDS = ['a', 'b', 'c'] as const;
const HB = TIMINGS.heartbeatMs;
/** Long enough for any election the evidence could start, and for the majority's election after a cut. */
const WATCH_MS = 20 * TIMINGS.electionTimeoutMs;

/** What becomes of a message in flight: delivered, refused at once (its sender learns), or lost without a word. */
type Fate = 'deliver' | 'refuse' | 'drop';

/** A request opens a connection of its sender's; a reply travels back on the asker's. */
function isRequest(m: Message): boolean {
  return m.type === 'vote_request' || m.type === 'heartbeat' || m.type === 'handoff';
}

interface Watched {
  readonly cluster: Cluster;
  /** Instants at which more than one node held a lease, with the holders. */
  readonly overlaps: string[];
}

/**
 * healthyPrimaryA: a, b and c in term 1 with the same log; a wins term 2 and
 * runs heartbeat rounds until it holds its lease and both followers have
 * heard it for a few rounds (so it has named an heir). From then on every
 * step of every node is checked for overlapping leases.
 */
function healthyPrimaryA(): Watched {
  const cluster = new Cluster(
    IDS.map((id) => data(id)),
    Object.fromEntries(IDS.map((id) => [id, { term: 1, position: pos(1, 10) }])),
  );
  cluster.elect('a', AFTER_START_LOYALTY);
  const a = cluster.node('a');
  // A winner may wait out older leases before it serves: run until a does.
  for (let until = cluster.now + HB; !a.holdsLease(cluster.now); until += HB) {
    if (until > AFTER_START_LOYALTY + WATCH_MS) throw new Error('a never held its lease');
    cluster.run(until);
  }
  cluster.run(cluster.now + 4 * HB);
  if (!a.holdsLease(cluster.now)) throw new Error('a lost its lease on a healthy network');
  const overlaps: string[] = [];
  cluster.onStep = () => {
    const holders = IDS.filter((id) => cluster.node(id).holdsLease(cluster.now));
    const words = `at ${cluster.now} ms: ${holders.join(' and ')} hold a lease`;
    if (holders.length > 1 && overlaps.at(-1) !== words) overlaps.push(words);
  };
  return { cluster, overlaps };
}

/**
 * runWith advances the cluster to `until`, ticking each node when its timer
 * is due and settling every message in flight after each tick, as `fate`
 * says; `delivered` is called after each delivery (the runtime's evidence).
 */
function runWith(cluster: Cluster, until: number, fate: (env: Envelope) => Fate, delivered: (env: Envelope) => void = () => undefined): void {
  for (;;) {
    let next: { id: string; at: number } | null = null;
    for (const [id, n] of cluster.nodes) if (next === null || n.nextTimer < next.at) next = { id, at: n.nextTimer };
    if (next === null || next.at > until) break;
    const at = Math.max(cluster.now, next.at);
    cluster.tick(next.id, at);
    if (cluster.node(next.id).nextTimer <= at) throw new Error(`${next.id} did not rearm its timer after a tick at ${at}`);
    for (let env = cluster.inFlight.shift(); env !== undefined; env = cluster.inFlight.shift()) {
      const f = fate(env);
      if (f === 'refuse') cluster.step(env.from, { type: 'undeliverable', now: cluster.now, to: env.to, message: env.message });
      else if (f === 'deliver' && cluster.nodes.has(env.to)) {
        cluster.step(env.to, { type: 'message', now: cluster.now, message: env.message });
        delivered(env);
      }
    }
  }
  cluster.now = Math.max(cluster.now, until);
}

/** Who ever took the primary role besides a (a was the only primary before the scenario began). */
function otherPrimaries(cluster: Cluster): string[] {
  return [...new Set(cluster.roleLog.filter((r) => r.change.role === 'primary' && r.id !== 'a').map((r) => `${r.id} in term ${r.change.term}`))];
}

t.test('a REJECT cut around a live primary: the followers see its port refuse, and no two nodes hold a lease at once', async (t) => {
  // The cut resets a's heartbeat connections and refuses every new one both
  // ways, so b and c see a's port refuse while a lives and holds the lease of
  // its last round. They are a majority and may elect one of them, but the
  // new primary must not serve before a's lease has ended.
  const { cluster, overlaps } = healthyPrimaryA();
  const a = cluster.node('a');
  const cutAt = cluster.now;
  t.ok(a.holdsLease(cutAt), 'a holds its lease when the cut comes');
  cluster.cut = (from, to) => (from === 'a') !== (to === 'a');
  for (const id of ['b', 'c']) cluster.step(id, { type: 'primary_unreachable', now: cutAt, primaryId: 'a' });
  cluster.run(cutAt + WATCH_MS);
  t.same(overlaps, [], 'no two nodes hold a lease at the same instant');
  const serving = ['b', 'c'].filter((id) => cluster.node(id).holdsLease(cluster.now));
  t.equal(serving.length, 1, `the majority side ends with one primary that serves (${serving.join(', ') || 'none'})`);
});

t.test('a proxy without a backend in front of a live primary: its heartbeats reach everyone, which is no reason to depose it', async (t) => {
  // Every follower's own connections to a are refused (a proxy with no
  // backend), while a's heartbeats and the replies to them still cross; each
  // heartbeat connection is recycled as soon as it was used, and each time the
  // follower sees a's port refuse. a never loses its majority.
  const { cluster, overlaps } = healthyPrimaryA();
  const from = cluster.now;
  let told = 0;
  runWith(
    cluster,
    from + WATCH_MS,
    (env) => (env.to === 'a' && isRequest(env.message) ? 'refuse' : 'deliver'),
    (env) => {
      if (env.message.type !== 'heartbeat' || env.message.primaryId !== 'a') return;
      told++;
      cluster.step(env.to, { type: 'primary_unreachable', now: cluster.now, primaryId: 'a' });
    },
  );
  t.ok(told > 10, `b and c were told again and again that a is gone (${told} times)`);
  t.same(overlaps, [], 'no two nodes hold a lease at the same instant');
  t.same(otherPrimaries(cluster), [], 'no other node becomes primary');
  t.ok(cluster.node('a').holdsLease(cluster.now), 'a still holds its lease');
});

t.test('a stale url on one follower, while the other is cut off: the lying follower lends no vote against a live primary', async (t) => {
  // b holds a stale url for a: b's own connections to a are refused, and b is
  // told a is gone after every heartbeat, while a's heartbeats reach b and
  // b's acknowledgements keep a's lease. c is cut off from a (packets dropped)
  // and, hearing nothing, stands: with b's vote it would be a second primary
  // while a still serves. b and c may elect one of them (a lost c, and b's
  // evidence may start its probe early), but only to serve once a's lease,
  // which b's acknowledgements kept up to then, has ended.
  const { cluster, overlaps } = healthyPrimaryA();
  const from = cluster.now;
  let told = 0;
  runWith(
    cluster,
    from + WATCH_MS,
    (env) => {
      if ((env.from === 'a' && env.to === 'c') || (env.from === 'c' && env.to === 'a')) return 'drop';
      return env.from === 'b' && env.to === 'a' && isRequest(env.message) ? 'refuse' : 'deliver';
    },
    (env) => {
      if (env.to !== 'b' || env.message.type !== 'heartbeat' || env.message.primaryId !== 'a') return;
      told++;
      cluster.step('b', { type: 'primary_unreachable', now: cluster.now, primaryId: 'a' });
    },
  );
  t.ok(told > 0, `b was told a is gone (${told} times)`);
  t.same(overlaps, [], 'no two nodes hold a lease at the same instant');
  const serving = IDS.filter((id) => cluster.node(id).holdsLease(cluster.now));
  t.equal(serving.length, 1, `one primary serves in the end (${serving.join(', ') || 'none'})`);
});
