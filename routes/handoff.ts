// POST /handoff: the primary tells the member it chose to stand now, on its
// behalf (a switchover). Nothing comes back: the election that follows speaks.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../src/http/types.js';
import { HandoffBody, errorReplies, ref, peerSecurity } from '../src/schemas.js';

const handoffRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { service }) => {
  app.post(
    '/handoff',
    {
      // Only the member the peer token proves may be claimed (src/http/claims.ts).
      config: { claims: 'primaryId' },
      schema: {
        operationId: 'handoff',
        tags: ['peer'],
        summary: "Stand for election now, on the primary's behalf",
        security: peerSecurity,
        body: ref(HandoffBody),
        response: {
          204: Type.Null({ description: 'Taken: this member stands if the handoff is still current.' }),
          400: errorReplies[400],
          401: errorReplies[401],
          403: errorReplies[403],
          413: errorReplies[413],
          415: errorReplies[415],
          503: errorReplies[503],
        },
      },
    },
    async (request, reply) => {
      service.handoff(request.body);
      return reply.code(204).send(null);
    },
  );
};

export default handoffRoutes;
