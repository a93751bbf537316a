// The lease on the agent's clock (PUT /log): the arithmetic of
// src/runtime/lease-report.ts (shortened by the drift bound, rounded down,
// capped, null without a lease, leaseRemainingMs without a clock reading),
// and in-process nodes over loopback: the primary's reply says until when it
// may serve, exactly when its status says it holds its lease, never past the
// lease's length; a follower's says it may not.

import t from 'tap';
import { MAX_COUNT } from '../../src/schemas.js';
import { agentLease } from '../../src/runtime/lease-report.js';
import type { PositionReply } from '../../src/runtime/service.js';
import { waitFor } from '../kit/cluster.js';
import { TIMINGS, awaitPrimary, startLocalCluster, type LocalNode } from './support.js';

t.test('the remaining lease moves onto the agent clock, shortened by the drift bound and rounded down', async (t) => {
  t.strictSame(agentLease(105, 0.05, 1_000), { leaseUntil: 1_095 }, '105 ms at 5% drift each way: 95 ms after the reading');
  t.strictSame(agentLease(100, 0.05, 1_000), { leaseUntil: 1_090 }, 'a fraction of a millisecond is dropped (90.48 ms)');
  t.strictSame(agentLease(100, 0, 1_000), { leaseUntil: 1_100 }, 'with no drift, the whole remainder');
  t.strictSame(agentLease(0, 0.05, 1_000), { leaseUntil: 1_000 }, 'a lease ending now ends at the reading');
  t.strictSame(agentLease(null, 0.05, 1_000), { leaseUntil: null }, 'no lease: null');
  t.strictSame(agentLease(100, 0.05, MAX_COUNT - 10), { leaseUntil: MAX_COUNT }, 'capped at the largest count, which is earlier');
  t.strictSame(agentLease(105, 0.05, undefined), { leaseRemainingMs: 95 }, 'without a clock reading, the shortened duration');
  t.strictSame(agentLease(null, 0.05, undefined), { leaseRemainingMs: null }, 'and null without a lease');
});

async function report(node: LocalNode, agentClockMs?: number): Promise<PositionReply> {
  const position = node.runtime.status().position ?? { term: 0, lsn: 0 };
  const payload = agentClockMs === undefined ? position : { ...position, agentClockMs };
  const res = await node.app.inject({ method: 'PUT', url: '/log', payload });
  if (res.statusCode !== 200) throw new Error(`PUT /log answered ${res.statusCode}: ${res.body}`);
  return res.json() as PositionReply;
}

t.test("PUT /log answers the primary's lease on the agent's clock, and null on a follower", async (t) => {
  const cluster = await startLocalCluster(t, [
    { id: 'a', kind: 'data' },
    { id: 'b', kind: 'data' },
    { id: 'w', kind: 'witness' },
  ]);
  const primary = await awaitPrimary(cluster);
  const startTerm = primary.runtime.status().term;
  const follower = [...cluster.nodes.values()].find((n) => n !== primary && n.id !== 'w')!;
  const agentClockMs = 7_000_000;
  const d = TIMINGS.clockDriftBound;

  // On a loaded machine a primary may lose its lease for a moment: ask until
  // one reply carries a lease, checking every reply on the way.
  let leased: PositionReply | null = null;
  const checked: string[] = [];
  await waitFor(
    async () => {
      const r = await report(primary, agentClockMs);
      if ((r.leaseUntil !== null) !== r.lease.holds) checked.push(`leaseUntil ${r.leaseUntil} with lease.holds ${r.lease.holds}`);
      if (r.leaseUntil !== null && r.leaseUntil !== undefined) {
        const bound = agentClockMs + Math.floor((r.timings.leaseMs * (1 - d)) / (1 + d));
        if (r.leaseUntil < agentClockMs || r.leaseUntil > bound) checked.push(`leaseUntil ${r.leaseUntil} outside [${agentClockMs}, ${bound}]`);
        if (r.leaseUntil - agentClockMs > r.lease.remainingMs) checked.push(`leaseUntil ${r.leaseUntil} past the remaining lease ${r.lease.remainingMs}`);
        leased = r;
      }
      return leased !== null;
    },
    30_000,
    'a reply from the primary while it holds its lease',
  );
  t.strictSame(checked, [], 'leaseUntil is set exactly when the lease is held, within the lease and before its end');
  // (A loaded machine may have held another election meanwhile: a newer term.)
  t.equal(leased!.role, 'primary', 'the reply names the role');
  t.ok(leased!.term >= startTerm, `and the term (${leased!.term}, elected in ${startTerm} or later)`);
  t.notOk('leaseRemainingMs' in leased!, 'with a clock reading, leaseUntil alone');

  const plain = await report(primary);
  t.notOk('leaseUntil' in plain, 'without a clock reading, no leaseUntil');
  t.equal(plain.leaseRemainingMs !== null, plain.lease.holds, 'leaseRemainingMs is set exactly when the lease is held');
  if (plain.leaseRemainingMs !== null && plain.leaseRemainingMs !== undefined) {
    t.ok(plain.leaseRemainingMs <= Math.floor((plain.timings.leaseMs * (1 - d)) / (1 + d)), 'and within the shortened lease');
  }

  const followerReply = await report(follower, agentClockMs);
  t.not(followerReply.role, 'primary', 'the other data member is not the primary');
  t.equal(followerReply.leaseUntil, null, 'a follower may not serve as primary: null');
  t.equal((await report(follower)).leaseRemainingMs, null, 'nor without a clock reading');
});
