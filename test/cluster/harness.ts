// Shared set-up for the tests that run real quorumd processes on loopback:
// a cluster in a temporary folder that is removed afterwards, with the test
// playing each data node's agent (it reports a log position so the node may
// vote and stand).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { MembersView } from '../../src/runtime/service.js';
import { ProcessCluster, waitFor, type ClusterOptions, type NodeSpec } from '../kit/cluster.js';

/** Timings for tests: loose enough for a loaded 2-core machine. */
export const TEST_TIMINGS = { heartbeatMs: 50, leaseMs: 250, electionTimeoutMs: 300, electionJitterMs: 200 };

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

/**
 * playAgents plays every data node's agent until the test ends: each running
 * data node is told its durable position is (its term, 1), as a data store
 * that writes an entry on promotion and replicates it at once would report.
 * A primary makes membership changes only once a write of its own term is
 * acknowledged, and promotes a member only once its position covers that.
 */
export function playAgents(t: Test, cluster: ProcessCluster): void {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const statuses = await cluster.statuses();
      await Promise.all([...statuses.values()].filter((s) => s.kind === 'data').map((s) => cluster.reportPosition(s.id, { term: s.term, lsn: 1 })));
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  t.teardown(async () => {
    stopped = true;
    await loop;
  });
}

export async function members(cluster: ProcessCluster, id: string): Promise<MembersView | null> {
  const r = await cluster.get<MembersView>(id, '/members', 2_000);
  return r?.status === 200 ? r.body : null;
}

/**
 * waitReady waits until the agreed primary takes membership changes (its
 * configuration committed and a write of its term acknowledged) and has for
 * a few heartbeats, past the churn of a cluster starting on a busy machine.
 */
export async function waitReady(cluster: ProcessCluster, ids: readonly string[]): Promise<{ primaryId: string; term: number }> {
  let agreed = { primaryId: '', term: 0 };
  let since = 0;
  await waitFor(
    async () => {
      const a = await cluster.agreedPrimary(ids);
      const [s, m] = a ? await Promise.all([cluster.status(a.primaryId), members(cluster, a.primaryId)]) : [null, null];
      const ready = !!a && !!s && !!m && m.committed && s.commitWatermark.term === a.term && s.config?.term === a.term;
      if (!ready || a.primaryId !== agreed.primaryId || a.term !== agreed.term) {
        agreed = a ?? { primaryId: '', term: 0 };
        since = ready ? Date.now() : 0;
        return false;
      }
      return Date.now() - since >= 4 * TEST_TIMINGS.heartbeatMs;
    },
    ELECTION_BOUND_MS,
    'a primary ready to change membership',
    20,
  );
  return agreed;
}
