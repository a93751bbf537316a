// PUT /log: the local data store's agent reports this node's durable log
// position, { term, lsn } of its last durable entry. The reply is the node's
// status, so the agent sees the commit watermark and the fencing term too.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../src/http/types.js';
import { ErrorReply, LogPosition, StatusView, errorReplies, ref, refWith, agentSecurity } from '../src/schemas.js';

const logRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { service }) => {
  app.put(
    '/log',
    {
      schema: {
        operationId: 'reportPosition',
        tags: ['operator'],
        summary: "Report this node's durable log position (from the data store's agent)",
        security: agentSecurity,
        body: ref(LogPosition),
        response: {
          200: refWith(StatusView, "The position is taken; the node's status after it."),
          400: errorReplies[400],
          401: errorReplies[401],
          403: errorReplies[403],
          409: refWith(ErrorReply, 'This node is a witness: it holds no log.'),
          413: errorReplies[413],
          415: errorReplies[415],
          503: errorReplies[503],
        },
      },
    },
    async (request) => service.reportPosition(request.body),
  );
};

export default logRoutes;
