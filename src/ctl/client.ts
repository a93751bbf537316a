// The requests `quorumd ctl` makes, over undici. Every failure becomes one
// CtlError line that says what could not be done and why: the member could
// not be reached (with the network error), or it answered an error (with
// the API's code and message).

import type { PeerCertificate } from 'node:tls';
import { Agent, request } from 'undici';
import { memberIdOfCert } from '../config.js';
import type { Connection } from './connection.js';

/** The cluster refused or could not be reached; the message is one line. */
export class CtlError extends Error {
  override name = 'CtlError';
}

/** One answer: its status and JSON body. */
export interface Answer<T> {
  readonly status: number;
  readonly body: T;
}

export class CtlClient {
  private readonly agent: Agent;

  constructor(private readonly conn: Connection) {
    const tls = conn.tls;
    this.agent = new Agent({
      connectTimeout: Math.min(conn.timeoutMs, 5_000),
      ...(tls
        ? {
            connect: {
              ca: tls.ca,
              ...(tls.cert !== undefined && tls.key !== undefined ? { cert: tls.cert, key: tls.key } : {}),
              rejectUnauthorized: true,
              // Members are often reached by address, so the host name is not
              // checked; the certificate must chain to the cluster CA and name a
              // member (URI SAN quorumd:member:<id>), as between members.
              checkServerIdentity: (_host: string, cert: PeerCertificate) =>
                memberIdOfCert(cert.subjectaltname) === null ? new Error('the server certificate names no quorumd member') : undefined,
            },
          }
        : {}),
    });
  }

  /** The url every command starts from. */
  get url(): string {
    return this.conn.url;
  }

  /**
   * send makes one request to `base` (a member's url) and returns the status
   * and JSON body; `ok` lists the statuses that are answers rather than
   * errors. An error answer, no answer or a body that is not JSON throws
   * CtlError.
   */
  async send<T>(base: string, method: 'GET' | 'PUT' | 'DELETE' | 'POST', path: string, body?: unknown, ok: readonly number[] = [200]): Promise<Answer<T>> {
    const where = `${method} ${base.replace(/\/+$/, '')}${path}`;
    let status: number;
    let text: string;
    try {
      const res = await request(`${base.replace(/\/+$/, '')}${path}`, {
        method,
        headers: {
          ...(this.conn.token !== null ? { authorization: `Bearer ${this.conn.token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        dispatcher: this.agent,
        signal: AbortSignal.timeout(this.conn.timeoutMs),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw new CtlError(`${where}: cannot reach it: ${networkReason(err, this.conn.timeoutMs)}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CtlError(`${where}: HTTP ${status}, and the answer is not JSON`);
    }
    if (!ok.includes(status)) throw new CtlError(`${where}: ${errorReason(status, parsed)}`);
    return { status, body: parsed as T };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** errorReason is an error answer in one line: the status, the API's code and message. */
export function errorReason(status: number, body: unknown): string {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (error && typeof error.code === 'string') return `HTTP ${status} ${error.code}: ${oneLine(String(error.message ?? ''))}`;
  return `HTTP ${status}`;
}

function networkReason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  return oneLine(e.code ?? e.cause?.code ?? e.message ?? String(err));
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
