// POST /switchover: a planned switchover from the primary to a named member,
// or to the best one. The reply comes once it finished, was refused or was
// abandoned: 200 completed, 202 started, 409 refused or abandoned.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../src/http/types.js';
import { SwitchoverBody, SwitchoverReply, errorReplies, ref, refWith, operatorSecurity } from '../src/schemas.js';
import type { SwitchoverReply as Reply } from '../src/runtime/service.js';

const STATUS: Record<Reply['status'], 200 | 202 | 409> = { completed: 200, started: 202, refused: 409, abandoned: 409 };

const switchoverRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { service }) => {
  app.post(
    '/switchover',
    {
      schema: {
        operationId: 'switchover',
        tags: ['operator'],
        summary: 'Switch the primary role over to a named member, or to the best one',
        security: operatorSecurity,
        body: ref(SwitchoverBody),
        response: {
          200: refWith(SwitchoverReply, 'Completed: the target leads a newer term.'),
          202: refWith(SwitchoverReply, 'Started: the target is standing.'),
          400: errorReplies[400],
          401: errorReplies[401],
          403: errorReplies[403],
          409: refWith(SwitchoverReply, 'Refused (with the reason) or abandoned.'),
          413: errorReplies[413],
          415: errorReplies[415],
          503: errorReplies[503],
        },
      },
    },
    async (request, reply) => {
      const result = await service.switchover(request.body.target ?? null);
      return reply.code(STATUS[result.status]).send(result);
    },
  );
};

export default switchoverRoutes;
