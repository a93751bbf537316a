// The types the HTTP layer shares: the app instance every plugin of src/http
// works on, and the options every route plugin of routes/ is registered with.
// It holds types only, so routes import it instead of the app.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
// The route schemas' OpenAPI fields (operationId, tags, summary, security,
// hide) are typed by @fastify/swagger's additions to fastify's types. This
// import is erased from the JavaScript: a node never loads the generator.
import type {} from '@fastify/swagger';
import type { QuorumService } from '../runtime/service.js';

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/** What every route plugin of routes/ is registered with. */
export interface RouteOptions {
  readonly service: QuorumService;
}
