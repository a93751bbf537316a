// POST /heartbeat: the primary's heartbeat, carrying its term, the commit
// watermark, the membership and its lease; the reply carries this member's
// term and durable log position.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../src/http/types.js';
import { HeartbeatBody, HeartbeatReply, errorReplies, ref, refWith, peerSecurity } from '../src/schemas.js';

const heartbeatRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { service }) => {
  app.post(
    '/heartbeat',
    {
      // Only the member the peer token proves may be claimed (src/http/claims.ts).
      config: { claims: 'primaryId' },
      // The hot path: every member takes one every heartbeatMs. No child
      // logger per request (a pino child is built for each otherwise; these
      // routes log nothing per request), and the reply, which the runtime
      // builds field by field from the core's types, is written by plain
      // JSON.stringify: the schema's two nullable unions make the compiled
      // serializer try each branch on every reply.
      childLoggerFactory: (logger) => logger,
      serializerCompiler: () => (data) => JSON.stringify(data),
      schema: {
        operationId: 'heartbeat',
        tags: ['peer'],
        summary: 'Take a heartbeat from the primary',
        security: peerSecurity,
        body: ref(HeartbeatBody),
        response: {
          200: refWith(HeartbeatReply, 'Whether this member took the heartbeat, its term, and its durable log position (null for a witness or when unknown).'),
          400: errorReplies[400],
          401: errorReplies[401],
          403: errorReplies[403],
          413: errorReplies[413],
          415: errorReplies[415],
          503: errorReplies[503],
        },
      },
    },
    async (request) => service.heartbeat(request.body),
  );
};

export default heartbeatRoutes;
