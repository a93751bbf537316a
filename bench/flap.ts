// `npm run bench:flap`: spurious elections under a Kubernetes-like CPU limit,
// quorumd beside etcd.
//
// Each node's process runs in a CPU cgroup of its own (cgroup v1,
// cpu.cfs_quota_us per cpu.cfs_period_us: 100m is 10 ms of CPU per 100 ms),
// moved there as soon as it is spawned, so it starts, idles and is throttled
// as a pod with that limit would be. Nothing fails: every election counted is
// one the timings did not survive. A 3-node quorumd cluster at the given
// timings (default: the product's) and a 3-node etcd cluster at heartbeat
// 30 ms / election timeout 150 ms run side by side for the same window, each
// quorumd node with its agent reporting its position every 100 ms. Counted
// from the moment both agree on a leader:
//   terms      the highest term at the end minus the one at the start: the
//              elections held (a failed pre-vote starts no term);
//   changes    leader changes seen by polling each node (every --poll-ms);
//   quorumd also: its nodes' quorumd_elections_total by outcome (elected,
//              probe_failed, lost, timed_out), the stands they made;
//   throttled  the share of CFS periods in which each group ran out of quota.
// Needs root and cgroup v1's cpu controller; says why and exits 1 otherwise.
// Every group is removed at the end, on an error and on Ctrl-C.

import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { DEFAULT_TIMINGS } from '../src/core/index.js';
import { CpuGroup, cgroupProblem } from './lib/cgroup.js';
import { cleanupNow, installCleanup, trackFolder } from './lib/cleanup.js';
import { EtcdSystem, etcdVersion } from './lib/etcd-system.js';
import { QuorumdSystem } from './lib/quorumd-system.js';
import { row, sleep } from './lib/stats.js';
import { ETCD_TIMING_OPTIONS, TIMING_OPTIONS, etcdTimings, intOption, quorumdTimings } from './lib/options.js';
import type { BenchTimings, SystemName, SystemUnderTest } from './lib/system.js';

const USAGE = `Usage: npm run bench:flap -- [options]

  --seconds N                the measured window (default 300)
  --cpu-millis N             each node's CPU limit in millicores (default 100, a 100m limit; 200 for 200m)
  --heartbeat-ms N           quorumd (default: the product's, ${DEFAULT_TIMINGS.heartbeatMs})
  --lease-ms N               quorumd (default: the product's, ${DEFAULT_TIMINGS.leaseMs})
  --election-timeout-ms N    quorumd (default: the product's, ${DEFAULT_TIMINGS.electionTimeoutMs})
  --election-jitter-ms N     quorumd (default: the product's, ${DEFAULT_TIMINGS.electionJitterMs})
  --fast-failover on|off     quorumd's QUORUMD_FAST_FAILOVER (default: the product's)
  --etcd-heartbeat-ms N      (default 30)
  --etcd-election-timeout-ms N  (default 150)
  --report-ms N              how often quorumd's agent reports each node's position (default 100; 0 for none)
  --poll-ms N                how often every node is asked who leads (default 1000)
  --no-etcd                  measure quorumd alone, even when etcd is installed
  --json                     one JSON object with every figure
`;

interface Options {
  readonly seconds: number;
  readonly millicores: number;
  readonly quorumd: BenchTimings;
  readonly etcd: BenchTimings;
  readonly reportMs: number;
  readonly pollMs: number;
  readonly withEtcd: boolean;
  readonly json: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string' },
      'cpu-millis': { type: 'string' },
      ...TIMING_OPTIONS,
      ...ETCD_TIMING_OPTIONS,
      'report-ms': { type: 'string' },
      'poll-ms': { type: 'string' },
      'no-etcd': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = intOption((message) => fail(message, 2));
  return {
    seconds: int(values.seconds, 300, '--seconds', 1),
    millicores: int(values['cpu-millis'], 100, '--cpu-millis', 1),
    quorumd: quorumdTimings(values, int, (message) => fail(message, 2)),
    etcd: etcdTimings(values, int),
    reportMs: int(values['report-ms'], 100, '--report-ms', 0),
    pollMs: int(values['poll-ms'], 1000, '--poll-ms', 10),
    withEtcd: !(values['no-etcd'] ?? false),
    json: values.json ?? false,
  };
}

function fail(message: string, code: number): never {
  process.stderr.write(`bench:flap: ${message}\n${code === 2 ? `\n${USAGE}` : ''}`);
  process.exit(code);
}

const MEMBERS = 3;

/** What one poll of a node says: who it takes to lead, in which term. */
interface Seen {
  readonly leader: string | null;
  readonly term: number;
}

/** A system's nodes, each in its own CPU group, and how to ask one of them who leads. */
interface Flapper {
  readonly sut: SystemUnderTest;
  readonly groups: Map<string, CpuGroup>;
  seen(id: string): Promise<Seen | null>;
  /** quorumd only: the sum over its nodes of quorumd_elections_total, by outcome. */
  elections?(): Promise<Record<string, number>>;
  stopAgent(): Promise<void>;
}

interface FlapFigures {
  readonly system: SystemName;
  readonly timings: BenchTimings;
  readonly terms: number;
  readonly leaderChanges: number;
  readonly unanswered: number;
  readonly electionsByOutcome: Record<string, number> | null;
  readonly throttled: Record<string, number>;
}

/** groupsFor makes one CPU group per node name, under a prefix unique to this run. */
function groupsFor(names: readonly string[], millicores: number): Map<string, CpuGroup> {
  return new Map(names.map((n) => [n, new CpuGroup(`quorumd-bench-flap-${process.pid}-${n}`, millicores)]));
}

async function startQuorumd(dir: string, opts: Options): Promise<Flapper> {
  const groups = groupsFor(
    Array.from({ length: MEMBERS }, (_, i) => `d${i + 1}`),
    opts.millicores,
  );
  const sut = await QuorumdSystem.start(MEMBERS, dir, opts.quorumd, false, { onSpawn: (id, pid) => groups.get(id)?.add(pid) });
  const cluster = sut.cluster;
  let stopped = false;
  const agent =
    opts.reportMs === 0
      ? Promise.resolve()
      : Promise.all(
          sut.ids.map(async (id) => {
            while (!stopped) {
              await cluster.reportPosition(id, { term: 0, lsn: 0 });
              await sleep(opts.reportMs);
            }
          }),
        ).then(() => {});
  return {
    sut,
    groups,
    async seen(id) {
      const s = await cluster.status(id, 2_000);
      return s ? { leader: s.primaryId, term: s.term } : null;
    },
    async elections() {
      const sums: Record<string, number> = {};
      for (const id of sut.ids) {
        try {
          const res = await request(`${cluster.node(id).url}/metrics`, { signal: AbortSignal.timeout(5_000) });
          const text = await res.body.text();
          for (const m of text.matchAll(/^quorumd_elections_total\{outcome="([a-z_]+)"\} (\d+)$/gm)) {
            sums[m[1]!] = (sums[m[1]!] ?? 0) + Number(m[2]);
          }
        } catch {
          // A node that does not answer adds nothing; its term still counts.
        }
      }
      return sums;
    },
    async stopAgent() {
      stopped = true;
      await agent;
    },
  };
}

async function startEtcd(dir: string, opts: Options): Promise<Flapper> {
  const groups = groupsFor(
    Array.from({ length: MEMBERS }, (_, i) => `e${i + 1}`),
    opts.millicores,
  );
  const sut = await EtcdSystem.start(MEMBERS, dir, opts.etcd, false, { onSpawn: (id, pid) => groups.get(id)?.add(pid) });
  const names = new Map<string, string>();
  return {
    sut,
    groups,
    async seen(id) {
      const s = await sut.status(id, 2_000);
      if (!s?.raftTerm) return null;
      const own = s.header?.member_id;
      if (own) names.set(own, id);
      const leader = s.leader && s.leader !== '0' ? (names.get(s.leader) ?? s.leader) : null;
      return { leader, term: Number(s.raftTerm) };
    },
    async stopAgent() {},
  };
}

async function waitLeader(sut: SystemUnderTest): Promise<void> {
  const end = performance.now() + 120_000;
  while (!(await sut.agreed(sut.ids))) {
    if (performance.now() > end) throw new Error(`${sut.system}: no leader agreed within 120 s`);
    await sleep(200);
  }
}

/** watch polls every node of a system until stopped: the terms and leader changes it sees. */
function watch(f: Flapper, pollMs: number) {
  let stopped = false;
  let first: number | null = null;
  let highest = 0;
  let changes = 0;
  let unanswered = 0;
  let leader: string | null = null;
  let leaderTerm = -1;
  const poll = async () => {
    const seen = await Promise.all(f.sut.ids.map((id) => f.seen(id)));
    for (const s of seen) {
      if (!s) {
        unanswered++;
        continue;
      }
      highest = Math.max(highest, s.term);
      first ??= s.term;
    }
    // The leader the freshest nodes name: a change is another name in a
    // higher term (one term has one leader; the term rule also keeps a name
    // learned late, an etcd member id, from counting as a change).
    const fresh = seen.filter((s): s is Seen => s !== null && s.term === highest && s.leader !== null);
    const named = fresh[0]?.leader ?? null;
    if (named !== null && named !== leader && highest > leaderTerm) {
      if (leader !== null) changes++;
      leader = named;
      leaderTerm = highest;
    }
  };
  const loop = (async () => {
    while (!stopped) {
      const t = performance.now();
      await poll();
      await sleep(Math.max(0, pollMs - (performance.now() - t)));
    }
    await poll();
  })();
  return async () => {
    stopped = true;
    await loop;
    return { terms: first === null ? 0 : highest - first, changes, unanswered };
  };
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const problem = cgroupProblem();
  if (problem !== null) fail(`cannot limit the nodes' CPU: ${problem}`, 1);
  installCleanup();
  const etcd = opts.withEtcd ? etcdVersion() : null;
  const q = opts.quorumd;
  const header = [
    `bench:flap: ${MEMBERS} nodes each, every node in its own CPU cgroup limited to ${opts.millicores}m (cfs_quota_us ${opts.millicores * 100} per cfs_period_us 100000), ${opts.seconds} s; ${cpus().length} cpus (${cpus()[0]?.model ?? '?'}), load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    `quorumd: heartbeat ${q.heartbeatMs} ms, lease ${q.leaseMs} ms, election timeout ${q.electionTimeoutMs} ms + jitter ${q.electionJitterMs} ms; agent every ${opts.reportMs || '-'} ms per node`,
    etcd
      ? `etcd: ${etcd}, --heartbeat-interval ${opts.etcd.heartbeatMs} --election-timeout ${opts.etcd.electionTimeoutMs} --pre-vote`
      : 'etcd: not measured (not on the PATH, or --no-etcd)',
  ];
  if (!opts.json) process.stdout.write(`${header.join('\n')}\n\n`);
  const root = trackFolder(mkdtempSync(join(tmpdir(), 'quorumd-bench-flap-')));
  const flappers: Flapper[] = [];
  try {
    flappers.push(await startQuorumd(join(root, 'quorumd'), opts));
    if (etcd) flappers.push(await startEtcd(join(root, 'etcd'), opts));
    await Promise.all(flappers.map((f) => waitLeader(f.sut)));
    const before = await Promise.all(flappers.map((f) => f.elections?.() ?? null));
    const throttled0 = flappers.map((f) => new Map([...f.groups].map(([id, g]) => [id, g.throttled()])));
    const stops = flappers.map((f) => watch(f, opts.pollMs));
    await sleep(opts.seconds * 1000);
    const watched = await Promise.all(stops.map((stop) => stop()));
    const after = await Promise.all(flappers.map((f) => f.elections?.() ?? null));
    const figures: FlapFigures[] = flappers.map((f, i) => {
      const b = before[i];
      const a = after[i];
      const electionsByOutcome = a && b ? Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)])) : null;
      const throttled = Object.fromEntries(
        [...f.groups].map(([id, g]) => {
          const t0 = throttled0[i]!.get(id)!;
          const t1 = g.throttled();
          const periods = t1.periods - t0.periods;
          return [id, periods > 0 ? (t1.throttledPeriods - t0.throttledPeriods) / periods : 0];
        }),
      );
      return {
        system: f.sut.system,
        timings: f.sut.system === 'quorumd' ? opts.quorumd : opts.etcd,
        terms: watched[i]!.terms,
        leaderChanges: watched[i]!.changes,
        unanswered: watched[i]!.unanswered,
        electionsByOutcome,
        throttled,
      };
    });
    for (const f of flappers) await f.stopAgent();
    print(figures, opts, header);
  } finally {
    for (const f of flappers) await f.stopAgent().catch(() => {});
    for (const f of flappers) await f.sut.stop().catch(() => {});
    for (const f of flappers) for (const g of f.groups.values()) g.remove();
  }
}

function print(figures: FlapFigures[], opts: Options, header: string[]): void {
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ header, millicores: opts.millicores, seconds: opts.seconds, figures })}\n`);
    return;
  }
  const widths = [8, 14, 7, 8, 10, 30];
  process.stdout.write(`${row(['system', 'timings', 'terms', 'changes', 'no answer', 'throttled periods per node'], widths, 2)}\n`);
  for (const f of figures) {
    const throttled = Object.entries(f.throttled)
      .map(([id, share]) => `${id} ${(share * 100).toFixed(0)}%`)
      .join(' ');
    process.stdout.write(
      `${row([f.system, f.system === 'quorumd' ? `${f.timings.heartbeatMs}/${f.timings.leaseMs}/${f.timings.electionTimeoutMs}` : `${f.timings.heartbeatMs}/${f.timings.electionTimeoutMs}`, String(f.terms), String(f.leaderChanges), String(f.unanswered), throttled], widths, 2)}\n`,
    );
  }
  const q = figures.find((f) => f.system === 'quorumd');
  if (q?.electionsByOutcome) {
    const parts = Object.entries(q.electionsByOutcome).filter(([, n]) => n > 0);
    process.stdout.write(`\nquorumd_elections_total over the window, all nodes: ${parts.length ? parts.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}\n`);
  }
  process.stdout.write(
    'timings: heartbeat/lease/election timeout (etcd: heartbeat/election timeout); terms: elections held (highest term at the end minus at the start); changes: leader changes seen; no answer: polls a node did not answer within 2 s\n',
  );
}

main().then(
  () => {
    cleanupNow();
    process.exit(0);
  },
  (err) => {
    process.stderr.write(`bench:flap: ${(err as Error).stack ?? String(err)}\n`);
    cleanupNow();
    process.exit(1);
  },
);
