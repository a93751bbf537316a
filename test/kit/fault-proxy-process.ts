// The test kit's fault network (fault-proxy.ts) run in a process of its own,
// so that forwarding bytes never shares an event loop with a benchmark's
// clock. The benchmark holds a FaultProxyProcess and drives the network over
// IPC; the child tells where the targets listen as they are known, and ends
// when its parent disconnects.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FaultNetwork, ListenerPorts, type CutMode, type Senders } from './fault-proxy.js';

const CHILD_FLAG = '--fault-proxy-child';

type Command =
  | { op: 'open'; ids: string[]; senders: Senders }
  | { op: 'target'; id: string; port: number }
  | { op: 'alias'; map: Record<string, string> }
  | { op: 'partition'; groups: string[][]; mode: CutMode }
  | { op: 'healAll' };

interface Reply {
  seq: number;
  ports?: Record<string, number>;
  error?: string;
}

/** FaultProxyProcess controls a FaultNetwork in a child process. */
export class FaultProxyProcess {
  private seq = 0;
  private readonly waiting = new Map<number, (r: Reply) => void>();

  private constructor(
    /** The proxy's process, for the caller's cleanup to track. */
    readonly child: ChildProcess,
    readonly ids: readonly string[],
    private listenerPorts: ListenerPorts | null = null,
  ) {
    child.on('message', (m: Reply) => {
      const w = this.waiting.get(m.seq);
      this.waiting.delete(m.seq);
      w?.(m);
    });
    child.once('exit', () => {
      for (const w of this.waiting.values()) w({ seq: 0, error: 'the fault proxy process exited' });
      this.waiting.clear();
    });
  }

  /** start forks the proxy process and opens a network between `ids` in it (see FaultNetwork.open). */
  static async start(ids: readonly string[], senders: Senders, onSpawn?: (child: ChildProcess) => void): Promise<FaultProxyProcess> {
    const child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    onSpawn?.(child);
    const proxy = new FaultProxyProcess(child, ids);
    try {
      const r = await proxy.call({ op: 'open', ids: [...ids], senders });
      proxy.listenerPorts = new ListenerPorts(senders, r.ports ?? {});
    } catch (err) {
      proxy.close();
      throw err;
    }
    return proxy;
  }

  /** Where each node reaches each other node. */
  get ports(): ListenerPorts {
    if (!this.listenerPorts) throw new Error('the network is not open');
    return this.listenerPorts;
  }

  /** target tells where a node really listens; until then its links reset connections. */
  async target(id: string, port: number): Promise<void> {
    await this.call({ op: 'target', id, port });
  }

  /** alias maps sender ids as the X-Server-From header names them to node ids (see FaultNetwork.alias). */
  async alias(map: Record<string, string>): Promise<void> {
    await this.call({ op: 'alias', map });
  }

  /** isolate cuts every link between the given nodes and the rest, both ways; [] heals every link. */
  async isolate(ids: readonly string[], mode: CutMode): Promise<void> {
    if (ids.length === 0) {
      await this.call({ op: 'healAll' });
      return;
    }
    const rest = this.ids.filter((id) => !ids.includes(id));
    await this.call({ op: 'partition', groups: [[...ids], rest], mode });
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
    this.child.kill('SIGKILL');
  }

  private call(cmd: Command): Promise<Reply> {
    const seq = ++this.seq;
    return new Promise((res, rej) => {
      this.waiting.set(seq, (r) => (r.error ? rej(new Error(r.error)) : res(r)));
      this.child.send({ ...cmd, seq });
    });
  }
}

/** runChild serves the parent's commands on one FaultNetwork. */
function runChild(): void {
  const targets = new Map<string, number>();
  let net: FaultNetwork | null = null;
  const serve = async (cmd: Command): Promise<Omit<Reply, 'seq'>> => {
    if (cmd.op === 'open') {
      net = await FaultNetwork.open(cmd.ids, (id) => targets.get(id) ?? null, cmd.senders);
      return { ports: net.ports.toJSON() };
    }
    if (!net) throw new Error('the network is not open');
    switch (cmd.op) {
      case 'target':
        targets.set(cmd.id, cmd.port);
        break;
      case 'alias':
        net.alias(cmd.map);
        break;
      case 'partition':
        await net.partition(cmd.groups, cmd.mode);
        break;
      case 'healAll':
        await net.healAll();
        break;
    }
    return {};
  };
  process.on('message', (m: Command & { seq: number }) => {
    serve(m).then(
      (r) => process.send?.({ ...r, seq: m.seq }),
      (err: unknown) => process.send?.({ seq: m.seq, error: (err as Error).message }),
    );
  });
  // The parent owns this process: when it goes, so does the proxy.
  process.on('disconnect', () => process.exit(0));
}

if (process.argv.includes(CHILD_FLAG)) runChild();
