// Mutual TLS on the HTTP face: a real https server on loopback and real
// clients. The handshake lets in a client without a certificate, so the
// probes stay open, but a peer route takes only a certificate the cluster CA
// signed, and that certificate is the member the request may speak for. The
// peer client, in turn, accepts a server only if its certificate names the
// member it was sending to.

import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { Agent, request } from 'undici';
import { buildApp } from '../../src/app.js';
import type { VoteRequest } from '../../src/core/index.js';
import { PeerClient } from '../../src/transport/peer-client.js';
import { makeCa, makeMemberCert, type MemberCert } from '../kit/certs.js';
import { CLUSTER_ID, RecordingService, validVote } from './fixtures/helpers.js';

const AGENT = 'agent-token-0123456789';

interface Fixture {
  readonly url: string;
  readonly service: RecordingService;
  readonly ca: string;
  readonly certs: Record<'n1' | 'n2' | 'w1' | 'mallory', MemberCert>;
}

async function serve(t: Test): Promise<Fixture> {
  const dir = t.testdir();
  const caPath = makeCa(dir);
  makeCa(dir, 'other-ca');
  const certs = {
    n1: makeMemberCert(dir, 'n1'),
    n2: makeMemberCert(dir, 'n2'),
    w1: makeMemberCert(dir, 'w1'),
    mallory: makeMemberCert(dir, 'n2', { ca: 'other-ca', file: 'mallory' }),
  };
  const { readFileSync } = await import('node:fs');
  const ca = readFileSync(caPath, 'utf8');
  const service = new RecordingService();
  const app = buildApp({
    service,
    token: null,
    credentials: { peers: {}, agentTokens: [AGENT], operatorTokens: [] },
    tls: { cert: certs.n1.certPem, key: certs.n1.keyPem, ca, isMember: (id: string) => ['n1', 'n2', 'w1'].includes(id) },
  });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `https://127.0.0.1:${port}`, service, ca, certs };
}

/** A client trusting the cluster CA, presenting `cert` when given. */
function agent(t: Test, ca: string, cert?: MemberCert): Agent {
  const a = new Agent({
    connect: { ca, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}), checkServerIdentity: () => undefined },
  });
  t.teardown(() => a.close());
  return a;
}

async function call(
  f: Fixture,
  dispatcher: Agent,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  const res = await request(f.url + path, {
    method,
    dispatcher,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.body.text();
  const json = res.headers['content-type']?.toString().startsWith('application/json');
  return { status: res.statusCode, body: json && text ? JSON.parse(text) : {} };
}

t.test('without a client certificate: the probes answer, peer routes are 401', async (t) => {
  const f = await serve(t);
  const anon = agent(t, f.ca);
  t.equal((await call(f, anon, 'GET', '/healthz')).status, 200, '/healthz is open');
  t.equal((await call(f, anon, 'GET', '/status')).status, 200, '/status is open');
  t.equal((await call(f, anon, 'GET', '/metrics')).status, 200, '/metrics is open');
  for (const path of ['/vote', '/heartbeat', '/handoff']) {
    const res = await call(f, anon, 'POST', path, validVote());
    t.equal(res.status, 401, `${path}: 401`);
    t.equal(res.body.error?.code, 'unauthorized');
  }
  const withToken = await call(f, anon, 'POST', '/vote', validVote(), { authorization: `Bearer ${AGENT}` });
  t.equal(withToken.status, 401, 'a bearer token does not stand in for a certificate on a peer route');
  t.strictSame(
    f.service.calls.filter((c) => ['vote', 'heartbeat', 'handoff'].includes(c.method)),
    [],
    'no peer message reached the service',
  );
});

t.test("member n2's certificate speaks for n2 and no one else", async (t) => {
  const f = await serve(t);
  const n2 = agent(t, f.ca, f.certs.n2);
  const ok = await call(f, n2, 'POST', '/vote', validVote());
  t.equal(ok.status, 200, `a vote claiming n2: 200 (${JSON.stringify(ok.body)})`);
  t.equal(f.service.calls.length, 1, 'it reached the service');
  const forged = await call(f, n2, 'POST', '/vote', { ...validVote(), candidateId: 'w1' });
  t.equal(forged.status, 403, 'a vote claiming w1: 403');
  t.equal(forged.body.error?.code, 'identity_mismatch');
  t.match(forged.body.error?.message, /"w1".*"n2"/, 'naming both');
  t.equal(f.service.calls.length, 1, 'the forged vote never reached the service');
});

t.test('the agent route still takes its token; a peer certificate is not an agent', async (t) => {
  const f = await serve(t);
  const n2 = agent(t, f.ca, f.certs.n2);
  t.equal((await call(f, n2, 'PUT', '/log', { term: 7, lsn: 1 })).status, 401, "a peer's certificate alone cannot report a log position");
  t.equal((await call(f, n2, 'PUT', '/log', { term: 7, lsn: 1 }, { authorization: `Bearer ${AGENT}` })).status, 200, "the agent's token can");
});

t.test('a certificate from another CA is refused', async (t) => {
  const f = await serve(t);
  const mallory = agent(t, f.ca, f.certs.mallory);
  const res = await call(f, mallory, 'POST', '/vote', validVote());
  t.equal(res.status, 401, 'a certificate naming n2 but signed by another CA: 401');
  t.equal(f.service.calls.length, 0);
});

const voteRequest: VoteRequest = {
  type: 'vote_request',
  round: 1,
  clusterId: CLUSTER_ID,
  candidateId: 'n2',
  config: { term: 6, version: 3 },
  term: 8,
  lastLogTerm: 7,
  lastLogLsn: 120,
  dryRun: false,
};

t.test("the peer client presents its certificate and checks that the server's names the member asked", async (t) => {
  const f = await serve(t);
  const client = new PeerClient({ token: null, connectionsPerPeer: 1, tls: { cert: f.certs.n2.certPem, key: f.certs.n2.keyPem, ca: f.ca } });
  t.teardown(() => client.close());
  const good = await client.deliver(f.url, voteRequest, AbortSignal.timeout(5_000), 'n1');
  t.ok(good.ok, `delivered to n1 (${JSON.stringify(good)})`);
  const wrong = await client.deliver(f.url, voteRequest, AbortSignal.timeout(5_000), 'w1');
  t.notOk(wrong.ok, 'the server at the url of w1 presents the certificate of n1: no reply');
  if (!wrong.ok) {
    t.equal(wrong.answeredAs, 'n1', 'counted as an identity mismatch, answered as n1');
    t.match(wrong.error, /identity mismatch/);
  }
  t.equal(f.service.calls.length, 1, 'the request to the wrong member was never sent');

  const stranger = new PeerClient({
    token: null,
    connectionsPerPeer: 1,
    tls: { cert: f.certs.n2.certPem, key: f.certs.n2.keyPem, ca: f.certs.mallory.certPem },
  });
  t.teardown(() => stranger.close());
  const untrusted = await stranger.deliver(f.url, voteRequest, AbortSignal.timeout(5_000), 'n1');
  t.notOk(untrusted.ok, 'a server whose certificate the CA bundle does not verify: no reply');
});
