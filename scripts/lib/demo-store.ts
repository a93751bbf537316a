// A demo replicated data store for the local cluster. Each data node has a
// log in the test kit's model (test/kit/data-log.ts), the one the simulator
// and the chaos test use. The node whose quorumd answers 200 on /primary
// writes, stamping entries with its term (the fencing token); on
// promotion it first writes one entry in its new term, as real stores write a
// no-op. Followers copy the primary's log with some lag, truncating any
// divergent suffix, and every node's agent reports its position by PUT /log.
// The store follows the cluster configuration: a data member added with PUT
// /members gets a log, copied from the primary, and an agent, as a new
// replica of a real store would be seeded; one removed is let go.

import { request } from 'undici';
import type { MembersView, StatusView } from '../../src/runtime/service.js';
import { DataLog } from '../../test/kit/data-log.js';

/** A data node the demo store stands beside: its quorumd's id and URL. */
export interface DemoNode {
  readonly id: string;
  readonly url: string;
}

export interface DemoStoreOptions {
  /** Entries the primary writes per tick. */
  readonly writesPerTick: number;
  /**
   * Entries a follower copies per tick: a follower in step lags by a tick or
   * so, and a new one, starting empty, gains on the primary by the difference.
   */
  readonly replicatePerTick: number;
  readonly tickMs: number;
}

export class DemoStore {
  private readonly logs = new Map<string, DataLog>();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  /** The highest LSN acknowledged to clients: covered by the commit watermark. */
  acknowledged = { term: 0, lsn: 0 };

  private readonly urls = new Map<string, string>();
  /** The last client write's number: each write carries the next. */
  private writeSeq = 0;

  constructor(
    nodes: readonly DemoNode[],
    private readonly token: string | null = null,
    private readonly opts: DemoStoreOptions = { writesPerTick: 3, replicatePerTick: 10, tickMs: 100 },
  ) {
    for (const n of nodes) {
      this.logs.set(n.id, new DataLog(n.id));
      this.urls.set(n.id, n.url);
    }
  }

  position(id: string): { term: number; lsn: number } {
    return this.logs.get(id)?.position() ?? { term: 0, lsn: 0 };
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
    const live = [...this.logs.keys()];
    const statuses = await Promise.all(live.map(async (id) => [id, await this.status(id)] as const));
    const primary = statuses.find(([, s]) => s?.role === 'primary' && s.lease.holds);
    if (primary) {
      const [pid, ps] = primary;
      await this.follow(pid);
      const log = this.logs.get(pid)!;
      const term = ps!.term;
      if (log.lastTerm < term) log.append(term, 0);
      for (let i = 0; i < this.opts.writesPerTick; i++) log.append(term, ++this.writeSeq);
      const wm = ps!.commitWatermark;
      if (wm.lsn > this.acknowledged.lsn || wm.term > this.acknowledged.term) this.acknowledged = wm;
      for (const [id, s] of statuses) {
        if (id === pid || !s || !this.logs.has(id)) continue;
        this.replicate(pid, id);
      }
    }
    await Promise.all(statuses.filter(([id, s]) => s && this.logs.has(id)).map(([id]) => this.report(id)));
  }

  private status(id: string): Promise<StatusView | null> {
    return this.read<StatusView>(id, '/status');
  }

  /**
   * follow takes the data members from the primary's configuration: a new one
   * starts with an empty log the next ticks fill; one no longer listed is
   * dropped, its log with it (added again, it would be a new replica).
   */
  private async follow(primaryId: string): Promise<void> {
    const view = await this.read<MembersView>(primaryId, '/members');
    if (!view) return;
    const data = view.members.filter((m) => m.kind === 'data');
    for (const m of data) {
      if (this.logs.has(m.id)) continue;
      this.logs.set(m.id, new DataLog(m.id));
      this.urls.set(m.id, m.url);
    }
    for (const id of [...this.logs.keys()]) {
      if (data.some((m) => m.id === id)) continue;
      this.logs.delete(id);
      this.urls.delete(id);
    }
  }

  /** The data members the store keeps a log for, in the order it learnt them. */
  get members(): string[] {
    return [...this.logs.keys()];
  }

  private async read<T>(id: string, path: string): Promise<T | null> {
    try {
      const res = await request(`${this.urls.get(id)}${path}`, { signal: AbortSignal.timeout(200) });
      if (res.statusCode !== 200) {
        await res.body.dump();
        return null;
      }
      return (await res.body.json()) as T;
    } catch {
      return null;
    }
  }

  /** report is the agent's PUT /log: this node's durable position. */
  private async report(id: string): Promise<void> {
    try {
      const res = await request(`${this.urls.get(id)}/log`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        body: JSON.stringify(this.position(id)),
        signal: AbortSignal.timeout(200),
      });
      await res.body.dump();
    } catch {
      // The node is down; its data store's log stays as it was.
    }
  }

  /** replicate copies the primary's log onto a follower, a few entries at a time. */
  private replicate(from: string, to: string): void {
    this.logs.get(to)!.copyFrom(this.logs.get(from)!, this.opts.replicatePerTick);
  }
}
