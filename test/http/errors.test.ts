// One error shape for every failure, fastify's own included: unknown routes,
// malformed URLs, malformed HTTP, errors the runtime throws, and anything
// unexpected (a 500 that tells nothing of the cause).

import { connect } from 'node:net';
import t from 'tap';
import { ApiError } from '../../src/errors.js';
import { auth, isErrorBody, setup, validVote } from './fixtures/helpers.js';

t.test('an unknown route is a 404 in the error shape', async (t) => {
  const { app } = setup(t);
  for (const [method, url] of [
    ['GET', '/nope'],
    ['GET', '/vote'],
    ['DELETE', '/status'],
    ['POST', '/healthz'],
    ['GET', '/members/n1?x=1'],
  ] as const) {
    const res = await app.inject({ method, url });
    t.equal(res.statusCode, 404, `${method} ${url}`);
    t.ok(isErrorBody(res.json()), `${method} ${url}: the error shape`);
    t.equal(res.json().error.code, 'not_found');
    t.match(res.json().error.message, `${method} ${url.split('?')[0]}`);
    t.match(res.headers['content-type'], /^application\/json/);
  }
});

t.test('a malformed URL is a 400 in the error shape', async (t) => {
  const { app } = setup(t);
  const res = await app.inject({ method: 'GET', url: '/%E0%A4%A' });
  t.equal(res.statusCode, 400);
  t.ok(isErrorBody(res.json()));
  t.equal(res.json().error.code, 'bad_request');
});

t.test("a request Node's HTTP parser refuses is answered in the error shape", async (t) => {
  const { app } = setup(t);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(address.port, '127.0.0.1', () => socket.write('THIS IS NOT HTTP\r\n\r\n'));
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
  t.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
  t.strictSame(JSON.parse(body), { error: { code: 'bad_request', message: 'the request is not valid HTTP' } });
});

t.test('an error the runtime throws with a status and a code is answered as it is', async (t) => {
  const { app, service } = setup(t);
  service.failWith = new ApiError(503, 'node_failed', 'this node hit a fatal fault and answers nothing');
  for (const [method, url, payload] of [
    ['GET', '/status', undefined],
    ['POST', '/vote', validVote()],
  ] as const) {
    const res = await app.inject({ method, url, headers: auth, ...(payload ? { payload } : {}) });
    t.equal(res.statusCode, 503, `${method} ${url}`);
    t.strictSame(res.json(), { error: { code: 'node_failed', message: 'this node hit a fatal fault and answers nothing' } });
  }
});

t.test('an error is trusted for its code only when it is an ApiError, not because its code looks like one', async (t) => {
  const { app, service } = setup(t);
  service.failWith = Object.assign(new Error('a look-alike'), { statusCode: 409, code: 'witness_has_no_log' });
  const res = await app.inject({ method: 'GET', url: '/status' });
  t.equal(res.statusCode, 409);
  t.strictSame(res.json(), { error: { code: 'conflict', message: 'a look-alike' } });
});

t.test('an unexpected error is a 500 that does not say what went wrong inside', async (t) => {
  const { app, service } = setup(t);
  service.failWith = new Error('secret detail: /var/lib/quorumd/state.json EIO');
  const res = await app.inject({ method: 'GET', url: '/members' });
  t.equal(res.statusCode, 500);
  t.strictSame(res.json(), { error: { code: 'internal_error', message: 'internal error' } });
  t.notMatch(res.body, /secret/);
});

t.test('a fastify error of an internal kind keeps its status under a generic code and message', async (t) => {
  const { app, service } = setup(t);
  service.failWith = Object.assign(new Error('fastify internals'), { statusCode: 500, code: 'FST_ERR_SOMETHING' });
  const res = await app.inject({ method: 'GET', url: '/history' });
  t.equal(res.statusCode, 500);
  t.strictSame(res.json(), { error: { code: 'internal_server_error', message: 'internal error' } });
});
