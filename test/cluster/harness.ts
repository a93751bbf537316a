// Shared set-up for the tests that run real quorumd processes on loopback:
// a cluster in a temporary folder that is removed afterwards, with the test
// playing each data node's agent (it reports a log position so the node may
// vote and stand).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { MembersView, StatusView } from '../../src/runtime/service.js';
import { ProcessCluster, waitFor, type ClusterOptions, type NodeSpec } from '../kit/cluster.js';

/** Timings for tests: loose enough for a loaded 2-core machine. */
export const TEST_TIMINGS = { heartbeatMs: 50, leaseMs: 250, electionTimeoutMs: 300, electionJitterMs: 200 };

/**
 * Timings for tests whose subject is not timing and which compare the cluster
 * before and after something: a loaded machine must not move the primary in
 * between (a one-second election timeout; a switchover is given up after one).
 */
export const CALM_TIMINGS = { heartbeatMs: 50, leaseMs: 500, electionTimeoutMs: 1000, electionJitterMs: 300 };
/** The bound on an election at CALM_TIMINGS, as ELECTION_BOUND_MS is at TEST_TIMINGS. */
export const CALM_BOUND_MS = 4 * (CALM_TIMINGS.electionTimeoutMs + CALM_TIMINGS.electionJitterMs) + 3000;

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

/**
 * AgreedView is one round of reads of every listed node, sent at once, in
 * which they all agree on one primary and term, and the primary holds its
 * lease. A test that judges the agreement judges these very statuses: a second
 * read could fall after another election, which a busy machine may hold at any
 * moment (TEST_TIMINGS are short).
 */
export interface AgreedView {
  readonly primaryId: string;
  readonly term: number;
  /** Each node's /status in the round of the agreement. */
  readonly statuses: ReadonlyMap<string, StatusView>;
  /** Each node's answer to GET /primary in the same round (its status code, null without one); empty unless asked for. */
  readonly primaryCodes: ReadonlyMap<string, number | null>;
  /**
   * Over every round of the wait, the nodes that claimed to be primary in
   * each term (role primary on /status, or 200 on /primary, which answers
   * with the term): safety allows one per term, however the rounds fall.
   */
  readonly primariesByTerm: ReadonlyMap<number, ReadonlySet<string>>;
}

/** agreementOf is the primary and term every status names, with that primary holding its lease; null while they differ or one is missing. */
function agreementOf(ids: readonly string[], statuses: ReadonlyMap<string, StatusView>): { primaryId: string; term: number } | null {
  let agreed: { primaryId: string; term: number } | null = null;
  for (const id of ids) {
    const s = statuses.get(id);
    if (!s?.primaryId) return null;
    if (agreed && (agreed.primaryId !== s.primaryId || agreed.term !== s.term)) return null;
    agreed = { primaryId: s.primaryId, term: s.term };
  }
  if (!agreed) return null;
  const primary = statuses.get(agreed.primaryId);
  if (primary && !primary.lease.holds) return null;
  return agreed;
}

/**
 * awaitAgreedView reads every listed node in rounds until one round shows
 * them agreeing (and `accept` takes it), within timeoutMs, and returns that
 * round (see AgreedView). With `primary`, each round also asks every node
 * GET /primary.
 */
export async function awaitAgreedView(
  cluster: ProcessCluster,
  ids: readonly string[],
  accept: (v: AgreedView) => boolean = () => true,
  opts: { readonly timeoutMs?: number; readonly primary?: boolean } = {},
): Promise<AgreedView> {
  const primariesByTerm = new Map<number, Set<string>>();
  const claim = (term: number, id: string) => {
    const ids = primariesByTerm.get(term) ?? new Set<string>();
    ids.add(id);
    primariesByTerm.set(term, ids);
  };
  let found: AgreedView | null = null;
  let last = 'no round read';
  const waited = waitFor(
    async () => {
      const statuses = new Map<string, StatusView>();
      const primaryCodes = new Map<string, number | null>();
      await Promise.all(
        ids.map(async (id) => {
          const [s, p] = await Promise.all([cluster.status(id), opts.primary ? cluster.get<{ term: number }>(id, '/primary') : null]);
          if (s) statuses.set(id, s);
          if (opts.primary) primaryCodes.set(id, p?.status ?? null);
          if (s?.role === 'primary') claim(s.term, id);
          if (p?.status === 200) claim(p.body.term, id);
        }),
      );
      last = ids
        .map((id) => {
          const s = statuses.get(id);
          return s ? `${id} ${s.role} in term ${s.term} (primary ${s.primaryId ?? 'none'}${s.lease.holds ? ', holds the lease' : ''})` : `${id} no answer`;
        })
        .join('; ');
      const agreed = agreementOf(ids, statuses);
      if (!agreed) return false;
      const view = { ...agreed, statuses, primaryCodes, primariesByTerm };
      if (!accept(view)) return false;
      found = view;
      return true;
    },
    opts.timeoutMs ?? ELECTION_BOUND_MS,
    `nodes ${ids.join(', ')} to agree on a primary`,
  );
  // A failed wait says what the nodes said last.
  await waited.catch((err: Error) => {
    throw new Error(`${err.message}; the last round read: ${last}`);
  });
  return found!;
}

/** termsWithTwoPrimaries lists the terms in which more than one node claimed to be primary during a wait: none, if elections are safe. */
export function termsWithTwoPrimaries(view: AgreedView): string[] {
  return [...view.primariesByTerm].filter(([, ids]) => ids.size > 1).map(([term, ids]) => `term ${term}: ${[...ids].join(', ')}`);
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
