// GET /primary (200 only for the primary holding its lease) and GET /replica
// (200 for a healthy data follower hearing its primary), 503 otherwise, for
// load balancers; HEAD too. The body carries the role and the term, which is
// the fencing token. Never need a token, never cached.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../src/app.js';
import { RoleProbe, refWith } from '../src/schemas.js';

const roleRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { service }) => {
  const probes: Array<[url: string, operationId: string, summary: string, is: () => boolean]> = [
    ['/primary', 'primary', 'Is this node the primary holding its lease?', () => service.isPrimary()],
    ['/replica', 'replica', 'Is this node a healthy data follower that hears its primary?', () => service.isReplica()],
  ];
  for (const [url, operationId, summary, is] of probes) {
    app.get(
      url,
      {
        exposeHeadRoute: true,
        config: { swagger: { exposeHeadRoute: true } },
        schema: {
          operationId,
          tags: ['health'],
          summary,
          response: { 200: refWith(RoleProbe, 'Yes.'), 503: refWith(RoleProbe, 'No.') },
        },
      },
      async (_request, reply) => {
        const yes = is();
        const { id, role, term, primaryId } = service.status();
        return reply.code(yes ? 200 : 503).header('cache-control', 'no-store').send({ id, role, term, primaryId });
      },
    );
  }
};

export default roleRoutes;
