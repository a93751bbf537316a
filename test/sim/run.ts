// The simulator's command line: runs many seeds with every checker on and
// prints runs per second; a failing seed prints its seed and the trace that
// led to the violation, and replays exactly with --seed.
//
//   npm run sim -- --seeds 5000            seeds 1..5000 over every shape
//   npm run sim -- --seeds 2000 --shape 5  only the shapes with 5 voters
//   npm run sim -- --seed 1234             one seed, with its trace tail
//   options: --from S (first seed), --trace N (trace lines shown), --heal
//   all|majority|either (what the heal leaves stable), --all (keep going
//   after a failure), --members (operators change the membership during the
//   faults), --mismatch P (the chance a run starts some nodes with another
//   configuration, hence another cluster id), --lies none|KINDS (which kinds
//   of lying evidence run, by default all: reject_cut, stale_url and
//   proxy_no_backend, comma-separated; none runs as before those faults
//   existed)
//
// The liveness bound is livenessBoundMs() in checkers.ts: the loyalty period
// (electionTimeoutMs), four failed election attempts of 2 × (electionTimeoutMs
// + electionJitterMs) each, the winning attempt and one heartbeat, divided by
// 1 - clockDriftBound for true time (3032 ms with the default timings). The
// summary prints how much of it the slowest seed needed, so the margin stays
// visible: about a third of it over 100,000 seeds.

import { MEMBER_CHANGE_WEIGHT, NO_LIES, formatFailure, runSeed, type LieKind, type RunResult } from './simulator.js';
import { SHAPES, shapesWithVoters } from './shapes.js';
import { livenessBoundMs } from './checkers.js';

interface Args {
  seeds: number;
  from: number;
  seed: number | null;
  shape: number | null;
  trace: number;
  heal: 'all' | 'majority' | 'either';
  all: boolean;
  members: boolean;
  mismatch: number;
  /** The kinds of lying evidence that run (the others get weight 0). */
  lies: readonly LieKind[];
}

const LIE_KINDS = Object.keys(NO_LIES) as LieKind[];

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { seeds: 1000, from: 1, seed: null, shape: null, trace: 40, heal: 'either', all: false, members: false, mismatch: 0, lies: LIE_KINDS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${a} needs a whole number`);
      return v;
    };
    if (a === '--seeds') args.seeds = value();
    else if (a === '--from') args.from = value();
    else if (a === '--seed') args.seed = value();
    else if (a === '--shape') args.shape = value();
    else if (a === '--trace') args.trace = value();
    else if (a === '--heal') {
      const h = argv[++i];
      if (h !== 'all' && h !== 'majority' && h !== 'either') throw new Error('--heal needs all, majority or either');
      args.heal = h;
    } else if (a === '--all') args.all = true;
    else if (a === '--members') args.members = true;
    else if (a === '--lies') {
      const v = argv[++i] ?? '';
      const kinds = v === 'none' ? [] : v.split(',');
      const bad = kinds.filter((k) => !LIE_KINDS.includes(k as LieKind));
      if (v === '' || bad.length > 0) throw new Error(`--lies needs none or some of ${LIE_KINDS.join(',')}`);
      args.lies = kinds as LieKind[];
    } else if (a === '--mismatch') {
      const p = Number(argv[++i]);
      if (!(p >= 0 && p <= 1)) throw new Error('--mismatch needs a chance between 0 and 1');
      args.mismatch = p;
    } else throw new Error(`unknown argument ${a}; see test/sim/run.ts`);
  }
  return args;
}

/** main runs the command with its arguments, writes through `log`, and returns the exit code. */
export function main(argv: readonly string[], log: (line: string) => void = console.log): number {
  const args = parseArgs(argv);
  const shapes = args.shape === null ? SHAPES : shapesWithVoters(args.shape);
  if (shapes.length === 0) throw new Error(`no shape has ${args.shape} voters`);

  const off = Object.fromEntries(LIE_KINDS.filter((k) => !args.lies.includes(k)).map((k) => [k, 0]));
  const faults = { ...(args.members ? { member_change: MEMBER_CHANGE_WEIGHT } : {}), ...off };
  const opts = { shapes, heal: args.heal, mismatch: args.mismatch, faults };
  if (args.seed !== null) {
    const r = runSeed({ seed: args.seed, ...opts, traceLimit: Math.max(args.trace, 60) });
    log(formatFailure(r, args.trace, null));
    log(summaryLine(r));
    return r.violations.length === 0 ? 0 : 1;
  }

  const started = process.hrtime.bigint();
  const failures: RunResult[] = [];
  const perShape = new Map<string, { runs: number; elections: number; acked: number }>();
  let events = 0;
  let virtualMs = 0;
  let worstLiveness = 0;
  let worstSeed = 0;
  for (let s = args.from; s < args.from + args.seeds; s++) {
    const r = runSeed({ seed: s, ...opts });
    events += r.stats.events;
    virtualMs += r.stats.virtualMs;
    const agg = perShape.get(r.shape.name) ?? { runs: 0, elections: 0, acked: 0 };
    agg.runs++;
    agg.elections += r.stats.elections;
    agg.acked += r.stats.acked;
    perShape.set(r.shape.name, agg);
    if (r.stats.primaryAfterHealMs !== null) {
      const used = r.stats.primaryAfterHealMs / livenessBoundMs(r.timings);
      if (used > worstLiveness) {
        worstLiveness = used;
        worstSeed = s;
      }
    }
    if (r.violations.length > 0) {
      failures.push(r);
      const flags =
        `${args.shape === null ? '' : ` --shape ${args.shape}`}${args.heal === 'either' ? '' : ` --heal ${args.heal}`}` +
        `${args.members ? ' --members' : ''}${args.mismatch > 0 ? ` --mismatch ${args.mismatch}` : ''}${args.lies.length === LIE_KINDS.length ? '' : ` --lies ${args.lies.length === 0 ? 'none' : args.lies.join(',')}`}`;
      log(`\nFAIL ${formatFailure(r, args.trace, `npm run sim -- --seed ${s}${flags}`)}\n`);
      if (!args.all) break;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const runs = [...perShape.values()].reduce((n, a) => n + a.runs, 0);
  for (const [name, a] of perShape) {
    log(
      `${name.padEnd(8)} ${String(a.runs).padStart(6)} runs  ${(a.elections / a.runs).toFixed(1)} elections/run  ${(a.acked / a.runs).toFixed(0)} acked writes/run`,
    );
  }
  log(
    `${runs} runs in ${seconds.toFixed(1)} s: ${(runs / seconds).toFixed(1)} runs/s, ` +
      `${(events / seconds / 1e6).toFixed(2)} M events/s, ${(virtualMs / 1000 / seconds).toFixed(0)}× real time`,
  );
  log(`slowest primary after the heal: ${(worstLiveness * 100).toFixed(0)}% of the liveness bound (seed ${worstSeed})`);
  log(failures.length === 0 ? 'no violations' : `${failures.length} failing seed(s): ${failures.map((f) => f.seed).join(', ')}`);
  return failures.length === 0 ? 0 : 1;
}

function summaryLine(r: RunResult): string {
  const s = r.stats;
  return (
    `seed ${r.seed} ${r.shape.name}: ${s.events} events, ${s.virtualMs.toFixed(0)} ms virtual, digest ${r.digest.toString(16)}, ` +
    `${s.elections} elections (max term ${s.maxTerm}), ${s.writes} writes / ${s.acked} acked, ${s.crashes} crashes ` +
    `(${s.midPersistCrashes} mid-persist), ${s.pauses} pauses, ${s.partitions} partitions (${s.rejectCuts} REJECT), ` +
    `${s.staleUrls} stale urls, ${s.proxiesWithoutBackend} proxies without a backend, ${s.lyingEvidence} lying evidence, ${s.lost} lost, ` +
    `primary ${s.primaryAfterHealMs === null ? 'never' : `${s.primaryAfterHealMs.toFixed(0)} ms`} after the heal`
  );
}

if (process.env.TAP === '1') {
  // `npx tap test/sim/` loads every module of this folder as a test file. Then
  // this one proves the command line itself on a few seeds, not thousands.
  const { default: t } = await import('tap');
  t.test('the command line runs seeds, prints runs per second, and replays one seed with its digest', async (t) => {
    const lines: string[] = [];
    t.equal(
      main(['--seeds', '20', '--shape', '3'], (l) => lines.push(l)),
      0,
      'exit code 0: no violation',
    );
    t.match(lines.join('\n'), /20 runs in [\d.]+ s: [\d.]+ runs\/s/);
    const one: string[] = [];
    t.equal(
      main(['--seed', '7'], (l) => one.push(l)),
      0,
    );
    t.match(one.join('\n'), /seed 7 .*digest [0-9a-f]+/);
    t.throws(() => main(['--bogus']), /unknown argument/);
    t.throws(() => main(['--lies', 'loud']), /--lies needs none or some of/);
  });
} else {
  process.exitCode = main(process.argv.slice(2));
}
