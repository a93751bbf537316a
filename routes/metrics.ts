// GET /metrics: the node's Prometheus metrics, in the text exposition format,
// from the registry the runtime owns.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../src/http/types.js';

const metricsRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { service }) => {
  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'metrics',
        tags: ['health'],
        summary: 'Prometheus metrics',
        response: {
          200: {
            description: 'The Prometheus text exposition format.',
            content: { 'text/plain': { schema: Type.String() } },
          },
        },
      },
    },
    async (_request, reply) => {
      const text = await service.registry.metrics();
      return reply.type(service.registry.contentType).send(text);
    },
  );
};

export default metricsRoutes;
