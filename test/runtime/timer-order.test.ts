// The election timer and queued I/O: when a follower's election deadline
// passes while its process could not run (a CPU-throttled period, a garbage
// collection pause), a heartbeat that arrived meanwhile is already waiting
// in the socket. The runtime judges the deadline only after the event loop's
// next I/O poll, so that heartbeat is taken first and no election starts.
// The pause is made deterministic: the heartbeat is written to a connected
// socket (it is in the kernel's buffer once write returns), then this process
// busy-waits past the deadline without yielding, so both the timer and the
// socket are ready when the event loop next runs.

import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import type { Member } from '../../src/core/index.js';
import { DEFAULT_TIMINGS } from '../../src/core/index.js';
import { initialConfig } from '../../src/runtime/bootstrap.js';
import { NodeRuntime } from '../../src/runtime/node-runtime.js';
import type { HeartbeatBody } from '../../src/runtime/service.js';
import { FileStore } from '../../src/store/index.js';
import { freePort } from '../kit/cluster.js';
import { CLUSTER_NAME, TIMINGS } from './support.js';

/** The value of a counter of this runtime, summed over the labels that match. */
async function counter(runtime: NodeRuntime, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = runtime.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

/** One keep-alive HTTP/1.1 connection written by hand, so a request is on the wire the moment send returns. */
class RawConnection {
  private buffer = '';
  private waiting: ((reply: { status: number; body: unknown }) => void) | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.deliver();
    });
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** send writes one POST; its reply comes from next(). */
  send(path: string, body: unknown): void {
    const text = JSON.stringify(body);
    this.socket.write(
      `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    );
  }

  next(): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.deliver();
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private deliver(): void {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (this.waiting === null || end < 0) return;
    const head = this.buffer.slice(0, end);
    const length = Number(/^content-length: *(\d+)$/im.exec(head)?.[1] ?? 0);
    if (this.buffer.length < end + 4 + length) return;
    const body = this.buffer.slice(end + 4, end + 4 + length);
    this.buffer = this.buffer.slice(end + 4 + length);
    const resolve = this.waiting;
    this.waiting = null;
    resolve({ status: Number(head.split(' ')[1]), body: JSON.parse(body) });
  }
}

t.test('a heartbeat queued before the election deadline fires is handled before the deadline is judged', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'quorumd-timer-'));
  const [port, b, c] = await Promise.all([freePort(), freePort(), freePort()]);
  // b plays the primary (this test writes its heartbeats); nothing listens on
  // b's or c's port. The cluster is past its bootstrap, so a deadline judged
  // passed would start a pre-vote at once.
  const members: Member[] = [
    { id: 'a', url: `http://127.0.0.1:${port}`, kind: 'data', state: 'voting' },
    { id: 'b', url: `http://127.0.0.1:${b}`, kind: 'data', state: 'voting' },
    { id: 'c', url: `http://127.0.0.1:${c}`, kind: 'data', state: 'voting' },
  ];
  const runtime = new NodeRuntime({
    id: 'a',
    initialConfig: { ...initialConfig(CLUSTER_NAME, members, TIMINGS), term: 1 },
    store: new FileStore(join(dataDir, 'state.json')),
    timings: TIMINGS,
    token: null,
    onRoleChange: null,
    roleChangeTimeoutMs: 1000,
    dataDir,
    logger: pino({ level: 'silent' }),
    seed: 7,
  });
  const app = buildApp({ service: runtime, token: null });
  await app.listen({ host: '127.0.0.1', port });
  const conn = await RawConnection.open(port);
  t.teardown(async () => {
    conn.close();
    await runtime.stop();
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  runtime.start();
  runtime.reportPosition({ term: 0, lsn: 0 });

  // A heartbeat of b's, term 2, as b would send it holding a's configuration.
  const status = runtime.status();
  const view = runtime.members();
  const heartbeat: HeartbeatBody = {
    term: 2,
    primaryId: 'b',
    commitWatermark: { term: 0, lsn: 0 },
    config: {
      clusterId: status.clusterId!,
      term: 2,
      version: view.version,
      members: view.members.map((m) => ({ id: m.id, url: m.url, kind: m.kind, state: m.state })),
      timings: { ...TIMINGS, clockDriftBound: DEFAULT_TIMINGS.clockDriftBound },
    },
  };
  conn.send('/heartbeat', heartbeat);
  const first = await conn.next();
  t.equal(first.status, 200);
  t.match(first.body, { success: true, term: 2 }, 'a follows b in term 2');
  const followedAt = performance.now();

  // The next heartbeat is in a's socket, then the process stalls past a's
  // election deadline (at most the timeout plus its jitter after the first).
  conn.send('/heartbeat', heartbeat);
  const stallUntil = followedAt + TIMINGS.electionTimeoutMs + TIMINGS.electionJitterMs + 100;
  while (performance.now() < stallUntil) {
    // Busy: the event loop runs neither the timer nor the socket meanwhile.
  }
  const second = await conn.next();
  t.equal(second.status, 200);
  t.match(second.body, { success: true, term: 2 }, 'the waiting heartbeat is taken');
  t.equal(await counter(runtime, 'quorumd_role_changes_total', { role: 'precandidate' }), 0, 'no pre-vote started');
  t.equal(await counter(runtime, 'quorumd_elections_total'), 0, 'no election was stood in');
  t.match(runtime.status(), { role: 'follower', term: 2, primaryId: 'b' }, 'a still follows b in term 2');
});
