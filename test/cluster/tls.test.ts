// Mutual TLS between real quorumd processes: three data nodes, each with its
// own certificate from a throwaway cluster CA, elect a primary over https and
// elect another when it is killed; a follower's real certificate cannot speak
// in the primary's name (403, and nothing changes anywhere), and a
// certificate from another CA cannot speak at all.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Agent, request } from 'undici';
import type { ProcessCluster } from '../kit/cluster.js';
import { makeCa, makeMemberCert } from '../kit/certs.js';
import { awaitAgreement, running, shape, startCluster } from './harness.js';

/** A client that trusts the cluster CA and presents the certificate in `file`.crt. */
function client(t: Test, dir: string, file: string): Agent {
  const a = new Agent({
    connect: {
      ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      cert: readFileSync(join(dir, `${file}.crt`), 'utf8'),
      key: readFileSync(join(dir, `${file}.key`), 'utf8'),
      checkServerIdentity: () => undefined,
    },
  });
  t.teardown(() => a.close());
  return a;
}

async function post(
  cluster: ProcessCluster,
  id: string,
  path: string,
  dispatcher: Agent,
  body: unknown,
): Promise<{ status: number; body: { error?: { code: string; message: string } } }> {
  const res = await request(cluster.node(id).url + path, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : {} };
}

async function snapshot(cluster: ProcessCluster, ids: readonly string[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const id of ids) {
    const s = await cluster.status(id, 2_000);
    out[id] = { term: s?.term, role: s?.role, primaryId: s?.primaryId, state: readFileSync(join(cluster.node(id).dataDir, 'state.json'), 'utf8') };
  }
  return out;
}

t.test('mutual TLS: elected over https, forged claims refused, failover after SIGKILL', async (t) => {
  const certs = t.testdir();
  makeCa(certs);
  for (const s of shape(3)) makeMemberCert(certs, s.id);
  makeCa(certs, 'other-ca');
  makeMemberCert(certs, 'd1', { ca: 'other-ca', file: 'mallory' });

  const cluster = await startCluster(t, shape(3), { tls: { dir: certs } });
  const ids = [...cluster.nodes.keys()];
  t.ok(
    ids.every((id) => cluster.node(id).url.startsWith('https://')),
    'every member is reached at https',
  );
  const agreed = await awaitAgreement(cluster, running(cluster));
  t.ok(agreed.term >= 1, `every node agrees: ${agreed.primaryId} leads term ${agreed.term}`);
  const primary = agreed.primaryId;
  const b = ids.find((id) => id !== primary)!;
  const c = ids.find((id) => id !== primary && id !== b)!;

  const heartbeat = await cluster.primaryHeartbeat(primary);

  const before = await snapshot(cluster, ids);
  const asB = client(t, certs, b);
  const forged = await post(cluster, c, '/heartbeat', asB, heartbeat);
  t.equal(forged.status, 403, `a heartbeat to ${c} in ${primary}'s name with ${b}'s certificate: 403`);
  t.equal(forged.body.error?.code, 'identity_mismatch');
  const asC = client(t, certs, c);
  const { clusterId, term: configTerm, version } = heartbeat.config;
  const vote = { clusterId, candidateId: b, config: { term: configTerm, version }, term: heartbeat.term + 5, lastLogTerm: 0, lastLogLsn: 0, dryRun: false };
  const borrowed = await post(cluster, primary, '/vote', asC, vote);
  t.equal(borrowed.status, 403, `a ballot for ${b} sent with ${c}'s certificate: 403`);
  t.equal(borrowed.body.error?.code, 'identity_mismatch');
  const mallory = await post(cluster, c, '/heartbeat', client(t, certs, 'mallory'), heartbeat);
  t.equal(mallory.status, 401, 'a certificate from another CA: 401');
  const anonymous = await post(cluster, c, '/heartbeat', cluster.dispatcher as Agent, heartbeat);
  t.equal(anonymous.status, 401, 'no certificate: 401');
  await new Promise((r) => setTimeout(r, 300));
  t.strictSame(await snapshot(cluster, ids), before, 'term, role, primary and state.json unchanged on every node');

  await cluster.kill(primary, 'SIGKILL');
  const next = await awaitAgreement(cluster, running(cluster), (a) => a.term > agreed.term && a.primaryId !== primary);
  t.not(next.primaryId, primary, `after SIGKILL of ${primary}, ${next.primaryId} leads term ${next.term}`);
});
