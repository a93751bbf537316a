// The wire: how protocol messages and the HTTP bodies of the peer API turn
// into each other, both ways, in one place. What stays local to a node (a
// message's type, the round a reply is matched by, a vote's dryRun echoed
// back) never travels; it is dropped on the way out and added back on the way
// in. The body and reply schemas are the core's (src/core/messages.ts): the
// routes validate requests with them, and replies from peers are checked
// against them here before they go back into the protocol.

import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  HeartbeatReply,
  VoteReply,
  wireReferences,
  type HandoffBody,
  type Handoff,
  type Heartbeat,
  type HeartbeatBody,
  type HeartbeatResponse,
  type Message,
  type VoteBody,
  type VoteRequest,
  type VoteResponse,
} from '../core/index.js';

// The reply checkers are compiled once, when the module loads.
const voteReplyChecker = TypeCompiler.Compile(VoteReply, [...wireReferences]);
const heartbeatReplyChecker = TypeCompiler.Compile(HeartbeatReply, [...wireReferences]);

// ---- A request this node sends, and the reply it gets back ----

/** requestToWire is the path and body of a request; optional fields left undefined are not written. */
export function requestToWire(m: Message): { path: string; body: object } | null {
  switch (m.type) {
    case 'vote_request': {
      const { type: _t, round: _r, ...body } = m;
      return { path: '/vote', body };
    }
    case 'heartbeat': {
      const { type: _t, round: _r, ...body } = m;
      return { path: '/heartbeat', body };
    }
    case 'handoff':
      return { path: '/handoff', body: { clusterId: m.clusterId, term: m.term, primaryId: m.primaryId } };
    default:
      return null;
  }
}

/**
 * replyFromWire checks a reply against its schema and adds back what stayed
 * local (the type, the round, and a vote's dryRun); a reply that does not
 * match is null. The schemas are closed, so a reply carries no field they do
 * not name.
 */
export function replyFromWire(sent: Message, body: unknown): Message | null {
  if (sent.type === 'vote_request') {
    return voteReplyChecker.Check(body) ? { ...body, type: 'vote_response', round: sent.round, dryRun: sent.dryRun } : null;
  }
  if (sent.type === 'heartbeat') {
    return heartbeatReplyChecker.Check(body) ? { ...body, type: 'heartbeat_response', round: sent.round } : null;
  }
  return null;
}

// ---- A request this node receives, and the reply it gives ----
// The routes have validated the body against its schema already. A request
// carries no round: its reply goes back on its own connection.

export function voteRequestFromWire(body: VoteBody): VoteRequest {
  return { type: 'vote_request', round: 0, ...body };
}

export function heartbeatFromWire(body: HeartbeatBody): Heartbeat {
  return { type: 'heartbeat', round: 0, ...body };
}

export function handoffFromWire(body: HandoffBody): Handoff {
  return { type: 'handoff', clusterId: body.clusterId, term: body.term, primaryId: body.primaryId };
}

export function voteReplyToWire(r: VoteResponse): VoteReply {
  return {
    granted: r.granted,
    term: r.term,
    voterId: r.voterId,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.config ? { config: r.config as NonNullable<VoteReply['config']> } : {}),
  };
}

export function heartbeatReplyToWire(r: HeartbeatResponse): HeartbeatReply {
  return { term: r.term, success: r.success, memberId: r.memberId, position: r.position, config: r.config };
}
