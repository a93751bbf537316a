// Forwarding to the primary: a membership change can only be made by the
// primary, but an operator may send it to any member. When the service says
// not_primary, the route hands the request to a Forwarder, which sends it on
// to the primary this node follows and relays the primary's answer, status
// and body, with `x-quorumd-forwarded-to: <primary url>` added.
//
// Why forward rather than redirect (307 to the primary): clients do not carry
// credentials across a redirect to another origin. curl drops Authorization
// when a redirect goes to another host or port (members commonly differ by
// port), so the operator would get a 401 from the primary; fetch and most
// libraries do the same. Forwarding keeps one round trip for the caller, and
// the request travels over the peer client's pools, so under mutual TLS the
// primary must prove which member it is before the caller's token is sent.
//
// A forwarded request carries `x-quorumd-forwarded: 1` and is never forwarded
// again: a node that gets one and is not the primary either answers 503
// not_primary (two nodes that each think the other leads must not bounce a
// request between them).
//
// Reads are relayed too (fromPrimary): GET /cluster is the primary's view,
// and a member that cannot reach the primary answers its own instead.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { QuorumService } from '../runtime/service.js';
import type { PeerClient, RelayedReply, RelayedRequest } from '../transport/peer-client.js';
import { sendError } from './errors.js';
import type { RouteOptions } from './types.js';

/** Marks a request one member forwarded to another. */
export const FORWARDED_HEADER = 'x-quorumd-forwarded';
/** Names, on a relayed answer, the primary that gave it. */
export const FORWARDED_TO_HEADER = 'x-quorumd-forwarded-to';

/**
 * How long a forwarded request may take. A membership change resolves once
 * committed or rolled back, within an election timeout or two on the primary
 * (the defaults are 150 + 150 ms); a few seconds leave room for slower timings
 * while not holding an operator's request for long on a primary that vanished.
 */
export const DEFAULT_FORWARD_TIMEOUT_MS = 5_000;

/** The headers of the primary's answer worth passing back besides the body. */
const RELAYED_HEADERS = ['retry-after', 'www-authenticate'] as const;

/** What the routes that may be forwarded are registered with. */
export interface ForwardingRouteOptions extends RouteOptions {
  readonly forwarder: Forwarder;
}

export interface ForwarderOptions {
  /** Sends the request on; its pools carry this node's TLS settings. */
  readonly client: Pick<PeerClient, 'relay' | 'close'>;
  readonly timeoutMs?: number;
}

export class Forwarder {
  private readonly client: ForwarderOptions['client'];
  private readonly timeoutMs: number;

  constructor(opts: ForwarderOptions) {
    this.client = opts.client;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_FORWARD_TIMEOUT_MS;
  }

  /**
   * primaryOnly runs `act`, which answers the request on the primary. If the
   * service refuses it with not_primary, the request is forwarded to the
   * primary (or refused, see above) instead. Any other error passes through.
   */
  async primaryOnly(request: FastifyRequest, reply: FastifyReply, service: QuorumService, act: () => Promise<FastifyReply>): Promise<FastifyReply> {
    try {
      return await act();
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'not_primary') throw err;
      return this.forward(request, reply, service, err);
    }
  }

  /**
   * fromPrimary relays a read to the primary this node follows and returns
   * its answer, or why there is none: no primary known, the request was
   * itself forwarded here, or the primary did not answer with JSON in time.
   * The route decides what to answer instead.
   */
  async fromPrimary(
    request: FastifyRequest,
    service: QuorumService,
  ): Promise<{ readonly ok: true; readonly url: string; readonly answer: RelayedReply } | { readonly ok: false; readonly why: string }> {
    if (request.headers[FORWARDED_HEADER] !== undefined) {
      return { ok: false, why: 'another member forwarded this request here, taking this node for the primary' };
    }
    const url = service.primaryUrl();
    const { primaryId } = service.status();
    if (url === null || primaryId === null) return { ok: false, why: 'this node knows of no primary' };
    try {
      const answer = await this.client.relay(url, primaryId, relayed(request), AbortSignal.timeout(this.timeoutMs));
      JSON.parse(answer.body);
      return { ok: true, url, answer };
    } catch (err) {
      const why = err instanceof SyntaxError ? 'it answered something other than JSON' : describe(err, this.timeoutMs);
      return { ok: false, why: `the primary ${primaryId} at ${url} could not be asked: ${why}` };
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }

  private async forward(request: FastifyRequest, reply: FastifyReply, service: QuorumService, refusal: ApiError): Promise<FastifyReply> {
    if (request.headers[FORWARDED_HEADER] !== undefined) {
      throw new ApiError(503, 'not_primary', `${refusal.message}; this request was already forwarded once, so it is not forwarded again`);
    }
    const url = service.primaryUrl();
    const { primaryId, timings } = service.status();
    if (url === null || primaryId === null) {
      // An election takes about an election timeout plus its jitter.
      const seconds = Math.max(1, Math.ceil((timings.electionTimeoutMs + timings.electionJitterMs) / 1000));
      reply.header('retry-after', String(seconds));
      return sendError(
        reply,
        new ApiError(503, 'no_primary', 'this node is not the primary and knows of none to forward the request to; retry once one is elected'),
      );
    }
    reply.header(FORWARDED_TO_HEADER, url);
    let answer: Awaited<ReturnType<PeerClient['relay']>>;
    try {
      answer = await this.client.relay(url, primaryId, relayed(request), AbortSignal.timeout(this.timeoutMs));
      JSON.parse(answer.body);
    } catch (err) {
      const why = err instanceof SyntaxError ? 'it answered something other than JSON' : describe(err, this.timeoutMs);
      request.log.warn({ err, primary: url }, 'forwarding to the primary failed');
      return sendError(
        reply,
        new ApiError(
          503,
          'primary_unreachable',
          `this node is not the primary, and forwarding to the primary ${primaryId} at ${url} failed: ${why}. A change may still have been made: GET /members says.`,
        ),
      );
    }
    for (const name of RELAYED_HEADERS) {
      const value = answer.headers[name];
      if (value !== undefined) reply.header(name, value);
    }
    // The body is relayed as the primary wrote it: a JSON string with a JSON
    // content type is sent as is, not serialized again.
    return reply.code(answer.statusCode).type('application/json; charset=utf-8').send(answer.body);
  }
}

/** relayed is the request as it goes on to the primary: marked forwarded, with the caller's credential and body. */
function relayed(request: FastifyRequest): RelayedRequest {
  return {
    method: request.method as RelayedRequest['method'],
    path: request.url,
    headers: {
      [FORWARDED_HEADER]: '1',
      ...(request.headers.authorization !== undefined ? { authorization: request.headers.authorization } : {}),
      ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: request.body !== undefined ? JSON.stringify(request.body) : null,
  };
}

function describe(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  return e.code ?? e.message ?? String(err);
}
