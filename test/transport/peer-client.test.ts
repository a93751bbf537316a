// The peer client against a tiny loopback HTTP server that answers whatever a
// test tells it to: a request leaves without its local fields, a reply that
// matches the core's reply schema comes back as a protocol message with those
// fields added back, and a reply that does not match is refused as malformed.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { DEFAULT_TIMINGS, type Heartbeat, type Message, type Refusal, type VoteRequest } from '../../src/core/index.js';
import { PeerClient } from '../../src/transport/peer-client.js';

interface Received {
  readonly path: string;
  readonly body: unknown;
}

/** A loopback peer that records each request and answers as it was last told to. */
async function fakePeer(t: Test): Promise<{ url: string; received: Received[]; answer(status: number, body: unknown): void }> {
  const received: Received[] = [];
  let status = 200;
  let text = '{}';
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(raw) as unknown });
      res.writeHead(status, status === 204 ? {} : { 'content-type': 'application/json' });
      res.end(status === 204 ? undefined : text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    answer(s, body) {
      status = s;
      text = typeof body === 'string' ? body : JSON.stringify(body);
    },
  };
}

function client(t: Test): PeerClient {
  const c = new PeerClient({ token: null, connectionsPerPeer: 1 });
  t.teardown(() => c.close());
  return c;
}

const deadline = () => AbortSignal.timeout(5_000);

const voteRequest: VoteRequest = {
  type: 'vote_request',
  round: 7,
  clusterId: 'wire',
  candidateId: 'c',
  config: { term: 3, version: 2 },
  term: 4,
  lastLogTerm: 3,
  lastLogLsn: 120,
  dryRun: true,
};

const heartbeat: Heartbeat = {
  type: 'heartbeat',
  round: 9,
  term: 4,
  primaryId: 'p',
  commitWatermark: { term: 3, lsn: 100 },
  config: {
    clusterId: 'wire',
    term: 4,
    version: 1,
    members: [
      { id: 'p', url: 'http://127.0.0.1:1', kind: 'data', state: 'voting' },
      { id: 'w', url: 'http://127.0.0.1:2', kind: 'witness', state: 'voting' },
    ],
    timings: DEFAULT_TIMINGS,
  },
};

t.test('a well-formed vote reply comes back as a vote response with the round and dryRun of its request', async (t) => {
  const peer = await fakePeer(t);
  const c = client(t);
  const reason: Refusal = { code: 'log_behind', candidatePosition: { term: 3, lsn: 120 }, voterPosition: { term: 3, lsn: 150 } };
  peer.answer(200, { granted: false, term: 4, voterId: 'v', reason });
  const delivery = await c.deliver(peer.url, voteRequest, deadline(), 'v');
  const expected: Message = { type: 'vote_response', round: 7, dryRun: true, granted: false, term: 4, voterId: 'v', reason };
  t.strictSame(delivery, { ok: true, reply: expected }, 'the reply, with the local fields added back');
  t.equal(peer.received[0]?.path, '/vote', 'the request went to /vote');
  t.strictSame(
    peer.received[0]?.body,
    { clusterId: 'wire', candidateId: 'c', config: { term: 3, version: 2 }, term: 4, lastLogTerm: 3, lastLogLsn: 120, dryRun: true },
    'the request body carries neither the type nor the round',
  );
});

t.test('a well-formed heartbeat reply comes back as a heartbeat response, a null position and config included', async (t) => {
  const peer = await fakePeer(t);
  const c = client(t);
  peer.answer(200, { term: 4, success: true, memberId: 'w', position: null, config: { term: 4, version: 1 } });
  t.strictSame(
    await c.deliver(peer.url, heartbeat, deadline(), 'w'),
    {
      ok: true,
      reply: { type: 'heartbeat_response', round: 9, term: 4, success: true, memberId: 'w', position: null, config: { term: 4, version: 1 } },
    },
    'the witness reply is accepted',
  );
  peer.answer(200, { term: 4, success: true, memberId: 'p', position: { term: 4, lsn: 5 }, config: null });
  t.strictSame(
    await c.deliver(peer.url, heartbeat, deadline(), 'p'),
    {
      ok: true,
      reply: { type: 'heartbeat_response', round: 9, term: 4, success: true, memberId: 'p', position: { term: 4, lsn: 5 }, config: null },
    },
    'a data member reply with its position, from a member that holds no configuration yet, is accepted',
  );
  t.equal(peer.received[0]?.path, '/heartbeat', 'the request went to /heartbeat');
  t.strictSame((peer.received[0]?.body as { config?: unknown } | undefined)?.config, heartbeat.config, 'the heartbeat carries the whole configuration');
  t.notOk(
    peer.received.some((r) => 'round' in (r.body as object) || 'type' in (r.body as object)),
    'no body carries the local fields',
  );
});

t.test('a handoff answered 204 has no reply', async (t) => {
  const peer = await fakePeer(t);
  const c = client(t);
  peer.answer(204, '');
  t.strictSame(await c.deliver(peer.url, { type: 'handoff', clusterId: 'wire', term: 4, primaryId: 'p' }, deadline(), 'p'), { ok: true, reply: null });
  t.strictSame(peer.received[0]?.body, { clusterId: 'wire', term: 4, primaryId: 'p' }, 'the handoff body is the cluster, the term and the primary');
});

t.test('a vote reply that does not match the reply schema is refused as malformed', async (t) => {
  const peer = await fakePeer(t);
  const c = client(t);
  const good = { granted: true, term: 4, voterId: 'v' };
  const bad: Array<[string, unknown]> = [
    ['not an object', [good]],
    ['null', null],
    ['without voterId', { granted: true, term: 4 }],
    ['with a string for granted', { ...good, granted: 'yes' }],
    ['with a negative term', { ...good, term: -1 }],
    ['with a fractional term', { ...good, term: 4.5 }],
    ['with a term beyond 2^53 - 1', { ...good, term: 2 ** 53 }],
    ['with a voter id the API refuses', { ...good, voterId: 'no spaces allowed' }],
    ['with a field the schema does not name', { ...good, round: 99 }],
    ['with an unknown refusal code', { ...good, granted: false, reason: { code: 'tired' } }],
    ['with a refusal missing its details', { ...good, granted: false, reason: { code: 'stale_term', candidateTerm: 4 } }],
    ['with a not_voting refusal of an unknown why', { ...good, granted: false, reason: { code: 'not_voting', voterId: 'v', why: 'asleep' } }],
    [
      'with a log_behind refusal of a bad position',
      { ...good, granted: false, reason: { code: 'log_behind', candidatePosition: { term: 1 }, voterPosition: { term: 1, lsn: 2 } } },
    ],
  ];
  for (const [what, body] of bad) {
    peer.answer(200, body);
    t.strictSame(await c.deliver(peer.url, voteRequest, deadline(), 'v'), { ok: false, refused: false, error: 'malformed reply' }, `a reply ${what}`);
  }
  peer.answer(200, { ...good, granted: false, reason: { code: 'not_voting', voterId: 'v', why: 'catching_up' } });
  const accepted = await c.deliver(peer.url, voteRequest, deadline(), 'v');
  t.ok(accepted.ok, 'while a not_voting refusal of a known why is accepted');
  const configRefusals: Refusal[] = [
    { code: 'wrong_cluster', clusterId: null, candidateClusterId: 'wire' },
    { code: 'config_behind', candidateConfig: { term: 3, version: 2 }, voterConfig: { term: 4, version: 1 } },
  ];
  for (const reason of configRefusals) {
    peer.answer(200, { ...good, granted: false, reason });
    t.strictSame(
      await c.deliver(peer.url, voteRequest, deadline(), 'v'),
      { ok: true, reply: { type: 'vote_response', round: 7, dryRun: true, granted: false, term: 4, voterId: 'v', reason } },
      `as is a ${reason.code} refusal`,
    );
  }
  peer.answer(200, { ...good, granted: false, reason: { code: 'config_behind', candidateConfig: { term: 3 }, voterConfig: { term: 4, version: 1 } } });
  t.strictSame(
    await c.deliver(peer.url, voteRequest, deadline(), 'v'),
    { ok: false, refused: false, error: 'malformed reply' },
    'but a config_behind refusal of a bad position is not',
  );
});

t.test('a heartbeat reply that does not match the reply schema is refused as malformed', async (t) => {
  const peer = await fakePeer(t);
  const c = client(t);
  const good = { term: 4, success: true, memberId: 'p', position: { term: 4, lsn: 5 }, config: { term: 4, version: 1 } };
  const bad: Array<[string, unknown]> = [
    ['without a position', { term: 4, success: true, memberId: 'p', config: null }],
    ['without a config', { term: 4, success: true, memberId: 'p', position: null }],
    ['with a config missing its version', { ...good, config: { term: 4 } }],
    ['with a whole configuration instead of a position', { ...good, config: heartbeat.config }],
    ['with a position missing its lsn', { ...good, position: { term: 4 } }],
    ['with a negative lsn', { ...good, position: { term: 4, lsn: -5 } }],
    ['with a position of an extra field', { ...good, position: { term: 4, lsn: 5, at: 0 } }],
    ['with a number for memberId', { ...good, memberId: 1 }],
    ['with a string for success', { ...good, success: 'true' }],
  ];
  for (const [what, body] of bad) {
    peer.answer(200, body);
    t.strictSame(await c.deliver(peer.url, heartbeat, deadline(), 'p'), { ok: false, refused: false, error: 'malformed reply' }, `a reply ${what}`);
  }
});

t.test('what has no reply of its own is not taken as one', async (t) => {
  const peer = await fakePeer(t);
  const c = client(t);
  peer.answer(200, { term: 4, success: true, memberId: 'p', position: null, config: null });
  t.strictSame(
    await c.deliver(peer.url, { type: 'handoff', clusterId: 'wire', term: 4, primaryId: 'p' }, deadline(), 'p'),
    { ok: false, refused: false, error: 'malformed reply' },
    'a handoff answered with a body instead of 204',
  );
  peer.answer(500, { error: { code: 'internal', message: 'boom' } });
  const failed = await c.deliver(peer.url, heartbeat, deadline(), 'p');
  t.match(failed, { ok: false, refused: false, error: /^HTTP 500: / }, 'an error status is an error, not a reply');
  const count = peer.received.length;
  const reply: Message = { type: 'heartbeat_response', round: 1, term: 4, success: true, memberId: 'p', position: null, config: null };
  t.match(await c.deliver(peer.url, reply, deadline(), 'p'), { ok: false, error: /not sent as a request/ }, 'a reply is never sent as a request');
  t.equal(peer.received.length, count, 'and nothing reached the peer');
});

t.test('a reply that names another member than the one asked is no reply: an identity mismatch', async (t) => {
  const peer = await fakePeer(t);
  const c = client(t);
  peer.answer(200, { granted: true, term: 4, voterId: 'b' });
  t.strictSame(
    await c.deliver(peer.url, voteRequest, deadline(), 'c'),
    { ok: false, refused: false, error: `identity mismatch: c at ${peer.url} answered as b`, answeredAs: 'b' },
    'a granted vote from b, asked of c, is not a vote',
  );
  peer.answer(200, { granted: false, term: 4, voterId: 'b', reason: { code: 'already_voted', term: 4, votedFor: 'x' } });
  t.match(await c.deliver(peer.url, voteRequest, deadline(), 'c'), { ok: false, answeredAs: 'b' }, 'nor is a refusal');
  peer.answer(200, { term: 4, success: true, memberId: 'b', position: { term: 4, lsn: 5 }, config: { term: 4, version: 1 } });
  t.strictSame(
    await c.deliver(peer.url, heartbeat, deadline(), 'c'),
    { ok: false, refused: false, error: `identity mismatch: c at ${peer.url} answered as b`, answeredAs: 'b' },
    'an acknowledged heartbeat from b, sent to c, is not an acknowledgement',
  );
  t.match(await c.deliver(peer.url, heartbeat, deadline(), 'b'), { ok: true }, 'the same reply is accepted from the member asked');
});
