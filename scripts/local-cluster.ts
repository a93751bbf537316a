// `npm start`: a local quorumd cluster on loopback. Two data nodes and a
// witness run as separate processes with their state under .quorumd-local/,
// a demo data store writes on the primary and replicates with lag, and a live
// table shows each node's role, term, position and the commit watermark. Kill
// the primary to watch the failover; Ctrl-C stops everything.

import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ProcessCluster, type NodeSpec } from '../test/kit/cluster.js';
import { DemoStore } from './lib/demo-store.js';

const dir = resolve(process.env.LOCAL_CLUSTER_DIR ?? '.quorumd-local');
const specs: NodeSpec[] = [
  { id: 'data-1', kind: 'data' },
  { id: 'data-2', kind: 'data' },
  { id: 'witness-1', kind: 'witness' },
];
const timings = { heartbeatMs: 100, electionTimeoutMs: 1000, electionJitterMs: 500 };
const restartAfterMs = 5000;
const rounds = Number(process.env.LOCAL_CLUSTER_SECONDS ?? 0);

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

// On loopback a refused connection means the process is gone, so fast
// failover is safe here (see the README before turning it on elsewhere).
const cluster = await ProcessCluster.start({ specs, dir, timings, env: { QUORUMD_FAST_FAILOVER: 'on' }, logLevel: 'warn' });
const store = new DemoStore([...cluster.nodes.values()].filter((n) => n.spec.kind === 'data').map((n) => ({ id: n.spec.id, url: n.url })));
store.start();

const tty = process.stdout.isTTY;
const started = Date.now();
const events: string[] = [];
const down = new Map<string, number>();
let lastPrimary: string | null = null;

function clock(): string {
  return `+${((Date.now() - started) / 1000).toFixed(1)}s`;
}

async function draw(): Promise<void> {
  // A killed node comes back after a while, from its data folder.
  for (const id of cluster.nodes.keys()) {
    if (!cluster.isRunning(id) && !down.has(id)) {
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
  const lines: string[] = [];
  lines.push(`quorumd local cluster — state in ${dir}`);
  lines.push('');
  lines.push(pad(['node', 'pid', 'url', 'role', 'term', 'primary', 'position', 'watermark', 'lease'], [10, 8, 24, 12, 6, 10, 10, 10, 6]));
  for (const [id, n] of cluster.nodes) {
    const s = statuses.get(id);
    const pos = s?.position ? `${s.position.term}/${s.position.lsn}` : '-';
    const wm = s ? `${s.commitWatermark.term}/${s.commitWatermark.lsn}` : '-';
    lines.push(
      pad(
        [id, String(n.child?.pid ?? '-'), n.url, s ? s.role : 'DOWN', s ? String(s.term) : '-', s?.primaryId ?? '-', pos, wm, s?.lease.holds ? 'yes' : '-'],
        [10, 8, 24, 12, 6, 10, 10, 10, 6],
      ),
    );
  }
  const primary = [...statuses.values()].find((s) => s.role === 'primary' && s.lease.holds);
  if (primary && primary.id !== lastPrimary) {
    events.push(`${clock()} ${primary.id} is primary in term ${primary.term}`);
    lastPrimary = primary.id;
  }
  lines.push('');
  lines.push(`acknowledged writes up to ${store.acknowledged.term}/${store.acknowledged.lsn} (covered by the commit watermark)`);
  lines.push('');
  if (primary) {
    const pid = cluster.node(primary.id).child?.pid;
    lines.push(`Kill the primary and watch the failover:  kill -9 ${pid}    (or: curl -s ${cluster.node(primary.id).url}/status)`);
  } else {
    lines.push('No primary yet: an election is under way.');
  }
  lines.push('Try:  curl -s ' + cluster.node('data-1').url + '/members    ·    Ctrl-C stops everything.');
  lines.push('');
  lines.push(...events.slice(-8));
  if (tty) process.stdout.write('\x1b[2J\x1b[H' + lines.join('\n') + '\n');
  else process.stdout.write(lines.join('\n') + '\n\n');
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

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => c.padEnd(widths[i] ?? 8)).join(' ');
}
