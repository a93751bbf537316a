// GET /why: would this node be elected now, and if not, why not. The node
// asked is the would-be candidate: it sends every other voter the dry-run
// probe an election starts with and answers with each voter's answer, granted
// or the refusal with its details (src/runtime/why.ts). The probe changes
// nothing on the voters or here, so it is safe on a live cluster. A node that
// cannot stand at all (a witness) says so without probing. `quorumd ctl why
// ID` finds the member's url in GET /cluster and asks it.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../src/http/types.js';
import { WhyReply, errorReplies, operatorSecurity, refWith } from '../src/schemas.js';

const whyRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { service }) => {
  app.get(
    '/why',
    {
      schema: {
        operationId: 'why',
        tags: ['operator'],
        summary: 'Whether this node would be elected now: a dry-run probe of every voter, and each answer with its reason',
        // It makes this node send a request to every voter: an operator's question, not an open read.
        security: operatorSecurity,
        response: {
          200: refWith(WhyReply, "Each voter's answer to the dry-run probe (none for a node that cannot stand at all)."),
          401: errorReplies[401],
          403: errorReplies[403],
          503: errorReplies[503],
        },
      },
    },
    async () => service.why(),
  );
};

export default whyRoutes;
