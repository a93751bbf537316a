// Forwarding a membership change to the primary, between real apps on
// loopback over fake services: a member that is not the primary sends the
// request on, with the caller's credential, and relays the primary's answer
// and which primary gave it; a forwarded request is never forwarded again;
// no known primary and an unreachable one are 503s, the latter within the
// deadline; under mutual TLS the primary must prove it is the member named
// before the caller's token is sent.

import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { Agent, request } from 'undici';
import { buildApp, type App, type BuildAppOptions } from '../../src/app.js';
import { ApiError } from '../../src/errors.js';
import { FORWARDED_HEADER, FORWARDED_TO_HEADER } from '../../src/http/forward.js';
import { makeCa, makeMemberCert } from '../kit/certs.js';
import { RecordingService, actions, clusterConfig, statusView } from './fixtures/helpers.js';

const OPERATOR = 'operator-token-0123456789';
const credentials = { peers: {}, agentTokens: [], operatorTokens: [OPERATOR] };
const operator = { authorization: `Bearer ${OPERATOR}` };
const n4 = { url: 'http://n4:7400', kind: 'data' };

interface Node {
  readonly url: string;
  readonly service: RecordingService;
  /** The headers of every request the app received. */
  readonly seen: Array<Record<string, string | string[] | undefined>>;
}

/** serve builds an app over a fresh RecordingService, listens on 127.0.0.1 port 0, and closes it when the test ends. */
async function serve(t: Test, opts: Partial<BuildAppOptions> = {}, scheme = 'http'): Promise<Node> {
  const service = new RecordingService();
  const app: App = buildApp({ service, token: null, credentials, ...opts });
  const seen: Node['seen'] = [];
  app.addHook('onRequest', async (request) => {
    seen.push({ ...request.headers });
  });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `${scheme}://127.0.0.1:${port}`, service, seen };
}

/** follow makes `node` a member that is not the primary and follows `primary` (id n2), or none. */
function follow(node: Node, primary: Node | null): void {
  node.service.changeFailsWith = new ApiError(409, 'not_primary', 'this node is not the primary');
  node.service.primaryUrlReply = primary?.url ?? null;
  node.service.statusReply = statusView({ primaryId: primary ? 'n2' : null });
}

async function send(node: Node, method: 'PUT' | 'DELETE', path: string, opts: { headers?: Record<string, string>; body?: unknown; dispatcher?: Agent } = {}) {
  const res = await request(`${node.url}${path}`, {
    method,
    headers: { ...operator, ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
  });
  return {
    status: res.statusCode,
    headers: res.headers,
    body: (await res.body.json()) as Record<string, unknown> & { error?: { code: string; message: string } },
  };
}

t.test('a follower forwards a change to the primary, with the caller credential, and relays its answer and the primary url', async (t) => {
  const primary = await serve(t);
  const follower = await serve(t);
  follow(follower, primary);

  const put = await send(follower, 'PUT', '/members/n4', { body: n4 });
  t.equal(put.status, 200);
  t.equal(put.headers[FORWARDED_TO_HEADER], primary.url, 'says which primary answered');
  t.strictSame(put.body, {
    status: 'committed',
    clusterId: 'test',
    configTerm: 6,
    version: 4,
    quorum: 2,
    voters: 3,
    members: clusterConfig().members,
    paused: false,
  });
  t.strictSame(
    actions(primary.service),
    [{ method: 'changeMembers', args: [{ op: 'put', member: { ...n4, id: 'n4', state: 'catching_up' } }] }],
    'the primary made the change',
  );
  t.equal(primary.seen[0]?.authorization, operator.authorization, "the caller's credential went with it (the primary takes only operator tokens)");
  t.equal(primary.seen[0]?.[FORWARDED_HEADER], '1', 'marked as forwarded');

  const del = await send(follower, 'DELETE', '/members/w1');
  t.equal(del.status, 200);
  t.equal(del.headers[FORWARDED_TO_HEADER], primary.url);
  t.strictSame(actions(primary.service)[1], { method: 'changeMembers', args: [{ op: 'remove', id: 'w1' }] }, 'a removal is forwarded without a body');
  t.equal(primary.seen[1]?.['content-type'], undefined);
});

t.test("the primary's refusals are relayed with their status and body", async (t) => {
  const primary = await serve(t);
  const follower = await serve(t);
  follow(follower, primary);
  for (const [status, code] of [
    [409, 'would_break_cluster'],
    [404, 'unknown_member'],
    [503, 'change_timed_out'],
    [503, 'change_interrupted'],
  ] as const) {
    primary.service.changeFailsWith = new ApiError(status, code, `the primary says ${code}`);
    const res = await send(follower, 'DELETE', '/members/n9');
    t.equal(res.status, status, code);
    t.strictSame(res.body, { error: { code, message: `the primary says ${code}` } });
    t.equal(res.headers[FORWARDED_TO_HEADER], primary.url);
  }
  // A primary that just stepped down answers the forwarded request itself.
  follow(primary, null);
  const res = await send(follower, 'PUT', '/members/n4', { body: n4 });
  t.equal(res.status, 503);
  t.equal(res.body.error?.code, 'not_primary', 'a forwarded request is answered, not forwarded on');
  const wrong = await send(follower, 'DELETE', '/members/n4', { headers: { authorization: 'Bearer another-operator-token' } });
  t.equal(wrong.status, 401, 'the follower itself refuses an unknown token first');
  t.equal(primary.seen.length, 5, 'and never forwards it');
});

t.test('no primary known: 503 no_primary with Retry-After, and nothing is sent anywhere', async (t) => {
  const follower = await serve(t);
  follow(follower, null);
  const res = await send(follower, 'PUT', '/members/n4', { body: n4 });
  t.equal(res.status, 503);
  t.equal(res.body.error?.code, 'no_primary');
  t.equal(res.headers['retry-after'], '1');
  t.equal(res.headers[FORWARDED_TO_HEADER], undefined);
});

t.test('a forwarded request is not forwarded twice: two followers that each think the other leads do not bounce it', async (t) => {
  const c = await serve(t);
  const b = await serve(t);
  const a = await serve(t);
  follow(a, b);
  follow(b, c);
  const res = await send(a, 'PUT', '/members/n4', { body: n4 });
  t.equal(res.status, 503, 'b answers itself');
  t.equal(res.body.error?.code, 'not_primary');
  t.equal(res.headers[FORWARDED_TO_HEADER], b.url, 'a relays what b said');
  t.equal(b.seen.length, 1);
  t.equal(c.seen.length, 0, 'b never forwarded it on');
  t.strictSame(actions(c.service), []);
});

t.test('an unreachable primary is 503 primary_unreachable: a closed port at once, a silent one at the deadline', async (t) => {
  // A port that was just free: nothing listens there.
  const gone = createServer();
  await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
  const closedPort = (gone.address() as AddressInfo).port;
  await new Promise((resolve) => gone.close(resolve));

  // A primary that accepts the connection and never answers.
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });
  const silentPort = (silent.address() as AddressInfo).port;

  const follower = await serve(t, { forwardTimeoutMs: 400 });
  follow(follower, null);
  follower.service.statusReply = statusView({ primaryId: 'n2' });

  follower.service.primaryUrlReply = `http://127.0.0.1:${closedPort}`;
  const refused = await send(follower, 'PUT', '/members/n4', { body: n4 });
  t.equal(refused.status, 503);
  t.equal(refused.body.error?.code, 'primary_unreachable');
  t.match(refused.body.error?.message, /ECONNREFUSED/);
  t.equal(refused.headers[FORWARDED_TO_HEADER], `http://127.0.0.1:${closedPort}`);

  follower.service.primaryUrlReply = `http://127.0.0.1:${silentPort}`;
  const started = Date.now();
  const late = await send(follower, 'DELETE', '/members/n4');
  const took = Date.now() - started;
  t.equal(late.status, 503);
  t.equal(late.body.error?.code, 'primary_unreachable');
  t.match(late.body.error?.message, /no answer within 400 ms.*GET \/members/);
  t.ok(took >= 350 && took < 2_000, `answered at the deadline (${took} ms)`);
  t.equal(sockets.size, 1, 'the request did reach the silent primary');
});

t.test('a primary that answers something other than JSON is unreachable too', async (t) => {
  const sockets = new Set<Socket>();
  const odd = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 5\r\nconnection: close\r\n\r\n<html'));
  });
  await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => odd.close(resolve));
  });
  const follower = await serve(t);
  follow(follower, null);
  follower.service.statusReply = statusView({ primaryId: 'n2' });
  follower.service.primaryUrlReply = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`;
  const res = await send(follower, 'PUT', '/members/n4', { body: n4 });
  t.equal(res.status, 503);
  t.equal(res.body.error?.code, 'primary_unreachable');
  t.match(res.body.error?.message, /other than JSON/);
});

t.test('under mutual TLS the request goes only to a primary whose certificate names it', async (t) => {
  const dir = t.testdir();
  const ca = readFileSync(makeCa(dir), 'utf8');
  const n1 = makeMemberCert(dir, 'n1');
  const n2 = makeMemberCert(dir, 'n2');
  const isMember = (id: string) => ['n1', 'n2', 'w1'].includes(id);
  const primary = await serve(t, { tls: { cert: n2.certPem, key: n2.keyPem, ca, isMember } }, 'https');
  const follower = await serve(t, { tls: { cert: n1.certPem, key: n1.keyPem, ca, isMember } }, 'https');
  follow(follower, primary);
  const client = new Agent({ connect: { ca, checkServerIdentity: () => undefined } });
  t.teardown(() => client.close());

  const ok = await send(follower, 'PUT', '/members/n4', { body: n4, dispatcher: client });
  t.equal(ok.status, 200, 'forwarded over TLS to n2');
  t.equal(ok.headers[FORWARDED_TO_HEADER], primary.url);
  t.equal(actions(primary.service).length, 1);

  // The follower believes w1 leads at that url: n2's certificate does not name w1.
  follower.service.statusReply = statusView({ primaryId: 'w1' });
  const mismatch = await send(follower, 'PUT', '/members/n4', { body: n4, dispatcher: client });
  t.equal(mismatch.status, 503);
  t.equal(mismatch.body.error?.code, 'primary_unreachable');
  t.match(mismatch.body.error?.message, /identity mismatch/);
  t.equal(primary.seen.length, 1, "the caller's token was never sent to a server that is not the member named");
});
