// The membership change routes over the real app and a recording service:
// PUT /members/{id} builds the member (a new one joins catching_up, a listed
// one keeps what the body omits) and DELETE /members/{id} names it; both
// answer the configuration in force; a bad id, a bad body or a missing
// operator credential changes nothing; every refusal of the service comes
// back with its status and code; a node that is not the primary and knows of
// none says so (forwarding itself: forward.test.ts).

import t from 'tap';
import { peerDigest } from '../../src/config.js';
import { ApiError } from '../../src/errors.js';
import { FORWARDED_HEADER } from '../../src/http/forward.js';
import { CLUSTER_ID, actions, auth, clusterConfig, isErrorBody, setup, statusView } from './fixtures/helpers.js';

t.test('PUT /members/{id} of a new member: it joins catching_up, and the reply is the committed configuration', async (t) => {
  const { app, service } = setup(t);
  const res = await app.inject({ method: 'PUT', url: '/members/n4', headers: auth, payload: { url: 'http://n4:7400', kind: 'data' } });
  t.equal(res.statusCode, 200);
  t.strictSame(service.calls, [
    { method: 'members', args: [] },
    { method: 'changeMembers', args: [{ op: 'put', member: { id: 'n4', url: 'http://n4:7400', kind: 'data', state: 'catching_up' } }] },
  ]);
  t.strictSame(res.json(), {
    status: 'committed',
    clusterId: CLUSTER_ID,
    configTerm: 6,
    version: 4,
    quorum: 2,
    voters: 3,
    members: clusterConfig().members,
    paused: false,
  });
});

t.test('PUT /members/{id} of a new member passes the state and autoPromote it was given', async (t) => {
  const { app, service } = setup(t);
  const res = await app.inject({
    method: 'PUT',
    url: '/members/w2',
    headers: auth,
    payload: { url: 'https://w2.example/q', kind: 'witness', state: 'voting', autoPromote: false },
  });
  t.equal(res.statusCode, 200);
  t.strictSame(actions(service), [
    { method: 'changeMembers', args: [{ op: 'put', member: { id: 'w2', url: 'https://w2.example/q', kind: 'witness', state: 'voting', autoPromote: false } }] },
  ]);
});

t.test('PUT /members/{id} of a listed member keeps the state and autoPromote the body omits', async (t) => {
  const { app, service } = setup(t);
  const w1 = service.membersReply.members[2]!;
  service.membersReply.members[2] = { ...w1, state: 'catching_up', autoPromote: false };
  const moved = await app.inject({ method: 'PUT', url: '/members/w1', headers: auth, payload: { url: 'http://w1-new:7400', kind: 'witness' } });
  t.equal(moved.statusCode, 200);
  const given = await app.inject({
    method: 'PUT',
    url: '/members/w1',
    headers: auth,
    payload: { url: 'http://w1:7400', kind: 'witness', state: 'voting', autoPromote: true },
  });
  t.equal(given.statusCode, 200);
  t.strictSame(actions(service), [
    {
      method: 'changeMembers',
      args: [{ op: 'put', member: { id: 'w1', url: 'http://w1-new:7400', kind: 'witness', state: 'catching_up', autoPromote: false } }],
    },
    // autoPromote true is the default, written by leaving it out.
    { method: 'changeMembers', args: [{ op: 'put', member: { id: 'w1', url: 'http://w1:7400', kind: 'witness', state: 'voting' } }] },
  ]);

  const n2 = await app.inject({ method: 'PUT', url: '/members/n2', headers: auth, payload: { url: 'http://n2:7400', kind: 'data' } });
  t.equal(n2.statusCode, 200);
  t.strictSame(actions(service)[2]?.args, [{ op: 'put', member: { id: 'n2', url: 'http://n2:7400', kind: 'data', state: 'voting' } }], 'a voter stays a voter');
});

t.test('the reply counts voters and the quorum from the configuration in force, and says unchanged when nothing changed', async (t) => {
  const { app, service } = setup(t);
  const members = [
    ...clusterConfig().members,
    { id: 'n4', url: 'http://n4:7400', kind: 'data', state: 'voting' },
    { id: 'n5', url: 'http://n5:7400', kind: 'data', state: 'catching_up', autoPromote: false },
  ] as const;
  service.changeReply = { status: 'unchanged', config: clusterConfig({ term: 9, version: 12, members }) };
  const res = await app.inject({ method: 'PUT', url: '/members/n5', headers: auth, payload: { url: 'http://n5:7400', kind: 'data' } });
  t.equal(res.statusCode, 200);
  t.strictSame(res.json(), { status: 'unchanged', clusterId: CLUSTER_ID, configTerm: 9, version: 12, quorum: 3, voters: 4, members, paused: false });
  t.notOk('timings' in res.json(), 'the timings are not part of the reply');
});

t.test('DELETE /members/{id} asks the service to remove the member and answers the configuration in force', async (t) => {
  const { app, service } = setup(t);
  service.changeReply = { status: 'committed', config: clusterConfig({ version: 4, members: clusterConfig().members.slice(0, 2) }) };
  const res = await app.inject({ method: 'DELETE', url: '/members/w1', headers: auth });
  t.equal(res.statusCode, 200);
  t.strictSame(service.calls, [{ method: 'changeMembers', args: [{ op: 'remove', id: 'w1' }] }]);
  t.strictSame(res.json(), {
    status: 'committed',
    clusterId: CLUSTER_ID,
    configTerm: 6,
    version: 4,
    quorum: 2,
    voters: 2,
    members: clusterConfig().members.slice(0, 2),
    paused: false,
  });
});

const refusals: ReadonlyArray<[status: number, code: string]> = [
  [404, 'unknown_member'],
  [409, 'change_in_progress'],
  [409, 'would_break_cluster'],
  [409, 'not_caught_up'],
  [409, 'invalid_change'],
  [409, 'hand_over_failed'],
  [503, 'change_timed_out'],
  [503, 'change_interrupted'],
  [503, 'node_failed'],
];

t.test('every refusal of the service comes back with its status, code and message, on both routes', async (t) => {
  const { app, service } = setup(t);
  for (const [status, code] of refusals) {
    service.changeFailsWith = new ApiError(status, code, `the service says ${code}`);
    for (const [method, payload] of [
      ['PUT', { url: 'http://n4:7400', kind: 'data' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await app.inject({ method, url: '/members/n4', headers: auth, ...(payload ? { payload } : {}) });
      t.equal(res.statusCode, status, `${method} ${code}: ${status}`);
      t.strictSame(res.json(), { error: { code, message: `the service says ${code}` } }, `${method} ${code}: the body`);
      t.equal(res.headers['x-quorumd-forwarded-to'], undefined, `${method} ${code}: not forwarded`);
    }
  }
  t.equal(actions(service).length, refusals.length * 2);
});

t.test('an unexpected error of the service is a 500 that says nothing of it', async (t) => {
  const { app, service } = setup(t);
  service.changeFailsWith = new Error('secret: the store is at /var/lib/quorumd');
  const res = await app.inject({ method: 'DELETE', url: '/members/n4', headers: auth });
  t.equal(res.statusCode, 500);
  t.strictSame(res.json(), { error: { code: 'internal_error', message: 'internal error' } });
});

t.test('a bad member id in the path is a 400 naming it, on both routes, and nothing is asked of the service', async (t) => {
  const { app, service } = setup(t);
  const badIds: ReadonlyArray<[why: string, segment: string, shown: string]> = [
    ['with a space', 'n%204', '"n 4"'],
    ['with an encoded slash', 'n%2F4', '"n/4"'],
    ['outside ASCII', 'n%C3%A9', '"n\u00e9"'],
    ['65 characters', 'x'.repeat(65), `"${'x'.repeat(65)}"`],
  ];
  for (const [why, segment, shown] of badIds) {
    for (const method of ['PUT', 'DELETE'] as const) {
      const res = await app.inject({
        method,
        url: `/members/${segment}`,
        headers: auth,
        ...(method === 'PUT' ? { payload: { url: 'http://n4:7400', kind: 'data' } } : {}),
      });
      t.equal(res.statusCode, 400, `${method} ${why}: 400`);
      t.ok(isErrorBody(res.json()), `${method} ${why}: the error shape`);
      t.strictSame(
        res.json(),
        {
          error: {
            code: 'invalid_request',
            message: `id must be 1 to 64 characters of A-Z, a-z, 0-9, ".", "_" and "-"; got ${shown.slice(0, 72)}`,
            field: 'id',
          },
        },
        `${method} ${why}: says what an id is`,
      );
    }
  }
  const none = await app.inject({ method: 'DELETE', url: '/members/', headers: auth });
  t.equal(none.statusCode, 400, 'an empty id: 400');
  t.strictSame(service.calls, [], 'the service was never reached');
});

t.test('a body of the wrong shape is a 400 naming the field, and nothing is asked of the service', async (t) => {
  const { app, service } = setup(t);
  const cases: ReadonlyArray<[why: string, payload: unknown, field: string, message: RegExp]> = [
    ['an unknown field', { url: 'http://n4:7400', kind: 'data', id: 'n4' }, 'id', /^unknown field id: the fields are url, kind, state, autoPromote, priority$/],
    ['autoPromote as a string', { url: 'http://n4:7400', kind: 'data', autoPromote: 'yes' }, 'autoPromote', /^autoPromote must be true or false; got "yes"$/],
    ['a kind that is none', { url: 'http://n4:7400', kind: 'replica' }, 'kind', /^kind must be one of "data" and "witness"; got "replica"$/],
    ['a missing url', { kind: 'data' }, 'url', /^url is required$/],
  ];
  for (const [why, payload, field, message] of cases) {
    const res = await app.inject({ method: 'PUT', url: '/members/n4', headers: auth, payload: payload as object });
    t.equal(res.statusCode, 400, `${why}: 400`);
    t.equal(res.json().error.field, field, `${why}: field`);
    t.match(res.json().error.message, message, `${why}: message`);
  }
  const big = await app.inject({
    method: 'PUT',
    url: '/members/n4',
    headers: { ...auth, 'content-type': 'application/json' },
    payload: JSON.stringify({ url: `http://n4:7400/${'p'.repeat(20_000)}`, kind: 'data' }),
  });
  t.equal(big.statusCode, 413, 'an oversized body: 413');
  t.strictSame(service.calls, [], 'the service was never reached');
});

t.test('membership changes take an operator credential: a peer or agent token is 403, none is 401', async (t) => {
  const OPERATOR = 'operator-token-0123456789';
  const credentials = {
    peers: { n2: [peerDigest('peer-token-of-n2-0123456789')] },
    agentTokens: ['agent-token-0123456789'],
    operatorTokens: [OPERATOR],
  };
  const { app, service } = setup(t, { credentials });
  for (const method of ['PUT', 'DELETE'] as const) {
    const payload = method === 'PUT' ? { payload: { url: 'http://n4:7400', kind: 'data' } } : {};
    const none = await app.inject({ method, url: '/members/n4', ...payload });
    t.equal(none.statusCode, 401, `${method} without a credential`);
    for (const other of ['peer-token-of-n2-0123456789', 'agent-token-0123456789']) {
      const res = await app.inject({ method, url: '/members/n4', headers: { authorization: `Bearer ${other}` }, ...payload });
      t.equal(res.statusCode, 403, `${method} with ${other.slice(0, 10)}...`);
      t.equal(res.json().error.code, 'forbidden');
    }
    t.strictSame(service.calls, [], `${method}: the service was never reached`);
    const ok = await app.inject({ method, url: '/members/n4', headers: { authorization: `Bearer ${OPERATOR}` }, ...payload });
    t.equal(ok.statusCode, 200, `${method} with an operator token`);
    service.calls.length = 0;
  }
});

t.test('not the primary and none known: 503 no_primary with Retry-After of about an election', async (t) => {
  const { app, service } = setup(t);
  service.changeFailsWith = new ApiError(409, 'not_primary', 'this node is not the primary');
  service.primaryUrlReply = null;
  const res = await app.inject({ method: 'PUT', url: '/members/n4', headers: auth, payload: { url: 'http://n4:7400', kind: 'data' } });
  t.equal(res.statusCode, 503);
  t.equal(res.json().error.code, 'no_primary');
  t.equal(res.headers['retry-after'], '1', 'the default timings elect within a second');
  t.equal(res.headers['x-quorumd-forwarded-to'], undefined);

  service.statusReply = statusView({ primaryId: null, timings: { heartbeatMs: 500, electionTimeoutMs: 4_000, electionJitterMs: 1_500, leaseMs: 3_000 } });
  const slow = await app.inject({ method: 'DELETE', url: '/members/n4', headers: auth });
  t.equal(slow.statusCode, 503);
  t.equal(slow.json().error.code, 'no_primary');
  t.equal(slow.headers['retry-after'], '6', '4 s of timeout and 1.5 s of jitter, rounded up');
});

t.test('a forwarded request that finds no primary here is answered 503 not_primary, never forwarded again', async (t) => {
  const { app, service } = setup(t);
  service.changeFailsWith = new ApiError(409, 'not_primary', 'this node is not the primary');
  const res = await app.inject({
    method: 'PUT',
    url: '/members/n4',
    headers: { ...auth, [FORWARDED_HEADER]: '1' },
    payload: { url: 'http://n4:7400', kind: 'data' },
  });
  t.equal(res.statusCode, 503);
  t.equal(res.json().error.code, 'not_primary');
  t.match(res.json().error.message, /already forwarded once/);
  t.notOk(
    service.calls.some((c) => c.method === 'primaryUrl'),
    'the primary was not even looked up',
  );
});
