// GET /members: this node's view of the membership: version, quorum, and for
// each member what it is and what this node last knew of it.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../src/http/types.js';
import { MembersView, errorReplies, refWith } from '../src/schemas.js';

const membersRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { service }) => {
  app.get(
    '/members',
    {
      schema: {
        operationId: 'members',
        tags: ['operator'],
        summary: 'The membership as this node sees it',
        response: { 200: refWith(MembersView, 'The membership view.'), 503: errorReplies[503] },
      },
    },
    async () => service.members(),
  );
};

export default membersRoutes;
