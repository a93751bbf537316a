// GET /cluster and GET /why between real apps on loopback over fake
// services: the primary answers its own view; a member that is not the
// primary relays the primary's view and says which primary gave it; when no
// primary is known, it cannot be reached, or the request was itself
// forwarded, the member answers its own view marked partial with the reason.
// GET /why takes an operator credential and answers the service's probe.

import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { buildApp, type App } from '../../src/app.js';
import { FORWARDED_HEADER, FORWARDED_TO_HEADER } from '../../src/http/forward.js';
import { RecordingService, statusView } from './fixtures/helpers.js';

const OPERATOR = 'operator-token-0123456789';
const credentials = { peers: {}, agentTokens: [], operatorTokens: [OPERATOR] };

interface Served {
  readonly url: string;
  readonly service: RecordingService;
}

async function serve(t: Test): Promise<Served> {
  const service = new RecordingService();
  const app: App = buildApp({ service, token: null, credentials });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, service };
}

function makePrimary(node: Served): void {
  node.service.statusReply = statusView({ role: 'primary', primaryId: 'n1' });
  node.service.clusterReply = { ...node.service.clusterReply, view: 'primary', viewedBy: 'n1', primaryId: 'n1' };
}

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers });
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, unknown> };
}

t.test('the primary answers its own view', async (t) => {
  const primary = await serve(t);
  makePrimary(primary);
  const r = await get(`${primary.url}/cluster`);
  t.equal(r.status, 200);
  t.match(r.body, { view: 'primary', viewedBy: 'n1', partialBecause: null, members: [{ id: 'n1', lag: 0, electable: true }] });
  t.same(
    primary.service.calls.filter((c) => c.method === 'cluster').map((c) => c.args),
    [[null]],
    'asked for its view, with no partial reason',
  );
  t.equal(r.headers[FORWARDED_TO_HEADER], undefined, 'nothing was relayed');
});

t.test('a follower relays the primary view and names the primary', async (t) => {
  const primary = await serve(t);
  makePrimary(primary);
  const follower = await serve(t);
  follower.service.primaryUrlReply = primary.url;
  const r = await get(`${follower.url}/cluster`);
  t.equal(r.status, 200);
  t.equal(r.body.view, 'primary', "the primary's view");
  t.equal(r.headers[FORWARDED_TO_HEADER], primary.url, 'says which primary gave it');
  t.notOk(
    follower.service.calls.some((c) => c.method === 'cluster'),
    'the follower built no view of its own',
  );
});

t.test('a follower that cannot ask the primary answers its partial view, saying why', async (t) => {
  const follower = await serve(t);
  follower.service.primaryUrlReply = null;
  follower.service.statusReply = statusView({ primaryId: null });
  const none = await get(`${follower.url}/cluster`);
  t.equal(none.status, 200);
  t.match(none.body, { view: 'partial', viewedBy: 'n1', partialBecause: 'this node knows of no primary' });

  // Port 1: nothing listens there, so the connection is refused at once.
  follower.service.statusReply = statusView({ primaryId: 'n2' });
  follower.service.primaryUrlReply = 'http://127.0.0.1:1';
  const unreachable = await get(`${follower.url}/cluster`);
  t.equal(unreachable.status, 200);
  t.equal(unreachable.body.view, 'partial');
  t.match(unreachable.body.partialBecause, /^the primary n2 at http:\/\/127\.0\.0\.1:1 could not be asked: /, 'names the primary it could not ask');

  const primary = await serve(t);
  makePrimary(primary);
  follower.service.primaryUrlReply = primary.url;
  const forwarded = await get(`${follower.url}/cluster`, { [FORWARDED_HEADER]: '1' });
  t.match(forwarded.body, { view: 'partial', partialBecause: /another member forwarded this request here/ }, 'a forwarded request is not forwarded again');
  t.same(primary.service.calls, [], 'the primary was not asked');
});

t.test('a primary that fails is no better than none: the partial view says what it answered', async (t) => {
  const primary = await serve(t);
  makePrimary(primary);
  primary.service.failWith = new Error('fatal');
  const follower = await serve(t);
  follower.service.primaryUrlReply = primary.url;
  const r = await get(`${follower.url}/cluster`);
  t.equal(r.status, 200);
  t.match(r.body, { view: 'partial', partialBecause: `the primary at ${primary.url} answered HTTP 500` });
});

t.test('GET /why takes an operator credential and answers the probe', async (t) => {
  const node = await serve(t);
  const refused = await get(`${node.url}/why`);
  t.equal(refused.status, 401, 'no credential: unauthorized');
  t.notOk(
    node.service.calls.some((c) => c.method === 'why'),
    'nothing was probed',
  );
  const r = await get(`${node.url}/why`, { authorization: `Bearer ${OPERATOR}` });
  t.equal(r.status, 200);
  t.strictSame(r.body, node.service.whyReply, 'the answer as the service gave it');
});
