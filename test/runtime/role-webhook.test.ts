// The role-change webhook POSTs each event as JSON to the operator's url, one
// at a time in order; a 2xx answer is success, anything else a failure, and
// no answer in time a timeout. A real HTTP server on loopback receives them.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import t from 'tap';
import type { RoleHookEvent } from '../../src/runtime/role-hook.js';
import { RoleWebhook } from '../../src/runtime/role-webhook.js';

const logger = pino({ level: 'silent' });
const EVENT: RoleHookEvent = { nodeId: 'd2', role: 'follower', term: 4, primaryId: 'd1', primaryUrl: 'http://127.0.0.1:7401' };

/** listen starts a server answering with `answer`, and closes it when the test ends. */
async function listen(t: { teardown(fn: () => unknown): void }, answer: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<string> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => answer(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(() => r(undefined)));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

t.test('events arrive as JSON POSTs, in order; a 2xx is success, another status a failure', async (t) => {
  const got: Array<{ method: string; type: string; event: unknown }> = [];
  const url = await listen(t, (req, res, body) => {
    got.push({ method: req.method!, type: req.headers['content-type']!, event: JSON.parse(body) });
    res.statusCode = (JSON.parse(body) as RoleHookEvent).term === 5 ? 500 : 204;
    res.end();
  });
  const results: string[] = [];
  const hook = new RoleWebhook(url, 2000, logger, (r) => void results.push(r));
  const runs = [hook.run(EVENT), hook.run({ ...EVENT, term: 5 }), hook.run({ ...EVENT, role: 'primary', term: 6, primaryId: 'd2' })];
  t.same(await Promise.all(runs), ['ok', 'failed', 'ok']);
  t.same(results, ['ok', 'failed', 'ok'], 'each end reported');
  t.same(
    got.map((g) => (g.event as RoleHookEvent).term),
    [4, 5, 6],
    'in the order they happened',
  );
  t.same(got[0], { method: 'POST', type: 'application/json', event: EVENT }, 'the whole event, as JSON');
});

t.test('no answer in time is a timeout, and the next event still goes', async (t) => {
  let calls = 0;
  const url = await listen(t, (_req, res) => {
    calls++;
    if (calls === 1) return; // never answers
    res.end('ok');
  });
  const hook = new RoleWebhook(url, 200, logger);
  t.equal(await hook.run(EVENT), 'timed_out');
  t.equal(await hook.run({ ...EVENT, term: 5 }), 'ok');
});

t.test('an unreachable url is a failure', async (t) => {
  const hook = new RoleWebhook('http://127.0.0.1:9/hook', 1000, logger);
  t.equal(await hook.run(EVENT), 'failed');
});
