// The test kit's fault network: TCP proxies on loopback between real
// processes, whose links can be cut, one direction at a time. The chaos suite
// and the failover benchmark (quorumd and etcd) both run their clusters
// behind it.
//
// A link is one direction between two nodes: `from`'s connections to `to`. A
// request from `from` to `to`, and the reply that comes back on the same
// connection, cross exactly one link, so cutting (from, to) cuts what `from`
// asks of `to` while `to` may still reach `from` through (to, from):
// partitions are sets of cut links, one-way faults included.
//
// The network tells senders apart in one of two ways (Senders):
//   - `port`: every link has its own listening port, and each node is started
//     with a member list whose peer URLs are its own links (ports.membersFor),
//     or, where every node must hold the same list (quorumd's replicated
//     configuration), with the shared list (ports.sharedMembers: each
//     member's link to itself, which is never cut) and routes that take each
//     of its connections to its own link (ports.routesFor, applied in the
//     node's process by test/kit/link-routes.mjs).
//   - `header`: every node has one listening port that all its peers use, and
//     the sender is named by the `X-Server-From` header of the first request
//     on a connection. etcd advertises one peer URL to every member and puts
//     the sender's member id there; alias() maps those ids to node names.
//
// How a cut link treats connections is its CutMode. A refused connection is
// also what a host answers when no process listens on the port, and quorumd
// takes it as evidence that its primary's process is gone; so while a target
// is down (setTargetUp(id, false)), its listeners that are not cut stop
// listening, as connecting to the dead process itself would be refused.

import { createServer, connect, type Server, type Socket } from 'node:net';

const HOST = '127.0.0.1';
/** How long a side whose peer closed may take to write what it still holds before it is destroyed. */
const LINGER_MS = 1000;
/** How much of a header-routed connection's first bytes are searched for its sender. */
const SNIFF_LIMIT_BYTES = 64 * 1024;

/**
 * How a cut link treats connections. `blackhole`, `reset` and `refuse` sever
 * the link's open connections at once; then `blackhole` accepts new ones and
 * never answers them (packets dropped, as in most partitions; they are dropped
 * on heal), `reset` resets them at once, and `refuse` stops listening so
 * connecting is refused, as a firewall REJECT rule (or a host with nothing
 * listening) answers. `stall` holds every byte of open and new connections,
 * and closes too, and delivers them on heal, as TCP retransmission would after
 * a partition that ends before the connection times out. A header-routed
 * listener serves every sender, so there `refuse` resets instead.
 */
export type CutMode = 'blackhole' | 'reset' | 'refuse' | 'stall';

/** How the network tells the sender of a connection (see the module comment). */
export type Senders = 'port' | 'header';

export interface LinkStats {
  /** Connections forwarded to the target. */
  forwarded: number;
  /** Connections accepted while their link was cut and held (blackholed or stalled). */
  blackholed: number;
  /** Connections reset: in reset mode, or because the target refused the proxy or is not known yet. */
  reset: number;
  /** Open connections destroyed by a cut. */
  severed: number;
  /** Open connections closed by recycle() on a link that is not cut. */
  recycled: number;
}

export interface NetworkMember {
  readonly id: string;
  readonly kind: 'data' | 'witness';
  readonly state?: 'voting' | 'catching_up';
}

/** ListenerPorts says where each node reaches each other node through the network. */
export class ListenerPorts {
  /** byName: "from->to" for a per-link listener, the target's id for a header-routed one. */
  constructor(
    readonly senders: Senders,
    private readonly byName: Readonly<Record<string, number>>,
  ) {}

  /** port is where `from` reaches `to`; with header routing every sender uses the same port. */
  port(from: string, to: string): number {
    const p = this.byName[this.senders === 'port' ? key(from, to) : to];
    if (p === undefined) throw new Error(`no listener for ${from} -> ${to}`);
    return p;
  }

  url(from: string, to: string): string {
    return `http://${HOST}:${this.port(from, to)}`;
  }

  /**
   * sharedMembers is a QUORUMD_MEMBERS value every node can be given: each
   * member at one url, its link to itself (or, with header routing, its one
   * listener). Under `port` senders each node then needs routesFor.
   */
  sharedMembers(members: readonly NetworkMember[]): string {
    return this.membersFor('', members, (m) => this.url(m, m));
  }

  /**
   * routesFor is the FAULT_NET_ROUTES value for node `from` under `port`
   * senders (test/kit/link-routes.mjs): each member's shared port mapped to
   * the port of `from`'s own link to it. Header routing needs none.
   */
  routesFor(from: string, ids: readonly string[]): string {
    const routes: Record<string, number> = {};
    if (this.senders === 'port') for (const to of ids) if (to !== from) routes[String(this.port(to, to))] = this.port(from, to);
    return JSON.stringify(routes);
  }

  /** membersFor is the QUORUMD_MEMBERS value for node `from`: every peer behind its own link. */
  membersFor(from: string, members: readonly NetworkMember[], urlOf: (id: string) => string = (id) => this.url(from, id)): string {
    return JSON.stringify(members.map((m) => ({ id: m.id, url: urlOf(m.id), kind: m.kind, ...(m.state ? { state: m.state } : {}) })));
  }

  toJSON(): Record<string, number> {
    return { ...this.byName };
  }
}

/** One link's state: cut (and how) or flowing. */
interface Link {
  readonly from: string;
  readonly to: string;
  mode: CutMode | null;
}

/** One proxied connection: the client's socket and, once it is forwarded, the upstream socket to the target. */
interface Conn {
  readonly to: string;
  readonly client: Socket;
  /** The sender as the listener knows it: its id, or the raw X-Server-From value; null while (or if) unknown. */
  sender: string | null;
  /** False while a header-routed connection waits for its first request to name the sender. */
  admitted: boolean;
  /** Accepted while its link was blackholed: never answered, dropped on heal. */
  held: boolean;
  upstream: Socket | null;
  connected: boolean;
  readonly toUpstream: Buffer[];
  readonly toClient: Buffer[];
  clientClosed: boolean;
  upstreamClosed: boolean;
}

/** Listener is one listening socket that opens and closes as its state asks, keeping the port the kernel gave it first. */
class Listener {
  private readonly server: Server;
  private listening = false;
  private settling: Promise<void> = Promise.resolve();
  port = 0;

  constructor(
    onConnection: (socket: Socket) => void,
    /** Whether the listener should accept connections now. */
    private readonly wanted: () => boolean,
  ) {
    this.server = createServer({ noDelay: true }, onConnection);
    this.server.on('error', () => undefined);
  }

  /** settle opens or closes the listener to match wanted(); calls are serialised. */
  settle(): Promise<void> {
    // A failed listen rejects this call only; the next settle tries again.
    this.settling = this.settling
      .catch(() => undefined)
      .then(async () => {
        const want = this.wanted();
        if (want && !this.listening) {
          await new Promise<void>((res, rej) => {
            const onError = (err: Error) => rej(err);
            this.server.once('error', onError);
            this.server.listen(this.port, HOST, () => {
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
}

/** FaultNetwork is every link between a set of nodes, with the listeners and connections that carry them. */
export class FaultNetwork {
  readonly stats: LinkStats = { forwarded: 0, blackholed: 0, reset: 0, severed: 0, recycled: 0 };
  private readonly links = new Map<string, Link>();
  /** Per-link listeners by "from->to", or header-routed ones by target id. */
  private readonly listeners = new Map<string, Listener>();
  private readonly conns = new Set<Conn>();
  private readonly down = new Set<string>();
  /** Sender ids as the header names them (lower case) to node ids. */
  private readonly aliases = new Map<string, string>();
  private closed = false;
  private listenerPorts: ListenerPorts | null = null;

  private constructor(
    readonly ids: readonly string[],
    readonly senders: Senders,
    /** The target's real port when a connection arrives; null while it is not known. */
    private readonly targetPort: (id: string) => number | null,
  ) {}

  /**
   * open makes the links between `ids` (self-links included) and starts their
   * listeners, each on a free loopback port: one per link with `port`
   * senders, one per node with `header` senders.
   */
  static async open(ids: readonly string[], targetPort: (id: string) => number | null, senders: Senders = 'port'): Promise<FaultNetwork> {
    const net = new FaultNetwork(ids, senders, targetPort);
    for (const from of ids) for (const to of ids) net.links.set(key(from, to), { from, to, mode: null });
    if (senders === 'port') {
      for (const l of net.links.values()) {
        net.listeners.set(
          key(l.from, l.to),
          new Listener(
            (s) => net.accept(s, l.to, l.from),
            () => !net.closed && (l.mode ? l.mode !== 'refuse' : !net.down.has(l.to)),
          ),
        );
      }
    } else {
      for (const to of ids) {
        net.listeners.set(
          to,
          new Listener(
            (s) => net.accept(s, to, null),
            () => !net.closed && !net.down.has(to),
          ),
        );
      }
    }
    try {
      // Each listener's first listen takes a port from the kernel, which keeps it.
      for (const l of net.listeners.values()) await l.settle();
    } catch (err) {
      await net.close();
      throw err;
    }
    const byName: Record<string, number> = {};
    for (const [name, l] of net.listeners) byName[name] = l.port;
    net.listenerPorts = new ListenerPorts(senders, byName);
    return net;
  }

  /** Where each node reaches each other node. */
  get ports(): ListenerPorts {
    if (!this.listenerPorts) throw new Error('the network is not open');
    return this.listenerPorts;
  }

  /** alias maps sender ids as the X-Server-From header names them (such as etcd member ids in hex) to node ids. */
  alias(map: Readonly<Record<string, string>>): void {
    for (const [k, v] of Object.entries(map)) this.aliases.set(k.toLowerCase(), v);
  }

  /** cutLinks cuts `from -> to` for every from in `froms` and to in `tos` (never a self-link). */
  async cutLinks(froms: readonly string[], tos: readonly string[], mode: CutMode = 'blackhole'): Promise<void> {
    const links: Link[] = [];
    for (const f of froms) for (const t of tos) if (f !== t) links.push(this.link(f, t));
    await this.cut(links, mode);
  }

  /** partition cuts every link, both ways, between nodes of different groups, all at once. */
  async partition(groups: ReadonlyArray<readonly string[]>, mode: CutMode = 'blackhole'): Promise<void> {
    const links: Link[] = [];
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i === j) continue;
        for (const f of groups[i]!) for (const t of groups[j]!) if (f !== t) links.push(this.link(f, t));
      }
    }
    await this.cut(links, mode);
  }

  /** healAll restores every link: blackholed connections are dropped, stalled ones delivered. */
  async healAll(): Promise<void> {
    for (const l of this.links.values()) l.mode = null;
    for (const c of [...this.conns]) {
      if (c.held) this.drop(c);
      else if (c.admitted) this.forward(c);
      else this.sniff(c);
    }
    await this.settleAll();
  }

  /** setTargetUp says whether a node's process runs: a link that is not cut to a dead node refuses connections. */
  async setTargetUp(id: string, up: boolean): Promise<void> {
    if (up) this.down.delete(id);
    else this.down.add(id);
    await this.settleAll();
  }

  /**
   * recycle closes the open connections of `from -> to` without cutting the
   * link, as a keep-alive timeout, a proxy's restart or a load balancer's
   * idle limit does: the sender opens a new one for its next request, and the
   * target sees the old one close (quorumd's primary watch then probes the
   * sender's port). Held and stalled connections are left as they are.
   */
  recycle(from: string, to: string): number {
    const link = this.link(from, to);
    let closed = 0;
    for (const c of [...this.conns]) {
      if (!c.admitted || c.held || link.mode !== null || this.linkOf(c) !== link) continue;
      this.drop(c);
      closed++;
    }
    this.stats.recycled += closed;
    return closed;
  }

  /** The links cut right now, as "from->to". */
  cutNow(): string[] {
    return [...this.links.values()].filter((l) => l.mode !== null).map((l) => key(l.from, l.to));
  }

  /** reachable says whether `from` can reach `to` now (the link is not cut). */
  reachable(from: string, to: string): boolean {
    return this.link(from, to).mode === null;
  }

  totals(): LinkStats {
    return { ...this.stats };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of [...this.conns]) this.drop(c);
    await this.settleAll();
  }

  private link(from: string, to: string): Link {
    const l = this.links.get(key(from, to));
    if (!l) throw new Error(`no link ${from} -> ${to}`);
    return l;
  }

  private async settleAll(): Promise<void> {
    await Promise.all([...this.listeners.values()].map((l) => l.settle()));
  }

  /**
   * cut applies `mode` to the links, then severs (or stalls) their open
   * connections. The listeners change first: a link that refuses stops
   * listening before its connections are severed, both ways at once, so a
   * peer that probes the moment its connection closes is refused, as behind
   * a REJECT rule that came with the cut, and is not let through by a
   * direction not cut yet.
   */
  private async cut(links: readonly Link[], mode: CutMode): Promise<void> {
    const cutting = new Set(links);
    for (const l of cutting) l.mode = mode;
    const listeners = new Set([...cutting].map((l) => this.listeners.get(key(l.from, l.to)) ?? this.listeners.get(l.to)));
    await Promise.all([...listeners].map((l) => l?.settle()));
    for (const c of [...this.conns]) {
      const link = c.admitted && !c.held ? this.linkOf(c) : null;
      if (link === null || !cutting.has(link)) continue;
      if (mode === 'stall') {
        c.client.pause();
        c.upstream?.pause();
      } else {
        this.stats.severed++;
        c.client.resetAndDestroy();
        c.upstream?.resetAndDestroy();
        this.conns.delete(c);
      }
    }
  }

  /** linkOf is the link a connection crosses; null while its sender is unknown or not a node. */
  private linkOf(c: Conn): Link | null {
    if (c.sender === null) return null;
    const from = this.aliases.get(c.sender) ?? c.sender;
    return this.links.get(key(from, c.to)) ?? null;
  }

  /** modeOf is how a connection's link is cut now; a connection from an unknown sender is cut as any cut link into its target is. */
  private modeOf(c: Conn): CutMode | null {
    const link = this.linkOf(c);
    if (link) return link.mode;
    for (const l of this.links.values()) if (l.to === c.to && l.mode !== null) return l.mode;
    return null;
  }

  private accept(client: Socket, to: string, from: string | null): void {
    client.on('error', () => undefined);
    if (this.closed) {
      client.destroy();
      return;
    }
    const c: Conn = {
      to,
      client,
      sender: from,
      admitted: false,
      held: false,
      upstream: null,
      connected: false,
      toUpstream: [],
      toClient: [],
      clientClosed: false,
      upstreamClosed: false,
    };
    this.conns.add(c);
    client.on('data', (chunk: Buffer) => this.fromClient(c, chunk));
    client.once('close', () => {
      c.clientClosed = true;
      this.onClose(c);
    });
    if (from !== null) this.admit(c);
  }

  /** admit decides a new connection's fate once its sender is known, by its link's state. */
  private admit(c: Conn): void {
    c.admitted = true;
    const mode = this.modeOf(c);
    if (mode === 'blackhole' || mode === 'stall') {
      this.stats.blackholed++;
      c.held = mode === 'blackhole';
      c.client.pause();
      return;
    }
    if (mode === 'reset' || mode === 'refuse') {
      this.stats.reset++;
      this.reset(c);
      return;
    }
    this.forward(c);
  }

  /** sniff looks for the sender in a header-routed connection's first bytes and admits it once named (or once it cannot be). */
  private sniff(c: Conn): void {
    if (c.admitted) return;
    const head = Buffer.concat(c.toUpstream).toString('latin1');
    const m = /\r\nx-server-from:[ \t]*([0-9a-z]+)/i.exec(head);
    if (m) c.sender = m[1]!.toLowerCase();
    else if (!head.includes('\r\n\r\n') && head.length < SNIFF_LIMIT_BYTES && !c.clientClosed) return;
    this.admit(c);
  }

  /** forward connects a connection that may flow to its target, if it is not yet, and delivers what is queued. */
  private forward(c: Conn): void {
    if (!this.conns.has(c) || this.modeOf(c) !== null) return;
    if (!c.upstream) {
      const port = this.targetPort(c.to);
      if (port === null) {
        this.stats.reset++;
        this.reset(c);
        return;
      }
      this.stats.forwarded++;
      const up = connect({ host: HOST, port, noDelay: true });
      c.upstream = up;
      up.on('error', () => undefined);
      up.once('connect', () => (c.connected = true));
      up.on('data', (chunk: Buffer) => this.fromUpstream(c, chunk));
      up.once('close', () => {
        c.upstreamClosed = true;
        this.onClose(c);
      });
    }
    for (const chunk of c.toUpstream.splice(0)) c.upstream.write(chunk);
    for (const chunk of c.toClient.splice(0)) c.client.write(chunk);
    c.client.resume();
    c.upstream.resume();
    if (c.clientClosed || c.upstreamClosed) this.onClose(c);
  }

  private fromClient(c: Conn, chunk: Buffer): void {
    if (c.held) return;
    if (!c.admitted) {
      c.toUpstream.push(chunk);
      this.sniff(c);
      return;
    }
    if (c.upstream && this.modeOf(c) === null) {
      c.upstream.write(chunk);
      return;
    }
    c.toUpstream.push(chunk);
    c.client.pause();
  }

  private fromUpstream(c: Conn, chunk: Buffer): void {
    if (this.modeOf(c) === null) {
      c.client.write(chunk);
      return;
    }
    c.toClient.push(chunk);
    c.upstream?.pause();
  }

  /**
   * onClose passes a close across the link once it may flow: a stalled link
   * holds it until heal. A target that refused the proxy shows the client a
   * reset, not a refusal; otherwise the other side ends after writing what it
   * still holds.
   */
  private onClose(c: Conn): void {
    if (!this.conns.has(c)) return;
    if (c.held || !c.admitted) {
      if (c.clientClosed) this.drop(c);
      return;
    }
    if (this.modeOf(c) !== null) return;
    if (c.upstream && c.upstreamClosed && !c.connected) {
      this.stats.reset++;
      this.reset(c);
      return;
    }
    if (c.clientClosed && c.upstreamClosed) {
      this.drop(c);
      return;
    }
    const other = c.clientClosed ? c.upstream : c.client;
    if (other === null) {
      this.drop(c);
      return;
    }
    other.end();
    setTimeout(() => this.drop(c), LINGER_MS).unref();
  }

  private reset(c: Conn): void {
    this.conns.delete(c);
    c.client.resetAndDestroy();
    c.upstream?.destroy();
  }

  private drop(c: Conn): void {
    this.conns.delete(c);
    c.client.destroy();
    c.upstream?.destroy();
  }
}

function key(from: string, to: string): string {
  return `${from}->${to}`;
}
