// The lease as the data store's agent sees it, in the reply to its position
// report (PUT /log): how long this node may still serve as primary, moved onto
// the agent's own monotonic clock, so that a store can stop serving when the
// lease ends even if quorumd is hung or dead by then.

import type { Node } from '../core/index.js';
import { MAX_COUNT } from '../core/wire-types.js';
import type { PositionReply } from './service.js';

/**
 * servingLeaseMs: how long from `now` (this node's clock) this node may still
 * act as primary, or null when it may not (not the primary, or no lease, or
 * not serving yet). The only place the agent's lease reads the core's lease,
 * so a change to those accessors is made here.
 */
export function servingLeaseMs(node: Node, now: number): number | null {
  if (!node.holdsLease(now)) return null;
  const expiry = node.leaseExpiry;
  return expiry === null ? null : Math.max(0, expiry - now);
}

/**
 * agentLease puts the remaining lease on the agent's clock. Each clock's rate
 * is within the drift bound d of true time, as the wait of a new primary
 * assumes (src/core/timings.ts): the agent's clock may run slow by d while
 * this node's runs fast by d, so the remaining time is shortened by
 * (1 - d) / (1 + d), and the agent's lease ends, in true time, no later than
 * this node's. The agent read its clock (agentClockMs) before
 * it sent the report, and this node measured the remaining lease once the
 * report arrived, later in real time: the request's travel time only makes
 * leaseUntil earlier than the lease's true end, which is safe. The reply's
 * travel time does not matter, since leaseUntil is an instant on the agent's
 * clock. Rounding goes down, for the same reason.
 *
 * With no agentClockMs the reply carries leaseRemainingMs: the same shortened
 * duration, which the agent adds to its own clock reading taken before it
 * sent the report.
 */
export function agentLease(
  remainingMs: number | null,
  clockDriftBound: number,
  agentClockMs: number | undefined,
): Pick<PositionReply, 'leaseUntil' | 'leaseRemainingMs'> {
  const ms = remainingMs === null ? null : Math.floor((remainingMs * (1 - clockDriftBound)) / (1 + clockDriftBound));
  if (agentClockMs === undefined) return { leaseRemainingMs: ms };
  // Capping at the largest count only makes the instant earlier.
  return { leaseUntil: ms === null ? null : Math.min(MAX_COUNT, agentClockMs + ms) };
}
