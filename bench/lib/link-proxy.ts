// A TCP proxy that can cut network links between benchmark nodes, run in its
// own process so that its work never shares an event loop with the
// benchmark's clock. Every listener forwards to one destination node and
// knows the source node of its connections either by construction (one
// listener per link, as quorumd's per-node member lists allow) or by sniffing
// the first request's `X-Server-From` header (etcd's peer traffic carries
// the sender's member id there).
//
// A cut is a blackhole, as a real partition is: bytes are held, not refused
// and not reset, and a close on one side is not passed across the cut. On
// heal, held bytes and closes are delivered, as TCP retransmission would.
// Everything listens and connects on 127.0.0.1 only.

import { fork, type ChildProcess } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { track } from './cleanup.js';

const HOST = '127.0.0.1';
const CHILD_FLAG = '--link-proxy-child';

type Request =
  | { id: number; op: 'listen'; dst: string; src: string | null }
  | { id: number; op: 'target'; dst: string; port: number }
  | { id: number; op: 'alias'; map: Record<string, string> }
  | { id: number; op: 'isolate'; ids: string[] };

/** A request as the controller writes it; the id is added when it is sent. */
type Call = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Reply {
  id: number;
  port?: number;
  error?: string;
}

/** LinkProxy controls the proxy process from the benchmark. */
export class LinkProxy {
  private seq = 0;
  private readonly waiting = new Map<number, (r: Reply) => void>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: Reply) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      w?.(m);
    });
  }

  static async start(): Promise<LinkProxy> {
    const child = track(fork(fileURLToPath(import.meta.url), [CHILD_FLAG], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] }));
    const proxy = new LinkProxy(child);
    await proxy.call({ op: 'isolate', ids: [] });
    return proxy;
  }

  /** listen opens a listener that forwards to `dst`; `src` null means: sniff the sender from X-Server-From. */
  async listen(dst: string, src: string | null): Promise<number> {
    const r = await this.call({ op: 'listen', dst, src });
    return r.port!;
  }

  /** target tells where `dst` really listens; connections wait until it is known. */
  async target(dst: string, port: number): Promise<void> {
    await this.call({ op: 'target', dst, port });
  }

  /** alias maps sniffed sender ids (such as etcd member ids in hex) to node names. */
  async alias(map: Record<string, string>): Promise<void> {
    await this.call({ op: 'alias', map });
  }

  /** isolate cuts every link between the given nodes and the rest, both ways; [] heals all. */
  async isolate(ids: readonly string[]): Promise<void> {
    await this.call({ op: 'isolate', ids: [...ids] });
  }

  heal(): Promise<void> {
    return this.isolate([]);
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
    this.child.kill('SIGKILL');
  }

  private call(req: Call): Promise<Reply> {
    const id = ++this.seq;
    return new Promise((res, rej) => {
      this.waiting.set(id, (r) => (r.error ? rej(new Error(r.error)) : res(r)));
      this.child.send({ ...req, id });
    });
  }
}

// ---- the proxy process ----

interface Conn {
  readonly client: Socket;
  upstream: Socket | null;
  src: string | null;
  readonly dst: string;
  readonly sniff: boolean;
  toUpstream: Buffer[];
  toClient: Buffer[];
  clientEnded: boolean;
  upstreamEnded: boolean;
  dead: boolean;
}

function runChild(): void {
  const targets = new Map<string, number>();
  const alias = new Map<string, string>();
  const conns = new Set<Conn>();
  const servers: Server[] = [];
  let isolated = new Set<string>();

  const blocked = (c: Conn): boolean => {
    if (c.src === null) return isolated.has(c.dst);
    return isolated.has(c.src) !== isolated.has(c.dst);
  };

  const kill = (c: Conn): void => {
    if (c.dead) return;
    c.dead = true;
    conns.delete(c);
    c.client.destroy();
    c.upstream?.destroy();
  };

  /** update applies the link's state to one connection: hold everything, or deliver what is held and flow. */
  const update = (c: Conn): void => {
    if (c.dead) return;
    if (blocked(c)) {
      c.client.pause();
      c.upstream?.pause();
      return;
    }
    const port = targets.get(c.dst);
    if (!c.upstream) {
      if (c.clientEnded && c.toUpstream.length === 0) {
        kill(c);
        return;
      }
      if (port === undefined) {
        c.client.pause();
        return;
      }
      const up = createConnection({ host: HOST, port });
      up.setNoDelay(true);
      c.upstream = up;
      up.on('data', (chunk: Buffer) => {
        if (blocked(c)) {
          c.toClient.push(chunk);
          up.pause();
        } else c.client.write(chunk);
      });
      up.on('end', () => {
        c.upstreamEnded = true;
        update(c);
      });
      up.on('close', () => {
        c.upstreamEnded = true;
        update(c);
      });
      up.on('error', () => undefined);
    }
    for (const chunk of c.toUpstream.splice(0)) c.upstream.write(chunk);
    for (const chunk of c.toClient.splice(0)) c.client.write(chunk);
    if (c.clientEnded) {
      c.upstream.end();
      setTimeout(() => kill(c), 1000).unref();
    }
    if (c.upstreamEnded) {
      c.client.end();
      setTimeout(() => kill(c), 1000).unref();
    }
    c.client.resume();
    c.upstream.resume();
  };

  const onConnection = (dst: string, src: string | null) => (client: Socket) => {
    client.setNoDelay(true);
    const c: Conn = {
      client,
      upstream: null,
      src,
      dst,
      sniff: src === null,
      toUpstream: [],
      toClient: [],
      clientEnded: false,
      upstreamEnded: false,
      dead: false,
    };
    conns.add(c);
    client.on('data', (chunk: Buffer) => {
      if (c.sniff && c.src === null) {
        const m = /x-server-from:\s*([0-9a-f]+)/i.exec(chunk.toString('latin1'));
        if (m) c.src = alias.get(m[1]!.toLowerCase()) ?? m[1]!.toLowerCase();
      }
      if (blocked(c) || !c.upstream) {
        c.toUpstream.push(chunk);
        if (blocked(c)) client.pause();
        else update(c);
      } else c.upstream.write(chunk);
    });
    client.on('end', () => {
      c.clientEnded = true;
      update(c);
    });
    client.on('close', () => {
      c.clientEnded = true;
      update(c);
    });
    client.on('error', () => undefined);
    // A sniffing connection waits for its first bytes to know its sender.
    if (!c.sniff) update(c);
    else if (!isolated.has(dst)) update(c);
    else client.resume();
  };

  const reply = (r: Reply) => process.send?.(r);

  process.on('message', (req: Request) => {
    switch (req.op) {
      case 'listen': {
        const server = createServer({ noDelay: true }, onConnection(req.dst, req.src));
        servers.push(server);
        server.once('error', (err) => reply({ id: req.id, error: err.message }));
        server.listen(0, HOST, () => {
          const addr = server.address();
          reply({ id: req.id, port: typeof addr === 'object' && addr ? addr.port : 0 });
        });
        return;
      }
      case 'target':
        targets.set(req.dst, req.port);
        for (const c of conns) if (c.dst === req.dst) update(c);
        reply({ id: req.id });
        return;
      case 'alias':
        for (const [k, v] of Object.entries(req.map)) alias.set(k.toLowerCase(), v);
        for (const c of conns) if (c.src !== null && alias.has(c.src)) c.src = alias.get(c.src)!;
        reply({ id: req.id });
        return;
      case 'isolate':
        isolated = new Set(req.ids);
        for (const c of [...conns]) update(c);
        reply({ id: req.id });
        return;
    }
  });
  // The benchmark owns this process: when it goes, so does the proxy.
  process.on('disconnect', () => process.exit(0));
}

if (process.argv.includes(CHILD_FLAG)) runChild();
