// A fault-injecting network for real quorumd processes on loopback. Every
// ordered pair of nodes (from, to) gets its own TCP proxy on its own loopback
// port that forwards to `to`'s real port, and each node is started with a
// member list whose peer URLs are its own outgoing proxies (membersFor). A
// request from `from` to `to`, and the reply that comes back on the same
// connection, then cross exactly one link, so cutting (from, to) cuts what
// `from` asks of `to` while `to` may still reach `from` through (to, from):
// partitions are sets of cut links, one-way faults included.
//
// A cut link behaves as a partition does: its open connections are destroyed
// and new ones are blackholed (accepted, then neither forwarded nor answered,
// so the client times out), or in `reset` mode reset at once, or in `refuse`
// mode refused (the proxy stops listening), as a firewall REJECT rule would.
// A refused connection is also what a host answers when no process listens on
// the port, and quorumd takes it as evidence that its primary's process is
// gone; so while a target is down (its process was killed and has not come
// back; setTargetUp(id, false)), its links that are not cut close their
// listeners, as connecting to the dead process itself would be refused.
//
// Each node also gets a proxy to itself that is never cut: the URL it
// advertises for itself in its own member list.

import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * How a cut link treats new connections: `blackhole` accepts and never
 * answers (packets dropped, as in most partitions), `reset` accepts and resets
 * at once, `refuse` stops listening so connecting is refused, as a firewall
 * REJECT rule (or a host with nothing listening) answers. A refusal is what
 * quorumd takes as evidence that a peer's process is gone.
 */
export type CutMode = 'blackhole' | 'reset' | 'refuse';

export interface LinkStats {
  /** Connections forwarded to the target. */
  forwarded: number;
  /** Connections accepted while the link was cut and held unanswered. */
  blackholed: number;
  /** Connections reset: in reset mode, or because the target refused the proxy. */
  reset: number;
  /** Open connections destroyed by a cut. */
  severed: number;
}

/** LinkProxy is one direction of one link: from's connections to `to`. */
export class LinkProxy {
  readonly stats: LinkStats = { forwarded: 0, blackholed: 0, reset: 0, severed: 0 };
  private readonly server: Server;
  private listening = false;
  private cutMode: CutMode | null = null;
  private targetUp = true;
  /** Both ends of every forwarded connection. */
  private readonly open = new Set<Socket>();
  /** Client sockets held unanswered while the link is cut. */
  private readonly held = new Set<Socket>();
  private closed = false;
  /** Serialises listen and close of the listener. */
  private settling: Promise<void> = Promise.resolve();

  /** The proxy's own port: chosen by the kernel on the first listen, kept for every listen after. */
  port = 0;

  constructor(
    readonly from: string,
    readonly to: string,
    /** The target's real port; null while it is not known yet. */
    private readonly targetPort: () => number | null,
  ) {
    this.server = createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    this.server.on('error', () => undefined);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get isCut(): boolean {
    return this.cutMode !== null;
  }

  /** cut severs every open connection and blackholes, resets or refuses new ones (see CutMode) until heal(). */
  async cut(mode: CutMode = 'blackhole'): Promise<void> {
    this.cutMode = mode;
    for (const s of this.open) {
      this.stats.severed++;
      s.resetAndDestroy();
    }
    this.open.clear();
    await this.settle();
  }

  /** heal forwards new connections again; connections held while cut are dropped. */
  async heal(): Promise<void> {
    this.cutMode = null;
    for (const s of this.held) s.destroy();
    this.held.clear();
    await this.settle();
  }

  /** setTargetUp says whether the target's process runs: a link not cut to a dead target refuses connections. */
  async setTargetUp(up: boolean): Promise<void> {
    this.targetUp = up;
    await this.settle();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of [...this.open, ...this.held]) s.destroy();
    this.open.clear();
    this.held.clear();
    await this.settle();
  }

  /** settle opens or closes the listener to match the state: closed, refusing while cut, or a dead target behind a link that is not cut. */
  private settle(): Promise<void> {
    // A failed listen rejects this call only; the next settle tries again.
    this.settling = this.settling.catch(() => undefined).then(async () => {
      const want = !this.closed && (this.isCut ? this.cutMode !== 'refuse' : this.targetUp);
      if (want && !this.listening) {
        await new Promise<void>((res, rej) => {
          const onError = (err: Error) => rej(err);
          this.server.once('error', onError);
          this.server.listen(this.port, '127.0.0.1', () => {
            this.server.off('error', onError);
            const addr = this.server.address();
            if (typeof addr === 'object' && addr) this.port = addr.port;
            res();
          });
        });
        this.listening = true;
      } else if (!want && this.listening) {
        this.listening = false;
        // close() stops accepting at once; it resolves only when every
        // connection is gone, which need not be waited for here.
        this.server.close();
      }
    });
    return this.settling;
  }

  private onConnection(client: Socket): void {
    client.on('error', () => undefined);
    if (this.cutMode === 'blackhole') {
      this.stats.blackholed++;
      this.held.add(client);
      client.pause();
      client.once('close', () => this.held.delete(client));
      return;
    }
    const port = this.targetPort();
    if (this.cutMode === 'reset' || this.cutMode === 'refuse' || port === null) {
      this.stats.reset++;
      client.resetAndDestroy();
      return;
    }
    this.stats.forwarded++;
    const upstream = connect({ host: '127.0.0.1', port, noDelay: true });
    upstream.on('error', () => undefined);
    this.open.add(client);
    this.open.add(upstream);
    let connected = false;
    upstream.once('connect', () => (connected = true));
    const end = (): void => {
      this.open.delete(client);
      this.open.delete(upstream);
      if (!connected) {
        // The target refused us (or vanished): the client sees a reset, not a refusal.
        this.stats.reset++;
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      client.destroy();
      upstream.destroy();
    };
    client.once('close', end);
    upstream.once('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

export interface NetworkMember {
  readonly id: string;
  readonly kind: 'data' | 'witness';
  readonly state?: 'voting' | 'catching_up';
}

/** FaultNetwork is every link between a set of nodes, each a LinkProxy. */
export class FaultNetwork {
  private readonly links = new Map<string, LinkProxy>();

  private constructor(readonly ids: readonly string[]) {}

  /**
   * open starts a proxy for every ordered pair of ids (self-links included),
   * each on a free loopback port. targetPort resolves a node's real port when
   * a connection arrives (null while it is not known yet).
   */
  static async open(ids: readonly string[], targetPort: (id: string) => number | null): Promise<FaultNetwork> {
    const net = new FaultNetwork(ids);
    for (const from of ids) {
      for (const to of ids) net.links.set(key(from, to), new LinkProxy(from, to, () => targetPort(to)));
    }
    try {
      // Each proxy's first listen takes a port from the kernel, which keeps it.
      for (const link of net.links.values()) await link.setTargetUp(true);
    } catch (err) {
      await net.close();
      throw err;
    }
    return net;
  }

  link(from: string, to: string): LinkProxy {
    const l = this.links.get(key(from, to));
    if (!l) throw new Error(`no link ${from} -> ${to}`);
    return l;
  }

  /** url is where `from` reaches `to`. */
  url(from: string, to: string): string {
    return this.link(from, to).url;
  }

  /** membersFor is the QUORUMD_MEMBERS value for node `from`: every peer behind its own link. */
  membersFor(from: string, members: readonly NetworkMember[]): string {
    return JSON.stringify(
      members.map((m) => ({ id: m.id, url: this.url(from, m.id), kind: m.kind, ...(m.state ? { state: m.state } : {}) })),
    );
  }

  /** cutLinks cuts `from -> to` for every from in `froms` and to in `tos` (never a self-link). */
  async cutLinks(froms: readonly string[], tos: readonly string[], mode: CutMode = 'blackhole'): Promise<void> {
    const work: Array<Promise<void>> = [];
    for (const f of froms) for (const t of tos) if (f !== t) work.push(this.link(f, t).cut(mode));
    await Promise.all(work);
  }

  /** partition cuts every link, both ways, between nodes of different groups. */
  async partition(groups: ReadonlyArray<readonly string[]>, mode: CutMode = 'blackhole'): Promise<void> {
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i !== j) await this.cutLinks(groups[i]!, groups[j]!, mode);
      }
    }
  }

  /** healAll restores every link. */
  async healAll(): Promise<void> {
    await Promise.all([...this.links.values()].map((l) => l.heal()));
  }

  async setTargetUp(id: string, up: boolean): Promise<void> {
    await Promise.all(this.ids.map((from) => this.link(from, id).setTargetUp(up)));
  }

  /** The links cut right now, as "from->to". */
  cutNow(): string[] {
    return [...this.links.values()].filter((l) => l.isCut).map((l) => `${l.from}->${l.to}`);
  }

  /** reachable says whether `from` can reach `to` now (the link is not cut). */
  reachable(from: string, to: string): boolean {
    return !this.link(from, to).isCut;
  }

  totals(): LinkStats {
    const sum: LinkStats = { forwarded: 0, blackholed: 0, reset: 0, severed: 0 };
    for (const l of this.links.values()) {
      sum.forwarded += l.stats.forwarded;
      sum.blackholed += l.stats.blackholed;
      sum.reset += l.stats.reset;
      sum.severed += l.stats.severed;
    }
    return sum;
  }

  async close(): Promise<void> {
    await Promise.all([...this.links.values()].map((l) => l.close()));
  }
}

function key(from: string, to: string): string {
  return `${from}->${to}`;
}
