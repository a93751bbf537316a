// GET /healthz (liveness: this process and its store, never the cluster) and
// GET /readyz (ready to serve its role): 200 when ok, else 503. Never need a
// token, never cached; HEAD too.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../src/app.js';
import { Check, refWith } from '../src/schemas.js';
import type { Check as CheckResult } from '../src/runtime/service.js';

const healthRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { service }) => {
  const probes: Array<[url: string, operationId: string, summary: string, check: () => CheckResult]> = [
    ['/healthz', 'healthz', 'Liveness: this process and its store, never the cluster', () => service.health()],
    ['/readyz', 'readyz', 'Readiness: ready to serve its role', () => service.readiness()],
  ];
  for (const [url, operationId, summary, check] of probes) {
    app.get(
      url,
      {
        exposeHeadRoute: true,
        config: { swagger: { exposeHeadRoute: true } },
        schema: {
          operationId,
          tags: ['health'],
          summary,
          response: { 200: refWith(Check, 'Ok.'), 503: refWith(Check, 'Not ok: the reason says why.') },
        },
      },
      async (_request, reply) => {
        const result = check();
        return reply.code(result.ok ? 200 : 503).header('cache-control', 'no-store').send(result);
      },
    );
  }
};

export default healthRoutes;
