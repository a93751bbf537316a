// Membership of real quorumd processes on loopback: the operator adds a member
// through a follower and the primary promotes it once it has caught up,
// removes members (the primary after handing over), bad requests change
// nothing, and nodes started with mismatched member lists or timings make
// different clusters that never count each other, while a restarted node
// with changed settings keeps its stored configuration and says so.

import t from 'tap';
import { request } from 'undici';
import type { StatusView } from '../../src/runtime/service.js';
import { type ProcessCluster, waitFor } from '../kit/cluster.js';
import { TEST_TIMINGS, awaitAgreement, members, playAgents, reportUntilAccepted, running, shape, startCluster, waitReady } from './harness.js';

/** One election timeout with its jitter: the longest a follower stays loyal without hearing a primary. */
const ELECTION_WINDOW_MS = TEST_TIMINGS.electionTimeoutMs + TEST_TIMINGS.electionJitterMs;

interface ChangeReply {
  status?: string;
  clusterId?: string;
  configTerm?: number;
  version?: number;
  quorum?: number;
  voters?: number;
  members?: Array<{ id: string; kind: string; state: string }>;
  error?: { code?: string; message?: string };
}

/** versions is each node's configuration version on GET /members. */
async function versions(cluster: ProcessCluster, ids: readonly string[]): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  for (const id of ids) out[id] = (await members(cluster, id))?.version ?? null;
  return out;
}

async function sameVersionEverywhere(cluster: ProcessCluster, ids: readonly string[], version: number): Promise<void> {
  await waitFor(
    async () => Object.values(await versions(cluster, ids)).every((v) => v === version),
    5_000,
    `every node of ${ids.join(', ')} to hold version ${version}`,
    20,
  );
}

/** metric reads one sample of a node's /metrics, or null when it is absent. */
async function metric(cluster: ProcessCluster, id: string, sample: string): Promise<number | null> {
  const res = await request(`${cluster.node(id).url}/metrics`, { signal: AbortSignal.timeout(2_000) });
  const line = (await res.body.text()).split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.split(' ').pop()) : null;
}

/**
 * watchPrimaries polls every running node's /status for `ms` and returns,
 * the nodes that said they were primary per cluster id and term and per term
 * alone, and every status seen per node.
 */
async function watchPrimaries(
  cluster: ProcessCluster,
  ms: number,
): Promise<{ primaries: Map<string, Set<string>>; byTerm: Map<number, Set<string>>; seen: Map<string, StatusView[]> }> {
  const primaries = new Map<string, Set<string>>();
  const byTerm = new Map<number, Set<string>>();
  const seen = new Map<string, StatusView[]>();
  const end = Date.now() + ms;
  while (Date.now() < end) {
    for (const [id, s] of await cluster.statuses()) {
      seen.set(id, [...(seen.get(id) ?? []), s]);
      if (s.role !== 'primary') continue;
      const key = `${s.clusterId} term ${s.term}`;
      primaries.set(key, new Set([...(primaries.get(key) ?? []), id]));
      byTerm.set(s.term, new Set([...(byTerm.get(s.term) ?? []), id]));
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { primaries, byTerm, seen };
}

t.test('the operator adds, promotes and removes members over REST; bad requests change nothing', async (t) => {
  const cluster = await startCluster(t, shape(3, 1), { perMemberCredentials: true, spares: [{ id: 'd4', kind: 'data' }] });
  playAgents(t, cluster);
  const bootstrap = ['d1', 'd2', 'd3', 'w1'];
  const first = await waitReady(cluster, bootstrap);
  const p = first.primaryId;
  const dataFollowers = ['d1', 'd2', 'd3'].filter((id) => id !== p);
  const before = (await members(cluster, p))!;
  t.equal(before.version, 1, 'the bootstrap configuration is version 1');

  // (4) Bad requests: a clear 4xx each, and the configuration stays as it was.
  const unknown = await cluster.deleteMember(dataFollowers[0]!, 'nobody');
  t.equal(unknown.status, 404, `removing an unknown member: 404 (${JSON.stringify(unknown.body)})`);
  t.equal((unknown.body as ChangeReply).error?.code, 'unknown_member', 'code unknown_member');
  const breaks = await cluster.putMember(p, dataFollowers[0]!, { url: cluster.node(dataFollowers[0]!).url, kind: 'witness' });
  t.equal(breaks.status, 409, 'turning a data voter into a witness (2 data of 4 voters can never acknowledge): 409');
  t.equal((breaks.body as ChangeReply).error?.code, 'would_break_cluster', JSON.stringify(breaks.body));
  const voting = await cluster.putMember(p, 'd4', { url: cluster.node('d4').url, kind: 'data', state: 'voting' });
  t.equal(voting.status, 409, 'a new member asking to vote at once: 409');
  t.equal((voting.body as ChangeReply).error?.code, 'invalid_change', JSON.stringify(voting.body));
  const bad = await cluster.putMember(dataFollowers[0]!, 'd4', { url: cluster.node('d4').url, kind: 'primary' });
  t.equal(bad.status, 400, 'a body of the wrong shape: 400');
  const notJson = await cluster.putMember(p, 'd4', '{"url":');
  t.equal(notJson.status, 400, 'a body that is not JSON: 400');
  t.strictSame(await versions(cluster, bootstrap), { d1: 1, d2: 1, d3: 1, w1: 1 }, 'no refused request changed any configuration');

  // (1) Add d4 through a follower: forwarded to the primary, committed with d4 catching up.
  const via = dataFollowers[0]!;
  const added = await cluster.putMember(via, 'd4', { url: cluster.node('d4').url, kind: 'data' });
  const addReply = added.body as ChangeReply;
  t.equal(added.status, 200, `adding d4 through follower ${via}: 200 (${JSON.stringify(added.body)})`);
  t.equal(added.headers['x-quorumd-forwarded-to'], cluster.node(p).url, 'the follower forwarded the change to the primary');
  t.equal(addReply.status, 'committed', 'status committed');
  t.equal(addReply.version, 2, 'version 2');
  t.equal(addReply.voters, 4, 'still 4 voters: the new member does not vote yet');
  t.equal(addReply.quorum, 3, 'quorum 3');
  t.match(
    addReply.members?.find((m) => m.id === 'd4'),
    { kind: 'data', state: 'catching_up' },
    'd4 joined catching_up',
  );
  await cluster.join('d4');
  // The agents report d4 at the primary's term, covering the watermark: the primary promotes d4 by itself.
  await waitFor(async () => (await members(cluster, p))?.members.find((m) => m.id === 'd4')?.state === 'voting', 10_000, 'the primary to promote d4', 20);
  const promoted = (await members(cluster, p))!;
  const [d4Status, primaryStatus] = [await cluster.status('d4'), await cluster.status(p)];
  const covers = (a: { term: number; lsn: number } | null | undefined, b: { term: number; lsn: number } | undefined) =>
    !!a && !!b && (a.term > b.term || (a.term === b.term && a.lsn >= b.lsn));
  t.ok(covers(d4Status?.position, primaryStatus?.commitWatermark), `d4's position ${JSON.stringify(d4Status?.position)} covers the commit watermark`);
  t.equal(promoted.version, 3, 'the promotion is version 3, made by the primary alone');
  t.equal(promoted.voters, 5, '5 voters');
  const everyone = [...bootstrap, 'd4'];
  await sameVersionEverywhere(cluster, everyone, 3);
  t.pass('GET /members shows version 3 on every node, d4 included');
  const d4 = await cluster.status('d4');
  t.equal(d4?.membership, 'member', 'd4 says it is a member');
  t.equal(d4?.clusterId, before.clusterId, 'of the cluster it joined');

  // (3) Removing the primary: it hands over first, and the new primary removes it.
  // The new primary answers once it has settled into its term (its
  // configuration committed, a write of its term acknowledged): at once, to
  // the operator.
  const handedTo = await cluster.deleteMember(p, p, 20_000);
  const handReply = handedTo.body as ChangeReply;
  t.equal(handedTo.status, 200, `${p} removed (${JSON.stringify(handReply)})`);
  t.equal(handReply.status, 'committed', 'status committed');
  t.notOk(
    handReply.members?.some((m) => m.id === p),
    `${p} is gone`,
  );
  t.equal(handReply.voters, 4, '4 voters left');
  t.ok((handReply.configTerm ?? 0) > first.term, `the configuration was written in a later term (${handReply.configTerm} > ${first.term})`);
  const forwardedTo = handedTo.headers['x-quorumd-forwarded-to'];
  const next = await waitReady(
    cluster,
    everyone.filter((id) => id !== p),
  );
  t.not(next.primaryId, p, `${next.primaryId} leads now`);
  t.equal(forwardedTo, cluster.node(next.primaryId).url, 'the reply came from the new primary');
  await waitFor(async () => (await cluster.status(p))?.membership === 'removed', 5_000, `${p} to learn it was removed`, 20);

  // (2) Removing a data follower: gone from the reply, and the removed process neither votes nor stands.
  const remaining = everyone.filter((id) => id !== p);
  const victim = remaining.find((id) => id !== next.primaryId && id !== 'w1')!;
  const removed = await cluster.deleteMember(next.primaryId, victim);
  const removeReply = removed.body as ChangeReply;
  t.equal(removed.status, 200, `removing ${victim}: 200 (${JSON.stringify(removed.body)})`);
  t.notOk(
    removeReply.members?.some((m) => m.id === victim),
    `${victim} is gone`,
  );
  t.equal(removeReply.voters, 3, '3 voters left');
  t.equal(removeReply.quorum, 2, 'quorum 2');
  await waitFor(async () => (await cluster.status(victim))?.membership === 'removed', 5_000, `${victim} to learn it was removed`, 20);
  const termBefore = (await cluster.status(victim))!.term;
  // Three election timeouts: a member that still stood would have become a candidate by now.
  const { seen } = await watchPrimaries(cluster, 3 * ELECTION_WINDOW_MS);
  for (const gone of [p, victim]) {
    const views = seen.get(gone) ?? [];
    t.ok(views.length > 0, `${gone} answered /status throughout`);
    t.ok(
      views.every((s) => s.membership === 'removed' && s.role === 'follower'),
      `${gone} stayed a removed follower`,
    );
  }
  t.ok(
    (seen.get(victim) ?? []).every((s) => s.term === termBefore),
    `${victim} never started an election (its term stayed ${termBefore})`,
  );
  const left = remaining.filter((id) => id !== victim);
  const finalVersion = (await members(cluster, next.primaryId))!.version;
  await sameVersionEverywhere(cluster, left, finalVersion);
  const after = await awaitAgreement(cluster, left);
  t.equal(after.primaryId, next.primaryId, 'the remaining members keep their primary');
});

t.test('five data nodes, two started with the old list {a,b,c}: different clusters, and neither elects', async (t) => {
  // a and b are a majority of their list {a,b,c}, and c, d, e of theirs, but
  // the lists give different cluster ids and a new cluster's first election
  // waits to hear every voter of its list speak its id: nobody is ever
  // primary, so no term can have two, and c says why (wrong_cluster).
  const five = ['a', 'b', 'c', 'd', 'e'];
  const cluster = await startCluster(
    t,
    five.map((id) => ({ id, kind: 'data' as const })),
    { membersFor: (id) => (id === 'a' || id === 'b' ? ['a', 'b', 'c'] : five) },
  );
  const { seen } = await watchPrimaries(cluster, 3 * ELECTION_WINDOW_MS);
  const last = (id: string) => seen.get(id)?.at(-1);
  t.equal(last('a')?.clusterId, last('b')?.clusterId, 'a and b made one cluster');
  t.not(last('a')?.clusterId, last('c')?.clusterId, "a different one from c's");
  t.ok(
    ['c', 'd', 'e'].every((id) => last(id)?.clusterId === last('c')?.clusterId),
    'c, d and e are one cluster',
  );
  for (const id of five) {
    t.ok(
      (seen.get(id) ?? []).length > 0 && (seen.get(id) ?? []).every((st) => st.role !== 'primary' && st.primaryId === null),
      `${id} never was or had a primary`,
    );
  }
  t.ok(((await metric(cluster, 'c', 'quorumd_votes_total{phase="probe",result="wrong_cluster"}')) ?? 0) > 0, "c refused a and b's probes: wrong_cluster");
});

t.test('mismatched timings make another cluster, and nobody is elected until the settings agree', async (t) => {
  const cluster = await startCluster(t, shape(3), {
    envFor: (id): Record<string, string> => (id === 'd3' ? { QUORUMD_ELECTION_TIMEOUT_MS: String(TEST_TIMINGS.electionTimeoutMs + 100) } : {}),
  });
  const { seen } = await watchPrimaries(cluster, 3 * ELECTION_WINDOW_MS);
  const [s1, s2, s3] = [await cluster.status('d1'), await cluster.status('d2'), await cluster.status('d3')];
  t.equal(s1?.clusterId, s2?.clusterId, 'd1 and d2 made one cluster');
  t.not(s3?.clusterId, s1?.clusterId, 'd3, started with another election timeout, made another');
  for (const id of ['d1', 'd2', 'd3']) {
    t.ok(
      (seen.get(id) ?? []).length > 0 && (seen.get(id) ?? []).every((st) => st.role !== 'primary'),
      `${id} never became primary: the lease a primary computes from its timings would not match d3's loyalty`,
    );
  }
  t.ok(running(cluster).length === 3, 'every node kept running');
});

t.test('a restart with a changed member list keeps the stored configuration and reports the difference', async (t) => {
  const changed: Record<string, Record<string, string>> = {};
  const cluster = await startCluster(t, shape(3), { envFor: (id) => changed[id] ?? {} });
  const agreed = await awaitAgreement(cluster, ['d1', 'd2', 'd3']);
  const s1 = await cluster.status('d1');
  t.equal((await cluster.status(agreed.primaryId))?.configDifferences.length, 0, 'a node started with its own settings reports no difference');

  // d1 restarted with d3 left out of its list: its stored configuration wins.
  const clusterId = s1?.clusterId;
  changed.d1 = { QUORUMD_MEMBERS: cluster.membersJsonOf(['d1', 'd2']) };
  await cluster.restart('d1');
  await cluster.waitUp('d1');
  await reportUntilAccepted(cluster, 'd1');
  const restarted = await cluster.status('d1');
  t.equal(restarted?.clusterId, clusterId, 'd1 keeps its cluster id');
  t.equal(restarted?.membership, 'member', 'd1 is still a member');
  t.match(restarted?.configDifferences, [/d3/], `the difference is on /status (${JSON.stringify(restarted?.configDifferences)})`);
  t.equal(await metric(cluster, 'd1', 'quorumd_config_differences'), restarted?.configDifferences.length, 'and in quorumd_config_differences');
  t.equal((await members(cluster, 'd1'))?.members.length, 3, 'd1 still lists all three members');
  await awaitAgreement(cluster, ['d1', 'd2', 'd3']);
});
