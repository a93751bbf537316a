// Each route's happy path, over the real app and a recording service: the
// route passes exactly the request's fields to the service, once, and answers
// with the service's reply, field for field, and the documented status.

import t from 'tap';
import { ApiError } from '../../src/errors.js';
import { auth, setup, statusView, validHandoff, validHeartbeat, validVote } from './fixtures/helpers.js';

t.test('POST /vote as a ballot passes the body to the service and answers its vote', async (t) => {
  const { app, service } = setup(t);
  const res = await app.inject({ method: 'POST', url: '/vote', headers: auth, payload: validVote() });
  t.equal(res.statusCode, 200);
  t.strictSame(res.json(), { granted: true, term: 8, voterId: 'n1' });
  t.strictSame(service.calls, [{ method: 'vote', args: [validVote()] }]);
});

t.test('POST /vote as a probe (dryRun true) with the handoff flag reaches the service unchanged', async (t) => {
  const { app, service } = setup(t);
  const body = { ...validVote(), dryRun: true, handoff: true };
  const res = await app.inject({ method: 'POST', url: '/vote', headers: auth, payload: body });
  t.equal(res.statusCode, 200);
  t.strictSame(service.calls, [{ method: 'vote', args: [body] }]);
});

t.test('POST /vote answers a refusal with its code and every detail', async (t) => {
  const { app, service } = setup(t);
  const refusals = [
    { code: 'primary_alive', primaryId: null, lastHeartbeatAgoMs: 12.625 },
    { code: 'primary_alive', primaryId: 'n3', lastHeartbeatAgoMs: 0 },
    { code: 'log_behind', candidatePosition: { term: 7, lsn: 1 }, voterPosition: { term: 7, lsn: 120 } },
    { code: 'watermark_not_covered', candidatePosition: { term: 6, lsn: 1 }, commitWatermark: { term: 7, lsn: 100 } },
    { code: 'stale_term', candidateTerm: 3, voterTerm: 7 },
    { code: 'already_voted', term: 8, votedFor: 'n3' },
    { code: 'not_voting', voterId: 'n1', why: 'catching_up' },
    { code: 'not_a_member', candidateId: 'n9' },
    { code: 'not_electable', candidateId: 'w1' },
  ] as const;
  for (const reason of refusals) {
    service.voteReply = { granted: false, term: 7, voterId: 'n1', reason };
    const res = await app.inject({ method: 'POST', url: '/vote', headers: auth, payload: validVote() });
    t.equal(res.statusCode, 200, reason.code);
    t.strictSame(res.json(), { granted: false, term: 7, voterId: 'n1', reason }, `${reason.code} comes back whole`);
  }
});

t.test("POST /heartbeat passes the heartbeat to the service and answers the member's term and position", async (t) => {
  const { app, service } = setup(t);
  const body = { ...validHeartbeat(), handoffTo: 'n1' };
  const res = await app.inject({ method: 'POST', url: '/heartbeat', headers: auth, payload: body });
  t.equal(res.statusCode, 200);
  t.strictSame(res.json(), { term: 8, success: true, memberId: 'n1', position: { term: 7, lsn: 120 }, config: { term: 6, version: 3 } });
  t.strictSame(service.calls, [{ method: 'heartbeat', args: [body] }]);

  service.heartbeatReply = { term: 9, success: false, memberId: 'n1', position: null, config: null };
  const witness = await app.inject({ method: 'POST', url: '/heartbeat', headers: auth, payload: validHeartbeat() });
  t.strictSame(witness.json(), { term: 9, success: false, memberId: 'n1', position: null, config: null }, 'a null position and config stay null');
});

t.test('POST /handoff hands the body to the service and answers 204 with no body', async (t) => {
  const { app, service } = setup(t);
  const res = await app.inject({ method: 'POST', url: '/handoff', headers: auth, payload: validHandoff() });
  t.equal(res.statusCode, 204);
  t.equal(res.body, '');
  t.strictSame(service.calls, [{ method: 'handoff', args: [validHandoff()] }]);
});

t.test("GET /members answers the service's membership view", async (t) => {
  const { app, service } = setup(t);
  const res = await app.inject({ method: 'GET', url: '/members' });
  t.equal(res.statusCode, 200);
  t.strictSame(res.json(), service.membersReply);
  t.strictSame(service.calls, [{ method: 'members', args: [] }]);
});

t.test("GET /status answers the service's status, and only its documented fields", async (t) => {
  const { app, service } = setup(t);
  service.statusReply = { ...statusView({ role: 'primary', primaryId: 'n1', lease: { holds: true, remainingMs: 90 } }), internal: 'x' } as ReturnType<
    typeof statusView
  >;
  const res = await app.inject({ method: 'GET', url: '/status' });
  t.equal(res.statusCode, 200);
  t.strictSame(res.json(), statusView({ role: 'primary', primaryId: 'n1', lease: { holds: true, remainingMs: 90 } }));
  t.notOk('internal' in res.json(), 'an undocumented field never leaks');
});

t.test('PUT /log reports the position to the service and answers the status after it, with the lease', async (t) => {
  const { app, service } = setup(t);
  const res = await app.inject({ method: 'PUT', url: '/log', headers: auth, payload: { term: 7, lsn: 121 } });
  t.equal(res.statusCode, 200);
  t.strictSame(res.json(), { ...statusView(), leaseRemainingMs: null });
  t.strictSame(service.calls, [{ method: 'reportPosition', args: [{ term: 7, lsn: 121 }] }]);

  // The agent's clock reading goes to the service; the lease comes back on that clock.
  service.leaseReply = { leaseUntil: 1_000_085 };
  const timed = await app.inject({ method: 'PUT', url: '/log', headers: auth, payload: { term: 7, lsn: 122, agentClockMs: 1_000_000 } });
  t.equal(timed.statusCode, 200);
  t.strictSame(timed.json(), { ...statusView(), leaseUntil: 1_000_085 });
  t.strictSame(service.calls[1], { method: 'reportPosition', args: [{ term: 7, lsn: 122, agentClockMs: 1_000_000 }] });
});

t.test("PUT /log on a witness answers the runtime's 409 in the error shape", async (t) => {
  const { app, service } = setup(t);
  service.failWith = new ApiError(409, 'witness_has_no_log', 'a witness holds no data, so it has no log position to report');
  const res = await app.inject({ method: 'PUT', url: '/log', headers: auth, payload: { term: 7, lsn: 121 } });
  t.equal(res.statusCode, 409);
  t.strictSame(res.json(), { error: { code: 'witness_has_no_log', message: 'a witness holds no data, so it has no log position to report' } });
});

t.test('POST /switchover passes the target, or null without one, and answers each outcome with its status', async (t) => {
  const { app, service } = setup(t);
  const named = await app.inject({ method: 'POST', url: '/switchover', headers: auth, payload: { target: 'n2' } });
  t.equal(named.statusCode, 200);
  t.strictSame(named.json(), { status: 'completed', target: 'n2', term: 9 });
  const best = await app.inject({ method: 'POST', url: '/switchover', headers: auth, payload: {} });
  t.equal(best.statusCode, 200);
  t.strictSame(service.calls, [
    { method: 'switchover', args: ['n2'] },
    { method: 'switchover', args: [null] },
  ]);

  service.switchoverReply = { status: 'started', target: 'n3' };
  const started = await app.inject({ method: 'POST', url: '/switchover', headers: auth, payload: {} });
  t.equal(started.statusCode, 202, 'started');
  t.strictSame(started.json(), { status: 'started', target: 'n3' });

  // A refusal and an abandonment are errors, in the one error shape.
  const errors = [
    [
      { status: 'refused', reason: 'this node is not the primary' },
      { code: 'switchover_refused', message: 'this node is not the primary' },
    ],
    [
      { status: 'abandoned', target: 'n3' },
      { code: 'switchover_abandoned', message: 'the switchover to n3 was abandoned: it did not take over in time' },
    ],
  ] as const;
  for (const [outcome, error] of errors) {
    service.switchoverReply = outcome;
    const res = await app.inject({ method: 'POST', url: '/switchover', headers: auth, payload: {} });
    t.equal(res.statusCode, 409, outcome.status);
    t.strictSame(res.json(), { error }, `${outcome.status} answers the error shape`);
  }
});

t.test('GET /history answers the terms and their primaries', async (t) => {
  const { app, service } = setup(t);
  service.historyReply = [
    { term: 1, primaryId: 'n1', at: '2024-05-01T10:00:00.000Z', reason: 'elected' },
    { term: 2, primaryId: 'n2', at: '2024-05-01T10:05:00.000Z', reason: 'heartbeat' },
  ];
  const res = await app.inject({ method: 'GET', url: '/history' });
  t.equal(res.statusCode, 200);
  t.strictSame(res.json(), service.historyReply);
});

t.test('GET /healthz and /readyz answer 200 when ok, 503 with the reason when not, never cached', async (t) => {
  const { app, service } = setup(t);
  for (const [url, field] of [
    ['/healthz', 'healthReply'],
    ['/readyz', 'readinessReply'],
  ] as const) {
    service[field] = { ok: true };
    const ok = await app.inject({ method: 'GET', url });
    t.equal(ok.statusCode, 200, `${url} ok`);
    t.strictSame(ok.json(), { ok: true });
    t.equal(ok.headers['cache-control'], 'no-store');
    service[field] = { ok: false, reason: 'store unreadable' };
    const bad = await app.inject({ method: 'GET', url });
    t.equal(bad.statusCode, 503, `${url} not ok`);
    t.strictSame(bad.json(), { ok: false, reason: 'store unreadable' });
  }
  t.strictSame(
    service.calls.map((c) => c.method),
    ['health', 'health', 'readiness', 'readiness'],
  );
});

t.test('GET /primary is 200 only for the primary, with role and term (the fencing token); 503 otherwise', async (t) => {
  const { app, service } = setup(t);
  service.primary = true;
  service.statusReply = statusView({ role: 'primary', term: 12, primaryId: 'n1' });
  const yes = await app.inject({ method: 'GET', url: '/primary' });
  t.equal(yes.statusCode, 200);
  t.strictSame(yes.json(), { id: 'n1', role: 'primary', term: 12, primaryId: 'n1' });
  t.equal(yes.headers['cache-control'], 'no-store');

  service.primary = false;
  service.statusReply = statusView({ role: 'follower', term: 13, primaryId: 'n2' });
  const no = await app.inject({ method: 'GET', url: '/primary' });
  t.equal(no.statusCode, 503);
  t.strictSame(no.json(), { id: 'n1', role: 'follower', term: 13, primaryId: 'n2' });
});

t.test('GET /replica is 200 for a healthy data follower, 503 otherwise', async (t) => {
  const { app, service } = setup(t);
  service.replica = true;
  const yes = await app.inject({ method: 'GET', url: '/replica' });
  t.equal(yes.statusCode, 200);
  t.strictSame(yes.json(), { id: 'n1', role: 'follower', term: 7, primaryId: 'n2' });
  service.replica = false;
  service.statusReply = statusView({ role: 'candidate', primaryId: null });
  const no = await app.inject({ method: 'GET', url: '/replica' });
  t.equal(no.statusCode, 503);
  t.strictSame(no.json(), { id: 'n1', role: 'candidate', term: 7, primaryId: null });
});

t.test('HEAD /primary and HEAD /replica answer the same status with no body', async (t) => {
  const { app, service } = setup(t);
  for (const [url, flag] of [
    ['/primary', 'primary'],
    ['/replica', 'replica'],
  ] as const) {
    service[flag] = true;
    const yes = await app.inject({ method: 'HEAD', url });
    t.equal(yes.statusCode, 200, `HEAD ${url} yes`);
    t.equal(yes.body, '');
    service[flag] = false;
    const no = await app.inject({ method: 'HEAD', url });
    t.equal(no.statusCode, 503, `HEAD ${url} no`);
    t.equal(no.body, '');
  }
});

t.test('GET /metrics answers the runtime registry in the Prometheus text format', async (t) => {
  const { app, service } = setup(t);
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], service.registry.contentType);
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  t.match(res.body, /^# HELP quorumd_term /m);
  t.match(res.body, /^quorumd_term 7$/m);
  t.strictSame(service.calls, [], 'metrics are read from the registry, not through a service call');
});

t.test('HEAD is served on the probe routes only, as documented', async (t) => {
  const { app, service } = setup(t);
  for (const url of ['/healthz', '/readyz', '/primary', '/replica']) {
    const res = await app.inject({ method: 'HEAD', url });
    t.ok(res.statusCode === 200 || res.statusCode === 503, `HEAD ${url} answers (${res.statusCode})`);
    t.equal(res.body, '', `HEAD ${url} has no body`);
  }
  service.healthReply = { ok: false, reason: 'store unreadable' };
  t.equal((await app.inject({ method: 'HEAD', url: '/healthz' })).statusCode, 503, 'HEAD /healthz says 503 when unhealthy');
  for (const url of ['/status', '/members', '/history', '/metrics']) {
    t.equal((await app.inject({ method: 'HEAD', url })).statusCode, 404, `no HEAD ${url}`);
  }
});
