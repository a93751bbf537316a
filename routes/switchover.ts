// POST /switchover: a planned switchover from the primary to a named member,
// or to the best one. The reply comes once it finished, was refused or was
// abandoned: 200 completed, 202 started; a refusal or an abandonment is an
// error in the one error shape, 409 switchover_refused (the message is the
// reason) or 409 switchover_abandoned.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ApiError } from '../src/errors.js';
import type { RouteOptions } from '../src/http/types.js';
import { ErrorReply, SwitchoverBody, SwitchoverReply, errorReplies, ref, refWith, operatorSecurity } from '../src/schemas.js';

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
          409: refWith(
            ErrorReply,
            'switchover_refused: the message says why (not the primary, not a member, not electable, not heard from recently, none eligible, one already under way); ' +
              'switchover_abandoned: the target did not take over in time.',
          ),
          413: errorReplies[413],
          415: errorReplies[415],
          503: errorReplies[503],
        },
      },
    },
    async (request, reply) => {
      const outcome = await service.switchover(request.body.target ?? null);
      switch (outcome.status) {
        case 'refused':
          throw new ApiError(409, 'switchover_refused', outcome.reason);
        case 'abandoned':
          throw new ApiError(409, 'switchover_abandoned', `the switchover to ${outcome.target} was abandoned: it did not take over in time`);
        case 'started':
          return reply.code(202).send(outcome);
        case 'completed':
          return reply.code(200).send(outcome);
      }
    },
  );
};

export default switchoverRoutes;
