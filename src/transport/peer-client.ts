// The peer client: how a node's messages reach the other members over HTTP.
// One undici keep-alive pool per peer; every request has its own deadline
// (an AbortSignal) and can be aborted with the round it belongs to. Replies
// are checked against the core's reply schemas, the very ones the peer's HTTP
// API serves them with, and against the member they were asked of, before
// they go back into the protocol.

import type { PeerCertificate } from 'node:tls';
import { Pool } from 'undici';
import { memberIdOfCert } from '../config.js';
import type { Message } from '../core/index.js';
import { replyFromWire, requestToWire } from './wire.js';

/**
 * What became of one request. A failure with `answeredAs` is a well-formed
 * reply that named another member than the one asked: no reply at all.
 */
export type Delivery =
  | { readonly ok: true; readonly reply: Message | null }
  | { readonly ok: false; readonly refused: boolean; readonly error: string; readonly answeredAs?: string };

/** An HTTP request passed on as it is (src/http/forward.ts): the client adds no credential of its own. */
export interface RelayedRequest {
  readonly method: 'GET' | 'PUT' | 'DELETE' | 'POST';
  /** The path and query, relative to the member's url. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | null;
}

/** The answer to a relayed request: its status, headers and body text. */
export interface RelayedReply {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

export interface PeerClientOptions {
  /**
   * The credential sent as `Authorization: Bearer ...` on every request:
   * this node's own peer token, or the shared token; null sends none.
   */
  readonly token: string | null;
  /**
   * Mutual TLS: this node's certificate and key, presented on every
   * connection, and the cluster CA the peer's server certificate must chain
   * to. The server certificate must also name, by its URI SAN
   * quorumd:member:<id>, the member the request is for; the host name is not
   * checked (members are often reached by address). Null or absent: plain HTTP.
   */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string } | null;
  /** Connections kept open to each peer. */
  readonly connectionsPerPeer?: number;
}

export class PeerClient {
  private readonly pools = new Map<string, Pool>();
  private readonly token: string | null;
  private readonly tls: PeerClientOptions['tls'];
  private readonly connections: number;

  constructor(opts: PeerClientOptions) {
    this.token = opts.token;
    this.tls = opts.tls ?? null;
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
      const res = await this.pool(url, memberId).request({
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
      if (err instanceof CertificateIdentityError) {
        return { ok: false, refused: false, error: err.message, answeredAs: err.presented ?? '<no member>' };
      }
      const code = (err as { code?: string }).code;
      return { ok: false, refused: code === 'ECONNREFUSED', error: code ?? (err as Error).message };
    }
  }

  /**
   * relay sends one request, as the caller gave it, to the member `memberId`
   * at `url` over the same pools as the protocol's messages, so that under
   * TLS the member must prove it is `memberId` before anything (the caller's
   * credential included) is sent. The member url's path, if any, prefixes the
   * request's. Network failures and the signal's abort are thrown.
   */
  async relay(url: string, memberId: string, request: RelayedRequest, signal: AbortSignal): Promise<RelayedReply> {
    const prefix = new URL(url).pathname.replace(/\/+$/, '');
    const res = await this.pool(url, memberId).request({
      method: request.method,
      path: prefix + request.path,
      headers: request.headers,
      body: request.body,
      signal,
    });
    return { statusCode: res.statusCode, headers: res.headers, body: await res.body.text() };
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(pools.map((p) => p.destroy()));
  }

  /** pool is the keep-alive pool to `memberId` at `url`; under TLS, one whose connections accept only that member's certificate. */
  private pool(url: string, memberId: string): Pool {
    const key = `${memberId} ${url}`;
    let pool = this.pools.get(key);
    if (!pool) {
      const tls = this.tls;
      pool = new Pool(url, {
        connections: this.connections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connectTimeout: 1_000,
        ...(tls
          ? {
              connect: {
                cert: tls.cert,
                key: tls.key,
                ca: tls.ca,
                rejectUnauthorized: true,
                // Runs after the chain to the cluster CA is verified.
                checkServerIdentity: (_host: string, cert: PeerCertificate) => {
                  const presented = memberIdOfCert(cert.subjectaltname);
                  return presented === memberId ? undefined : new CertificateIdentityError(memberId, url, presented);
                },
              },
            }
          : {}),
      });
      this.pools.set(key, pool);
    }
    return pool;
  }
}

/** A peer's server certificate that names another member (or none) than the one the request was for. */
export class CertificateIdentityError extends Error {
  constructor(
    readonly expected: string,
    readonly url: string,
    readonly presented: string | null,
  ) {
    super(`identity mismatch: the certificate of ${expected} at ${url} names ${presented === null ? 'no member' : presented} (URI SAN quorumd:member:<id>)`);
    this.name = 'CertificateIdentityError';
  }
}

/** replierOf is the member a reply says it comes from, or null for a reply that names none. */
function replierOf(reply: Message): string | null {
  if (reply.type === 'vote_response') return reply.voterId;
  if (reply.type === 'heartbeat_response') return reply.memberId;
  return null;
}
