// Maintenance mode on real quorumd processes: the operator pauses automatic
// failover through a follower, a killed primary then causes no election (and a
// restarted member still holds the pause), a resume on a member with no
// primary elects one and lifts the pause, and the next kill fails over again.
// Failover priority: a switchover picks the higher priority, and a member of
// priority 0 never leads.

import t from 'tap';
import { request } from 'undici';
import type { StatusView } from '../../src/runtime/service.js';
import { type ProcessCluster, waitFor } from '../kit/cluster.js';
import { CALM_BOUND_MS, CALM_TIMINGS, ELECTION_BOUND_MS, TEST_TIMINGS, awaitAgreement, playAgents, shape, startCluster, waitReady } from './harness.js';

/** killPrimary kills the agreed primary and waits for the others to agree on a primary of a later term. */
async function killPrimary(cluster: ProcessCluster, ids: readonly string[], agreed: { primaryId: string; term: number }) {
  await cluster.kill(agreed.primaryId);
  return awaitAgreement(
    cluster,
    ids.filter((id) => id !== agreed.primaryId),
    (a) => a.term > agreed.term,
    CALM_BOUND_MS,
  );
}

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
  // A process just started on a busy machine may take a while to answer: a longer bound than the kit's half second.
  const back = await cluster.status(first.primaryId, 5_000);
  t.equal(back?.paused, true, 'the restarted member still holds the pause');

  // Resume on a member: no primary is heard, so it stands with the resume, wins and lifts the pause.
  const resumed = await cluster.setPaused(survivors[0]!, false, ELECTION_BOUND_MS);
  t.equal(resumed.status, 200, `POST /resume with no primary elects one (${JSON.stringify(resumed.body)})`);
  t.match(resumed.body as ChangeReply, { paused: false });
  const second = await awaitAgreement(cluster, ids);
  t.ok(second.term > first.term, `a primary of a later term: ${second.primaryId} in ${second.term}`);
  t.equal((await cluster.status(second.primaryId))?.paused, false, 'failover is no longer paused');

  // The next kill fails over.
  const third = await killPrimary(cluster, ids, second);
  t.not(third.primaryId, second.primaryId, `after the resume, a kill elects ${third.primaryId} in term ${third.term}`);
});

t.test('failover priority on real processes: a switchover picks the higher priority, and priority 0 never becomes primary', async (t) => {
  const ids = ['d1', 'd2', 'd3', 'd4'];
  // A switchover is given up after one election timeout, and waits first for the lease the agents were given: calm timings.
  const cluster = await startCluster(t, shape(4), { perMemberCredentials: true, timings: CALM_TIMINGS });
  playAgents(t, cluster);
  const first = await waitReady(cluster, ids);
  const [never, preferred] = ids.filter((id) => id !== first.primaryId) as [string, string];
  /** The term of the configuration that gave `never` priority 0 (PUT's configTerm): from then on it may lead no term. */
  let zeroSince = Number.NaN;
  for (const [id, priority] of [
    [never, 0],
    [preferred, 5],
  ] as const) {
    const put = await cluster.putMember(first.primaryId, id, { url: cluster.node(id).url, kind: 'data', priority });
    t.equal(put.status, 200, `${id} gets priority ${priority}`);
    if (id === never) zeroSince = (put.body as { configTerm: number }).configTerm;
    await waitReady(cluster, ids);
  }
  const view = (
    await cluster.get<{ members: Array<{ id: string; electable: boolean; notElectableBecause?: string | null }> }>(first.primaryId, '/cluster', 2_000)
  )?.body;
  t.match(
    view?.members.find((m) => m.id === never),
    { electable: false, notElectableBecause: /priority is 0/ },
    `GET /cluster says ${never} never stands`,
  );

  // A switchover with no target picks the member of higher priority.
  const res = await request(`${cluster.node(first.primaryId).url}/switchover`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...cluster.authHeader('operator') },
    body: '{}',
    signal: AbortSignal.timeout(15_000),
  });
  const answer = (await res.body.json()) as { status?: string; target?: string };
  t.match(answer, { target: preferred }, `the switchover picked ${preferred} (priority 5)`);
  const second = await awaitAgreement(cluster, ids, (a) => a.primaryId === preferred, CALM_BOUND_MS);

  // Kill the primaries one after another: the priority-0 member is never elected.
  const third = await killPrimary(cluster, ids, second);
  t.not(third.primaryId, never, `after a kill, ${third.primaryId} leads, not ${never}`);
  // Terms before its priority 0 may have been led by anyone: a start on a busy machine may elect more than once.
  const history = await cluster.get<Array<{ term: number; primaryId: string }>>(never, '/history', 2_000);
  t.ok(history && Number.isInteger(zeroSince), `${never} answers /history, and its priority 0 came in term ${zeroSince}`);
  t.same(
    history?.body.filter((h) => h.primaryId === never && h.term >= zeroSince),
    [],
    `${never} led no term since it got priority 0 (in term ${zeroSince})`,
  );
});
