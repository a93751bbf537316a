// The peer client: how a node's messages reach the other members over HTTP.
// One undici keep-alive pool per peer; every request has its own deadline
// (an AbortSignal) and can be aborted with the round it belongs to. Replies
// are checked against the core's reply schemas, the very ones the peer's HTTP
// API serves them with, and against the member they were asked of, before
// they go back into the protocol.

import { Pool } from 'undici';
import type { Message } from '../core/index.js';
import { replyFromWire, requestToWire } from './wire.js';

/**
 * What became of one request. A failure with `answeredAs` is a well-formed
 * reply that named another member than the one asked: no reply at all.
 */
export type Delivery =
  | { readonly ok: true; readonly reply: Message | null }
  | { readonly ok: false; readonly refused: boolean; readonly error: string; readonly answeredAs?: string };

export interface PeerClientOptions {
  /**
   * The credential sent as `Authorization: Bearer ...` on every request:
   * this node's own peer token, or the shared token; null sends none.
   */
  readonly token: string | null;
  /** Connections kept open to each peer. */
  readonly connectionsPerPeer?: number;
}

export class PeerClient {
  private readonly pools = new Map<string, Pool>();
  private readonly token: string | null;
  private readonly connections: number;

  constructor(opts: PeerClientOptions) {
    this.token = opts.token;
    this.connections = opts.connectionsPerPeer ?? 4;
  }

  /**
   * deliver sends one protocol message to the member `memberId` at `url` and
   * returns its reply translated back into a protocol message (null for a
   * handoff, which has no reply), or why there is none. A reply that names
   * another member (a stale url, a mistaken member list, two processes with
   * one id) is refused: counting it as `memberId`'s vote or acknowledgement
   * would let one process speak for two members, or a stranger for one.
   */
  async deliver(url: string, message: Message, signal: AbortSignal, memberId: string): Promise<Delivery> {
    const route = requestToWire(message);
    if (!route) return { ok: false, refused: false, error: `${message.type} is not sent as a request` };
    try {
      const res = await this.pool(url).request({
        method: 'POST',
        path: route.path,
        headers: {
          'content-type': 'application/json',
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: JSON.stringify(route.body),
        signal,
      });
      const text = await res.body.text();
      if (res.statusCode === 204 && message.type === 'handoff') return { ok: true, reply: null };
      if (res.statusCode !== 200) return { ok: false, refused: false, error: `HTTP ${res.statusCode}: ${text.slice(0, 200)}` };
      const reply = replyFromWire(message, JSON.parse(text) as unknown);
      if (!reply) return { ok: false, refused: false, error: 'malformed reply' };
      const answeredAs = replierOf(reply);
      if (answeredAs !== null && answeredAs !== memberId) {
        return { ok: false, refused: false, error: `identity mismatch: ${memberId} at ${url} answered as ${answeredAs}`, answeredAs };
      }
      return { ok: true, reply };
    } catch (err) {
      const code = (err as { code?: string }).code;
      return { ok: false, refused: code === 'ECONNREFUSED', error: code ?? (err as Error).message };
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(pools.map((p) => p.destroy()));
  }

  private pool(url: string): Pool {
    let pool = this.pools.get(url);
    if (!pool) {
      pool = new Pool(url, {
        connections: this.connections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connectTimeout: 1_000,
      });
      this.pools.set(url, pool);
    }
    return pool;
  }
}

/** replierOf is the member a reply says it comes from, or null for a reply that names none. */
function replierOf(reply: Message): string | null {
  if (reply.type === 'vote_response') return reply.voterId;
  if (reply.type === 'heartbeat_response') return reply.memberId;
  return null;
}
