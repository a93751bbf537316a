// quorumd under the failover benchmark: a ProcessCluster of data members on
// loopback, each data node's position reported as its agent would. Proxied,
// every node reaches every peer through its own link of the test kit's fault
// network, run in a process of its own (each node gets its own member list,
// whose URLs are its links), so any link can be cut.

import { mkdirSync, rmSync } from 'node:fs';
import { ProcessCluster, SENDER_HEADER, START_TIMEOUT_MS, waitExit, waitFor, type NodeSpec } from '../../test/kit/cluster.js';
import { FaultProxyProcess } from '../../test/kit/fault-proxy-process.js';
import { onCleanup, track } from './cleanup.js';
import type { BenchTimings, Leader, SpawnOptions, SystemUnderTest } from './system.js';

export class QuorumdSystem implements SystemUnderTest {
  readonly system = 'quorumd' as const;
  readonly ids: readonly string[];
  private readonly forget: () => void;

  private constructor(
    readonly cluster: ProcessCluster,
    private readonly dir: string,
    private readonly proxy: FaultProxyProcess | null,
    private readonly spawnOptions: SpawnOptions,
  ) {
    this.ids = [...cluster.nodes.keys()];
    this.forget = onCleanup(() => this.killAllNow());
  }

  static async start(members: number, dir: string, timings: BenchTimings, proxied: boolean, spawnOptions: SpawnOptions = {}): Promise<QuorumdSystem> {
    mkdirSync(dir, { recursive: true });
    const specs: NodeSpec[] = [];
    for (let i = 1; i <= members; i++) specs.push({ id: `d${i}`, kind: 'data' });
    // Every member has one url, its listener in the fault network, and names
    // itself in a header on each request (the configuration is replicated, so
    // all members must list the same urls).
    const proxy = proxied
      ? await FaultProxyProcess.start(
          specs.map((s) => s.id),
          'header',
          track,
        )
      : null;
    // On loopback a refused connection does mean the process is gone, so the
    // failover bench runs fast failover on unless told otherwise (--fast-failover off).
    const env = {
      ...(timings.fastFailover === undefined ? {} : { QUORUMD_FAST_FAILOVER: timings.fastFailover ? 'on' : 'off' }),
      ...(proxy ? { QUORUMD_MEMBERS: proxy.ports.membersFor(specs[0]!.id, specs), NODE_OPTIONS: SENDER_HEADER } : {}),
      ...spawnOptions.env,
    };
    let cluster: ProcessCluster;
    try {
      cluster = await ProcessCluster.start({ specs, dir, timings, env, logLevel: 'error' });
    } catch (err) {
      proxy?.close();
      throw err;
    }
    const sut = new QuorumdSystem(cluster, dir, proxy, spawnOptions);
    for (const id of sut.ids) sut.spawned(id);
    if (proxy) for (const id of sut.ids) await proxy.target(id, cluster.node(id).port);
    for (const id of sut.ids) await cluster.waitUp(id, START_TIMEOUT_MS);
    for (const id of sut.ids) await sut.report(id);
    return sut;
  }

  agreed(ids: readonly string[]): Promise<Leader | null> {
    return this.cluster.agreedPrimary(ids, 250).then((a) => (a ? { id: a.primaryId, term: a.term } : null));
  }

  signal(id: string, signal: NodeJS.Signals): void {
    this.cluster.node(id).child?.kill(signal);
  }

  waitExit(id: string, timeoutMs: number): Promise<boolean> {
    return waitExit(this.cluster.node(id).child, timeoutMs);
  }

  async respawn(id: string): Promise<void> {
    this.cluster.spawnNode(id);
    this.spawned(id);
    await this.cluster.waitUp(id, START_TIMEOUT_MS);
    await this.report(id);
  }

  async isolate(ids: readonly string[]): Promise<void> {
    if (!this.proxy) throw new Error('isolate needs a proxied cluster');
    await this.proxy.isolate(ids, 'stall');
  }

  async primaryAnswers(ids: readonly string[]): Promise<Array<{ id: string; term: number }>> {
    const answers = await Promise.all(
      ids.map(async (id) => {
        const r = await this.cluster.get<{ term: number }>(id, '/primary', 250);
        return r && r.status === 200 ? { id, term: r.body.term } : null;
      }),
    );
    return answers.filter((a): a is { id: string; term: number } => a !== null);
  }

  pid(id: string): number | undefined {
    const child = this.cluster.node(id).child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  async stop(): Promise<void> {
    for (const id of this.ids) this.signal(id, 'SIGCONT');
    await this.cluster.stop(2_000);
    this.proxy?.close();
    this.forget();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** report plays the data store's agent: the node votes and stands only once its position is known. */
  private async report(id: string): Promise<void> {
    await waitFor(() => this.cluster.reportPosition(id, { term: 0, lsn: 0 }), START_TIMEOUT_MS, `${id} to accept its log position`);
  }

  private spawned(id: string): void {
    const pid = this.cluster.node(id).child?.pid;
    if (pid !== undefined) this.spawnOptions.onSpawn?.(id, pid);
  }

  private killAllNow(): void {
    for (const n of this.cluster.nodes.values()) {
      const pid = n.child?.pid;
      if (pid === undefined || n.child?.exitCode !== null || n.child?.signalCode !== null) continue;
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}
