// The membership: GET /members is this node's view of it (the configuration's
// position, quorum, and for each member what it is and what this node last
// knew of it); PUT /members/{id} adds or changes one member and DELETE
// /members/{id} removes one. A change is an operator's action, made by the
// primary: any other member forwards it there (src/http/forward.ts). The
// reply comes once the change is committed, with the configuration in force.

import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DEFAULT_PRIORITY, isPaused, quorumSize, voters } from '../src/core/index.js';
import type { ForwardingRouteOptions } from '../src/http/forward.js';
import type { MemberView, MembershipChange, WireMember } from '../src/runtime/service.js';
import { ErrorReply, Id, MembersView, MembershipChangeReply, PutMemberBody, errorReplies, operatorSecurity, ref, refWith } from '../src/schemas.js';

const MemberParams = Type.Object({ id: ref(Id) }, { additionalProperties: false });

/** The replies of both changes, by status. */
const changeResponses = {
  200: refWith(MembershipChangeReply, 'The change is committed (or the configuration already said so): the configuration in force.'),
  400: errorReplies[400],
  401: errorReplies[401],
  403: errorReplies[403],
  404: refWith(ErrorReply, 'There is no such member to remove (unknown_member).'),
  409: refWith(
    ErrorReply,
    'Refused: another change is under way (change_in_progress), a new primary has not yet acknowledged a write of its term (not_ready), ' +
      'the change would leave a cluster that cannot elect or acknowledge (would_break_cluster), ' +
      'the member has not caught up (not_caught_up), the change is not allowed (invalid_change), or the primary could not hand over first (hand_over_failed).',
  ),
  413: errorReplies[413],
  415: errorReplies[415],
  503: refWith(
    ErrorReply,
    'Not made or not known to be: the change was not committed in time (change_timed_out) or the primary stepped down (change_interrupted); ' +
      'no primary is known (no_primary, with Retry-After); the primary could not be reached (primary_unreachable); ' +
      'a forwarded request reached a member that is not the primary (not_primary); or the node failed. ' +
      'A reply relayed from the primary carries x-quorumd-forwarded-to.',
  ),
};

/**
 * memberOf is the member a PUT asks for. A new member joins catching_up
 * unless the body says otherwise; for one already listed, the fields the body
 * omits keep their values. autoPromote is written only when false (absent is true).
 */
function memberOf(id: string, body: Static<typeof PutMemberBody>, current: MemberView | undefined): WireMember {
  const state = body.state ?? current?.state ?? 'catching_up';
  const autoPromote = body.autoPromote ?? current?.autoPromote ?? true;
  const priority = body.priority ?? current?.priority ?? DEFAULT_PRIORITY;
  return { id, url: body.url, kind: body.kind, state, ...(autoPromote ? {} : { autoPromote: false }), ...(priority === DEFAULT_PRIORITY ? {} : { priority }) };
}

/** changeReply is the configuration a change left in force, as the API writes it. */
export function changeReply({ status, config }: MembershipChange): Static<typeof MembershipChangeReply> {
  const voterCount = voters(config.members).length;
  return {
    status,
    clusterId: config.clusterId,
    configTerm: config.term,
    version: config.version,
    quorum: quorumSize(voterCount),
    voters: voterCount,
    members: config.members.map((m) => ({ ...m })),
    paused: isPaused(config),
  };
}

const membersRoutes: FastifyPluginAsyncTypebox<ForwardingRouteOptions> = async (app, { service, forwarder }) => {
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

  app.put(
    '/members/:id',
    {
      schema: {
        operationId: 'putMember',
        tags: ['operator'],
        summary: 'Add a member, or change one (made by the primary; another member forwards it there)',
        security: operatorSecurity,
        params: MemberParams,
        body: ref(PutMemberBody),
        response: changeResponses,
      },
    },
    async (request, reply) =>
      forwarder.primaryOnly(request, reply, service, async () => {
        const { id } = request.params;
        const current = service.members().members.find((m) => m.id === id);
        const change = await service.changeMembers({ op: 'put', member: memberOf(id, request.body, current) });
        return reply.code(200).send(changeReply(change));
      }),
  );

  app.delete(
    '/members/:id',
    {
      schema: {
        operationId: 'removeMember',
        tags: ['operator'],
        summary: 'Remove a member (made by the primary; another member forwards it there)',
        security: operatorSecurity,
        params: MemberParams,
        response: changeResponses,
      },
    },
    async (request, reply) =>
      forwarder.primaryOnly(request, reply, service, async () => {
        const change = await service.changeMembers({ op: 'remove', id: request.params.id });
        return reply.code(200).send(changeReply(change));
      }),
  );
};

export default membersRoutes;
