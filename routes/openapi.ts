// GET /openapi.json: the OpenAPI document, generated from the route schemas.
// openapi.yaml at the top of the repository is the same document, written by
// scripts/openapi.ts and checked against this route by test/http.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../src/http/types.js';

const openapiRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app) => {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};

export default openapiRoutes;
