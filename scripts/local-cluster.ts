// `npm start`: a local quorumd cluster on loopback. Two data nodes and a
// witness run as separate processes with their state under .quorumd-local/,
// a demo data store writes on the primary and replicates with lag, and a live
// table shows each node's role, term, membership, position and the commit
// watermark. Once the cluster writes, a third data node starts in join mode
// and is added through a follower (PUT /members), as an operator would: the
// table shows it join catching_up, catch up, and the primary promote it.
// Kill the primary to watch the failover; Ctrl-C stops everything.

import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ProcessCluster, type NodeSpec } from '../test/kit/cluster.js';
import type { MembersView, StatusView } from '../src/runtime/service.js';
import { DemoStore } from './lib/demo-store.js';

const dir = resolve(process.env.LOCAL_CLUSTER_DIR ?? '.quorumd-local');
const specs: NodeSpec[] = [
  { id: 'data-1', kind: 'data' },
  { id: 'data-2', kind: 'data' },
  { id: 'witness-1', kind: 'witness' },
];
/** The member the demo adds once the cluster writes. */
const joiner: NodeSpec = { id: 'data-3', kind: 'data' };
const timings = { heartbeatMs: 100, leaseMs: 300, electionTimeoutMs: 1000, electionJitterMs: 500 };
const restartAfterMs = 5000;
/** How long the cluster writes before the demo adds a member: long enough to see a replica start behind. */
const addAfterMs = 3000;
const rounds = Number(process.env.LOCAL_CLUSTER_SECONDS ?? 0);

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

const cluster = await ProcessCluster.start({ specs, spares: [joiner], dir, timings, logLevel: 'warn' });
// The store starts with the bootstrap data nodes and learns the added one from the configuration.
const store = new DemoStore(specs.filter((s) => s.kind === 'data').map((s) => ({ id: s.id, url: cluster.node(s.id).url })));
store.start();

const tty = process.stdout.isTTY;
const started = Date.now();
const events: string[] = [];
const down = new Map<string, number>();
let lastPrimary: string | null = null;
/** Nodes that have answered /status once: one that never has is still starting. */
const answered = new Set<string>();
/** Each member's state in the last configuration seen, to tell joins, promotions and removals. */
let lastStates = new Map<string, string>();
let lastVersion = 0;

function clock(): string {
  return `+${((Date.now() - started) / 1000).toFixed(1)}s`;
}

/** isStarted: a member the cluster has started (a spare not started yet is no failure to restart). */
function isStarted(id: string): boolean {
  return !cluster.spareIds.includes(id);
}

async function draw(): Promise<void> {
  // A killed node comes back after a while, from its data folder.
  for (const id of cluster.nodes.keys()) {
    if (isStarted(id) && !cluster.isRunning(id) && !down.has(id)) {
      events.push(`${clock()} ${id} is down; it restarts from ${join(dir, id)} in ${restartAfterMs / 1000} s`);
      down.set(id, Date.now());
    }
  }
  for (const [id, at] of down) {
    if (Date.now() - at < restartAfterMs) continue;
    down.delete(id);
    const child = cluster.spawnNode(id);
    events.push(`${clock()} ${id} restarted (pid ${child.pid})`);
  }
  const statuses = await cluster.statuses(300);
  const primary = [...statuses.values()].find((s) => s.role === 'primary' && s.lease.holds);
  const view = primary ? (await cluster.get<MembersView>(primary.id, '/members', 300))?.body : undefined;
  if (primary && primary.id !== lastPrimary) {
    events.push(`${clock()} ${primary.id} is primary in term ${primary.term}`);
    lastPrimary = primary.id;
  }
  if (view) noteConfig(view);

  const widths = [10, 8, 24, 12, 6, 10, 12, 6, 10, 10, 6];
  const lines: string[] = [];
  lines.push(`quorumd local cluster — state in ${dir}`);
  lines.push('');
  lines.push(pad(['node', 'pid', 'url', 'role', 'term', 'primary', 'member', 'config', 'position', 'watermark', 'lease'], widths));
  for (const [id, n] of cluster.nodes) {
    const s = statuses.get(id);
    const pos = s?.position ? `${s.position.term}/${s.position.lsn}` : '-';
    const wm = s ? `${s.commitWatermark.term}/${s.commitWatermark.lsn}` : '-';
    if (s) answered.add(id);
    const role = s ? s.role : !isStarted(id) ? 'not started' : answered.has(id) || !cluster.isRunning(id) ? 'DOWN' : 'starting';
    const cfg = s?.config ? `${s.config.term}/${s.config.version}` : '-';
    lines.push(
      pad(
        [
          id,
          String(n.child?.pid ?? '-'),
          n.url,
          role,
          s ? String(s.term) : '-',
          s?.primaryId ?? '-',
          memberState(id, s, view),
          cfg,
          pos,
          wm,
          s?.lease.holds ? 'yes' : '-',
        ],
        widths,
      ),
    );
  }
  lines.push('');
  lines.push(`acknowledged writes up to ${store.acknowledged.term}/${store.acknowledged.lsn} (covered by the commit watermark)`);
  lines.push("member: voting or catching_up in the primary's configuration, or what the node says (joining, removed); config: term/version");
  lines.push('');
  if (primary) {
    const pid = cluster.node(primary.id).child?.pid;
    lines.push(`Kill the primary and watch the failover:  kill -9 ${pid}    (or: curl -s ${cluster.node(primary.id).url}/status)`);
  } else {
    lines.push('No primary yet: an election is under way.');
  }
  lines.push(`Try:  curl -s ${cluster.node('data-1').url}/members    ·    Ctrl-C stops everything.`);
  lines.push('');
  lines.push(...events.slice(-10));
  if (tty) process.stdout.write(`\x1b[2J\x1b[H${lines.join('\n')}\n`);
  else process.stdout.write(`${lines.join('\n')}\n\n`);
}

/** memberState: the node's state in the primary's configuration, or its own word while it holds none or was removed. */
function memberState(id: string, s: StatusView | undefined, view: MembersView | undefined): string {
  if (s && s.membership !== 'member') return s.membership;
  return view?.members.find((m) => m.id === id)?.state ?? (s ? '?' : '-');
}

/** noteConfig writes an event for each member the primary's configuration added, promoted or dropped. */
function noteConfig(view: MembersView): void {
  if (view.version === lastVersion) return;
  const states = new Map(view.members.map((m) => [m.id, m.state]));
  if (lastVersion !== 0) {
    for (const [id, state] of states) {
      const before = lastStates.get(id);
      if (before === undefined) events.push(`${clock()} version ${view.version}: ${id} joins ${state}`);
      else if (before !== state)
        events.push(`${clock()} version ${view.version}: ${id} ${before} → ${state}${state === 'voting' ? ' (promoted: it has caught up)' : ''}`);
    }
    for (const id of lastStates.keys()) if (!states.has(id)) events.push(`${clock()} version ${view.version}: ${id} removed`);
  }
  lastStates = states;
  lastVersion = view.version;
}

/**
 * addMember plays the operator: once the primary acknowledges writes of its
 * own term (before that it takes no membership change), start the new node
 * with --join and the cluster id from GET /status, then PUT /members/{id} on
 * a follower, which forwards it to the primary.
 */
async function addMember(): Promise<void> {
  for (;;) {
    if (stopping) return;
    const primary = [...(await cluster.statuses(300)).values()].find((s) => s.role === 'primary' && s.lease.holds);
    if (primary && primary.commitWatermark.term === primary.term && primary.commitWatermark.lsn > 0) break;
    await sleep(500);
  }
  await sleep(addAfterMs);
  const n = cluster.node(joiner.id);
  const child = await cluster.join(joiner.id);
  events.push(`${clock()} ${joiner.id} started with --join ${child.joinClusterId} (pid ${child.child?.pid}): it waits for a configuration that lists it`);
  const deadline = Date.now() + 60_000;
  while (!stopping && Date.now() < deadline) {
    const statuses = await cluster.statuses(300);
    const follower = [...statuses.values()].find((s) => s.role === 'follower' && s.membership === 'member' && s.primaryId !== null);
    if (!follower) {
      await sleep(500);
      continue;
    }
    const body = { url: n.url, kind: joiner.kind };
    events.push(`${clock()} PUT /members/${joiner.id} ${JSON.stringify(body)} on ${follower.id}, a follower`);
    try {
      const reply = await cluster.putMember(follower.id, joiner.id, body);
      const via = reply.headers['x-quorumd-forwarded-to'];
      const said = reply.body as { status?: string; version?: number; error?: { code: string } };
      const forwarded = via ? `, forwarded to the primary at ${via}` : '';
      if (reply.status === 200) {
        events.push(`${clock()} → 200 ${said.status} version ${said.version}${forwarded}`);
        return;
      }
      events.push(`${clock()} → ${reply.status} ${said.error?.code ?? ''}${forwarded}; trying again`);
    } catch (err) {
      events.push(`${clock()} → no answer (${(err as Error).message}); trying again`);
    }
    await sleep(1000);
  }
}

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(ticker);
  store.stop();
  process.stdout.write('\nstopping the cluster...\n');
  await cluster.stop();
  process.stdout.write(`stopped; node state is kept in ${dir}\n`);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());

const ticker = setInterval(() => void draw(), tty ? 500 : 2000);
if (rounds > 0) setTimeout(() => void shutdown(), rounds * 1000);
addMember().catch((err: Error) => events.push(`${clock()} adding ${joiner.id} failed: ${err.message}`));

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => c.padEnd(widths[i] ?? 8)).join(' ');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
