// The probes for orchestrators and load balancers, GET and HEAD, 200 or 503,
// never needing a token and never cached:
// - /healthz: liveness, this process and its store, never the cluster;
// - /readyz: able to take part in quorum (not whether a primary is known);
// - /primary: the primary holding its lease;
// - /replica: a healthy data follower that hears its primary.
// /primary and /replica answer with the role and the term, the fencing token.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import type { RouteOptions } from '../src/http/types.js';
import type { QuorumService } from '../src/runtime/service.js';
import { Check, RoleProbe, refWith } from '../src/schemas.js';

type Body = Static<typeof Check> | Static<typeof RoleProbe>;

interface Probe {
  readonly url: string;
  readonly operationId: string;
  readonly summary: string;
  readonly reply: typeof Check | typeof RoleProbe;
  readonly ok: string;
  readonly notOk: string;
  readonly answer: (service: QuorumService) => { ok: boolean; body: Body };
}

function checkAnswer(check: Static<typeof Check>): { ok: boolean; body: Body } {
  return { ok: check.ok, body: check };
}

function roleAnswer(service: QuorumService, ok: boolean): { ok: boolean; body: Body } {
  const { id, role, term, primaryId } = service.status();
  return { ok, body: { id, role, term, primaryId } };
}

const PROBES: readonly Probe[] = [
  {
    url: '/healthz',
    operationId: 'healthz',
    summary: 'Liveness: this process and its store, never the cluster',
    reply: Check,
    ok: 'Ok.',
    notOk: 'Not ok: the reason says why.',
    answer: (s) => checkAnswer(s.health()),
  },
  {
    url: '/readyz',
    operationId: 'readyz',
    summary: 'Readiness: able to take part in quorum (healthy, a voting member, a data node with a reported position)',
    reply: Check,
    ok: 'Ok.',
    notOk: 'Not ok: the reason says why.',
    answer: (s) => checkAnswer(s.readiness()),
  },
  {
    url: '/primary',
    operationId: 'primary',
    summary: 'Is this node the primary holding its lease?',
    reply: RoleProbe,
    ok: 'Yes.',
    notOk: 'No.',
    answer: (s) => roleAnswer(s, s.isPrimary()),
  },
  {
    url: '/replica',
    operationId: 'replica',
    summary: 'Is this node a healthy data follower that hears its primary?',
    reply: RoleProbe,
    ok: 'Yes.',
    notOk: 'No.',
    answer: (s) => roleAnswer(s, s.isReplica()),
  },
];

const probeRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { service }) => {
  for (const probe of PROBES) {
    app.get(
      probe.url,
      {
        exposeHeadRoute: true,
        config: { swagger: { exposeHeadRoute: true } },
        schema: {
          operationId: probe.operationId,
          tags: ['health'],
          summary: probe.summary,
          response: { 200: refWith(probe.reply, probe.ok), 503: refWith(probe.reply, probe.notOk) },
        },
      },
      async (_request, reply) => {
        const { ok, body } = probe.answer(service);
        return reply
          .code(ok ? 200 : 503)
          .header('cache-control', 'no-store')
          .send(body);
      },
    );
  }
};

export default probeRoutes;
