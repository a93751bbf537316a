// etcd under the benchmarks, with the timings the benchmark gives it:
// `--heartbeat-interval` and `--election-timeout` (etcd draws its randomized
// timeout from [timeout, 2 x timeout), as quorumd would with a jitter equal to
// the timeout), `--pre-vote` (quorumd's probe), client and peer ports on
// 127.0.0.1 and data folders under the benchmark's temp folder. The leader is
// read from the v3 JSON gateway, POST /v3/maintenance/status, on each member.
// Proxied, each member's advertised peer URL is its listener in the test
// kit's fault network (run in a process of its own), which tells senders
// apart by the X-Server-From header of etcd's peer requests, so the links of
// any member can be cut.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { freePort, keepOutput, waitExit, waitFor } from '../../test/kit/cluster.js';
import { FaultProxyProcess } from '../../test/kit/fault-proxy-process.js';
import { track } from './cleanup.js';
import type { BenchTimings, Leader, SpawnOptions, SystemUnderTest } from './system.js';

const HOST = '127.0.0.1';

/** etcdVersion is `etcd --version`'s first line, or null when there is no etcd on the PATH. */
export function etcdVersion(): string | null {
  const r = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return r.stdout.split('\n')[0]?.trim() ?? 'etcd';
}

interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** The peer port other members use: the proxy's, when proxied. */
  readonly advertisedPeerPort: number;
  readonly dataDir: string;
  child: ChildProcess | null;
  readonly output: string[];
}

export interface StatusReply {
  header?: { member_id?: string };
  leader?: string;
  raftTerm?: string;
}

export class EtcdSystem implements SystemUnderTest {
  readonly system = 'etcd' as const;
  readonly ids: readonly string[];
  private readonly members = new Map<string, Member>();
  /** Member ids (decimal, as the JSON gateway writes them) to names. */
  private readonly names = new Map<string, string>();
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 4 });

  private constructor(
    members: Member[],
    private readonly dir: string,
    private readonly timings: BenchTimings,
    private readonly proxy: FaultProxyProcess | null,
    private readonly spawnOptions: SpawnOptions,
  ) {
    for (const m of members) this.members.set(m.name, m);
    this.ids = members.map((m) => m.name);
  }

  static async start(count: number, dir: string, timings: BenchTimings, proxied: boolean, spawnOptions: SpawnOptions = {}): Promise<EtcdSystem> {
    mkdirSync(dir, { recursive: true });
    const names = Array.from({ length: count }, (_, i) => `e${i + 1}`);
    const proxy = proxied ? await FaultProxyProcess.start(names, 'header', track) : null;
    const members: Member[] = [];
    for (const name of names) {
      const peerPort = await freePort();
      const clientPort = await freePort();
      const advertisedPeerPort = proxy ? proxy.ports.port(name, name) : peerPort;
      if (proxy) await proxy.target(name, peerPort);
      members.push({ name, clientPort, peerPort, advertisedPeerPort, dataDir: join(dir, name), child: null, output: [] });
    }
    const sut = new EtcdSystem(members, dir, timings, proxy, spawnOptions);
    for (const m of members) sut.spawnMember(m);
    for (const m of members) {
      try {
        await waitFor(async () => (await sut.status(m.name, 500)) !== null, 30_000, `etcd ${m.name} to answer`, 50);
      } catch (err) {
        throw new Error(`${(err as Error).message}; its last output:\n${m.output.slice(-5).join('\n')}`);
      }
    }
    // Learn the member ids, so leaders can be named and the proxy can tell senders apart.
    for (const m of members) {
      const s = await sut.status(m.name, 1000);
      const id = s?.header?.member_id;
      if (!id) throw new Error(`etcd ${m.name} did not give its member id`);
      sut.names.set(id, m.name);
    }
    if (proxy) {
      const map: Record<string, string> = {};
      for (const [id, name] of sut.names) map[BigInt(id).toString(16)] = name;
      await proxy.alias(map);
    }
    return sut;
  }

  async agreed(ids: readonly string[]): Promise<Leader | null> {
    const statuses = await Promise.all(ids.map((id) => this.status(id, 250)));
    let leader: string | null = null;
    let term: string | null = null;
    for (const s of statuses) {
      if (!s?.leader || s.leader === '0' || !s.raftTerm) return null;
      if (leader !== null && (s.leader !== leader || s.raftTerm !== term)) return null;
      leader = s.leader;
      term = s.raftTerm;
    }
    if (leader === null || term === null) return null;
    const name = this.names.get(leader);
    if (!name) return null;
    // The leader, when asked, must say so itself.
    const own = statuses.find((s) => s?.header?.member_id === leader);
    if (ids.includes(name) && !own) return null;
    return { id: name, term: Number(term) };
  }

  signal(id: string, signal: NodeJS.Signals): void {
    this.member(id).child?.kill(signal);
  }

  waitExit(id: string, timeoutMs: number): Promise<boolean> {
    return waitExit(this.member(id).child, timeoutMs);
  }

  async respawn(id: string): Promise<void> {
    const m = this.member(id);
    this.spawnMember(m);
    await waitFor(async () => (await this.status(id, 500)) !== null, 30_000, `etcd ${id} to answer again`, 20);
  }

  async isolate(ids: readonly string[]): Promise<void> {
    if (!this.proxy) throw new Error('isolate needs a proxied cluster');
    await this.proxy.isolate(ids, 'stall');
  }

  pid(id: string): number | undefined {
    const child = this.member(id).child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.members.values()].map(async (m) => {
        const child = m.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((res) => child.once('exit', () => res()));
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        await exited;
      }),
    );
    await this.agent.close();
    this.proxy?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private member(id: string): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no etcd member ${id}`);
    return m;
  }

  /** status is a member's POST /v3/maintenance/status reply, or null (also the idle bench's stand-in for an agent's request). */
  async status(id: string, timeoutMs: number): Promise<StatusReply | null> {
    const m = this.member(id);
    try {
      const res = await request(`http://${HOST}:${m.clientPort}/v3/maintenance/status`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
        dispatcher: this.agent,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.body.text();
      return res.statusCode === 200 ? (JSON.parse(text) as StatusReply) : null;
    } catch {
      return null;
    }
  }

  private spawnMember(m: Member): void {
    const t = this.timings;
    const cluster = [...this.members.values()].map((x) => `${x.name}=http://${HOST}:${x.advertisedPeerPort}`).join(',');
    const args = [
      '--name',
      m.name,
      '--data-dir',
      m.dataDir,
      '--listen-client-urls',
      `http://${HOST}:${m.clientPort}`,
      '--advertise-client-urls',
      `http://${HOST}:${m.clientPort}`,
      '--listen-peer-urls',
      `http://${HOST}:${m.peerPort}`,
      '--initial-advertise-peer-urls',
      `http://${HOST}:${m.advertisedPeerPort}`,
      '--initial-cluster',
      cluster,
      '--initial-cluster-token',
      `quorumd-bench-${process.pid}`,
      '--initial-cluster-state',
      'new',
      '--heartbeat-interval',
      String(t.heartbeatMs),
      '--election-timeout',
      String(t.electionTimeoutMs),
      '--pre-vote',
      '--logger',
      'zap',
      '--log-outputs',
      'stderr',
      '--log-level',
      'error',
    ];
    // etcd reads ETCD_* variables as flags: pass none of the caller's but the architecture override.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_') || k === 'ETCD_UNSUPPORTED_ARCH'));
    const child = track(spawn('etcd', args, { stdio: ['ignore', 'pipe', 'pipe'], env }));
    keepOutput(child, m.output);
    m.child = child;
    if (child.pid !== undefined) this.spawnOptions.onSpawn?.(m.name, child.pid);
    child.on('exit', () => {
      if (m.child === child) m.child = null;
    });
  }
}
