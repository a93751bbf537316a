// Credentials: who may call the routes that change something. Each protected
// route names, in its schema's `security`, the role whose credential it takes
// (peerAuth, agentAuth or operatorAuth, see src/schemas.ts). The app runs in
// one of three modes:
// - per-role credentials: every member has its own peer token (this node
//   holds only their SHA-256 digests), the data store's agent and operators
//   have their own token lists; a token of another role is a 403, and a peer
//   message may only claim the member its token proves (claims.ts);
// - the shared token: one token for every role, with no identity behind it;
// - mutual TLS: a peer proves which member it is by a client certificate the
//   cluster CA signed, naming the member by its URI SAN quorumd:member:<id>
//   (see memberIdOfCert in src/config.ts); the agent and operators present
//   their tokens as in the per-role mode, and peer tokens are not used;
// - none: nothing is checked (loopback only, or --insecure).
// The check runs in onRequest, before the body is read. Health probes,
// status and metrics declare no security and stay open.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import { memberIdOfCert } from '../config.js';
import { ApiError } from '../errors.js';
import { AGENT_AUTH, OPERATOR_AUTH, PEER_AUTH } from '../schemas.js';
import type { App } from './types.js';

/** A role a credential belongs to. */
export type Role = 'peer' | 'agent' | 'operator';

/** Why a request was refused, as counted in quorumd_auth_refusals_total{reason}. */
export type RefusalReason = 'unauthorized' | 'forbidden' | 'identity_mismatch';

/** Who a request proved to be: a member (by its peer token or certificate), the agent, an operator, or a holder of the shared token. */
export type Principal =
  | { readonly role: 'peer'; readonly memberId: string }
  | { readonly role: 'agent' }
  | { readonly role: 'operator' }
  | { readonly role: 'shared' };

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request's credential proved it comes from; null when no credential was needed. */
    principal: Principal | null;
  }
}

/** The per-role credentials, as the configuration holds them. */
export interface RoleCredentials {
  /** Each member's accepted peer token digests, "sha256:<hex>". */
  readonly peers: Readonly<Record<string, readonly string[]>>;
  readonly agentTokens: readonly string[];
  readonly operatorTokens: readonly string[];
}

export interface AuthOptions {
  /** The shared token (every role, no identity); null for none. */
  readonly token: string | null;
  /** The per-role credentials; null for none. Not together with a shared token. */
  readonly credentials: RoleCredentials | null;
  /**
   * Mutual TLS: peers are authenticated by their verified client certificate,
   * which must name one of these members; their peer tokens are not looked
   * at. Needs `credentials` (for the agent and operator tokens, with no peer
   * digests) and no shared token. Null or absent without TLS.
   */
  readonly tls?: { readonly isMember: (id: string) => boolean } | null;
  /** Counts a refusal; called once per refused request. */
  readonly onRefusal: (reason: RefusalReason) => void;
}

const SCHEME_ROLES: ReadonlyArray<readonly [string, Role]> = [
  [PEER_AUTH, 'peer'],
  [AGENT_AUTH, 'agent'],
  [OPERATOR_AUTH, 'operator'],
];

const ROLE_NAMES: Record<Role, string> = { peer: 'a peer token', agent: "the data store agent's token", operator: 'an operator token' };

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** One accepted verifier: the digest of a token and who presenting that token is. */
interface Verifier {
  readonly digest: Buffer;
  readonly principal: Principal;
}

/** verifiers lists every accepted digest with its principal. */
function verifiers(opts: AuthOptions): Verifier[] {
  if (opts.token !== null) return [{ digest: sha256(opts.token), principal: { role: 'shared' } }];
  const c = opts.credentials;
  if (c === null) return [];
  const out: Verifier[] = [];
  for (const [memberId, list] of Object.entries(c.peers)) {
    for (const d of list) {
      const digest = Buffer.from(d.replace(/^sha256:/, ''), 'hex');
      if (digest.length !== 32) throw new Error(`the peer credential digest of "${memberId}" is not "sha256:<64 hex digits>"`);
      out.push({ digest, principal: { role: 'peer', memberId } });
    }
  }
  for (const token of c.agentTokens) out.push({ digest: sha256(token), principal: { role: 'agent' } });
  for (const token of c.operatorTokens) out.push({ digest: sha256(token), principal: { role: 'operator' } });
  return out;
}

/** routeRole is the role a route's `security` declares, or null for an open route. */
export function routeRole(security: ReadonlyArray<Record<string, unknown>> | undefined): Role | null {
  if (!security) return null;
  for (const [scheme, role] of SCHEME_ROLES) if (security.some((s) => scheme in s)) return role;
  return null;
}

function describePrincipal(p: Principal): string {
  if (p.role === 'peer') return `the peer token of member "${p.memberId}"`;
  if (p.role === 'shared') return 'the shared token';
  return ROLE_NAMES[p.role];
}

/**
 * installAuth refuses, before the body is read, a request to a protected
 * route that does not carry a credential this route takes: 401 unauthorized
 * for none or an unknown one, 403 forbidden for one of another role. The
 * presented token is hashed once and compared with timingSafeEqual against
 * every accepted digest, all of them each time, so the time taken says
 * nothing about which (if any) it matched. The principal is attached to the
 * request. With neither a shared token nor credentials it does nothing.
 */
export function installAuth(app: App, opts: AuthOptions): void {
  app.decorateRequest('principal', null);
  const accepted = verifiers(opts);
  const tls = opts.tls ?? null;
  if (tls !== null && (opts.token !== null || opts.credentials === null)) {
    throw new Error('mutual TLS takes the per-role agent and operator credentials, and no shared token');
  }
  if (tls !== null && Object.keys(opts.credentials?.peers ?? {}).length > 0) {
    throw new Error('with mutual TLS peers are authenticated by certificate only: no peer token digests');
  }
  if (opts.token === null && opts.credentials === null) return;
  const shared = opts.token !== null;
  const wanted = shared ? 'the shared token' : undefined;

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const role = routeRole(request.routeOptions.schema?.security);
    if (role === null) return;
    const expects = wanted ?? ROLE_NAMES[role];
    const refuse = (status: 401 | 403, reason: RefusalReason, message: string): never => {
      opts.onRefusal(reason);
      throw new ApiError(status, reason, message);
    };
    if (tls !== null && role === 'peer') {
      // The handshake let in clients without a certificate (for the probes);
      // a peer route takes only one the cluster CA verified, naming a member.
      const socket = request.raw.socket as TLSSocket;
      if (socket.authorized !== true || typeof socket.getPeerCertificate !== 'function') {
        return refuse(401, 'unauthorized', 'this route needs a client certificate signed by the cluster CA');
      }
      const memberId = memberIdOfCert(socket.getPeerCertificate().subjectaltname);
      if (memberId === null || !tls.isMember(memberId)) {
        return refuse(
          401,
          'unauthorized',
          `the client certificate names ${memberId === null ? 'no member (by exactly one URI SAN quorumd:member:<id>)' : `"${memberId}", which is not a member`}`,
        );
      }
      request.principal = { role: 'peer', memberId };
      return;
    }
    const header = request.headers.authorization;
    if (header === undefined) refuse(401, 'unauthorized', `this route needs Authorization: Bearer <${expects}>`);
    const presented = /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1];
    if (presented === undefined) return refuse(401, 'unauthorized', `the Authorization header must be "Bearer <${expects}>"`);
    const digest = sha256(presented);
    let found: Principal | null = null;
    for (const v of accepted) {
      if (timingSafeEqual(digest, v.digest) && found === null) found = v.principal;
    }
    if (found === null) return refuse(401, 'unauthorized', `the bearer token is not ${shared ? 'the shared token' : 'a known credential'}`);
    if (found.role !== 'shared' && found.role !== role) {
      return refuse(403, 'forbidden', `this route takes ${expects}, and the request presents ${describePrincipal(found)}`);
    }
    request.principal = found;
  });
}
