// buildApp() is the HTTP face of one quorumd node: a fastify instance with the
// shared schemas and the small plugins of src/http (error replies, JSON
// bodies, credentials and identity binding, malformed HTTP), then the route
// plugins of routes/. It performs no protocol work itself: every route
// calls the QuorumService. The command (src/cli.ts) only listens and closes it.

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { QuorumService } from './runtime/service.js';
import { sharedSchemas } from './schemas.js';
import { installAuth, type RoleCredentials } from './http/auth.js';
import { installClaimCheck } from './http/claims.js';
import { answerClientError } from './http/client-errors.js';
import { answerFrameworkError, installErrorHandlers } from './http/errors.js';
import { Forwarder } from './http/forward.js';
import { installJsonParser } from './http/json.js';
import type { App, RouteOptions } from './http/types.js';
import { validationError } from './http/validation.js';
import { authRefusals } from './runtime/metrics.js';
import { PeerClient } from './transport/peer-client.js';
import handoffRoutes from '../routes/handoff.js';
import heartbeatRoutes from '../routes/heartbeat.js';
import historyRoutes from '../routes/history.js';
import logRoutes from '../routes/log.js';
import clusterRoutes from '../routes/cluster.js';
import maintenanceRoutes from '../routes/maintenance.js';
import membersRoutes from '../routes/members.js';
import metricsRoutes from '../routes/metrics.js';
import openapiRoutes from '../routes/openapi.js';
import probeRoutes from '../routes/probes.js';
import statusRoutes from '../routes/status.js';
import switchoverRoutes from '../routes/switchover.js';
import voteRoutes from '../routes/vote.js';
import whyRoutes from '../routes/why.js';

export type { App } from './http/types.js';

/** Bodies are small: a heartbeat with 16 members of the longest ids and URLs is about 6.3 KiB. */
export const DEFAULT_BODY_LIMIT = 8 * 1024;

export interface BuildAppOptions {
  readonly service: QuorumService;
  /** The shared token every protected route takes (the shared-token mode); null for none. */
  readonly token: string | null;
  /** The per-role credentials (each protected route takes its role's); none when absent. Not with a shared token. */
  readonly credentials?: RoleCredentials | null;
  /**
   * Mutual TLS: the server's certificate, key and the cluster CA (PEM), and
   * which member ids' certificates are accepted on peer routes (the members
   * of the configuration the node holds, which changes at run time). The handshake
   * asks every client for a certificate but lets in those without one, so the
   * probes, status and metrics stay reachable; peer routes take only a
   * verified one (src/http/auth.ts). Null or absent serves plain HTTP.
   */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string; readonly isMember: (id: string) => boolean } | null;
  /** A pino logger to log through; none (silent) when absent. */
  readonly logger?: FastifyBaseLogger;
  /** The largest request body accepted, in bytes. */
  readonly bodyLimit?: number;
  /** How long a request forwarded to the primary may take (src/http/forward.ts); a few seconds when absent. */
  readonly forwardTimeoutMs?: number;
  /**
   * Called on the app before any route is added, for a plugin that watches
   * routes being added: the OpenAPI generator (scripts/openapi.ts) registers
   * @fastify/swagger here. A node leaves it out and serves the generated
   * document (routes/openapi.ts), so the generator is never loaded at run time.
   */
  readonly describe?: (app: App) => void;
}

export function buildApp(opts: BuildAppOptions): App {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const tls = opts.tls ?? null;
  const app = Fastify({
    // The https server options are spread in untyped: the instance keeps the
    // App type either way, since nothing below depends on the server's class.
    ...(tls ? ({ https: { key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: false } } as object) : {}),
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit,
    // A heartbeat arrives every few tens of milliseconds from the primary:
    // one log line per request would drown everything else.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: {
      customOptions: {
        // Unknown fields are refused, never dropped; types are never coerced;
        // nothing is filled in. `verbose` puts the value and its schema on each
        // error, for messages that say what was wrong.
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: false,
        allErrors: false,
        verbose: true,
      },
    },
    // HEAD is answered where a probe may use it (health, /primary, /replica),
    // each declared by its route, so the document lists exactly what is served.
    exposeHeadRoutes: false,
    // Peers keep their keep-alive connections busy (the new primary heartbeats
    // every few tens of milliseconds), so closing must not wait for them.
    forceCloseConnections: true,
    // These three are server options, so they are given here rather than
    // installed afterwards; each lives with its concern in src/http.
    schemaErrorFormatter: validationError,
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The cross-cutting plugins are plain functions on the root instance, not
  // registered (encapsulated) plugins: what they install must cover every route.
  for (const schema of sharedSchemas) app.addSchema(schema);
  installJsonParser(app, { bodyLimit });
  const credentials = opts.credentials ?? null;
  if (opts.token !== null && credentials !== null) throw new Error('buildApp takes a shared token or per-role credentials, not both');
  // Refusals are counted on the registry the service exposes, the one GET /metrics serves.
  const refusals = authRefusals(opts.service.registry);
  const onRefusal = (reason: string) => refusals.inc({ reason });
  installAuth(app, { token: opts.token, credentials, tls: tls ? { isMember: tls.isMember } : null, onRefusal });
  installClaimCheck(app, { onRefusal });
  installErrorHandlers(app, { bodyLimit });
  opts.describe?.(app);

  const routeOptions: RouteOptions = { service: opts.service };
  // Membership changes are forwarded to the primary with this node's TLS
  // settings, and the caller's credential rather than the node's own.
  const forwarder = new Forwarder({
    client: new PeerClient({ token: null, tls: tls ? { cert: tls.cert, key: tls.key, ca: tls.ca } : null }),
    ...(opts.forwardTimeoutMs !== undefined ? { timeoutMs: opts.forwardTimeoutMs } : {}),
  });
  app.addHook('onClose', () => forwarder.close());
  app.register(membersRoutes, { ...routeOptions, forwarder });
  app.register(clusterRoutes, { ...routeOptions, forwarder });
  app.register(maintenanceRoutes, { ...routeOptions, forwarder });
  for (const routes of [
    voteRoutes,
    heartbeatRoutes,
    handoffRoutes,
    statusRoutes,
    logRoutes,
    switchoverRoutes,
    historyRoutes,
    whyRoutes,
    probeRoutes,
    metricsRoutes,
    openapiRoutes,
  ]) {
    app.register(routes, routeOptions);
  }
  return app;
}
