// GET /cluster: the whole cluster in one call, as the primary sees it (it
// hears every member on each heartbeat): each member's role, term, position,
// lag behind the commit watermark, last contact, and whether it could stand,
// with the reason when not. Any member answers it: one that is not the
// primary fetches the primary's view (src/http/forward.ts), and when it
// cannot, answers its own partial view, marked so and saying why.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { FORWARDED_TO_HEADER, type ForwardingRouteOptions } from '../src/http/forward.js';
import { ClusterView, errorReplies, refWith } from '../src/schemas.js';

const clusterRoutes: FastifyPluginAsyncTypebox<ForwardingRouteOptions> = async (app, { service, forwarder }) => {
  app.get(
    '/cluster',
    {
      schema: {
        operationId: 'cluster',
        tags: ['operator'],
        summary: "The whole cluster as the primary sees it (from another member: fetched from the primary, or that member's partial view)",
        response: {
          200: refWith(
            ClusterView,
            "The cluster view: the primary's (view primary), or this member's own when the primary cannot be asked (view partial). " +
              'A view relayed from the primary carries x-quorumd-forwarded-to.',
          ),
          503: errorReplies[503],
        },
      },
    },
    async (request, reply) => {
      if (service.status().role === 'primary') return service.cluster(null);
      const fetched = await forwarder.fromPrimary(request, service);
      // Any answer but the view (a primary that failed, or took this node for
      // a primary) is no better than none: this node's own view says more.
      if (fetched.ok && fetched.answer.statusCode === 200) {
        // The body is relayed as the primary wrote it, not serialized again.
        const raw = reply as FastifyReply;
        return raw.code(200).header(FORWARDED_TO_HEADER, fetched.url).type('application/json; charset=utf-8').send(fetched.answer.body);
      }
      return service.cluster(fetched.ok ? `the primary at ${fetched.url} answered HTTP ${fetched.answer.statusCode}` : fetched.why);
    },
  );
};

export default clusterRoutes;
