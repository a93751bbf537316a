// GET /status: this node: id, kind, role, term (the fencing token), vote,
// primary, log position, commit watermark, lease and timings.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../src/http/types.js';
import { StatusView, errorReplies, refWith } from '../src/schemas.js';

const statusRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { service }) => {
  app.get(
    '/status',
    {
      schema: {
        operationId: 'status',
        tags: ['operator'],
        summary: 'The state of this node',
        response: { 200: refWith(StatusView, 'The state of this node.'), 503: errorReplies[503] },
      },
    },
    async () => service.status(),
  );
};

export default statusRoutes;
