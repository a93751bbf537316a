// Identity binding: a peer message may only speak for the member its
// credential proves (a peer token, or a client certificate in TLS mode). A route names the body field that claims a member in its
// config (`config: { claims: 'candidateId' }`); once the body is validated,
// a request authenticated as member b whose body claims member c is refused
// with 403 identity_mismatch before the handler (and so the node) sees it.
// Only per-member credentials bind an identity: the shared token proves none.

import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { RefusalReason } from './auth.js';
import type { App } from './types.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body field holding the member id this message claims to come from. */
    claims?: string;
  }
}

/**
 * installClaimCheck checks, in preHandler, that a peer's message claims the
 * member its credential proved. A callback hook, not an async one: it runs on
 * every request, heartbeats first, and needs no promise.
 */
export function installClaimCheck(app: App, opts: { readonly onRefusal: (reason: RefusalReason) => void }): void {
  app.addHook('preHandler', (request: FastifyRequest, _reply, done) => {
    const field = request.routeOptions.config.claims;
    const principal = request.principal;
    if (field === undefined || principal?.role !== 'peer') return done();
    const claimed = (request.body as Record<string, unknown> | undefined)?.[field];
    if (claimed === principal.memberId) return done();
    opts.onRefusal('identity_mismatch');
    done(
      new ApiError(
        403,
        'identity_mismatch',
        `the body claims to come from ${JSON.stringify(claimed)} (${field}), but its credential proves member "${principal.memberId}"`,
        field,
      ),
    );
  });
}
