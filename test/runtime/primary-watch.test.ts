// The primary watch finds the connection a heartbeat arrived on by itself (no
// route passes it), and reports the primary gone only once that connection
// closed and the primary's port refuses a bare connect.

import t, { type Test } from 'tap';
import Fastify from 'fastify';
import { request as httpRequest, Agent } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { PrimaryWatch, probeRefused, probeRefusedWithin } from '../../src/transport/primary-watch.js';
import { freePort, waitFor } from '../kit/cluster.js';

/** listen serves `onConnection` on a loopback port and returns the server and its url. */
async function listen(onConnection: (socket: Socket, server: Server) => void): Promise<{ server: Server; url: string }> {
  const server: Server = createServer((socket) => onConnection(socket, server));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

/**
 * dyingPrimary listens as a killed primary's port does for a moment: its
 * kernel closes the process's descriptors one at a time, so the heartbeat
 * connection can close while the listening socket still accepts. It takes
 * the first connection, then resets it and stops listening, as the rest of
 * the exit does. `accepted` counts the connections it took.
 */
async function dyingPrimary(): Promise<{ server: Server; url: string; accepted: () => number }> {
  let accepted = 0;
  const { server, url } = await listen((socket, server) => {
    accepted++;
    socket.resetAndDestroy();
    server.close();
  });
  return { server, url, accepted: () => accepted };
}

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

/**
 * watchedHeartbeats serves POST /heartbeat on loopback, each heartbeat taken
 * as from primary p at `primaryUrl`, and collects what the watch reports gone.
 */
async function watchedHeartbeats(t: Test, primaryUrl: string, probeAgainForMs: number): Promise<{ gone: string[]; port: number }> {
  const gone: string[] = [];
  const watch = new PrimaryWatch({ probeTimeoutMs: 1000, probeAgainForMs, onGone: (id) => void gone.push(id) });
  t.teardown(() => watch.close());
  const app = Fastify();
  app.post('/heartbeat', async () => {
    watch.heartbeatAccepted('p', primaryUrl);
    return { ok: true };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  return { gone, port: (app.server.address() as { port: number }).port };
}

t.test('a closed heartbeat connection and a refused port report the primary gone', async (t) => {
  const closedPort = await freePort();
  const { gone, port } = await watchedHeartbeats(t, `http://127.0.0.1:${closedPort}`, 50);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.equal(await post(port, agent), 200, 'the heartbeat is taken');
  t.equal(await post(port, agent), 200, 'a second one on the same connection is watched once');
  t.same(gone, [], 'nothing is reported while the connection is open');
  agent.destroy();
  await waitFor(() => gone.length > 0, 5000, 'the watch to report the primary gone');
  t.same(gone, ['p'], 'the primary is reported gone, once');
});

t.test('a heartbeat connection that closes a moment before the primary stops listening still reports it gone', async (t) => {
  const primary = await dyingPrimary();
  t.teardown(() => void primary.server.close());
  const { gone, port } = await watchedHeartbeats(t, primary.url, 1000);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.equal(await post(port, agent), 200, 'the heartbeat is taken');
  agent.destroy();
  await waitFor(() => gone.length > 0, 5000, 'the watch to report the primary gone');
  t.equal(primary.accepted(), 1, 'the first probe was accepted by the dying listener');
  t.same(gone, ['p'], 'a later probe was refused, and the primary reported gone');
});

t.test('probeRefusedWithin: an accepted probe is sent again until refused, within the bound', async (t) => {
  const dying = await dyingPrimary();
  t.teardown(() => void dying.server.close());
  t.equal(await probeRefusedWithin(dying.url, 1000, 1000), true, 'refused once the listener is gone');
  t.equal(dying.accepted(), 1, 'after one accepted probe');
  let taken = 0;
  const live = await listen((socket) => {
    taken++;
    socket.destroy();
  });
  t.teardown(() => void live.server.close());
  t.equal(await probeRefusedWithin(live.url, 1000, 1000), false, 'a port that keeps listening is never refused');
  t.ok(taken > 1, `it was probed again before the bound passed (${taken} probes)`);
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
  const watch = new PrimaryWatch({ probeTimeoutMs: 100, probeAgainForMs: 50, onGone: (id) => void gone.push(id) });
  watch.heartbeatAccepted('p', 'http://127.0.0.1:1');
  watch.close();
  t.same(gone, [], 'nothing reported');
});
