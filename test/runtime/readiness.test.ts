// /readyz means "able to take part in quorum" (issue 12): healthy, a voting
// member of the configuration it holds, and a data node with a position its
// agent reported. It does not ask for a primary: the members of a cluster
// that has none stay ready while they elect one, so a Service keeps their
// endpoints and a PodDisruptionBudget counts them.

import { pino } from 'pino';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import type { Member } from '../../src/core/index.js';
import { initialConfig } from '../../src/runtime/bootstrap.js';
import { NodeRuntime } from '../../src/runtime/node-runtime.js';
import { MemoryStore } from '../../src/store/index.js';
import { freePort } from '../kit/cluster.js';
import { CLUSTER_NAME, TIMINGS, startLocalCluster } from './support.js';

type Teardown = { teardown(fn: () => unknown): void; testdir(): string };

/** lone starts node `a` of `members` (null: started to join), whose peers never answer; no agent report. */
async function lone(t: Teardown, members: Member[] | null) {
  const runtime = new NodeRuntime({
    id: 'a',
    initialConfig: members === null ? null : initialConfig(CLUSTER_NAME, members, TIMINGS),
    store: new MemoryStore({ location: 'memory:a' }),
    timings: TIMINGS,
    token: null,
    onRoleChange: null,
    roleChangeTimeoutMs: 1000,
    dataDir: t.testdir(),
    logger: pino({ level: 'silent' }),
    seed: 3,
  });
  const app = buildApp({ service: runtime, token: null });
  t.teardown(async () => {
    await runtime.stop();
    await app.close();
  });
  runtime.start();
  const readyz = async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    return { status: res.statusCode, body: res.json() as { ok: boolean; reason?: string } };
  };
  return { runtime, readyz };
}

async function threeMembers(self: Pick<Member, 'kind' | 'state'>): Promise<Member[]> {
  const [a, b, c] = await Promise.all([freePort(), freePort(), freePort()]);
  return [
    { id: 'a', url: `http://127.0.0.1:${a}`, ...self },
    { id: 'b', url: `http://127.0.0.1:${b}`, kind: 'data', state: 'voting' },
    { id: 'c', url: `http://127.0.0.1:${c}`, kind: 'data', state: 'voting' },
  ];
}

t.test('the members of a cluster that has no primary are ready: they can take part in the quorum that elects one', async (t) => {
  // x is listed but never runs, and a new cluster's first election waits to
  // hear every voter: no primary, whatever the timing.
  const cluster = await startLocalCluster(t, [
    { id: 'a', kind: 'data' },
    { id: 'b', kind: 'data' },
    { id: 'w', kind: 'witness' },
    { id: 'x', kind: 'data', running: false },
  ]);
  for (const node of cluster.nodes.values()) {
    const res = await node.app.inject({ method: 'GET', url: '/readyz' });
    t.equal(res.statusCode, 200, `${node.id} is ready`);
    t.strictSame(res.json(), { ok: true });
    t.not(node.runtime.status().role, 'primary', `${node.id} is not the primary`);
  }
});

t.test('a data node is ready once its agent reported a position, primary or not', async (t) => {
  const node = await lone(t, await threeMembers({ kind: 'data', state: 'voting' }));
  t.strictSame(await node.readyz(), { status: 503, body: { ok: false, reason: 'no log position reported by its agent yet' } });
  node.runtime.reportPosition({ term: 0, lsn: 0 });
  t.strictSame(await node.readyz(), { status: 200, body: { ok: true } }, 'ready with a report, though it hears no primary');
});

t.test('a witness needs no report', async (t) => {
  const node = await lone(t, await threeMembers({ kind: 'witness', state: 'voting' }));
  t.strictSame(await node.readyz(), { status: 200, body: { ok: true } });
});

t.test('a member that does not vote (catching up) is not ready, even with a report', async (t) => {
  const node = await lone(t, await threeMembers({ kind: 'data', state: 'catching_up' }));
  node.runtime.reportPosition({ term: 0, lsn: 0 });
  t.strictSame(await node.readyz(), { status: 503, body: { ok: false, reason: 'not a voter: its state is catching_up' } });
});

t.test('a node started to join, holding no configuration yet, is not ready', async (t) => {
  const node = await lone(t, null);
  node.runtime.reportPosition({ term: 0, lsn: 0 });
  t.strictSame(await node.readyz(), { status: 503, body: { ok: false, reason: 'joining: holds no cluster configuration yet' } });
});
