// Protocol timings. All durations are milliseconds of the node's own clock.
// They are part of the cluster configuration (cluster-config.ts): every
// member runs the same ones, because the lease a primary computes from its
// timings is only safe if the voters stay loyal for the same timeout.

import { Type } from '@sinclair/typebox';
import { closed } from './wire-types.js';

export interface Timings {
  /** How often a primary sends a heartbeat round. */
  readonly heartbeatMs: number;
  /** The minimum election timeout: also how long a voter stays loyal to a primary it heard. */
  readonly electionTimeoutMs: number;
  /** Election timeouts are drawn from [electionTimeoutMs, electionTimeoutMs + electionJitterMs). */
  readonly electionJitterMs: number;
  /** The largest relative difference in clock rate between two nodes, e.g. 0.05. */
  readonly clockDriftBound: number;
}

export const TimingsSchema = Type.Object(
  {
    heartbeatMs: Type.Integer({ minimum: 1, maximum: 3_600_000 }),
    electionTimeoutMs: Type.Integer({ minimum: 2, maximum: 3_600_000 }),
    electionJitterMs: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
    clockDriftBound: Type.Number({ minimum: 0, exclusiveMaximum: 0.5 }),
  },
  { ...closed, $id: 'Timings', description: 'The timings every member runs, in milliseconds of its own clock.' },
);

export const DEFAULT_TIMINGS: Timings = Object.freeze({
  heartbeatMs: 30,
  electionTimeoutMs: 150,
  electionJitterMs: 150,
  clockDriftBound: 0.05,
});

/**
 * leaseMs is how long a quorum-acknowledged heartbeat round lets a primary
 * serve, counted from the round's send time on the primary's clock. Voters
 * stay loyal for electionTimeoutMs on their own clocks, counted from receipt.
 * With clock rates apart by at most `clockDriftBound`, the lease must satisfy
 * lease / (1 - d) < electionTimeout / (1 + d) in true time; one millisecond
 * less than that bound keeps it strict.
 */
export function leaseMs(t: Timings): number {
  const d = t.clockDriftBound;
  return Math.max(0, Math.floor((t.electionTimeoutMs * (1 - d)) / (1 + d)) - 1);
}

export function validateTimings(t: Timings): string[] {
  const problems: string[] = [];
  if (!(t.heartbeatMs >= 1)) problems.push('heartbeatMs must be at least 1');
  if (!(t.electionTimeoutMs > t.heartbeatMs)) problems.push('electionTimeoutMs must exceed heartbeatMs');
  if (!(t.electionJitterMs >= 0)) problems.push('electionJitterMs must not be negative');
  if (!(t.clockDriftBound >= 0 && t.clockDriftBound < 0.5)) problems.push('clockDriftBound must be in [0, 0.5)');
  return problems;
}
