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
import { DEFAULT_TIMINGS } from '../src/core/index.js';
import { QUORUMD_BIN } from '../test/kit/cluster.js';
import { cleanupNow, installCleanup, trackFolder } from './lib/cleanup.js';
import { EtcdSystem, etcdVersion } from './lib/etcd-system.js';
import { ProcessWindow } from './lib/proc.js';
import { QuorumdSystem } from './lib/quorumd-system.js';
import { fmtMiB, fmtRatio, ratio, row, sleep } from './lib/stats.js';
import type { BenchTimings, SystemName, SystemUnderTest } from './lib/system.js';

const USAGE = `Usage: npm run bench:idle -- [options]

  --seconds N                the measured window (default 20)
  --warmup-s N               idle time before the window, once a leader is agreed (default 5)
  --report-ms N              how often the agent calls each node (default 100; 0 for no agent)
  --heartbeat-ms N           (default: the product's, ${DEFAULT_TIMINGS.heartbeatMs})
  --election-timeout-ms N    (default: the product's, ${DEFAULT_TIMINGS.electionTimeoutMs})
  --election-jitter-ms N     quorumd only (default: the product's, ${DEFAULT_TIMINGS.electionJitterMs})
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
      'heartbeat-ms': { type: 'string' },
      'election-timeout-ms': { type: 'string' },
      'election-jitter-ms': { type: 'string' },
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
  const int = (text: string | undefined, fallback: number, what: string, min: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) fail(`${what} must be a whole number of at least ${min}; got ${JSON.stringify(text)}`);
    return n;
  };
  return {
    seconds: int(values.seconds, 20, '--seconds', 1),
    warmupS: int(values['warmup-s'], 5, '--warmup-s', 0),
    reportMs: int(values['report-ms'], 100, '--report-ms', 0),
    timings: {
      heartbeatMs: int(values['heartbeat-ms'], DEFAULT_TIMINGS.heartbeatMs, '--heartbeat-ms', 1),
      electionTimeoutMs: int(values['election-timeout-ms'], DEFAULT_TIMINGS.electionTimeoutMs, '--election-timeout-ms', 2),
      electionJitterMs: int(values['election-jitter-ms'], DEFAULT_TIMINGS.electionJitterMs, '--election-jitter-ms', 0),
    },
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
  readonly role: 'primary' | 'follower';
  readonly cpuPercent: number | null;
  readonly rssMeanKiB: number | null;
  readonly rssLastKiB: number | null;
}

interface SystemFigures {
  readonly system: SystemName;
  readonly nodes: NodeFigures[];
  /** The leader at the start of the window, and whether it was still the one at its end (same term). */
  readonly leader: string;
  readonly leaderHeld: boolean;
}

/** An agent per node calling it every `everyMs` at a fixed rate, until stopped. */
function startAgents(ids: readonly string[], everyMs: number, call: (id: string) => Promise<unknown>): () => Promise<void> {
  if (everyMs === 0) return async () => {};
  let stopped = false;
  const loops = ids.map(async (id) => {
    let next = performance.now();
    while (!stopped) {
      await call(id);
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

/** measure watches every node of the systems over the same window. */
async function measure(systems: SystemUnderTest[], opts: Options): Promise<SystemFigures[]> {
  const leaders = await Promise.all(systems.map((s) => waitLeader(s)));
  await sleep(opts.warmupS * 1000);
  const windows = systems.map((s) =>
    s.ids.map((id) => {
      const pid = s.pid(id);
      if (pid === undefined) throw new Error(`${s.system} ${id} is not running`);
      return new ProcessWindow(pid);
    }),
  );
  const profile = () => {
    if (opts.cpuProf) for (const id of systems[0]!.ids) systems[0]!.signal(id, 'SIGWINCH');
  };
  profile();
  for (let i = 0; i < opts.seconds; i++) {
    await sleep(1000);
    for (const w of windows.flat()) w.sample();
  }
  const ends = windows.map((ws) => ws.map((w) => w.end()));
  profile();
  const after = await Promise.all(systems.map((s) => s.agreed(s.ids)));
  return systems.map((s, i) => {
    const leader = leaders[i]!;
    return {
      system: s.system,
      leader: leader.id,
      leaderHeld: after[i]?.id === leader.id && after[i]?.term === leader.term,
      nodes: s.ids.map((id, j) => ({ id, role: id === leader.id ? ('primary' as const) : ('follower' as const), ...ends[i]![j]! })),
    };
  });
}

const mean = (xs: Array<number | null>): number | null => {
  const ok = xs.filter((x): x is number => x !== null);
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null;
};
const pct = (v: number | null): string => (v === null ? '-' : `${v.toFixed(1)} %`);

function summary(f: SystemFigures) {
  const primary = f.nodes.find((n) => n.role === 'primary')!;
  const followers = f.nodes.filter((n) => n.role === 'follower');
  return {
    primaryCpu: primary.cpuPercent,
    followerCpu: mean(followers.map((n) => n.cpuPercent)),
    primaryRss: primary.rssMeanKiB,
    followerRss: mean(followers.map((n) => n.rssMeanKiB)),
  };
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
    `timings: heartbeat ${t.heartbeatMs} ms, election timeout ${t.electionTimeoutMs} ms (quorumd jitter ${t.electionJitterMs} ms); agent every ${opts.reportMs || '-'} ms per node`,
    etcd
      ? `etcd: ${etcd}, --heartbeat-interval ${t.heartbeatMs} --election-timeout ${t.electionTimeoutMs}`
      : 'etcd: not measured (not on the PATH, or --no-etcd)',
  ];
  if (!opts.json) process.stdout.write(`${header.join('\n')}\n\n`);
  const root = trackFolder(mkdtempSync(join(tmpdir(), 'quorumd-bench-idle-')));
  if (opts.cpuProf) mkdirSync(opts.cpuProf, { recursive: true });
  const env = opts.cpuProf ? { NODE_OPTIONS: `--import=${PROFILER}`, BENCH_PROFILE_DIR: opts.cpuProf } : undefined;
  const systems: SystemUnderTest[] = [];
  const stops: Array<() => Promise<void>> = [];
  try {
    const q = await QuorumdSystem.start(MEMBERS, join(root, 'quorumd'), t, false, env ? { env } : {});
    systems.push(q);
    stops.push(startAgents(q.ids, opts.reportMs, (id) => q.cluster.reportPosition(id, { term: 0, lsn: 0 })));
    if (etcd) {
      const e = await EtcdSystem.start(MEMBERS, join(root, 'etcd'), t, false);
      systems.push(e);
      stops.push(startAgents(e.ids, opts.reportMs, (id) => e.status(id, 500)));
    }
    const figures = await measure(systems, opts);
    for (const stop of stops) await stop();
    print(figures, opts, header);
  } finally {
    for (const s of systems) await s.stop().catch(() => {});
  }
  if (opts.cpuProf && !opts.json) process.stdout.write(`\nCPU profiles of the quorumd nodes: ${opts.cpuProf}\n`);
}

function print(figures: SystemFigures[], opts: Options, header: string[]): void {
  const q = figures.find((f) => f.system === 'quorumd')!;
  const e = figures.find((f) => f.system === 'etcd') ?? null;
  const qs = summary(q);
  const es = e ? summary(e) : null;
  const ratios = es
    ? {
        primaryCpu: ratio(qs.primaryCpu ?? NaN, es.primaryCpu ?? NaN),
        followerCpu: ratio(qs.followerCpu ?? NaN, es.followerCpu ?? NaN),
        primaryRss: ratio(qs.primaryRss ?? NaN, es.primaryRss ?? NaN),
        followerRss: ratio(qs.followerRss ?? NaN, es.followerRss ?? NaN),
      }
    : null;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ header, figures, summary: { quorumd: qs, etcd: es, ratios } })}\n`);
    return;
  }
  const widths = [8, 5, 9, 8, 12];
  process.stdout.write(`${row(['system', 'node', 'role', 'CPU', 'RSS (mean)'], widths, 3)}\n`);
  for (const f of figures) {
    for (const n of f.nodes) {
      process.stdout.write(`${row([f.system, n.id, n.role, pct(n.cpuPercent), fmtMiB(n.rssMeanKiB)], widths, 3)}\n`);
    }
    if (!f.leaderHeld) process.stdout.write(`  ${f.system}: the leader changed during the window; the roles above are those at its start\n`);
  }
  process.stdout.write('\n');
  const w2 = [22, 10, 10, 8];
  process.stdout.write(`${row(['', 'quorumd', 'etcd', 'ratio'], w2)}\n`);
  const line = (label: string, a: number | null, b: number | null, r: number | null, fmt: (v: number | null) => string) =>
    process.stdout.write(`${row([label, fmt(a), fmt(b), fmtRatio(r)], w2)}\n`);
  line('primary CPU', qs.primaryCpu, es?.primaryCpu ?? null, ratios?.primaryCpu ?? null, pct);
  line('follower CPU (mean)', qs.followerCpu, es?.followerCpu ?? null, ratios?.followerCpu ?? null, pct);
  line('primary RSS', qs.primaryRss, es?.primaryRss ?? null, ratios?.primaryRss ?? null, fmtMiB);
  line('follower RSS (mean)', qs.followerRss, es?.followerRss ?? null, ratios?.followerRss ?? null, fmtMiB);
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
