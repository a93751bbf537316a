// GET /history: the terms this node knows and their primaries, when and why
// each began, oldest first.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../src/http/types.js';
import { History, errorReplies, refWith } from '../src/schemas.js';

const historyRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { service }) => {
  app.get(
    '/history',
    {
      schema: {
        operationId: 'history',
        tags: ['operator'],
        summary: 'Terms and their primaries',
        response: { 200: refWith(History, 'Terms and their primaries, oldest first.'), 503: errorReplies[503] },
      },
    },
    async () => service.history(),
  );
};

export default historyRoutes;
