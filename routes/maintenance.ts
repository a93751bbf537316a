// Maintenance mode: POST /pause stops automatic failover cluster-wide and
// POST /resume starts it again. The flag is part of the replicated cluster
// configuration, so the primary writes it (any other member forwards the
// request there) and it holds across restarts. While paused the primary keeps
// its lease, followers hold no elections and refuse probes with `paused`, and
// a planned switchover still works. The reply comes once the change is
// committed, with the configuration in force.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ForwardingRouteOptions } from '../src/http/forward.js';
import { ErrorReply, MembershipChangeReply, errorReplies, operatorSecurity, refWith } from '../src/schemas.js';
import { changeReply } from './members.js';

const responses = {
  200: refWith(MembershipChangeReply, 'The change is committed (or the configuration already said so): the configuration in force.'),
  401: errorReplies[401],
  403: errorReplies[403],
  409: refWith(
    ErrorReply,
    'Refused: another change is under way (change_in_progress), or a new primary has not yet acknowledged a write of its term (not_ready).',
  ),
  503: refWith(
    ErrorReply,
    'Not made or not known to be: not committed in time (change_timed_out), the primary stepped down (change_interrupted), ' +
      'no primary is known (no_primary, with Retry-After), the primary could not be reached (primary_unreachable), or the node failed.',
  ),
};

const maintenanceRoutes: FastifyPluginAsyncTypebox<ForwardingRouteOptions> = async (app, { service, forwarder }) => {
  for (const [path, paused] of [
    ['/pause', true],
    ['/resume', false],
  ] as const) {
    app.post(
      path,
      {
        schema: {
          operationId: paused ? 'pause' : 'resume',
          tags: ['operator'],
          summary: paused ? 'Pause automatic failover cluster-wide (maintenance mode); a switchover still works' : 'Resume automatic failover after a pause',
          security: operatorSecurity,
          response: responses,
        },
      },
      async (request, reply) =>
        forwarder.primaryOnly(request, reply, service, async () => {
          const change = await service.changeMembers({ op: 'pause', paused });
          return reply.code(200).send(changeReply(change));
        }),
    );
  }
};

export default maintenanceRoutes;
