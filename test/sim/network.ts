// Network is the simulator's seeded network: which directed links are up (the
// partitions), and the weather on the links that are up (drops, delays that
// reorder, duplicates). A partition is a set of blocked directed links, so a
// one-way partition is simply a link blocked in one direction only.
//
// Some links refuse new connections instead of dropping them, which is what a
// closed port answers and so what the runtime takes as evidence that a process
// is gone; here the refusal lies, the process behind it lives:
//  - a REJECT cut (rejectBlocked): a partition whose blocked links refuse, as a
//    firewall REJECT rule does, instead of dropping;
//  - a misrouted link (misroute): the sender's connections to the target are
//    refused although the link is up, as when the sender holds a stale url for
//    the target or reaches it through a proxy that lost its backend. Replies
//    on connections the target opened still cross: only new connections from
//    the sender fail. Misroutes outlive partitions; each fault ends its own.

import type { SimRandom } from './random.js';

export type PartitionKind = 'halves' | 'minority' | 'ring' | 'bridge' | 'one_way' | 'isolate';

export const PARTITION_KINDS: readonly PartitionKind[] = ['halves', 'minority', 'ring', 'bridge', 'one_way', 'isolate'];

export interface Weather {
  /** Probability that a message on an up link is lost. */
  readonly dropRate: number;
  /** Probability that a request is delivered twice (a retry, a replayed packet). */
  readonly duplicateRate: number;
  /** Every delivery takes [delayMinMs, delayMaxMs) of true time ... */
  readonly delayMinMs: number;
  readonly delayMaxMs: number;
  /** ... except this fraction, which takes up to longDelayMaxMs: they overtake and are overtaken. */
  readonly longDelayRate: number;
  readonly longDelayMaxMs: number;
}

export const CALM: Weather = Object.freeze({
  dropRate: 0,
  duplicateRate: 0,
  delayMinMs: 0.2,
  delayMaxMs: 3,
  longDelayRate: 0,
  longDelayMaxMs: 0,
});

export class Network {
  size: number;
  /** Node names, for the words partition() returns. */
  readonly names: string[];
  weather: Weather = CALM;
  /** blocked[from * size + to] is 1 when messages from `from` to `to` are lost. */
  private blocked: Uint8Array;
  /** rejecting[from * size + to] is 1 when a blocked link refuses `from`'s connections (a REJECT cut). */
  private rejecting: Uint8Array;
  /** misrouted[from * size + to] counts the faults under which `from`'s connections to `to` are refused on a live link. */
  private misrouted: Uint16Array;

  constructor(names: readonly string[]) {
    this.names = [...names];
    this.size = names.length;
    this.blocked = new Uint8Array(this.size * this.size);
    this.rejecting = new Uint8Array(this.size * this.size);
    this.misrouted = new Uint16Array(this.size * this.size);
  }

  /**
   * add connects one more node (a member added while the cluster runs) and
   * returns its index. Its links start up, whatever partition is in force:
   * the next partition drawn takes it in like any other node.
   */
  add(name: string): number {
    const n = this.size;
    const grow = <A extends Uint8Array | Uint16Array>(old: A, fresh: A): A => {
      for (let a = 0; a < n; a++) fresh.set(old.subarray(a * n, a * n + n), a * (n + 1));
      return fresh;
    };
    this.blocked = grow(this.blocked, new Uint8Array((n + 1) * (n + 1)));
    this.rejecting = grow(this.rejecting, new Uint8Array((n + 1) * (n + 1)));
    this.misrouted = grow(this.misrouted, new Uint16Array((n + 1) * (n + 1)));
    this.names.push(name);
    this.size = n + 1;
    return n;
  }

  isUp(from: number, to: number): boolean {
    return from === to || this.blocked[from * this.size + to] === 0;
  }

  /** bothUp: a request and its reply can both cross. */
  bothUp(a: number, b: number): boolean {
    return this.isUp(a, b) && this.isUp(b, a);
  }

  /**
   * refuses: a new connection from `from` to `to` is refused at once: the
   * link is cut by a REJECT rule, or misrouted. (A crashed target refuses
   * too; the simulator knows that from the node itself.)
   */
  refuses(from: number, to: number): boolean {
    if (from === to) return false;
    const i = from * this.size + to;
    return this.rejecting[i] === 1 || (this.misrouted[i] as number) > 0;
  }

  /** heal ends the partition in force (a REJECT cut too); misroutes end with their own faults. */
  heal(): void {
    this.blocked.fill(0);
    this.rejecting.fill(0);
  }

  /** rejectBlocked makes every link the partition in force blocks refuse connections instead of dropping them. */
  rejectBlocked(): void {
    this.rejecting.set(this.blocked);
  }

  /** misroute starts (on) or ends (off) one fault's refusal of `from`'s connections to `to`. */
  misroute(from: number, to: number, on: boolean): void {
    if (from === to) return;
    const i = from * this.size + to;
    const n = this.misrouted[i] as number;
    this.misrouted[i] = on ? n + 1 : Math.max(0, n - 1);
  }

  /** endMisroutes ends every misroute at once (the final heal). */
  endMisroutes(): void {
    this.misrouted.fill(0);
  }

  block(from: number, to: number): void {
    if (from !== to) this.blocked[from * this.size + to] = 1;
  }

  /** split connects each group within itself and cuts every link between groups, both ways. */
  split(groups: readonly (readonly number[])[]): void {
    this.rejecting.fill(0);
    const groupOf = new Int32Array(this.size).fill(-1);
    for (const [gi, g] of groups.entries()) for (const n of g) groupOf[n] = gi;
    for (let a = 0; a < this.size; a++) {
      for (let b = 0; b < this.size; b++) {
        this.blocked[a * this.size + b] = a !== b && groupOf[a] !== groupOf[b] ? 1 : 0;
      }
    }
  }

  /** delayMs draws one delivery delay from the weather. */
  delayMs(rng: SimRandom): number {
    const w = this.weather;
    if (w.longDelayRate > 0 && rng.chance(w.longDelayRate)) return rng.range(w.delayMaxMs, Math.max(w.delayMaxMs, w.longDelayMaxMs));
    return rng.range(w.delayMinMs, w.delayMaxMs);
  }

  /**
   * partition applies a partition of the given kind and says in words what it
   * did. `focus` (a node index, or -1) is the node the partition is aimed at,
   * usually the current primary: it is the one isolated, put in the minority,
   * or cut one way, so the faults that matter most are the common ones.
   */
  partition(kind: PartitionKind, rng: SimRandom, focus: number): string {
    const all = rng.shuffle(Array.from({ length: this.size }, (_, i) => i));
    if (focus >= 0) {
      all.splice(all.indexOf(focus), 1);
      all.unshift(focus);
    }
    const n = this.size;
    switch (kind) {
      case 'halves': {
        const cut = Math.floor(n / 2);
        const a = all.slice(0, cut);
        const b = all.slice(cut);
        this.split([a, b]);
        return `halves ${this.fmt(a)} | ${this.fmt(b)}`;
      }
      case 'minority': {
        const size = 1 + rng.int(Math.max(1, Math.floor((n - 1) / 2)));
        const a = all.slice(0, size);
        const b = all.slice(size);
        this.split([a, b]);
        return `minority ${this.fmt(a)} | majority ${this.fmt(b)}`;
      }
      case 'isolate': {
        const a = all.slice(0, 1);
        this.split([a, all.slice(1)]);
        return `isolate ${this.fmt(a)}`;
      }
      case 'ring': {
        // Each node hears only its two neighbours in a random ring.
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) this.block(i, j);
        for (let i = 0; i < n; i++) {
          const a = all[i] as number;
          const b = all[(i + 1) % n] as number;
          this.blocked[a * n + b] = 0;
          this.blocked[b * n + a] = 0;
        }
        return `ring ${all.map((i) => this.names[i]).join('-')}`;
      }
      case 'bridge': {
        // Two sides that cannot hear each other, and one bridge node that hears both.
        const bridge = all[all.length - 1] as number;
        const rest = all.slice(0, -1);
        const cut = Math.max(1, Math.floor(rest.length / 2));
        const a = rest.slice(0, cut);
        const b = rest.slice(cut);
        this.split([[...a, bridge], b]);
        for (const x of b) {
          this.blocked[x * n + bridge] = 0;
          this.blocked[bridge * n + x] = 0;
        }
        return `bridge ${this.fmt(a)} <-${this.names[bridge]}-> ${this.fmt(b)}`;
      }
      case 'one_way': {
        // The focus node's messages out (or in) are lost to some peers, but not the other way.
        const src = all[0] as number;
        const peers = all.slice(1, 1 + Math.max(1, rng.int(n)));
        const outbound = rng.chance(0.5);
        this.heal();
        for (const p of peers) {
          if (outbound) this.block(src, p);
          else this.block(p, src);
        }
        const s = this.names[src];
        return outbound ? `one-way ${s} -/-> ${this.fmt(peers)}` : `one-way ${this.fmt(peers)} -/-> ${s}`;
      }
    }
  }

  /** describe lists the blocked links, for traces. */
  describe(): string {
    const cut: string[] = [];
    const refused: string[] = [];
    for (let a = 0; a < this.size; a++) {
      for (let b = 0; b < this.size; b++) {
        if (!this.isUp(a, b)) cut.push(`${this.names[a]}>${this.names[b]}`);
        if (this.refuses(a, b)) refused.push(`${this.names[a]}>${this.names[b]}`);
      }
    }
    const words = [...(cut.length > 0 ? [`blocked ${cut.join(' ')}`] : []), ...(refused.length > 0 ? [`refusing ${refused.join(' ')}`] : [])];
    return words.length === 0 ? 'all links up' : words.join('; ');
  }

  private fmt(nodes: readonly number[]): string {
    return `{${nodes.map((i) => this.names[i]).join(',')}}`;
  }
}
