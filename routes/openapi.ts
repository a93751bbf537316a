// GET /openapi.json: the OpenAPI document. It is generated at build time from
// the route schemas (scripts/openapi.ts, `npm run openapi`) into openapi.json
// beside openapi.yaml; tsc copies it into dist/ with the code that imports it,
// and a node serves it as it is, so the generator (@fastify/swagger) is never
// loaded in a node's process. test/http checks that the file is up to date.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import document from '../openapi.json' with { type: 'json' };
import type { RouteOptions } from '../src/http/types.js';

const openapiRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app) => {
  app.get('/openapi.json', { schema: { hide: true } }, async () => document);
};

export default openapiRoutes;
