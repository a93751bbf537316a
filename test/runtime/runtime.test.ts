// The runtime against real HTTP on loopback, in one process: it persists
// before it answers, a failed persist is fatal and grants nothing, bad input
// through the real routes changes nothing, a planned switchover passes leadership over
// without a moment of two primaries, and a lost state file stops start-up.

import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { pino } from 'pino';
import { initialConfig } from '../../src/runtime/bootstrap.js';
import { NodeRuntime } from '../../src/runtime/node-runtime.js';
import { FileStore, MemoryStore, StateFileError } from '../../src/store/index.js';
import { waitFor } from '../kit/cluster.js';
import { CLUSTER_NAME, TIMINGS, awaitPrimary, ballot, loneVoter, startLocalCluster, voteFields } from './support.js';

const TOKEN = 'runtime-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

t.test('three in-process nodes over loopback HTTP elect one primary that all agree on', async (t) => {
  const cluster = await startLocalCluster(t, [
    { id: 'a', kind: 'data' },
    { id: 'b', kind: 'data' },
    { id: 'w', kind: 'witness' },
  ]);
  const primary = await awaitPrimary(cluster);
  const statuses = [...cluster.nodes.values()].map((n) => n.runtime.status());
  t.equal(statuses.filter((s) => s.role === 'primary').length, 1, 'one primary');
  t.ok(
    statuses.every((s) => s.term === primary.runtime.status().term),
    'one term',
  );
  t.not(primary.id, 'w', 'the witness does not lead');
  const history = primary.runtime.history();
  t.equal(history.at(-1)?.primaryId, primary.id, 'the history records the primary of the term');
  t.equal(history.at(-1)?.reason, 'elected', 'and that it won the election');
});

t.test('a granted ballot is on disk before the reply leaves', async (t) => {
  const voter = await loneVoter(t, (dir) => new FileStore(join(dir, 'state.json')));
  const term = voter.runtime.status().term + 5;
  await waitFor(async () => (await ballot(voter, 'c', term)).json().granted === true, 5000, 'the ballot to be granted');
  const onDisk = JSON.parse(readFileSync(join(voter.dataDir, 'state.json'), 'utf8')) as { state: { term: number; votedFor: string } };
  t.equal(onDisk.state.term, term, 'the granted term is in the state file');
  t.equal(onDisk.state.votedFor, 'c', 'and so is the vote');
});

t.test('a runtime that took long to start stays loyal for an election timeout from its start, not from when it was built', async (t) => {
  // Proves the start-up loyalty is timed from when the node can first answer:
  // its runtime was built two election timeouts before it started.
  const voter = await loneVoter(t, () => new MemoryStore({ location: 'memory:a' }), undefined, 2 * TIMINGS.electionTimeoutMs);
  const term = voter.runtime.status().term + 1;
  const reply = (await ballot(voter, 'c', term)).json();
  t.equal(reply.granted, false, 'a ballot right after the start is refused');
  t.equal(reply.reason?.code, 'primary_alive', 'out of loyalty to a primary it cannot know yet');
  t.equal(voter.runtime.status().votedFor, null, 'and nothing was granted');
});

t.test('a failed persist is fatal: the ballot is not granted, the node reports unhealthy and answers nothing more', async (t) => {
  const store = new MemoryStore({ location: 'memory:a' });
  const fatal: Error[] = [];
  const voter = await loneVoter(
    t,
    () => store,
    (err) => fatal.push(err),
  );
  const before = voter.runtime.status();
  // Wait out the start-up loyalty with probes, which persist nothing.
  await waitFor(async () => (await ballot(voter, 'c', before.term + 3, true)).json().granted === true, 5000, 'the voter to grant probes');
  store.failNextSave(new Error('EIO: fsync failed'));
  const res = await ballot(voter, 'c', before.term + 3);
  t.equal(res.statusCode, 503, 'the ballot is answered 503, not granted');
  t.match(res.json(), { error: { code: 'node_failed' } });
  t.equal(fatal.length, 1, 'the fatal hook ran once');
  t.match(fatal[0]?.message, /fsync failed/, 'with the cause');
  t.equal(store.load()?.term, before.term, 'nothing new is on disk');
  const health = await voter.app.inject({ method: 'GET', url: '/healthz' });
  t.equal(health.statusCode, 503, '/healthz reports the failure');
  const again = await ballot(voter, 'c', before.term + 3, true);
  t.equal(again.statusCode, 503, 'later requests are refused too');
});

t.test('bad input through the real routes is refused and changes neither the node nor its state file', async (t) => {
  const cluster = await startLocalCluster(
    t,
    [
      { id: 'a', kind: 'data' },
      { id: 'b', kind: 'data' },
      { id: 'c', kind: 'data' },
    ],
    { token: TOKEN },
  );
  const primary = await awaitPrimary(cluster);
  const node = [...cluster.nodes.values()].find((n) => n !== primary)!;
  const file = join(node.dataDir, 'state.json');
  // Every bad vote is a good one of this cluster but for the one field named.
  const vote = (fields: Record<string, unknown>) => ({
    ...voteFields(node),
    candidateId: 'b',
    term: 9,
    lastLogTerm: 0,
    lastLogLsn: 0,
    dryRun: false,
    ...fields,
  });
  const bad: Array<{ url: string; method: 'POST' | 'PUT'; headers?: Record<string, string>; payload: unknown; status: number }> = [
    { method: 'POST', url: '/vote', headers: auth, payload: vote({ term: 2 ** 53 }), status: 400 },
    { method: 'POST', url: '/vote', headers: auth, payload: vote({ term: 1.5 }), status: 400 },
    { method: 'POST', url: '/vote', headers: auth, payload: vote({ extra: 1 }), status: 400 },
    { method: 'POST', url: '/vote', headers: auth, payload: vote({ candidateId: 'b c' }), status: 400 },
    { method: 'POST', url: '/vote', headers: auth, payload: vote({ clusterId: undefined }), status: 400 },
    { method: 'POST', url: '/vote', headers: auth, payload: vote({ config: { term: 0 } }), status: 400 },
    { method: 'POST', url: '/vote', headers: auth, payload: vote({ config: null }), status: 400 },
    { method: 'POST', url: '/vote', payload: vote({}), status: 401 },
    { method: 'POST', url: '/vote', headers: { ...auth, authorization: 'Bearer wrong-token-wrong-token' }, payload: vote({}), status: 401 },
    { method: 'PUT', url: '/log', headers: auth, payload: { term: -1, lsn: 3 }, status: 400 },
    { method: 'PUT', url: '/log', headers: auth, payload: { term: 1, lsn: '3' }, status: 400 },
    { method: 'POST', url: '/heartbeat', headers: auth, payload: { term: 99 }, status: 400 },
    { method: 'POST', url: '/vote', headers: auth, payload: 'x'.repeat(20_000), status: 413 },
  ];
  for (const req of bad) {
    const beforeStatus = node.runtime.status();
    const beforeFile = readFileSync(file);
    const res = await node.app.inject({
      method: req.method,
      url: req.url,
      headers: req.headers ?? { 'content-type': 'application/json' },
      payload: req.payload as string,
    });
    t.equal(res.statusCode, req.status, `${req.method} ${req.url} ${JSON.stringify(req.payload).slice(0, 60)} -> ${req.status}`);
    const after = node.runtime.status();
    t.same([after.term, after.votedFor, after.position], [beforeStatus.term, beforeStatus.votedFor, beforeStatus.position], 'the node is unchanged');
    t.ok(readFileSync(file).equals(beforeFile), 'the state file is unchanged');
  }
  const unknown = await node.app.inject({
    method: 'POST',
    url: '/vote',
    headers: auth,
    payload: vote({ candidateId: 'mallory', term: 10 ** 9, lastLogTerm: 10 ** 9 }),
  });
  t.match(unknown.json(), { granted: false, reason: { code: 'not_a_member' } }, 'a candidate that is not a member is refused');
  t.equal(node.runtime.status().term < 10 ** 9, true, 'and its huge term is not adopted');
  const own = voteFields(node);
  const foreign = await node.app.inject({
    method: 'POST',
    url: '/vote',
    headers: auth,
    payload: vote({ clusterId: 'runtime-test-000000000000', term: 10 ** 9, lastLogTerm: 10 ** 9 }),
  });
  t.match(
    foreign.json(),
    { granted: false, reason: { code: 'wrong_cluster', clusterId: own.clusterId, candidateClusterId: 'runtime-test-000000000000' } },
    'a candidate of another cluster is refused, whatever its log',
  );
  t.equal(node.runtime.status().term < 10 ** 9, true, 'and its term is not adopted either');
});

t.test('a witness has no log: PUT /log on it is a 409 with a clear code', async (t) => {
  const cluster = await startLocalCluster(t, [
    { id: 'a', kind: 'data' },
    { id: 'w', kind: 'witness' },
  ]);
  const res = await cluster.nodes.get('w')!.app.inject({ method: 'PUT', url: '/log', payload: { term: 1, lsn: 1 } });
  t.equal(res.statusCode, 409);
  t.match(res.json(), { error: { code: 'witness_has_no_log' } });
});

t.test('switchover hands leadership to the named member, with never two nodes answering as primary', async (t) => {
  const cluster = await startLocalCluster(
    t,
    [
      { id: 'a', kind: 'data' },
      { id: 'b', kind: 'data' },
      { id: 'c', kind: 'data' },
    ],
    { token: TOKEN },
  );
  const primary = await awaitPrimary(cluster);
  const target = [...cluster.nodes.keys()].find((id) => id !== primary.id)!;
  const term = primary.runtime.status().term;
  let overlaps = 0;
  const watch = setInterval(() => {
    if ([...cluster.nodes.values()].filter((n) => n.runtime.isPrimary()).length > 1) overlaps++;
  }, 1);
  const res = await primary.app.inject({ method: 'POST', url: '/switchover', headers: auth, payload: { target } });
  clearInterval(watch);
  t.equal(res.statusCode, 200, 'the switchover completed');
  t.match(res.json(), { status: 'completed', target }, 'to the named target');
  const next = await awaitPrimary(cluster);
  t.equal(next.id, target, 'the target leads');
  t.ok(next.runtime.status().term > term, 'in a newer term');
  t.equal(overlaps, 0, 'no instant had two nodes answering as primary');
});

t.test('a second switchover refused while one is under way does not end the first', async (t) => {
  const cluster = await startLocalCluster(
    t,
    [
      { id: 'a', kind: 'data' },
      { id: 'b', kind: 'data' },
      { id: 'c', kind: 'data' },
    ],
    { token: TOKEN },
  );
  const primary = await awaitPrimary(cluster);
  const [target, other] = [...cluster.nodes.keys()].filter((id) => id !== primary.id) as [string, string];
  const first = primary.runtime.switchover(target);
  const second = await primary.runtime.switchover(other);
  t.match(second, { status: 'refused', reason: /already under way/ }, 'the second is refused at once');
  t.match(await first, { status: 'completed', target }, 'the first still completes');
});

t.test('switchover is refused with a clear reason when no target is eligible', async (t) => {
  const cluster = await startLocalCluster(
    t,
    [
      { id: 'a', kind: 'data' },
      { id: 'b', kind: 'data' },
      { id: 'w', kind: 'witness' },
    ],
    { token: TOKEN },
  );
  const primary = await awaitPrimary(cluster);
  const follower = [...cluster.nodes.values()].find((n) => n !== primary && n.id !== 'w')!;
  const refused = [
    { node: primary, target: 'w', reason: /not electable/ },
    { node: primary, target: 'zz', reason: /not a member/ },
    { node: primary, target: primary.id, reason: /already the primary/ },
    { node: follower, target: null, reason: /not the primary/ },
  ];
  for (const r of refused) {
    const res = await r.node.app.inject({ method: 'POST', url: '/switchover', headers: auth, payload: r.target ? { target: r.target } : {} });
    t.equal(res.statusCode, 409, `switchover to ${r.target} from ${r.node.id} is refused`);
    t.match(res.json(), { error: { code: 'switchover_refused', message: r.reason } });
  }
  await cluster.stop(follower.id);
  // The question goes to whichever node is primary once it has not heard the
  // follower for an election timeout. On a loaded machine the primary can
  // lose its lease for a moment and win it back (the witness and it are still
  // a majority); an answer given while no node was primary is asked again.
  const quiet = (n: typeof primary) =>
    n.runtime.members().members.every((m) => m.id !== follower.id || m.lastContactAgoMs === null || m.lastContactAgoMs > TIMINGS.electionTimeoutMs);
  let none: { error?: { code?: string; message?: string } } = {};
  await waitFor(
    async () => {
      const leader = [...cluster.nodes.values()].find((n) => n.id !== follower.id && n.runtime.isPrimary());
      if (!leader || !quiet(leader)) return false;
      none = (await leader.app.inject({ method: 'POST', url: '/switchover', headers: auth, payload: {} })).json();
      return !/not the primary/.test(none.error?.message ?? '');
    },
    10_000,
    'a primary that no longer hears the follower to answer',
  );
  t.match(none, { error: { code: 'switchover_refused', message: /no electable member/ } }, 'with the only data follower gone there is no target');
});

t.test('a node whose data folder was used but lost its state file refuses to start', async (t) => {
  const dir = t.testdir();
  mkdirSync(join(dir, 'n'), { recursive: true });
  writeFileSync(join(dir, 'n', 'history.jsonl'), JSON.stringify({ term: 3, primaryId: 'n', at: new Date().toISOString(), reason: 'elected' }) + '\n');
  t.throws(
    () =>
      new NodeRuntime({
        id: 'n',
        initialConfig: initialConfig(CLUSTER_NAME, [{ id: 'n', url: 'http://127.0.0.1:1', kind: 'data', state: 'voting' }], TIMINGS),
        store: new FileStore(join(dir, 'n', 'state.json')),
        timings: TIMINGS,
        token: null,
        onRoleChange: null,
        roleChangeTimeoutMs: 1000,
        dataDir: join(dir, 'n'),
        logger: pino({ level: 'silent' }),
      }),
    StateFileError,
  );
  const fresh = new NodeRuntime({
    id: 'n',
    initialConfig: initialConfig(CLUSTER_NAME, [{ id: 'n', url: 'http://127.0.0.1:1', kind: 'data', state: 'voting' }], TIMINGS),
    store: new FileStore(join(dir, 'fresh', 'state.json')),
    timings: TIMINGS,
    token: null,
    onRoleChange: null,
    roleChangeTimeoutMs: 1000,
    dataDir: join(dir, 'fresh'),
    logger: pino({ level: 'silent' }),
  });
  const written = JSON.parse(readFileSync(join(dir, 'fresh', 'state.json'), 'utf8')).state;
  t.equal(written.term, 0, 'a new node writes its first state at once');
  t.same(
    written.config,
    initialConfig(CLUSTER_NAME, [{ id: 'n', url: 'http://127.0.0.1:1', kind: 'data', state: 'voting' }], TIMINGS),
    'with the initial configuration its settings make',
  );
  await fresh.stop();
});

t.test('a node restarted with another member list in its settings keeps the stored configuration and reports the differences', async (t) => {
  const cluster = await startLocalCluster(t, [
    { id: 'a', kind: 'data' },
    { id: 'b', kind: 'data' },
    { id: 'c', kind: 'data' },
  ]);
  const primary = await awaitPrimary(cluster);
  for (const n of cluster.nodes.values()) t.same(n.runtime.status().configDifferences, [], `${n.id}, started from the settings, reports no difference`);
  const [restarted, moved, dropped] = [...cluster.nodes.keys()].filter((id) => id !== primary.id).concat(primary.id) as [string, string, string];
  const before = cluster.nodes.get(restarted)!.runtime.status();
  const movedUrl = 'http://127.0.0.1:1';
  const settings = cluster.members
    .filter((m) => m.id !== dropped)
    .map((m) => (m.id === moved ? { ...m, url: movedUrl } : m))
    .concat({ id: 'd', url: 'http://127.0.0.1:2', kind: 'data', state: 'voting' });
  const node = await cluster.restart(restarted, settings);
  const status = node.runtime.status();
  t.equal(status.clusterId, cluster.config.clusterId, 'the node stays in its cluster, not the one its new settings would make');
  t.not(status.clusterId, initialConfig(CLUSTER_NAME, settings, TIMINGS).clusterId, 'which has another id');
  t.same(status.config, before.config, 'at the configuration position it held');
  t.equal(status.membership, 'member');
  t.same(
    node.runtime.members().members.map((m) => [m.id, m.url]),
    cluster.members.map((m) => [m.id, m.url]),
    'it goes by the stored members and urls',
  );
  t.same(
    [...status.configDifferences].sort(),
    [
      `member ${moved} is data voting at ${cluster.members.find((m) => m.id === moved)!.url} in the configuration but data voting at ${movedUrl} in the settings`,
      `member ${dropped} is in the configuration but not in the settings`,
      'member d is in the settings but not in the configuration',
    ].sort(),
    'status() lists each difference: the changed url, the missing and the extra member',
  );
  const gauge = await node.runtime.registry.getSingleMetric('quorumd_config_differences')?.get();
  t.equal(gauge?.values[0]?.value, 3, 'and the metric counts them');
  const onDisk = JSON.parse(readFileSync(join(node.dataDir, 'state.json'), 'utf8')).state.config;
  t.equal(onDisk.clusterId, cluster.config.clusterId, 'the state file still holds the stored configuration');
  t.same(
    onDisk.members.map((m: { id: string }) => m.id),
    cluster.members.map((m) => m.id),
    'with the stored members',
  );
  await waitFor(
    () => node.runtime.status().primaryId !== null && node.runtime.status().primaryId === cluster.nodes.get(moved)!.runtime.status().primaryId,
    10_000,
    'the restarted node to follow the primary again',
  );
  t.equal(node.runtime.status().primaryId, cluster.nodes.get(moved)!.runtime.status().primaryId, 'the restarted node follows the primary of its cluster again');
});
