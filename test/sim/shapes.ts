// Cluster shapes the simulator runs: how many voting data members, witnesses
// and catching-up members, and the timing profiles it runs them under. Member
// ids say the kind: d1.. data voters, w1.. witnesses, c1.. catching-up data.

import { DEFAULT_TIMINGS, validateTimings, type Member, type Timings } from '../../src/core/index.js';

export interface Shape {
  readonly name: string;
  readonly voters: number;
  readonly members: readonly Member[];
}

export function makeShape(data: number, witnesses: number, catchingUp: number): Shape {
  const members: Member[] = [];
  for (let i = 1; i <= data; i++) members.push({ id: `d${i}`, url: `http://d${i}`, kind: 'data', state: 'voting' });
  for (let i = 1; i <= witnesses; i++) members.push({ id: `w${i}`, url: `http://w${i}`, kind: 'witness', state: 'voting' });
  for (let i = 1; i <= catchingUp; i++) members.push({ id: `c${i}`, url: `http://c${i}`, kind: 'data', state: 'catching_up' });
  const parts = [`${data}d`];
  if (witnesses > 0) parts.push(`${witnesses}w`);
  if (catchingUp > 0) parts.push(`${catchingUp}c`);
  return { name: parts.join('+'), voters: data + witnesses, members };
}

/** SHAPES: 3, 5 and 7 voters, all data, with witnesses, and with catching-up members. */
export const SHAPES: readonly Shape[] = [
  makeShape(3, 0, 0),
  makeShape(2, 1, 0),
  makeShape(3, 0, 1),
  makeShape(5, 0, 0),
  makeShape(4, 1, 0),
  makeShape(3, 2, 0),
  makeShape(4, 1, 1),
  makeShape(5, 0, 2),
  makeShape(7, 0, 0),
  makeShape(5, 2, 0),
  makeShape(6, 1, 1),
];

export function shapesWithVoters(voters: number): Shape[] {
  return SHAPES.filter((s) => s.voters === voters);
}

/**
 * TIMING_PROFILES: the defaults, a tight profile (short timeouts, so delays
 * are large against them) and a wide-drift profile (clock rates 15% apart
 * from true time, so the lease margin is what keeps leases apart).
 */
export const TIMING_PROFILES: readonly Timings[] = [
  DEFAULT_TIMINGS,
  Object.freeze({ heartbeatMs: 15, leaseMs: 45, electionTimeoutMs: 80, electionJitterMs: 60, clockDriftBound: 0.1 }),
  Object.freeze({ heartbeatMs: 30, leaseMs: 100, electionTimeoutMs: 150, electionJitterMs: 150, clockDriftBound: 0.15 }),
];

for (const t of TIMING_PROFILES) {
  const problems = validateTimings(t);
  if (problems.length > 0) throw new Error(`bad timing profile: ${problems.join('; ')}`);
}
