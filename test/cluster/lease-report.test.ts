// The lease reaches the data store on real processes: the agent's position
// report (PUT /log) on the primary returns leaseUntil, an instant on the
// agent's own monotonic clock. When quorumd hangs (SIGSTOP), or hands over in
// a switchover, the store that stops serving at the last leaseUntil it was
// given has stopped before any successor serves. The test process plays the
// agent, on the same machine clock as the nodes.

import { performance } from 'node:perf_hooks';
import t from 'tap';
import { request } from 'undici';
import { type ProcessCluster, waitFor } from '../kit/cluster.js';
import { ELECTION_BOUND_MS, TEST_TIMINGS, awaitAgreement, running, shape, startCluster } from './harness.js';

/** report plays the agent once: its position and clock reading; the reply's leaseUntil, or undefined if no reply came. */
async function report(cluster: ProcessCluster, id: string): Promise<number | null | undefined> {
  try {
    const res = await request(`${cluster.node(id).url}/log`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...cluster.authHeader('agent') },
      body: JSON.stringify({ term: 0, lsn: 0, agentClockMs: Math.floor(performance.now()) }),
      // Bounded, so that the agent gives up on a stopped primary; a second, so that a busy machine answers in time.
      signal: AbortSignal.timeout(1_000),
    });
    const body = (await res.body.json()) as { leaseUntil?: number | null };
    return res.statusCode === 200 ? body.leaseUntil : undefined;
  } catch {
    return undefined;
  }
}

/** playAgent reports to `id` every few milliseconds, as a store would; stop() gives the latest leaseUntil it was given. */
function playAgent(cluster: ProcessCluster, id: string): { stop(): Promise<number> } {
  let lastUntil = 0;
  let reporting = true;
  const loop = (async () => {
    while (reporting) {
      const u = await report(cluster, id);
      if (typeof u === 'number') lastUntil = Math.max(lastUntil, u);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    async stop() {
      reporting = false;
      await loop;
      return lastUntil;
    },
  };
}

/** servedBy polls /primary on `ids` until one answers 200: the end of that poll bounds from above when it began to serve. */
async function servedBy(cluster: ProcessCluster, ids: readonly string[]): Promise<number> {
  let at = 0;
  await waitFor(
    async () => {
      const answers = await Promise.all(ids.map((id) => cluster.get(id, '/primary', TEST_TIMINGS.electionTimeoutMs)));
      at = performance.now();
      return answers.some((a) => a?.status === 200);
    },
    ELECTION_BOUND_MS,
    'a successor to serve',
    1,
  );
  return at;
}

t.test('PUT /log gives the primary a leaseUntil on the agent clock, followers null, and a hung primary lease ends before its successor serves', async (t) => {
  const cluster = await startCluster(t, shape(3));
  // On a busy machine the lease may lapse, or another election come, at any
  // moment: the primary and its followers are judged on one round of reports,
  // sent just after a round of reads in which all agreed, and asked again
  // until the primary gives a leaseUntil.
  let first = { primaryId: '', term: 0 };
  let followers: string[] = [];
  let readAt = 0;
  let until: number | null | undefined;
  let followerLeases: Array<number | null | undefined> = [];
  await waitFor(
    async () => {
      first = await awaitAgreement(cluster, running(cluster));
      followers = running(cluster).filter((id) => id !== first.primaryId);
      readAt = performance.now();
      [until, ...followerLeases] = await Promise.all([first.primaryId, ...followers].map((id) => report(cluster, id)));
      return typeof until === 'number' && followerLeases.every((l) => l !== undefined);
    },
    ELECTION_BOUND_MS,
    'the agreed primary to give a leaseUntil',
  );
  t.ok(
    typeof until === 'number' && until > readAt && until <= readAt + TEST_TIMINGS.leaseMs,
    `the primary gives a leaseUntil within one lease of the reading (${until})`,
  );
  for (const [i, id] of followers.entries()) t.equal(followerLeases[i], null, `${id}, a follower, gives null`);

  // The agent reports as a store would until the hung primary stops answering.
  const agent = playAgent(cluster, first.primaryId);
  await new Promise((r) => setTimeout(r, 4 * TEST_TIMINGS.heartbeatMs));
  await cluster.kill(first.primaryId, 'SIGSTOP');
  t.teardown(() => cluster.kill(first.primaryId, 'SIGCONT'));
  const served = await servedBy(cluster, followers);
  const lastUntil = await agent.stop();
  t.ok(lastUntil > readAt, `the agent held a lease from the primary until ${Math.round(lastUntil)}`);
  t.ok(served >= lastUntil, `a successor served by ${Math.round(served)}, after the last leaseUntil the agent was given (${Math.round(lastUntil)})`);
  await awaitAgreement(cluster, followers, (a) => a.primaryId !== first.primaryId);
});

t.test('a switchover hands over only once the last leaseUntil given to the old primary store has passed', async (t) => {
  // A primary gives a switchover up after an election timeout: a second here,
  // so that a busy machine does not end it; the lease under test is unchanged.
  const cluster = await startCluster(t, shape(3), { timings: { ...TEST_TIMINGS, electionTimeoutMs: 1000 } });
  const first = await awaitAgreement(cluster, running(cluster));
  const followers = running(cluster).filter((id) => id !== first.primaryId);
  const agent = playAgent(cluster, first.primaryId);
  await new Promise((r) => setTimeout(r, 4 * TEST_TIMINGS.heartbeatMs));
  const answer = request(`${cluster.node(first.primaryId).url}/switchover`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...cluster.authHeader('operator') },
    body: '{}',
    signal: AbortSignal.timeout(ELECTION_BOUND_MS),
  });
  const served = await servedBy(cluster, followers);
  const res = await answer;
  const outcome = (await res.body.json()) as { status?: string; target?: string };
  const lastUntil = await agent.stop();
  t.equal(res.statusCode, 200, `the switchover completed (${JSON.stringify(outcome)})`);
  t.ok(lastUntil > 0, `the agent held a lease from the old primary until ${Math.round(lastUntil)}`);
  t.ok(served >= lastUntil, `${outcome.target} served by ${Math.round(served)}, after that leaseUntil (${Math.round(lastUntil)})`);
});
