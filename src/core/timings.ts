// Protocol timings. All durations are milliseconds of the node's own clock.
// They are part of the cluster configuration (cluster-config.ts), so every
// member runs the same ones.
//
// Two of them are easy to confuse. The lease is how long a primary may serve
// after a round a majority acknowledged; a new primary waits out the longest
// lease an older one could still hold before it serves (node.ts), so the
// lease alone decides how long a failover must wait, and it can be short. The
// election timeout is how long a follower hears nothing before it stands:
// long enough that a paused or CPU-throttled primary is not replaced, since
// a crash is seen sooner (a refused connection makes followers probe at once).

import { Type } from '@sinclair/typebox';
import { closed } from './wire-types.js';

export interface Timings {
  /** How often a primary sends a heartbeat round. */
  readonly heartbeatMs: number;
  /**
   * How long a quorum-acknowledged heartbeat round lets a primary serve,
   * counted from the round's send time; also how long a voter refuses other
   * candidates after it last heard its primary.
   */
  readonly leaseMs: number;
  /** The minimum election timeout: how long a follower hears no primary before it stands. */
  readonly electionTimeoutMs: number;
  /** Election timeouts are drawn from [electionTimeoutMs, electionTimeoutMs + electionJitterMs). */
  readonly electionJitterMs: number;
  /** How far any node's clock rate may be from true time, e.g. 0.05: within [1 - d, 1 + d]. */
  readonly clockDriftBound: number;
}

export const TimingsSchema = Type.Object(
  {
    heartbeatMs: Type.Integer({ minimum: 1, maximum: 3_600_000 }),
    leaseMs: Type.Integer({ minimum: 2, maximum: 3_600_000 }),
    electionTimeoutMs: Type.Integer({ minimum: 2, maximum: 3_600_000 }),
    electionJitterMs: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
    clockDriftBound: Type.Number({ minimum: 0, exclusiveMaximum: 0.5 }),
  },
  { ...closed, $id: 'Timings', description: 'The timings every member runs, in milliseconds of its own clock.' },
);

export const DEFAULT_TIMINGS: Timings = Object.freeze({
  heartbeatMs: 30,
  leaseMs: 90,
  electionTimeoutMs: 500,
  electionJitterMs: 250,
  clockDriftBound: 0.05,
});

/**
 * leaseWaitMs is how long, on a new primary's clock, an older primary may
 * still serve after a voter last acknowledged it `agoMs` ago (on the voter's
 * clock). That primary's lease ends at most leaseMs after the round the voter
 * acknowledged was sent, on its own clock; with clock rates apart from true
 * time by at most d, that is leaseMs / (1 - d) of true time after the
 * acknowledgement, of which at least agoMs / (1 + d) has passed; waiting
 * (1 + d) times the rest on the new primary's clock covers it. One
 * millisecond more keeps it strict against rounding.
 */
export function leaseWaitMs(t: Timings, agoMs: number): number {
  const d = t.clockDriftBound;
  return Math.max(0, Math.ceil((t.leaseMs * (1 + d)) / (1 - d) - agoMs) + 1);
}

export function validateTimings(t: Timings): string[] {
  const problems: string[] = [];
  if (!(t.heartbeatMs >= 1)) problems.push('heartbeatMs must be at least 1');
  if (!(t.leaseMs > t.heartbeatMs)) problems.push('leaseMs must exceed heartbeatMs, or no round could renew the lease before it ends');
  if (!(t.electionTimeoutMs >= t.leaseMs)) problems.push('electionTimeoutMs must be at least leaseMs');
  if (!(t.electionJitterMs >= 0)) problems.push('electionJitterMs must not be negative');
  if (!(t.clockDriftBound >= 0 && t.clockDriftBound < 0.5)) problems.push('clockDriftBound must be in [0, 0.5)');
  return problems;
}
