// PUT /log: the local data store's agent reports this node's durable log
// position, { term, lsn } of its last durable entry, and optionally its own
// monotonic clock reading (agentClockMs). The reply is the node's status, so
// the agent sees its role, the commit watermark and the fencing term, and the
// lease on the agent's clock: leaseUntil (with agentClockMs) or
// leaseRemainingMs (without); see src/runtime/lease-report.ts.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../src/http/types.js';
import { ErrorReply, PositionReply, PositionReport, errorReplies, ref, refWith, agentSecurity } from '../src/schemas.js';

const logRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { service }) => {
  app.put(
    '/log',
    {
      schema: {
        operationId: 'reportPosition',
        tags: ['operator'],
        summary: "Report this node's durable log position (from the data store's agent)",
        security: agentSecurity,
        body: ref(PositionReport),
        response: {
          200: refWith(PositionReply, "The position is taken; the node's status after it, and how long it may serve as primary on the agent's clock."),
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
