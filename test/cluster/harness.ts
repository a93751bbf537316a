// Shared set-up for the tests that run real quorumd processes on loopback:
// a cluster in a temporary folder that is removed afterwards, with the test
// playing each data node's agent (it reports a log position so the node may
// vote and stand).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { ProcessCluster, waitFor, type ClusterOptions, type NodeSpec } from '../kit/cluster.js';

/** Timings for tests: loose enough for a loaded 2-core machine. */
export const TEST_TIMINGS = { heartbeatMs: 50, leaseMs: 150, electionTimeoutMs: 300, electionJitterMs: 200 };

/** How long an election may take here: a few randomized timeouts plus slack for a busy machine. */
export const ELECTION_BOUND_MS = 4 * (TEST_TIMINGS.electionTimeoutMs + TEST_TIMINGS.electionJitterMs) + 3000;

export function shape(data: number, witnesses = 0, catchingUp = 0): NodeSpec[] {
  const specs: NodeSpec[] = [];
  for (let i = 1; i <= data; i++) specs.push({ id: `d${i}`, kind: 'data' });
  for (let i = 1; i <= witnesses; i++) specs.push({ id: `w${i}`, kind: 'witness' });
  for (let i = 1; i <= catchingUp; i++) specs.push({ id: `c${i}`, kind: 'data', state: 'catching_up' });
  return specs;
}

/**
 * startCluster starts the processes and plays each data node's agent, which
 * reports position (0, 0), except for the ids in `unreported`: data nodes
 * whose position is not known yet (a replica still restoring its base backup).
 */
export async function startCluster(
  t: Test,
  specs: NodeSpec[],
  extra: Partial<Omit<ClusterOptions, 'specs' | 'dir'>> = {},
  unreported: readonly string[] = [],
): Promise<ProcessCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'quorumd-test-'));
  const cluster = await ProcessCluster.start({ specs, dir, timings: TEST_TIMINGS, ...extra });
  t.teardown(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const s of specs) await cluster.waitUp(s.id);
  for (const s of specs) if (s.kind === 'data' && !unreported.includes(s.id)) await reportUntilAccepted(cluster, s.id);
  return cluster;
}

export async function reportUntilAccepted(cluster: ProcessCluster, id: string, position = { term: 0, lsn: 0 }): Promise<void> {
  await waitFor(() => cluster.reportPosition(id, position), 10_000, `${id} to accept its log position`);
}

/** awaitAgreement waits until every listed node agrees on one primary holding its lease. */
export async function awaitAgreement(
  cluster: ProcessCluster,
  ids: readonly string[],
  accept: (a: { primaryId: string; term: number }) => boolean = () => true,
  timeoutMs = ELECTION_BOUND_MS,
): Promise<{ primaryId: string; term: number }> {
  let agreed: { primaryId: string; term: number } | null = null;
  await waitFor(
    async () => {
      agreed = await cluster.agreedPrimary(ids);
      return agreed !== null && accept(agreed);
    },
    timeoutMs,
    `nodes ${ids.join(', ')} to agree on a primary`,
  );
  return agreed!;
}

export function running(cluster: ProcessCluster): string[] {
  return [...cluster.nodes.keys()].filter((id) => cluster.isRunning(id));
}
