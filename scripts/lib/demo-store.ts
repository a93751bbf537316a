// A demo replicated data store for the local cluster. Each data node has a
// log (the term of each entry, by LSN). The node whose quorumd answers 200 on
// /primary writes, stamping entries with its term (the fencing token); on
// promotion it first writes one entry in its new term, as real stores write a
// no-op. Followers copy the primary's log with some lag, truncating any
// divergent suffix, and every node's agent reports its position by PUT /log.

import type { ProcessCluster } from './cluster.js';

export interface DemoStoreOptions {
  /** Entries the primary writes per tick. */
  readonly writesPerTick: number;
  /** Entries a follower copies per tick, so it lags behind. */
  readonly replicatePerTick: number;
  readonly tickMs: number;
}

export class DemoStore {
  /** logs.get(id)[i] is the term of the entry at LSN i + 1. */
  private readonly logs = new Map<string, number[]>();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  /** The highest LSN acknowledged to clients: covered by the commit watermark. */
  acknowledged = { term: 0, lsn: 0 };

  constructor(
    private readonly cluster: ProcessCluster,
    private readonly opts: DemoStoreOptions = { writesPerTick: 3, replicatePerTick: 2, tickMs: 100 },
  ) {
    for (const n of cluster.nodes.values()) if (n.spec.kind === 'data') this.logs.set(n.spec.id, []);
  }

  position(id: string): { term: number; lsn: number } {
    const log = this.logs.get(id) ?? [];
    return { term: log.at(-1) ?? 0, lsn: log.length };
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      this.tick().finally(() => (this.busy = false));
    }, this.opts.tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    const live = [...this.logs.keys()].filter((id) => this.cluster.isRunning(id));
    const statuses = await Promise.all(live.map(async (id) => [id, await this.cluster.status(id, 200)] as const));
    const primary = statuses.find(([, s]) => s?.role === 'primary' && s.lease.holds);
    if (primary) {
      const [pid, ps] = primary;
      const log = this.logs.get(pid)!;
      const term = ps!.term;
      if ((log.at(-1) ?? 0) < term) log.push(term);
      for (let i = 0; i < this.opts.writesPerTick; i++) log.push(term);
      const wm = ps!.commitWatermark;
      if (wm.lsn > this.acknowledged.lsn || wm.term > this.acknowledged.term) this.acknowledged = wm;
      for (const [id, s] of statuses) {
        if (id === pid || !s) continue;
        this.replicate(pid, id);
      }
    }
    await Promise.all(live.map((id) => this.cluster.reportPosition(id, this.position(id), 200)));
  }

  /** replicate copies the primary's log onto a follower, a few entries at a time. */
  private replicate(from: string, to: string): void {
    const src = this.logs.get(from)!;
    const dst = this.logs.get(to)!;
    let common = 0;
    while (common < dst.length && common < src.length && dst[common] === src[common]) common++;
    dst.length = common;
    for (let i = 0; i < this.opts.replicatePerTick && dst.length < src.length; i++) dst.push(src[dst.length]!);
  }
}
