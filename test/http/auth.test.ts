// The cluster token: with one configured, the peer and mutating routes need
// `Authorization: Bearer <token>` and refuse anything else with 401 before the
// body is read, without reaching the service; health and read-only routes
// never need it; without one configured, nothing does.

import t from 'tap';
import { TOKEN, actions, auth, isErrorBody, mutatingRoutes, setup } from './fixtures/helpers.js';

const wrongAuthorizations: ReadonlyArray<[why: string, header: string | undefined]> = [
  ['no Authorization header', undefined],
  ['an empty header', ''],
  ['another token', 'Bearer not-the-cluster-token-at-all'],
  ['the token cut one short', `Bearer ${TOKEN.slice(0, -1)}`],
  ['the token with one more character', `Bearer ${TOKEN}x`],
  ['the token in another case', `Bearer ${TOKEN.toUpperCase()}`],
  ['the bare token without the scheme', TOKEN],
  ['another scheme', `Basic ${Buffer.from(`quorumd:${TOKEN}`).toString('base64')}`],
  ['the scheme without a token', 'Bearer'],
  ['two tokens', `Bearer ${TOKEN} ${TOKEN}`],
];

for (const r of mutatingRoutes) {
  t.test(`${r.method} ${r.url} needs the cluster token`, async (t) => {
    const { app, service } = setup(t);
    for (const [why, header] of wrongAuthorizations) {
      const res = await app.inject({ method: r.method, url: r.url, headers: header === undefined ? {} : { authorization: header }, payload: r.valid() });
      t.equal(res.statusCode, 401, `${why}: 401`);
      t.ok(isErrorBody(res.json()), `${why}: the error shape`);
      t.equal(res.json().error.code, 'unauthorized', `${why}: code`);
      t.equal(res.headers['www-authenticate'], 'Bearer realm="quorumd"', `${why}: says which scheme`);
    }
    t.strictSame(service.calls, [], 'the service was never reached');

    const ok = await app.inject({ method: r.method, url: r.url, headers: auth, payload: r.valid() });
    t.ok(ok.statusCode < 300, `the right token is let in (${ok.statusCode})`);
    const lower = await app.inject({ method: r.method, url: r.url, headers: { authorization: `bearer ${TOKEN}` }, payload: r.valid() });
    t.ok(lower.statusCode < 300, 'the scheme name is case-insensitive');
    t.equal(actions(service).length, 2);
  });
}

t.test('the token is checked before the body is read: a bad body without it is a 401, not a 400', async (t) => {
  const { app, service } = setup(t);
  for (const r of mutatingRoutes) {
    const res = await app.inject({ method: r.method, url: r.url, headers: { 'content-type': 'application/json' }, payload: '{not json' });
    t.equal(res.statusCode, 401, `${r.method} ${r.url}`);
    const big = await app.inject({ method: r.method, url: r.url, headers: { 'content-type': 'text/plain' }, payload: 'x'.repeat(100_000) });
    t.equal(big.statusCode, 401, `${r.method} ${r.url}, oversized and of the wrong type`);
  }
  t.strictSame(service.calls, []);
});

t.test('health and read-only routes never need the token', async (t) => {
  const { app } = setup(t);
  for (const url of ['/healthz', '/readyz', '/primary', '/replica', '/metrics', '/status', '/members', '/history', '/openapi.json']) {
    const res = await app.inject({ method: 'GET', url });
    t.not(res.statusCode, 401, `GET ${url} without a token`);
    t.ok(res.statusCode === 200 || res.statusCode === 503, `GET ${url} answers (${res.statusCode})`);
  }
  for (const url of ['/primary', '/replica']) {
    const res = await app.inject({ method: 'HEAD', url });
    t.not(res.statusCode, 401, `HEAD ${url} without a token`);
  }
});

t.test('without a configured token the protected routes are open', async (t) => {
  const { app, service } = setup(t, { token: null });
  for (const r of mutatingRoutes) {
    const res = await app.inject({ method: r.method, url: r.url, payload: r.valid() });
    t.ok(res.statusCode < 300, `${r.method} ${r.url} (${res.statusCode})`);
  }
  t.equal(actions(service).length, mutatingRoutes.length);
});
