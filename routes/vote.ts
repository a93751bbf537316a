// POST /vote: a candidate asks this node for its vote. With dryRun true it is
// the probe, which never persists and never advances the voter's term.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../src/http/types.js';
import { VoteBody, VoteReply, errorReplies, ref, refWith, peerSecurity } from '../src/schemas.js';

const voteRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { service }) => {
  app.post(
    '/vote',
    {
      // The reply documents the refusal as a union of eight shapes; compiled
      // into fast-json-stringify it tries each branch on every reply, about a
      // tenth of the probe rate (bench:vote: 0.71-0.75x of bare fastify, 0.78-0.81x
      // with this). The runtime builds the reply field by field from the core's
      // own types, so plain JSON.stringify writes exactly the schema.
      // Only the member the peer token proves may be claimed (src/http/claims.ts).
      config: { claims: 'candidateId' },
      serializerCompiler: () => (data) => JSON.stringify(data),
      // No child logger per request: this route logs nothing per request.
      childLoggerFactory: (logger) => logger,
      schema: {
        operationId: 'vote',
        tags: ['peer'],
        summary: 'Ask for a vote (a ballot), or whether this node would vote (a probe, dryRun true)',
        security: peerSecurity,
        body: ref(VoteBody),
        response: {
          200: refWith(VoteReply, 'The vote: granted, or refused with the reason.'),
          400: errorReplies[400],
          401: errorReplies[401],
          403: errorReplies[403],
          413: errorReplies[413],
          415: errorReplies[415],
          503: errorReplies[503],
        },
      },
    },
    async (request) => service.vote(request.body),
  );
};

export default voteRoutes;
