// `npm run bench:vote`: how many vote probes a running quorumd node answers.
//
// A 3-node quorumd cluster runs on 127.0.0.1 (timings as bench:failover's
// defaults, positions reported, a primary agreed). A follower is sent
// POST /vote probes (dryRun true) from another member, a valid candidate,
// by `--concurrency` requests in flight over an undici Pool, for a fixed time
// after a warm-up. The same load goes to a bare fastify app (its own process,
// a body schema of the same shape, a small JSON reply) in the same run, in
// slices that alternate between the two, and the two are printed side by side
// with their ratio, along with the resident memory of both processes. Benchmarks print figures; nothing here
// passes or fails on a time.

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { ProcessCluster, waitFor, type NodeSpec } from '../test/kit/cluster.js';
import { cleanupNow, installCleanup, onCleanup, track, trackFolder } from './lib/cleanup.js';
import { fmtMiB, fmtRatio, ratio, rssKiB, sleep, summarize } from './lib/stats.js';

const USAGE = `Usage: npm run bench:vote -- [options]

  --duration-s N     measured seconds per target (default 5)
  --warmup-s N       warm-up seconds per target (default 1)
  --concurrency N    requests in flight (default 32)
  --slices N         the measured time is cut into N slices, alternating targets (default 5)
  --json             one JSON object per line and target
`;

interface Options {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly concurrency: number;
  readonly slices: number;
  readonly json: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      'duration-s': { type: 'string' },
      'warmup-s': { type: 'string' },
      concurrency: { type: 'string' },
      slices: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const num = (text: string | undefined, fallback: number, what: string, min: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) {
      process.stderr.write(`bench:vote: ${what} must be a number of at least ${min}; got ${JSON.stringify(text)}\n\n${USAGE}`);
      process.exit(2);
    }
    return n;
  };
  return {
    durationMs: num(values['duration-s'], 5, '--duration-s', 0.1) * 1000,
    warmupMs: num(values['warmup-s'], 1, '--warmup-s', 0) * 1000,
    concurrency: Math.round(num(values.concurrency, 32, '--concurrency', 1)),
    slices: Math.round(num(values.slices, 5, '--slices', 1)),
    json: values.json ?? false,
  };
}

interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly sample: string;
}

interface Slice {
  readonly latencies: number[];
  readonly errors: number;
  readonly elapsedMs: number;
  readonly sample: string;
}

function combine(slices: readonly Slice[]): LoadResult {
  const latencies = slices.flatMap((s) => s.latencies);
  const elapsed = slices.reduce((a, s) => a + s.elapsedMs, 0);
  const s = summarize(latencies);
  return {
    requests: latencies.length,
    errors: slices.reduce((a, x) => a + x.errors, 0),
    perSecond: (latencies.length / elapsed) * 1000,
    p50Ms: s.p50,
    p99Ms: s.p99,
    sample: slices.find((x) => x.sample)?.sample ?? '',
  };
}

/** load sends the same POST from `concurrency` loops for durationMs and times each answer. */
async function load(url: string, body: string, headers: Record<string, string>, concurrency: number, durationMs: number): Promise<Slice> {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  let errors = 0;
  let sample = '';
  const started = performance.now();
  const end = started + durationMs;
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        const res = await pool.request({ method: 'POST', path: '/vote', headers, body });
        const text = await res.body.text();
        if (res.statusCode !== 200) {
          errors++;
          sample ||= `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
          continue;
        }
        sample ||= text;
        latencies.push(performance.now() - t);
      } catch (err) {
        errors++;
        sample ||= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - started;
  await pool.close();
  return { latencies, errors, elapsedMs, sample };
}

/** startBare runs bench/lib/bare-fastify.js as its own process and resolves with its URL and pid. */
async function startBare(): Promise<{ url: string; pid: number | undefined; stop: () => void }> {
  const script = join(fileURLToPath(new URL('.', import.meta.url)), 'lib', 'bare-fastify.js');
  const child = track(spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => rej(new Error('the bare fastify app did not start within 20 s')), 20_000);
    lines.on('line', (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        res(Number(m[1]));
      }
    });
    child.once('exit', (code) => rej(new Error(`the bare fastify app exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid, stop: () => child.kill('SIGKILL') };
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  installCleanup();
  const say = (line = '') => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
  const cpu = cpus();

  const dir = trackFolder(mkdtempSync(join(tmpdir(), 'quorumd-bench-vote-')));
  const specs: NodeSpec[] = [1, 2, 3].map((i) => ({ id: `d${i}`, kind: 'data' }));
  const timings = { heartbeatMs: 30, leaseMs: 90, electionTimeoutMs: 150, electionJitterMs: 150 };
  const cluster = await ProcessCluster.start({ specs, dir, timings, logLevel: 'warn' });
  onCleanup(() => {
    for (const n of cluster.nodes.values()) if (n.child?.pid) n.child.kill('SIGKILL');
  });
  const ids = specs.map((s) => s.id);
  for (const id of ids) await cluster.waitUp(id, 20_000);
  for (const id of ids) await waitFor(() => cluster.reportPosition(id, { term: 0, lsn: 0 }), 20_000, `${id} to accept its position`);
  const { primaryId, term } = await cluster.waitAgreedPrimary(ids, 20_000);
  const [target, candidate] = ids.filter((id) => id !== primaryId) as [string, string];
  // The candidate's probe as it would send it: in the cluster's id, from its configuration position.
  const status = await cluster.status(candidate);
  if (!status?.clusterId || !status.config) throw new Error(`${candidate} does not say its cluster id and configuration`);
  const body = JSON.stringify({
    clusterId: status.clusterId,
    candidateId: candidate,
    config: status.config,
    term: term + 1,
    lastLogTerm: 0,
    lastLogLsn: 0,
    dryRun: true,
  });
  const headers = { 'content-type': 'application/json', ...cluster.authHeader({ peer: candidate }) };
  const node = cluster.node(target);
  const bare = await startBare();

  say(
    `bench:vote — ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  say(`quorumd: 3 data members on 127.0.0.1 (primary ${primaryId}, term ${term}); probes go to follower ${target} from candidate ${candidate}`);
  say(`load: POST /vote ${body}`);
  say(`      ${opts.concurrency} in flight over an undici Pool, ${opts.warmupMs / 1000} s warm-up then ${opts.durationMs / 1000} s measured per target,`);
  say(`      in ${opts.slices} slices alternating between quorumd and a bare fastify app (its own process, same body schema shape)`);
  say();

  const rssBefore = rssKiB(node.child?.pid);
  const targets = [
    { name: 'quorumd', url: node.url, pid: () => node.child?.pid },
    { name: 'bare fastify', url: bare.url, pid: () => bare.pid },
  ];
  // The measured time is cut into slices that alternate between the targets,
  // so that other work on the machine weighs on both alike.
  for (const t of targets) if (opts.warmupMs > 0) await load(t.url, body, headers, opts.concurrency, opts.warmupMs);
  const slices = new Map<string, Slice[]>(targets.map((t) => [t.name, []]));
  for (let i = 0; i < opts.slices; i++) {
    for (const t of i % 2 === 0 ? targets : [...targets].reverse()) {
      await sleep(100);
      slices.get(t.name)!.push(await load(t.url, body, headers, opts.concurrency, opts.durationMs / opts.slices));
    }
  }
  const results = new Map<string, LoadResult & { rss: number | null }>();
  for (const t of targets) results.set(t.name, { ...combine(slices.get(t.name)!), rss: rssKiB(t.pid()) });
  const q = results.get('quorumd')!;
  const b = results.get('bare fastify')!;
  const after = await cluster.agreedPrimary(ids);

  if (opts.json) {
    for (const [name, r] of results) {
      process.stdout.write(
        `${JSON.stringify({
          target: name,
          concurrency: opts.concurrency,
          durationS: opts.durationMs / 1000,
          requests: r.requests,
          errors: r.errors,
          perSecond: Math.round(r.perSecond),
          p50Ms: Math.round(r.p50Ms * 100) / 100,
          p99Ms: Math.round(r.p99Ms * 100) / 100,
          rssKiB: r.rss,
          ...(name === 'quorumd'
            ? {
                rssKiBBefore: rssBefore,
                ratioToBare: { perSecond: ratio(q.perSecond, b.perSecond), p50: ratio(q.p50Ms, b.p50Ms), p99: ratio(q.p99Ms, b.p99Ms) },
              }
            : {}),
          reply: r.sample,
        })}\n`,
      );
    }
  } else {
    const line = (cells: string[]) => say(cells.map((c, i) => (i === 0 ? c.padEnd(16) : c.padStart(12))).join(' '));
    line(['target', 'probes/s', 'p50 ms', 'p99 ms', 'errors', 'RSS']);
    for (const [name, r] of results) line([name, r.perSecond.toFixed(0), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), String(r.errors), fmtMiB(r.rss)]);
    line([
      'quorumd / bare',
      fmtRatio(ratio(q.perSecond, b.perSecond)),
      fmtRatio(ratio(q.p50Ms, b.p50Ms)),
      fmtRatio(ratio(q.p99Ms, b.p99Ms)),
      '',
      fmtRatio(ratio(q.rss ?? NaN, b.rss ?? NaN)),
    ]);
    say();
    say(`quorumd's reply: ${q.sample}`);
    say(`bare reply:      ${b.sample}`);
    say(`quorumd node ${target} resident memory (VmRSS): ${fmtMiB(rssBefore)} before the load, ${fmtMiB(q.rss)} after it`);
    say(
      `the cluster after the load: ${after ? `primary ${after.primaryId} in term ${after.term}` : 'no agreed primary at that moment'} (it was ${primaryId} in term ${term})`,
    );
  }
  bare.stop();
  await cluster.stop(2_000);
}

main()
  .then(() => {
    cleanupNow();
    process.exit(0);
  })
  .catch((err: unknown) => {
    process.stderr.write(`bench:vote failed: ${(err as Error).stack ?? String(err)}\n`);
    cleanupNow();
    process.exit(1);
  });
