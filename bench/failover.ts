// `npm run bench:failover`: how long a failover takes, quorumd beside etcd.
//
// For each cluster size and fault, a cluster of real processes on 127.0.0.1
// loses its primary many times, and each round is timed from the fault until
// every live node agrees on a new primary in a higher term, the primary
// itself confirming (quorumd: it holds its lease). Faults:
//   sigkill    the primary's process is killed;
//   sigstop    it hangs (SIGSTOP), and is continued (SIGCONT) to rejoin once
//              the new primary is agreed;
//   partition  every link to and from it is stalled by a TCP proxy
//              (test/kit/fault-proxy.ts), healed once the new primary is
//              agreed and the old one's lease has run out;
//   sigterm    graceful shutdown: the primary makes a switchover, then exits. Every
//              node's GET /primary is watched meanwhile, and every poll in
//              which two nodes answer 200 is counted (for partition too).
// A killed node is restarted from its data folder after each round, and the
// next round starts once every node agrees on one primary for a while.
// When the `etcd` binary is on the PATH, etcd runs the same rounds, with
// heartbeat 30 ms and election timeout 150 ms (its usual fast setting), while
// quorumd runs at its own defaults unless told otherwise; the ratio quorumd /
// etcd is printed for each figure.
// The output ends with the median at the most members over the median at
// the fewest: how the cost grows with the cluster.
// Benchmarks print figures; nothing here passes or fails on a time.

import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DEFAULT_TIMINGS } from '../src/core/index.js';
import { cleanupNow, installCleanup, trackFolder } from './lib/cleanup.js';
import { EtcdSystem, etcdVersion } from './lib/etcd-system.js';
import { QuorumdSystem } from './lib/quorumd-system.js';
import { fmtMiB, fmtMs, fmtRatio, ratio, row, rssKiB, sleep, summarize, type Summary } from './lib/stats.js';
import { ETCD_TIMING_OPTIONS, TIMING_OPTIONS, etcdTimings, intOption, quorumdTimings } from './lib/options.js';
import type { BenchTimings, Leader, SystemName, SystemUnderTest } from './lib/system.js';

const FAULTS = ['sigkill', 'sigstop', 'partition', 'sigterm'] as const;
type Fault = (typeof FAULTS)[number];

const USAGE = `Usage: npm run bench:failover -- [options]

  --rounds N                 rounds per configuration (default 20)
  --members 3,5,7,9          cluster sizes (default 3,5,7,9)
  --faults ${FAULTS.join(',')}
                             faults to inject (default all)
  --json                     one JSON object per line and configuration
  --no-etcd                  measure quorumd alone, even when etcd is installed
  --poll-ms N                pause between two polls of every live node (default 5)
  --heartbeat-ms N           quorumd's heartbeat (default ${DEFAULT_TIMINGS.heartbeatMs}, the product's)
  --lease-ms N               quorumd's lease (default ${DEFAULT_TIMINGS.leaseMs})
  --election-timeout-ms N    quorumd's election timeout (default ${DEFAULT_TIMINGS.electionTimeoutMs})
  --election-jitter-ms N     quorumd's jitter (default ${DEFAULT_TIMINGS.electionJitterMs})
  --fast-failover on|off     quorumd's QUORUMD_FAST_FAILOVER (default: the product's, on)
  --etcd-heartbeat-ms N      etcd's --heartbeat-interval (default 30)
  --etcd-election-timeout-ms N  etcd's --election-timeout (default 150; its jitter always equals it)

  BENCH_DEBUG=1 in the environment prints every round and every leader change seen while waiting.
`;

interface Options {
  readonly rounds: number;
  readonly members: readonly number[];
  readonly faults: readonly Fault[];
  readonly json: boolean;
  readonly etcd: boolean;
  readonly timings: BenchTimings;
  readonly etcdTimings: BenchTimings;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' },
      members: { type: 'string' },
      faults: { type: 'string' },
      json: { type: 'boolean' },
      'no-etcd': { type: 'boolean' },
      'poll-ms': { type: 'string' },
      ...TIMING_OPTIONS,
      ...ETCD_TIMING_OPTIONS,
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = intOption(fail);
  const members = (values.members ?? '3,5,7,9').split(',').map((m) => int(m.trim(), 0, '--members', 1));
  const faults = (values.faults ?? FAULTS.join(',')).split(',').map((f) => f.trim().toLowerCase());
  for (const f of faults)
    if (!(FAULTS as readonly string[]).includes(f)) fail(`--faults: unknown fault ${JSON.stringify(f)}; the faults are ${FAULTS.join(', ')}`);
  POLL_MS = int(values['poll-ms'], POLL_MS, '--poll-ms', 0);
  return {
    rounds: int(values.rounds, 20, '--rounds', 1),
    members,
    faults: FAULTS.filter((f) => faults.includes(f)),
    json: values.json ?? false,
    etcd: !(values['no-etcd'] ?? false),
    timings: quorumdTimings(values, int, fail),
    etcdTimings: etcdTimings(values, int),
  };
}

function fail(message: string): never {
  process.stderr.write(`bench:failover: ${message}\n\n${USAGE}`);
  process.exit(2);
}

/** How the rounds are paced. */
let POLL_MS = 5;
const STABLE_HOLD_MS = 100;
const STABLE_TIMEOUT_MS = 30_000;
const FAILOVER_LIMIT_MS = 15_000;
/** A cut stays cut this long after the new primary is agreed, so the old primary's lease runs out while isolated. */
const PARTITION_TAIL_MS = 300;
/** After SIGTERM, a process still running this long after the new primary is agreed is killed (and counted). */
const SIGTERM_EXIT_CAP_MS = 1_500;

interface ConfigResult {
  readonly system: SystemName;
  readonly members: number;
  readonly fault: Fault;
  readonly samples: number[];
  readonly termDeltas: number[];
  /** sigterm: from SIGTERM until the old primary's process exited by itself. */
  readonly exitMs: number[];
  /** sigterm: rounds whose old primary had not exited SIGTERM_EXIT_CAP_MS after the new primary was agreed. */
  exitHung: number;
  timedOut: number;
  /** Polls of GET /primary in which two or more nodes answered 200; null when not watched. */
  dualPrimaryInstants: number | null;
  dualPrimaryExample: string | null;
  error: string | null;
}

interface RoundResult {
  readonly ms: number | null;
  readonly termDelta: number | null;
  readonly dual: number;
  readonly dualExample: string | null;
  readonly exitMs: number | null;
}

/** waitStable waits until every listed node names the same leader in the same term for holdMs. */
async function waitStable(sut: SystemUnderTest, ids: readonly string[], holdMs = STABLE_HOLD_MS): Promise<Leader> {
  const end = performance.now() + STABLE_TIMEOUT_MS;
  let last: Leader | null = null;
  let since = 0;
  for (;;) {
    const a = await sut.agreed(ids);
    const now = performance.now();
    if (a && last && a.id === last.id && a.term === last.term) {
      if (now - since >= holdMs) return a;
    } else {
      if (process.env.BENCH_DEBUG && a && last) process.stderr.write(`    unstable: ${last.id}/${last.term} -> ${a.id}/${a.term}\n`);
      last = a;
      since = now;
    }
    if (now > end) throw new Error(`${sut.system}: no stable primary among ${ids.join(', ')} within ${STABLE_TIMEOUT_MS} ms`);
    await sleep(10);
  }
}

/** watchPrimaries polls GET /primary on the nodes and counts the polls in which two or more answer 200. */
function watchPrimaries(sut: SystemUnderTest, ids: readonly string[]) {
  let stopped = false;
  let dual = 0;
  let example: string | null = null;
  const t0 = performance.now();
  const loop = (async () => {
    while (!stopped) {
      const answers = await sut.primaryAnswers!(ids);
      if (answers.length >= 2) {
        dual++;
        example ??= `at +${(performance.now() - t0).toFixed(0)} ms: ${answers.map((a) => `${a.id} (term ${a.term})`).join(' and ')} answered 200`;
      }
      await sleep(POLL_MS);
    }
  })();
  return {
    async stop(): Promise<{ dual: number; example: string | null }> {
      stopped = true;
      await loop;
      return { dual, example };
    },
  };
}

const SIGNALS: Record<Exclude<Fault, 'partition'>, NodeJS.Signals> = { sigkill: 'SIGKILL', sigstop: 'SIGSTOP', sigterm: 'SIGTERM' };

async function runRound(sut: SystemUnderTest, fault: Fault): Promise<RoundResult> {
  const before = await waitStable(sut, sut.ids);
  const victim = before.id;
  const live = sut.ids.filter((id) => id !== victim);
  const watcher = (fault === 'sigterm' || fault === 'partition') && sut.primaryAnswers ? watchPrimaries(sut, sut.ids) : null;

  const t0 = performance.now();
  if (fault === 'partition') await sut.isolate([victim]);
  else sut.signal(victim, SIGNALS[fault]);
  let after: Leader | null = null;
  let ms: number | null = null;
  while (performance.now() - t0 < FAILOVER_LIMIT_MS) {
    const a = await sut.agreed(live);
    if (a && a.id !== victim && a.term > before.term) {
      ms = performance.now() - t0;
      after = a;
      break;
    }
    await sleep(POLL_MS);
  }

  // Bring the old primary back, so the next round starts from a whole cluster.
  let watched: { dual: number; example: string | null } | null = null;
  let exitMs: number | null = null;
  switch (fault) {
    case 'sigkill':
      await sut.waitExit(victim, 5_000);
      await sut.respawn(victim);
      break;
    case 'sigterm':
      if (await sut.waitExit(victim, SIGTERM_EXIT_CAP_MS)) exitMs = performance.now() - t0;
      else {
        sut.signal(victim, 'SIGKILL');
        await sut.waitExit(victim, 5_000);
      }
      watched = (await watcher?.stop()) ?? null;
      await sut.respawn(victim);
      break;
    case 'sigstop':
      sut.signal(victim, 'SIGCONT');
      break;
    case 'partition':
      await sleep(PARTITION_TAIL_MS);
      await sut.isolate([]);
      await sleep(50);
      watched = (await watcher?.stop()) ?? null;
      break;
  }
  if (process.env.BENCH_DEBUG) {
    process.stderr.write(
      `    round ${sut.system} ${fault}: failover ${ms?.toFixed(0)} ms, recovered after ${(performance.now() - t0).toFixed(0)} ms, term ${before.term} -> ${after?.term}\n`,
    );
  }
  return { ms, termDelta: after ? after.term - before.term : null, dual: watched?.dual ?? 0, dualExample: watched?.example ?? null, exitMs };
}

async function startSystem(system: SystemName, members: number, root: string, timings: BenchTimings, proxied: boolean): Promise<SystemUnderTest> {
  const dir = join(root, `${system}-${members}${proxied ? '-proxied' : ''}`);
  return system === 'quorumd' ? QuorumdSystem.start(members, dir, timings, proxied) : EtcdSystem.start(members, dir, timings, proxied);
}

/** runSystem runs every requested fault on clusters of one system and size; RSS is read from the direct cluster. */
async function runSystem(
  system: SystemName,
  members: number,
  opts: Options,
  root: string,
  progress: (line: string) => void,
): Promise<{ results: ConfigResult[]; rss: Map<string, number | null> }> {
  const results: ConfigResult[] = [];
  const rss = new Map<string, number | null>();
  const direct = opts.faults.filter((f) => f !== 'partition');
  const groups: Array<{ proxied: boolean; faults: Fault[] }> = [];
  if (direct.length) groups.push({ proxied: false, faults: direct });
  if (opts.faults.includes('partition')) groups.push({ proxied: true, faults: ['partition'] });

  for (const group of groups) {
    let sut: SystemUnderTest | null = null;
    try {
      sut = await startSystem(system, members, root, system === 'quorumd' ? opts.timings : opts.etcdTimings, group.proxied);
      for (const fault of group.faults) {
        const r: ConfigResult = {
          system,
          members,
          fault,
          samples: [],
          termDeltas: [],
          exitMs: [],
          exitHung: 0,
          timedOut: 0,
          dualPrimaryInstants: (fault === 'sigterm' || fault === 'partition') && sut.primaryAnswers ? 0 : null,
          dualPrimaryExample: null,
          error: null,
        };
        results.push(r);
        const started = performance.now();
        for (let i = 0; i < opts.rounds; i++) {
          try {
            const round = await runRound(sut, fault);
            if (round.ms === null) r.timedOut++;
            else r.samples.push(round.ms);
            if (round.termDelta !== null) r.termDeltas.push(round.termDelta);
            if (r.dualPrimaryInstants !== null) r.dualPrimaryInstants += round.dual;
            r.dualPrimaryExample ??= round.dualExample;
            if (round.exitMs !== null) r.exitMs.push(round.exitMs);
            else if (fault === 'sigterm') r.exitHung++;
          } catch (err) {
            r.error = (err as Error).message;
            progress(`  ${system} ${members} ${fault}: round ${i + 1} failed: ${r.error}`);
            break;
          }
        }
        const s = summarize(r.samples);
        progress(
          `  ${system.padEnd(7)} ${String(members).padStart(2)} members ${fault.padEnd(9)} ${r.samples.length} rounds in ${((performance.now() - started) / 1000).toFixed(1)} s, p50 ${fmtMs(s.p50)} ms, max ${fmtMs(s.max)} ms`,
        );
        if (r.error) break;
      }
      if (!group.proxied || rss.size === 0) for (const id of sut.ids) rss.set(id, rssKiB(sut.pid(id)));
    } finally {
      await sut?.stop().catch(() => undefined);
    }
  }
  return { results, rss };
}

// ---- output ----

function splitVotes(r: ConfigResult): { count: number; rate: number } {
  const count = r.termDeltas.filter((d) => d > 1).length;
  return { count, rate: r.termDeltas.length ? count / r.termDeltas.length : 0 };
}

interface Ratios {
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

function ratios(q: Summary, e: Summary): Ratios {
  return { p50: ratio(q.p50, e.p50), p90: ratio(q.p90, e.p90), p99: ratio(q.p99, e.p99), max: ratio(q.max, e.max) };
}

const round1 = (v: number) => (Number.isFinite(v) ? Math.round(v * 10) / 10 : null);

function jsonLine(
  r: ConfigResult,
  etcd: ConfigResult | undefined,
  rss: Map<string, number | null> | undefined,
  growth: { from: number; ratio: number | null } | null,
): string {
  const s = summarize(r.samples);
  const sv = splitVotes(r);
  const out: Record<string, unknown> = {
    system: r.system,
    members: r.members,
    fault: r.fault,
    rounds: r.samples.length,
    p50Ms: round1(s.p50),
    p90Ms: round1(s.p90),
    p99Ms: round1(s.p99),
    maxMs: round1(s.max),
  };
  if (etcd) out.ratioToEtcd = ratios(s, summarize(etcd.samples));
  out.timedOut = r.timedOut;
  out.splitVotes = sv.count;
  out.splitVoteRate = Math.round(sv.rate * 1000) / 1000;
  if (r.dualPrimaryInstants !== null) out.dualPrimaryInstants = r.dualPrimaryInstants;
  if (r.dualPrimaryExample) out.dualPrimaryExample = r.dualPrimaryExample;
  if (r.fault === 'sigterm') {
    const x = summarize(r.exitMs);
    out.exitAfterSigterm = { exited: r.exitMs.length, p50Ms: round1(x.p50), maxMs: round1(x.max), stillRunning: r.exitHung, capMs: SIGTERM_EXIT_CAP_MS };
  }
  if (growth) out.p50RatioToFewestMembers = { members: growth.from, ratio: growth.ratio };
  if (rss) out.rssKiB = Object.fromEntries(rss);
  if (r.error) out.error = r.error;
  return JSON.stringify(out);
}

const WIDTHS = [8, 10, 8, 7, 8, 8, 8, 8, 14, 12];

function tableHeader(): string {
  return row(['members', 'fault', 'system', 'rounds', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'split votes', '2-primary'], WIDTHS, 3);
}

function tableRow(r: ConfigResult): string {
  const s = summarize(r.samples);
  const sv = splitVotes(r);
  const rounds = r.timedOut ? `${r.samples.length}+${r.timedOut}!` : String(r.samples.length);
  return row(
    [
      String(r.members),
      r.fault,
      r.system,
      rounds,
      fmtMs(s.p50),
      fmtMs(s.p90),
      fmtMs(s.p99),
      fmtMs(s.max),
      `${sv.count} (${(sv.rate * 100).toFixed(0)}%)`,
      r.dualPrimaryInstants === null ? '-' : String(r.dualPrimaryInstants),
    ],
    WIDTHS,
    3,
  );
}

function ratioRow(q: ConfigResult, e: ConfigResult): string {
  const x = ratios(summarize(q.samples), summarize(e.samples));
  return row(['', '', 'q / etcd', '', fmtRatio(x.p50), fmtRatio(x.p90), fmtRatio(x.p99), fmtRatio(x.max), '', ''], WIDTHS, 3);
}

// ---- main ----

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  installCleanup();
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const say = (line = '') => (opts.json ? process.stderr.write(`${line}\n`) : out(line));
  const progress = (line: string) => process.stderr.write(`${line}\n`);

  const version = opts.etcd ? etcdVersion() : null;
  const systems: SystemName[] = version ? ['quorumd', 'etcd'] : ['quorumd'];
  const t = opts.timings;
  const cpu = cpus();
  say(`bench:failover — ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, everything on 127.0.0.1`);
  say(
    `quorumd timings: heartbeat ${t.heartbeatMs} ms, lease ${t.leaseMs} ms, election timeout ${t.electionTimeoutMs} ms + jitter up to ${t.electionJitterMs} ms; fast failover ${t.fastFailover === false ? 'off' : 'on'}; all members are data members`,
  );
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  say(`load average before the run: ${load()}${loadavg()[0]! > cpu.length ? ' (busy: other work on this machine skews the figures)' : ''}`);
  say(`${opts.rounds} rounds per configuration; members ${opts.members.join(', ')}; faults ${opts.faults.join(', ')}`);
  if (version) {
    say(
      `etcd: ${version}, --heartbeat-interval ${opts.etcdTimings.heartbeatMs} --election-timeout ${opts.etcdTimings.electionTimeoutMs} --pre-vote (etcd's timeout is drawn from [${opts.etcdTimings.electionTimeoutMs}, ${2 * opts.etcdTimings.electionTimeoutMs}) ms)`,
    );
  } else if (opts.etcd) {
    say("etcd: not found, so quorumd runs alone. To measure etcd side by side: bash bench/install-etcd.sh (Debian's etcd-server and etcd-client)");
  } else {
    say('etcd: skipped (--no-etcd)');
  }
  say('time: from the fault until every live node agrees on a new primary in a higher term, which itself confirms it');
  say();

  const root = trackFolder(mkdtempSync(join(tmpdir(), 'quorumd-bench-failover-')));
  const all: ConfigResult[] = [];
  const rssBy = new Map<string, Map<string, number | null>>();
  const started = performance.now();

  for (const members of opts.members) {
    for (const system of systems) {
      const { results, rss } = await runSystem(system, members, opts, root, progress);
      all.push(...results);
      rssBy.set(`${system}/${members}`, rss);
    }
    const find = (system: SystemName, fault: Fault) => all.find((r) => r.system === system && r.members === members && r.fault === fault);
    if (opts.json) {
      for (const fault of opts.faults) {
        const q = find('quorumd', fault);
        const e = find('etcd', fault);
        const growth = (r: ConfigResult) => {
          const fewest = Math.min(...opts.members);
          if (members === fewest) return null;
          const base = all.find((b) => b.system === r.system && b.members === fewest && b.fault === fault);
          return base ? { from: fewest, ratio: ratio(summarize(r.samples).p50, summarize(base.samples).p50) } : null;
        };
        if (q) out(jsonLine(q, e, rssBy.get(`quorumd/${members}`), growth(q)));
        if (e) out(jsonLine(e, undefined, rssBy.get(`etcd/${members}`), growth(e)));
      }
    } else {
      out(tableHeader());
      for (const fault of opts.faults) {
        const q = find('quorumd', fault);
        const e = find('etcd', fault);
        if (q) out(tableRow(q));
        if (e) out(tableRow(e));
        if (q && e) out(ratioRow(q, e));
        for (const r of [q, e]) {
          if (r?.dualPrimaryExample) out(`         two answered 200 on /primary, e.g. ${r.dualPrimaryExample}`);
          if (r?.error) out(`         ${r.system} stopped early: ${r.error}`);
          if (r && r.fault === 'sigterm') {
            const x = summarize(r.exitMs);
            const hung = r.exitHung ? `; in ${r.exitHung} it still ran ${SIGTERM_EXIT_CAP_MS / 1000} s after the new primary was agreed (then SIGKILLed)` : '';
            out(
              `         ${r.system}: the old primary exited by itself in ${r.exitMs.length} of ${r.exitMs.length + r.exitHung} rounds, ${fmtMs(x.p50)} ms (p50), ${fmtMs(x.max)} ms (max) after SIGTERM${hung}`,
            );
          }
        }
      }
      for (const system of systems) {
        const rss = rssBy.get(`${system}/${members}`);
        if (!rss || rss.size === 0) continue;
        const values = [...rss.values()].filter((v): v is number => v !== null);
        const total = values.reduce((a, b) => a + b, 0);
        out(
          `resident memory (VmRSS), ${system}, ${members} members: ${[...rss].map(([id, kib]) => `${id} ${fmtMiB(kib)}`).join(', ')}; mean ${fmtMiB(values.length ? total / values.length : null)}`,
        );
      }
      out();
    }
  }

  // How the cost grows with the cluster: the median at the most members over the median at the fewest.
  if (opts.members.length >= 2) {
    const fewest = Math.min(...opts.members);
    const most = Math.max(...opts.members);
    say(`cost as the cluster grows: median failover at ${most} members / median at ${fewest} members`);
    for (const fault of opts.faults) {
      const parts: string[] = [];
      for (const system of systems) {
        const a = all.find((r) => r.system === system && r.members === most && r.fault === fault);
        const b = all.find((r) => r.system === system && r.members === fewest && r.fault === fault);
        if (!a || !b) continue;
        const pa = summarize(a.samples).p50;
        const pb = summarize(b.samples).p50;
        parts.push(`${system} ${fmtMs(pa)} / ${fmtMs(pb)} ms = ${fmtRatio(ratio(pa, pb))}`);
      }
      say(`  ${fault.padEnd(10)} ${parts.join('    ')}`);
    }
  }
  say(
    `\nsplit votes: rounds whose new term is more than one above the old (more than one ballot). 2-primary: polls of GET /primary (every node, every ${POLL_MS} ms or so) in which two nodes answered 200, during sigterm and partition rounds (quorumd only).`,
  );
  say(`total time ${((performance.now() - started) / 1000).toFixed(0)} s; load average at the end: ${load()}`);
}

main()
  .then(() => {
    cleanupNow();
    process.exit(0);
  })
  .catch((err: unknown) => {
    process.stderr.write(`bench:failover failed: ${(err as Error).stack ?? String(err)}\n`);
    cleanupNow();
    process.exit(1);
  });
