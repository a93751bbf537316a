// Maintenance mode on real quorumd processes: the operator pauses automatic
// failover through a follower, a killed primary then causes no election (and a
// restarted member still holds the pause), a resume on a member with no
// primary elects one and lifts the pause, and the next kill fails over again.

import t from 'tap';
import type { StatusView } from '../../src/runtime/service.js';
import { waitFor } from '../kit/cluster.js';
import { ELECTION_BOUND_MS, TEST_TIMINGS, awaitAgreement, playAgents, shape, startCluster, waitReady } from './harness.js';

const ELECTION_WINDOW_MS = TEST_TIMINGS.electionTimeoutMs + TEST_TIMINGS.electionJitterMs;

interface ChangeReply {
  status?: string;
  paused?: boolean;
  error?: { code?: string };
}

t.test('pause, a kill that causes no election, resume, a kill that does', async (t) => {
  const ids = ['d1', 'd2', 'd3'];
  const cluster = await startCluster(t, shape(3), { perMemberCredentials: true });
  playAgents(t, cluster);
  const first = await waitReady(cluster, ids);
  const follower = ids.find((id) => id !== first.primaryId)!;

  const paused = await cluster.setPaused(follower, true);
  t.equal(paused.status, 200, 'POST /pause through a follower is made by the primary');
  t.match(paused.body as ChangeReply, { status: 'committed', paused: true });
  await waitFor(async () => [...(await cluster.statuses()).values()].every((s) => s.paused), 5_000, 'every node to show paused on /status');
  const metrics = await (await fetch(`${cluster.node(follower).url}/metrics`)).text();
  t.match(metrics, /^quorumd_failover_paused 1$/m, 'the metric says paused');

  // A kill while paused: no election, however long the survivors wait.
  await cluster.kill(first.primaryId);
  const survivors = ids.filter((id) => id !== first.primaryId);
  const watchUntil = Date.now() + 3 * ELECTION_WINDOW_MS;
  const seen: StatusView[] = [];
  while (Date.now() < watchUntil) {
    for (const s of (await cluster.statuses()).values()) seen.push(s);
    await new Promise((r) => setTimeout(r, 50));
  }
  t.ok(seen.length > 0, `${seen.length} statuses seen`);
  t.same(
    seen.filter((s) => s.role !== 'follower' || s.term !== first.term),
    [],
    'every survivor stayed a follower in the same term: no probe, no ballot, no primary',
  );

  // The killed member comes back: it holds the pause from its state file and stands no more than the others.
  await cluster.restart(first.primaryId);
  await cluster.waitUp(first.primaryId);
  const back = await cluster.status(first.primaryId);
  t.equal(back?.paused, true, 'the restarted member still holds the pause');

  // Resume on a member: no primary is heard, so it stands with the resume, wins and lifts the pause.
  const resumed = await cluster.setPaused(survivors[0]!, false, ELECTION_BOUND_MS);
  t.equal(resumed.status, 200, `POST /resume with no primary elects one (${JSON.stringify(resumed.body)})`);
  t.match(resumed.body as ChangeReply, { paused: false });
  const second = await awaitAgreement(cluster, ids);
  t.ok(second.term > first.term, `a primary of a later term: ${second.primaryId} in ${second.term}`);
  t.equal((await cluster.status(second.primaryId))?.paused, false, 'failover is no longer paused');

  // The next kill fails over.
  await cluster.kill(second.primaryId);
  const third = await awaitAgreement(
    cluster,
    ids.filter((id) => id !== second.primaryId),
    (a) => a.term > second.term,
  );
  t.not(third.primaryId, second.primaryId, `after the resume, a kill elects ${third.primaryId} in term ${third.term}`);
});
