// Per-role credentials: each protected route takes its own role's credential
// (a member's peer token on /vote, /heartbeat and /handoff, the agent's on
// PUT /log, an operator's on POST /switchover and the membership changes), refuses none or an unknown one
// with 401 and one of another role with 403, before the body is read; a peer
// message may only claim the member its token proves (403 identity_mismatch);
// every refusal is counted by reason, and none reaches the service.

import t from 'tap';
import { peerDigest } from '../../src/config.js';
import type { RoleCredentials } from '../../src/http/auth.js';
import { actions, isErrorBody, mutatingRoutes, setup, type MutatingRoute, type RecordingService } from './fixtures/helpers.js';

// The route fixtures' bodies claim member n2 (candidateId, primaryId).
const PEER_N2 = 'peer-token-of-n2-0123456789';
const PEER_N2_NEXT = 'peer-token-of-n2-next-0123456789';
const PEER_W1 = 'peer-token-of-w1-0123456789';
const AGENT = 'agent-token-0123456789';
const OPERATOR = 'operator-token-0123456789';
const OPERATOR_2 = 'operator-token-2-0123456789';

const credentials: RoleCredentials = {
  peers: { n1: [peerDigest('peer-token-of-n1-0123456789')], n2: [peerDigest(PEER_N2)], w1: [peerDigest(PEER_W1)] },
  agentTokens: [AGENT],
  operatorTokens: [OPERATOR, OPERATOR_2],
};

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The right credential for each route, and one of every other role. */
function roleTokens(r: MutatingRoute): { right: string; others: string[] } {
  if (r.url === '/log') return { right: AGENT, others: [PEER_N2, OPERATOR] };
  if (r.url === '/switchover' || r.url.startsWith('/members/')) return { right: OPERATOR, others: [PEER_N2, AGENT] };
  return { right: PEER_N2, others: [AGENT, OPERATOR] };
}

async function refusals(service: RecordingService): Promise<Record<string, number>> {
  const metric = await service.registry.getSingleMetric('quorumd_auth_refusals_total')?.get();
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.reason), v.value]));
}

for (const r of mutatingRoutes) {
  t.test(`${r.method} ${r.url}: no header, a malformed one and an unknown token are 401; another role's token is 403; its own role's is let in`, async (t) => {
    const { app, service } = setup(t, { credentials });
    const { right, others } = roleTokens(r);
    const unauthorized: Array<[string, Record<string, string>]> = [
      ['no header', {}],
      ['a malformed header', { authorization: `Token ${right}` }],
      ['the scheme without a token', { authorization: 'Bearer' }],
      ['an unknown token', bearer('not-a-credential-of-anyone')],
      ['a digest presented as a token', bearer(peerDigest(PEER_N2))],
    ];
    for (const [why, headers] of unauthorized) {
      const res = await app.inject({ method: r.method, url: r.url, headers, payload: r.valid() });
      t.equal(res.statusCode, 401, `${why}: 401`);
      t.ok(isErrorBody(res.json()), `${why}: the error shape`);
      t.equal(res.json().error.code, 'unauthorized', `${why}: unauthorized`);
      t.equal(res.headers['www-authenticate'], 'Bearer realm="quorumd"', `${why}: says which scheme`);
    }
    for (const other of others) {
      const res = await app.inject({ method: r.method, url: r.url, headers: bearer(other), payload: r.valid() });
      t.equal(res.statusCode, 403, `${other.slice(0, 8)}...: 403`);
      t.equal(res.json().error.code, 'forbidden');
      t.notMatch(res.body, other, 'the token is never echoed');
    }
    t.strictSame(service.calls, [], 'the service was never reached');
    t.strictSame(await refusals(service), { unauthorized: unauthorized.length, forbidden: others.length }, 'each refusal is counted by reason');

    const ok = await app.inject({ method: r.method, url: r.url, headers: bearer(right), payload: r.valid() });
    t.ok(ok.statusCode < 300, `the right role's token is let in (${ok.statusCode})`);
    t.equal(actions(service).length, 1);
  });
}

t.test('the credential is checked before the body is read: a bad body with another role token is a 403, not a 400', async (t) => {
  const { app, service } = setup(t, { credentials });
  for (const r of mutatingRoutes) {
    const { others } = roleTokens(r);
    const res = await app.inject({
      method: r.method,
      url: r.url,
      headers: { ...bearer(others[0]!), 'content-type': 'application/json' },
      payload: '{not json',
    });
    t.equal(res.statusCode, 403, `${r.method} ${r.url}`);
    const none = await app.inject({ method: r.method, url: r.url, headers: { 'content-type': 'text/plain' }, payload: 'x'.repeat(100_000) });
    t.equal(none.statusCode, 401, `${r.method} ${r.url}, oversized without a credential`);
  }
  t.strictSame(service.calls, []);
});

const claims: ReadonlyArray<[route: MutatingRoute, field: string]> = [
  [mutatingRoutes.find((r) => r.url === '/vote')!, 'candidateId'],
  [mutatingRoutes.find((r) => r.url === '/heartbeat')!, 'primaryId'],
  [mutatingRoutes.find((r) => r.url === '/handoff')!, 'primaryId'],
];

for (const [r, field] of claims) {
  t.test(`${r.url}: member n2's peer token claiming to be w1 in ${field} is a 403 identity_mismatch naming both`, async (t) => {
    const { app, service } = setup(t, { credentials });
    const res = await app.inject({ method: r.method, url: r.url, headers: bearer(PEER_N2), payload: { ...r.valid(), [field]: 'w1' } });
    t.equal(res.statusCode, 403);
    t.ok(isErrorBody(res.json()));
    t.equal(res.json().error.code, 'identity_mismatch');
    t.equal(res.json().error.field, field);
    t.match(res.json().error.message, /"w1".*"n2"/, 'the message names the claimed and the proved member');
    t.strictSame(service.calls, [], 'the service was never called');
    t.strictSame(await refusals(service), { identity_mismatch: 1 });

    const own = await app.inject({ method: r.method, url: r.url, headers: bearer(PEER_W1), payload: { ...r.valid(), [field]: 'w1' } });
    t.ok(own.statusCode < 300, `w1's own token may claim w1 (${own.statusCode})`);
    const invalid = await app.inject({ method: r.method, url: r.url, headers: bearer(PEER_N2), payload: { ...r.valid(), [field]: 'not an id' } });
    t.equal(invalid.statusCode, 400, 'the body is validated before the claim is checked');
    t.equal(service.calls.length, 1);
  });
}

t.test("rotation: both of a member's digests are accepted, and a token dropped from the list no longer is", async (t) => {
  const rotating: RoleCredentials = { ...credentials, peers: { ...credentials.peers, n2: [peerDigest(PEER_N2), peerDigest(PEER_N2_NEXT)] } };
  const { app, service } = setup(t, { credentials: rotating });
  for (const token of [PEER_N2, PEER_N2_NEXT]) {
    const res = await app.inject({ method: 'POST', url: '/heartbeat', headers: bearer(token), payload: claims[1]![0].valid() });
    t.equal(res.statusCode, 200, `${token.slice(0, 20)}... is accepted`);
  }
  t.equal(service.calls.length, 2);
  const done = setup(t, { credentials: { ...credentials, peers: { ...credentials.peers, n2: [peerDigest(PEER_N2_NEXT)] } } });
  const old = await done.app.inject({ method: 'POST', url: '/heartbeat', headers: bearer(PEER_N2), payload: claims[1]![0].valid() });
  t.equal(old.statusCode, 401, 'the old token is refused once its digest is dropped');
  const next = await done.app.inject({ method: 'POST', url: '/heartbeat', headers: bearer(PEER_N2_NEXT), payload: claims[1]![0].valid() });
  t.equal(next.statusCode, 200);
});

t.test('every listed operator token is accepted', async (t) => {
  const { app } = setup(t, { credentials });
  for (const token of [OPERATOR, OPERATOR_2]) {
    const res = await app.inject({ method: 'POST', url: '/switchover', headers: bearer(token), payload: {} });
    t.equal(res.statusCode, 200);
  }
});

t.test('the shared-token mode binds no identity: the shared token may claim any member', async (t) => {
  const { app, service } = setup(t, { token: 'a-shared-token-0123456789' });
  for (const [r, field] of claims) {
    const res = await app.inject({ method: r.method, url: r.url, headers: bearer('a-shared-token-0123456789'), payload: { ...r.valid(), [field]: 'w1' } });
    t.ok(res.statusCode < 300, `${r.url} (${res.statusCode})`);
  }
  t.equal(service.calls.length, claims.length);
});

t.test('open routes stay open under per-role credentials', async (t) => {
  const { app } = setup(t, { credentials });
  for (const url of ['/healthz', '/readyz', '/primary', '/replica', '/metrics', '/status', '/members', '/history', '/openapi.json']) {
    const res = await app.inject({ method: 'GET', url });
    t.ok(res.statusCode === 200 || res.statusCode === 503, `GET ${url} answers (${res.statusCode})`);
  }
});
