// The primary watch finds the connection a heartbeat arrived on by itself (no
// route passes it), and reports the primary gone only once that connection
// closed and the primary's port refuses a bare connect.

import t from 'tap';
import Fastify from 'fastify';
import { request as httpRequest, Agent } from 'node:http';
import { PrimaryWatch, probeRefused } from '../../src/transport/primary-watch.js';
import { freePort, waitFor } from '../kit/cluster.js';

/** post sends one request on `agent`'s keep-alive connection and resolves with the status. */
function post(port: number, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/heartbeat', method: 'POST', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('a closed heartbeat connection and a refused port report the primary gone', async (t) => {
  const closedPort = await freePort();
  const gone: string[] = [];
  const watch = new PrimaryWatch({ probeTimeoutMs: 1000, onGone: (id) => void gone.push(id) });
  t.teardown(() => watch.close());
  const app = Fastify();
  app.post('/heartbeat', async () => {
    watch.heartbeatAccepted('p', `http://127.0.0.1:${closedPort}`);
    return { ok: true };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const port = (app.server.address() as { port: number }).port;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.equal(await post(port, agent), 200, 'the heartbeat is taken');
  t.equal(await post(port, agent), 200, 'a second one on the same connection is watched once');
  t.same(gone, [], 'nothing is reported while the connection is open');
  agent.destroy();
  await waitFor(() => gone.length > 0, 5000, 'the watch to report the primary gone');
  t.same(gone, ['p'], 'the primary is reported gone, once');
});

t.test('probeRefused: a listening port is not refused, a closed one is', async (t) => {
  const app = Fastify();
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const port = (app.server.address() as { port: number }).port;
  t.equal(await probeRefused(`http://127.0.0.1:${port}`, 1000), false, 'a listening port is not refused');
  t.equal(await probeRefused(`http://127.0.0.1:${await freePort()}`, 1000), true, 'a closed port is refused');
});

t.test('outside a route handler there is no connection, and nothing is watched', async (t) => {
  const gone: string[] = [];
  const watch = new PrimaryWatch({ probeTimeoutMs: 100, onGone: (id) => void gone.push(id) });
  watch.heartbeatAccepted('p', 'http://127.0.0.1:1');
  watch.close();
  t.same(gone, [], 'nothing reported');
});
