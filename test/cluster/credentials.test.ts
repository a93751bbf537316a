// Per-member credentials between real quorumd processes: a cluster whose
// nodes each hold only their own peer token (and the others' digests) elects
// a primary; a follower's real token cannot speak in the primary's name, so a
// forged heartbeat or handoff changes nothing anywhere; the agent's token
// cannot switch over and the operator's cannot report a log position; the
// operator's token can switch over.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import type { ProcessCluster } from '../kit/cluster.js';
import { CALM_BOUND_MS, CALM_TIMINGS, awaitAgreement, running, shape, startCluster } from './harness.js';

interface Snapshot {
  readonly term: number;
  readonly role: string;
  readonly primaryId: string | null;
  readonly state: string;
}

async function snapshot(cluster: ProcessCluster): Promise<Map<string, Snapshot>> {
  const out = new Map<string, Snapshot>();
  for (const id of cluster.nodes.keys()) {
    const s = await cluster.status(id, 2_000);
    if (!s) throw new Error(`${id} does not answer /status`);
    out.set(id, { term: s.term, role: s.role, primaryId: s.primaryId, state: readFileSync(join(cluster.node(id).dataDir, 'state.json'), 'utf8') });
  }
  return out;
}

async function post(
  cluster: ProcessCluster,
  id: string,
  method: 'POST' | 'PUT',
  path: string,
  headers: Record<string, string>,
  body: unknown,
  timeoutMs = 2_000,
): Promise<{ status: number; body: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  const res = await request(cluster.node(id).url + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : {} };
}

async function refusalCount(cluster: ProcessCluster, id: string, reason: string): Promise<number> {
  const res = await request(`${cluster.node(id).url}/metrics`, { signal: AbortSignal.timeout(2_000) });
  const text = await res.body.text();
  const line = text.split('\n').find((l) => l.startsWith(`quorumd_auth_refusals_total{reason="${reason}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

t.test('per-member credentials: elected, forged claims refused and harmless, each role confined to its route', async (t) => {
  // The cluster is compared before and after the forged messages: calm timings, so that a busy machine holds no election in between.
  const cluster = await startCluster(t, shape(3), { perMemberCredentials: true, timings: CALM_TIMINGS });
  const creds = cluster.credentials;
  if (!creds) throw new Error('the cluster has no credentials');
  const agreed = await awaitAgreement(cluster, running(cluster), undefined, CALM_BOUND_MS);
  t.ok(agreed.term >= 1, `elected ${agreed.primaryId} in term ${agreed.term}`);
  const primary = agreed.primaryId;
  const ids = [...cluster.nodes.keys()];
  const b = ids.find((id) => id !== primary)!;
  const targets = ids.filter((id) => id !== b);
  const bAuth = cluster.authHeader({ peer: b });

  const heartbeat = await cluster.primaryHeartbeat(primary);

  const before = await snapshot(cluster);
  for (const id of targets) {
    const hb = await post(cluster, id, 'POST', '/heartbeat', bAuth, heartbeat);
    t.equal(hb.status, 403, `a heartbeat to ${id} in ${primary}'s name with ${b}'s token: 403`);
    t.equal(hb.body.error?.code, 'identity_mismatch');
    t.match(hb.body.error?.message, new RegExp(`"${primary}".*"${b}"`), 'naming both members');
    const ho = await post(cluster, id, 'POST', '/handoff', bAuth, { clusterId: heartbeat.config.clusterId, term: heartbeat.term, primaryId: primary });
    t.equal(ho.status, 403, `a handoff to ${id} in ${primary}'s name with ${b}'s token: 403`);
    t.equal(ho.body.error?.code, 'identity_mismatch');
  }
  // Give a handoff that slipped through the time to start an election.
  await new Promise((r) => setTimeout(r, 500));
  const after = await snapshot(cluster);
  for (const id of ids) t.strictSame(after.get(id), before.get(id), `${id}: term, role, primary and state.json bytes unchanged`);
  const lease = await cluster.status(primary, 2_000);
  t.equal(lease?.role, 'primary');
  t.ok(lease?.lease.holds, `${primary} keeps its lease`);
  for (const id of targets) t.ok((await refusalCount(cluster, id, 'identity_mismatch')) >= 2, `${id} counted the forged messages`);

  const agentSwitch = await post(cluster, primary, 'POST', '/switchover', cluster.authHeader('agent'), {});
  t.equal(agentSwitch.status, 403, "the agent's token cannot switch over");
  t.equal(agentSwitch.body.error?.code, 'forbidden');
  const operatorLog = await post(cluster, b, 'PUT', '/log', cluster.authHeader('operator'), { term: 0, lsn: 1 });
  t.equal(operatorLog.status, 403, "the operator's token cannot report a log position");
  t.equal(operatorLog.body.error?.code, 'forbidden');
  const peerLog = await post(cluster, b, 'PUT', '/log', bAuth, { term: 0, lsn: 1 });
  t.equal(peerLog.status, 403, 'nor can a peer token');
  t.strictSame(
    await cluster.status(primary, 2_000).then((s) => s && { role: s.role, term: s.term }),
    { role: 'primary', term: agreed.term },
    'still the same primary and term',
  );

  const switched = await post(cluster, primary, 'POST', '/switchover', cluster.authHeader('operator'), { target: b }, 20_000);
  t.equal(switched.status, 200, `the operator's token switches over to ${b} (${JSON.stringify(switched.body)})`);
  const next = await awaitAgreement(cluster, running(cluster), (a) => a.term > agreed.term, CALM_BOUND_MS);
  t.equal(next.primaryId, b, `${b} leads term ${next.term}, elected with real handoff and ballots`);
});
