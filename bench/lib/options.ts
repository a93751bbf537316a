// The command-line options the benchmarks share: whole numbers, and the
// timings of each system (quorumd's defaults are the product's; etcd's are
// the 30 ms / 150 ms the benchmarks compare against).

import { DEFAULT_TIMINGS } from '../../src/core/index.js';
import type { BenchTimings } from './system.js';

/** The parseArgs specs of quorumd's timing options. */
export const TIMING_OPTIONS = {
  'heartbeat-ms': { type: 'string' },
  'lease-ms': { type: 'string' },
  'election-timeout-ms': { type: 'string' },
  'election-jitter-ms': { type: 'string' },
  'fast-failover': { type: 'string' },
} as const;

/** The parseArgs specs of etcd's, for the benchmarks that set them apart. */
export const ETCD_TIMING_OPTIONS = {
  'etcd-heartbeat-ms': { type: 'string' },
  'etcd-election-timeout-ms': { type: 'string' },
} as const;

type TimingValues = { readonly [K in keyof typeof TIMING_OPTIONS]?: string };
type EtcdTimingValues = { readonly [K in keyof typeof ETCD_TIMING_OPTIONS]?: string };

/** A reader of whole-number options that stops the benchmark with `fail` on anything else. */
export type IntOption = (text: string | undefined, fallback: number, what: string, min: number) => number;

export function intOption(fail: (message: string) => never): IntOption {
  return (text, fallback, what, min) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) fail(`${what} must be a whole number of at least ${min}; got ${JSON.stringify(text)}`);
    return n;
  };
}

/** quorumd's timings from the options, the product's defaults where none is given. */
export function quorumdTimings(values: TimingValues, int: IntOption, fail: (message: string) => never): BenchTimings {
  const fast = values['fast-failover'];
  if (fast !== undefined && fast !== 'on' && fast !== 'off') fail(`--fast-failover must be on or off; got ${JSON.stringify(fast)}`);
  return {
    heartbeatMs: int(values['heartbeat-ms'], DEFAULT_TIMINGS.heartbeatMs, '--heartbeat-ms', 1),
    leaseMs: int(values['lease-ms'], DEFAULT_TIMINGS.leaseMs, '--lease-ms', 1),
    electionTimeoutMs: int(values['election-timeout-ms'], DEFAULT_TIMINGS.electionTimeoutMs, '--election-timeout-ms', 2),
    electionJitterMs: int(values['election-jitter-ms'], DEFAULT_TIMINGS.electionJitterMs, '--election-jitter-ms', 0),
    ...(fast === undefined ? {} : { fastFailover: fast === 'on' }),
  };
}

/** etcd's timings from the options: its jitter always equals its election timeout, and it has no lease to set. */
export function etcdTimings(values: EtcdTimingValues, int: IntOption): BenchTimings {
  const electionTimeoutMs = int(values['etcd-election-timeout-ms'], 150, '--etcd-election-timeout-ms', 2);
  return {
    heartbeatMs: int(values['etcd-heartbeat-ms'], 30, '--etcd-heartbeat-ms', 1),
    leaseMs: electionTimeoutMs,
    electionTimeoutMs,
    electionJitterMs: electionTimeoutMs,
  };
}
