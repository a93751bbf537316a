// `npm run bench:idle`: what an idle cluster costs, quorumd beside etcd.
//
// A 3-node cluster of each runs on 127.0.0.1 at the same heartbeat rate in
// the same run, with nothing happening but heartbeats and an agent: every
// 100 ms each quorumd node gets its data store agent's position report
// (PUT /log, as test/kit does), and each etcd member one status request
// (POST /v3/maintenance/status), the nearest thing to an agent's call that
// etcd has. After a warm-up, each node's CPU share is read from
// /proc/<pid>/stat (utime + stime) over the window, and its resident memory
// (VmRSS) sampled every second; the primary (etcd: the leader) and the
// followers are shown apart, and quorumd / etcd ratios printed.
// Benchmarks print figures; nothing here passes or fails on a number.

import { mkdirSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { DEFAULT_TIMINGS } from '../src/core/index.js';
import { QUORUMD_BIN } from '../test/kit/cluster.js';
import { cleanupNow, installCleanup, trackFolder } from './lib/cleanup.js';
import { EtcdSystem, etcdVersion } from './lib/etcd-system.js';
import { CLOCK_TICKS, ProcessWindow } from './lib/proc.js';
import { QuorumdSystem } from './lib/quorumd-system.js';
import { fmtMiB, fmtRatio, ratio, row, sleep } from './lib/stats.js';
import { TIMING_OPTIONS, intOption, quorumdTimings } from './lib/options.js';
import type { BenchTimings, SystemName, SystemUnderTest } from './lib/system.js';

const USAGE = `Usage: npm run bench:idle -- [options]

  --seconds N                the measured window (default 20)
  --warmup-s N               idle time before the window, once a leader is agreed (default 5)
  --report-ms N              how often the agent calls each node (default 100; 0 for no agent)
  --heartbeat-ms N           (default: the product's, ${DEFAULT_TIMINGS.heartbeatMs})
  --lease-ms N               quorumd only (default: the product's, ${DEFAULT_TIMINGS.leaseMs})
  --election-timeout-ms N    (default: the product's, ${DEFAULT_TIMINGS.electionTimeoutMs})
  --election-jitter-ms N     quorumd only (default: the product's, ${DEFAULT_TIMINGS.electionJitterMs})
  --fast-failover on|off     quorumd's QUORUMD_FAST_FAILOVER (default: the product's)
  --no-etcd                  measure quorumd alone, even when etcd is installed
  --cpu-prof DIR             each quorumd node writes a V8 CPU profile of the window to DIR/<id>.cpuprofile
  --json                     one JSON object with every figure
`;

interface Options {
  readonly seconds: number;
  readonly warmupS: number;
  readonly reportMs: number;
  readonly timings: BenchTimings;
  readonly etcd: boolean;
  readonly cpuProf: string | null;
  readonly json: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string' },
      'warmup-s': { type: 'string' },
      'report-ms': { type: 'string' },
      ...TIMING_OPTIONS,
      'no-etcd': { type: 'boolean' },
      'cpu-prof': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = intOption(fail);
  return {
    seconds: int(values.seconds, 20, '--seconds', 1),
    warmupS: int(values['warmup-s'], 5, '--warmup-s', 0),
    reportMs: int(values['report-ms'], 100, '--report-ms', 0),
    timings: quorumdTimings(values, int, fail),
    etcd: !(values['no-etcd'] ?? false),
    cpuProf: values['cpu-prof'] === undefined ? null : resolve(values['cpu-prof']),
    json: values.json ?? false,
  };
}

function fail(message: string): never {
  process.stderr.write(`bench:idle: ${message}\n\n${USAGE}`);
  process.exit(2);
}

const MEMBERS = 3;

/** The preload that profiles a node between two SIGWINCH (bench/lib/cpu-profile.mjs, not compiled). */
const PROFILER = pathToFileURL(join(dirname(dirname(QUORUMD_BIN)), 'bench', 'lib', 'cpu-profile.mjs')).href;

interface NodeFigures {
  readonly id: string;
  /** The seconds of the window this node was the primary (etcd: the leader). */
  readonly primarySeconds: number;
  readonly cpuPercent: number | null;
  readonly rssMeanKiB: number | null;
  readonly rssLastKiB: number | null;
}

interface SystemFigures {
  readonly system: SystemName;
  readonly nodes: NodeFigures[];
  /** CPU shares by role: each second of each node counts for the role it held then. */
  readonly primaryCpu: number | null;
  readonly followerCpu: number | null;
  /** Resident memory, mean over the window, of the node that led longest and of the others. */
  readonly primaryRss: number | null;
  readonly followerRss: number | null;
  /** The leader changes the window saw (each second's look). */
  readonly leaderChanges: number;
}

type Role = 'primary' | 'follower';

/**
 * An agent per node calling it every `everyMs` at a fixed rate, until
 * stopped; a call's answer says whether that node is the primary.
 */
function startAgents(ids: readonly string[], everyMs: number, call: (id: string) => Promise<Role | null>, roles: Map<string, Role>): () => Promise<void> {
  if (everyMs === 0) return async () => {};
  let stopped = false;
  const loops = ids.map(async (id) => {
    let next = performance.now();
    while (!stopped) {
      const role = await call(id);
      if (role !== null) roles.set(id, role);
      next += everyMs;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      else next = performance.now();
    }
  });
  return async () => {
    stopped = true;
    await Promise.all(loops);
  };
}

async function waitLeader(sut: SystemUnderTest): Promise<{ id: string; term: number }> {
  const end = performance.now() + 60_000;
  for (;;) {
    const a = await sut.agreed(sut.ids);
    if (a) return a;
    if (performance.now() > end) throw new Error(`${sut.system}: no leader agreed within 60 s`);
    await sleep(100);
  }
}

interface Measured {
  readonly sut: SystemUnderTest;
  /** Each node's role as its agent last heard it; without an agent, read once a second. */
  readonly roles: Map<string, Role>;
}

/**
 * measure watches every node of the systems over the same window. Each
 * second, each node's CPU ticks since the second before count for the role
 * it holds (a busy machine can move the leader mid-window).
 */
async function measure(measured: Measured[], opts: Options): Promise<SystemFigures[]> {
  await Promise.all(measured.map((m) => waitLeader(m.sut)));
  await sleep(opts.warmupS * 1000);
  const lookRoles = async () => {
    if (opts.reportMs !== 0) return;
    await Promise.all(
      measured.map(async (m) => {
        const a = await m.sut.agreed(m.sut.ids);
        if (a) for (const id of m.sut.ids) m.roles.set(id, id === a.id ? 'primary' : 'follower');
      }),
    );
  };
  await lookRoles();
  const windows = measured.map((m) =>
    m.sut.ids.map((id) => {
      const pid = m.sut.pid(id);
      if (pid === undefined) throw new Error(`${m.sut.system} ${id} is not running`);
      return new ProcessWindow(pid);
    }),
  );
  const byRole = measured.map(() => ({ primary: { ticks: 0, seconds: 0 }, follower: { ticks: 0, seconds: 0 } }));
  const primarySeconds = measured.map((m) => new Map(m.sut.ids.map((id) => [id, 0])));
  const leaderChanges = measured.map(() => 0);
  const lastLeader: Array<string | null> = measured.map(() => null);
  const q = measured[0]!.sut;
  const profile = () => {
    if (opts.cpuProf) for (const id of q.ids) q.signal(id, 'SIGWINCH');
  };
  profile();
  for (let s = 0; s < opts.seconds; s++) {
    await sleep(1000);
    await lookRoles();
    measured.forEach((m, i) => {
      m.sut.ids.forEach((id, j) => {
        const slice = windows[i]![j]!.slice();
        const role = m.roles.get(id) ?? 'follower';
        if (slice !== null) {
          byRole[i]![role].ticks += slice.ticks;
          byRole[i]![role].seconds += slice.seconds;
        }
        if (role === 'primary') {
          primarySeconds[i]!.set(id, primarySeconds[i]!.get(id)! + 1);
          if (lastLeader[i] !== null && lastLeader[i] !== id) leaderChanges[i]!++;
          lastLeader[i] = id;
        }
      });
    });
  }
  const ends = windows.map((ws) => ws.map((w) => w.end()));
  profile();
  return measured.map((m, i) => {
    const nodes = m.sut.ids.map((id, j) => ({ id, primarySeconds: primarySeconds[i]!.get(id)!, ...ends[i]![j]! }));
    const longest = nodes.reduce((a, b) => (b.primarySeconds > a.primarySeconds ? b : a));
    const share = (r: { ticks: number; seconds: number }) => (r.seconds > 0 ? (r.ticks / CLOCK_TICKS / r.seconds) * 100 : null);
    return {
      system: m.sut.system,
      nodes,
      primaryCpu: share(byRole[i]!.primary),
      followerCpu: share(byRole[i]!.follower),
      primaryRss: longest.rssMeanKiB,
      followerRss: mean(nodes.filter((n) => n !== longest).map((n) => n.rssMeanKiB)),
      leaderChanges: leaderChanges[i]!,
    };
  });
}

const mean = (xs: Array<number | null>): number | null => {
  const ok = xs.filter((x): x is number => x !== null);
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null;
};
const pct = (v: number | null): string => (v === null ? '-' : `${v.toFixed(1)} %`);

/** The agent's call on a quorumd node: PUT /log, as test/kit's reportPosition, reading the role from the status it answers with. */
async function reportPosition(url: string, dispatcher: Agent): Promise<Role | null> {
  try {
    const res = await request(`${url}/log`, {
      method: 'PUT',
      dispatcher,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ term: 0, lsn: 0 }),
      signal: AbortSignal.timeout(1_000),
    });
    const body = (await res.body.json()) as { role?: string };
    return res.statusCode === 200 ? (body.role === 'primary' ? 'primary' : 'follower') : null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  installCleanup();
  const etcd = opts.etcd ? etcdVersion() : null;
  const t = opts.timings;
  const header = [
    `bench:idle: ${MEMBERS} nodes each, ${opts.seconds} s measured after ${opts.warmupS} s idle; ${cpus().length} cpus (${cpus()[0]?.model ?? '?'}), load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    `timings: heartbeat ${t.heartbeatMs} ms, election timeout ${t.electionTimeoutMs} ms (quorumd: lease ${t.leaseMs} ms, jitter ${t.electionJitterMs} ms); agent every ${opts.reportMs || '-'} ms per node${t.fastFailover === undefined ? '' : `; quorumd fast failover ${t.fastFailover ? 'on' : 'off'}`}`,
    etcd
      ? `etcd: ${etcd}, --heartbeat-interval ${t.heartbeatMs} --election-timeout ${t.electionTimeoutMs}`
      : 'etcd: not measured (not on the PATH, or --no-etcd)',
  ];
  if (!opts.json) process.stdout.write(`${header.join('\n')}\n\n`);
  const root = trackFolder(mkdtempSync(join(tmpdir(), 'quorumd-bench-idle-')));
  if (opts.cpuProf) mkdirSync(opts.cpuProf, { recursive: true });
  const env = opts.cpuProf ? { NODE_OPTIONS: `--import=${PROFILER}`, BENCH_PROFILE_DIR: opts.cpuProf } : undefined;
  const measured: Measured[] = [];
  const stops: Array<() => Promise<void>> = [];
  const dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: 1 });
  try {
    const q = await QuorumdSystem.start(MEMBERS, join(root, 'quorumd'), t, false, env ? { env } : {});
    const qRoles = new Map<string, Role>();
    measured.push({ sut: q, roles: qRoles });
    stops.push(startAgents(q.ids, opts.reportMs, (id) => reportPosition(q.cluster.node(id).url, dispatcher), qRoles));
    if (etcd) {
      const e = await EtcdSystem.start(MEMBERS, join(root, 'etcd'), t, false);
      const eRoles = new Map<string, Role>();
      measured.push({ sut: e, roles: eRoles });
      const asked = async (id: string): Promise<Role | null> => {
        const s = await e.status(id, 1_000);
        return s?.leader && s.header?.member_id ? (s.leader === s.header.member_id ? 'primary' : 'follower') : null;
      };
      stops.push(startAgents(e.ids, opts.reportMs, asked, eRoles));
    }
    const figures = await measure(measured, opts);
    for (const stop of stops) await stop();
    print(figures, opts, header);
  } finally {
    for (const stop of stops) await stop().catch(() => {});
    for (const m of measured) await m.sut.stop().catch(() => {});
    await dispatcher.close();
  }
  if (opts.cpuProf && !opts.json) process.stdout.write(`\nCPU profiles of the quorumd nodes: ${opts.cpuProf}\n`);
}

function print(figures: SystemFigures[], opts: Options, header: string[]): void {
  const q = figures.find((f) => f.system === 'quorumd')!;
  const e = figures.find((f) => f.system === 'etcd') ?? null;
  const r = (a: number | null, b: number | null | undefined) => (a === null || b === null || b === undefined ? null : ratio(a, b));
  const ratios = e
    ? {
        primaryCpu: r(q.primaryCpu, e.primaryCpu),
        followerCpu: r(q.followerCpu, e.followerCpu),
        primaryRss: r(q.primaryRss, e.primaryRss),
        followerRss: r(q.followerRss, e.followerRss),
      }
    : null;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ header, figures, ratios })}\n`);
    return;
  }
  const widths = [8, 5, 12, 8, 12];
  process.stdout.write(`${row(['system', 'node', 'primary for', 'CPU', 'RSS (mean)'], widths, 2)}\n`);
  for (const f of figures) {
    for (const n of f.nodes) {
      process.stdout.write(`${row([f.system, n.id, `${n.primarySeconds} s`, pct(n.cpuPercent), fmtMiB(n.rssMeanKiB)], widths, 2)}\n`);
    }
    if (f.leaderChanges > 0) process.stdout.write(`  ${f.system}: the leader changed ${f.leaderChanges} times during the window\n`);
  }
  process.stdout.write('\n');
  const w2 = [22, 10, 10, 8];
  process.stdout.write(`${row(['', 'quorumd', 'etcd', 'ratio'], w2)}\n`);
  const line = (label: string, a: number | null, b: number | null, v: number | null, fmt: (v: number | null) => string) =>
    process.stdout.write(`${row([label, fmt(a), fmt(b), fmtRatio(v)], w2)}\n`);
  line('primary CPU', q.primaryCpu, e?.primaryCpu ?? null, ratios?.primaryCpu ?? null, pct);
  line('follower CPU', q.followerCpu, e?.followerCpu ?? null, ratios?.followerCpu ?? null, pct);
  line('primary RSS', q.primaryRss, e?.primaryRss ?? null, ratios?.primaryRss ?? null, fmtMiB);
  line('follower RSS (mean)', q.followerRss, e?.followerRss ?? null, ratios?.followerRss ?? null, fmtMiB);
  process.stdout.write('CPU: 100 % is one core busy; by role, each second of each node counting for the role it held then\n');
}

main().then(
  () => {
    cleanupNow();
    process.exit(0);
  },
  (err) => {
    process.stderr.write(`bench:idle: ${(err as Error).stack ?? String(err)}\n`);
    cleanupNow();
    process.exit(1);
  },
);
