// In-process nodes for runtime tests: a real NodeRuntime behind the real app,
// listening on a loopback port, with a file store in a temporary folder, so
// that several nodes can talk to each other over real HTTP in one process.
// The nodes of a local cluster are started from one initial configuration
// (src/runtime/bootstrap.ts), as nodes given the same settings are.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { buildApp, type App } from '../../src/app.js';
import type { ClusterConfig, Member, Timings } from '../../src/core/index.js';
import { initialConfig } from '../../src/runtime/bootstrap.js';
import { NodeRuntime, type RuntimeHooks } from '../../src/runtime/node-runtime.js';
import { FileStore, type StateStore } from '../../src/store/index.js';
import { freePort, waitFor } from '../kit/cluster.js';

export const TIMINGS: Timings = { heartbeatMs: 30, leaseMs: 200, electionTimeoutMs: 300, electionJitterMs: 150, clockDriftBound: 0.05 };

/** The name every local cluster's id starts with. */
export const CLUSTER_NAME = 'runtime-test';

export interface LocalNode {
  readonly id: string;
  readonly runtime: NodeRuntime;
  readonly app: App;
  readonly dataDir: string;
  readonly store: StateStore;
}

export interface LocalCluster {
  readonly nodes: Map<string, LocalNode>;
  readonly members: Member[];
  /** The initial configuration every node was started with. */
  readonly config: ClusterConfig;
  stop(id: string): Promise<void>;
  /**
   * restart stops a node and starts it again on its port, data folder and
   * store, with `members` as the member list of its settings (an operator's
   * edited settings); without, the cluster's own list.
   */
  restart(id: string, members?: Member[]): Promise<LocalNode>;
}

type Teardown = { teardown(fn: () => unknown): void };

/** One member of a local cluster; `running: false` gives it a port that nothing listens on. */
export interface LocalSpec {
  readonly id: string;
  readonly kind: 'data' | 'witness';
  readonly running?: boolean;
}

/**
 * startLocalCluster starts one in-process node per running spec and reports
 * every data node's position. `shapeMembers` edits the member list every node
 * shares before the configuration is made from it (a url that reaches
 * another member, urls swapped by mistake): all nodes hold one configuration
 * of one cluster, as nodes given the same settings do.
 */
export async function startLocalCluster(
  t: Teardown,
  specs: ReadonlyArray<LocalSpec>,
  opts: {
    token?: string | null;
    hooks?: (id: string) => RuntimeHooks;
    store?: (id: string, dataDir: string) => StateStore;
    shapeMembers?: (members: Member[]) => Member[];
    logger?: (id: string) => Logger;
    /**
     * Start from a configuration a primary of term 1 wrote, as a cluster past
     * its bootstrap: its elections need a majority, where a new cluster's
     * first one waits to hear every voter.
     */
    pastBootstrap?: boolean;
  } = {},
): Promise<LocalCluster> {
  const root = mkdtempSync(join(tmpdir(), 'quorumd-runtime-'));
  const ports = await Promise.all(specs.map(() => freePort()));
  const listed: Member[] = specs.map((s, i) => ({ id: s.id, url: `http://127.0.0.1:${ports[i]}`, kind: s.kind, state: 'voting' }));
  const members = opts.shapeMembers?.(listed) ?? listed;
  const config = { ...initialConfig(CLUSTER_NAME, members, TIMINGS), ...(opts.pastBootstrap ? { term: 1 } : {}) };
  const nodes = new Map<string, LocalNode>();
  const running = new Set<string>();
  const stop = async (id: string): Promise<void> => {
    if (!running.delete(id)) return;
    const n = nodes.get(id)!;
    await n.runtime.stop();
    await n.app.close();
  };
  t.teardown(async () => {
    for (const id of nodes.keys()) await stop(id);
    rmSync(root, { recursive: true, force: true });
  });
  /** launch builds and listens one node, with `settings` as the member list of its options. */
  const launch = async (i: number, settings: readonly Member[], store?: StateStore): Promise<LocalNode> => {
    const s = specs[i]!;
    const dataDir = join(root, s.id);
    const nodeStore = store ?? opts.store?.(s.id, dataDir) ?? new FileStore(join(dataDir, 'state.json'));
    const runtime = new NodeRuntime(
      {
        id: s.id,
        initialConfig: settings === members ? config : initialConfig(CLUSTER_NAME, settings, TIMINGS),
        store: nodeStore,
        timings: TIMINGS,
        token: opts.token ?? null,
        onRoleChange: null,
        roleChangeTimeoutMs: 1000,
        dataDir,
        logger: opts.logger?.(s.id) ?? pino({ level: 'silent' }),
        seed: i + 1,
      },
      opts.hooks?.(s.id),
    );
    const app = buildApp({ service: runtime, token: opts.token ?? null });
    await app.listen({ host: '127.0.0.1', port: ports[i]! });
    const node = { id: s.id, runtime, app, dataDir, store: nodeStore };
    nodes.set(s.id, node);
    running.add(s.id);
    return node;
  };
  for (const [i, s] of specs.entries()) if (s.running !== false) await launch(i, members);
  const begin = (n: LocalNode): void => {
    n.runtime.start();
    if (specs.find((s) => s.id === n.id)?.kind === 'data') n.runtime.reportPosition({ term: 0, lsn: 0 });
  };
  for (const n of nodes.values()) begin(n);
  const restart = async (id: string, settings: Member[] = members): Promise<LocalNode> => {
    const i = specs.findIndex((s) => s.id === id);
    const before = nodes.get(id);
    if (i < 0 || !before) throw new Error(`${id} was never started`);
    await stop(id);
    const node = await launch(i, settings, before.store);
    begin(node);
    return node;
  };
  return { nodes, members, config, stop, restart };
}

/** awaitPrimary waits until the running nodes agree on one primary holding its lease. */
export async function awaitPrimary(cluster: LocalCluster, exclude: readonly string[] = [], timeoutMs = 10_000): Promise<LocalNode> {
  let found: LocalNode | null = null;
  await waitFor(
    () => {
      const live = [...cluster.nodes.values()].filter((n) => !exclude.includes(n.id));
      const primary = live.find((n) => n.runtime.isPrimary());
      found = primary && live.every((n) => n.runtime.status().primaryId === primary.id) ? primary : null;
      return found !== null;
    },
    timeoutMs,
    'the nodes to agree on a primary',
  );
  return found!;
}

/**
 * loneVoter starts one data node whose two peers are not running: it can
 * never win, so it stays a follower and answers whatever a test asks it.
 * `startDelayMs` is how long its runtime waits, built and listening, before
 * it starts (a slow start-up).
 */
export async function loneVoter(t: Teardown, store: (dataDir: string) => StateStore, onFatal?: (err: Error) => void, startDelayMs = 0): Promise<LocalNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'quorumd-voter-'));
  const [port, b, c] = await Promise.all([freePort(), freePort(), freePort()]);
  const members: Member[] = [
    { id: 'a', url: `http://127.0.0.1:${port}`, kind: 'data', state: 'voting' },
    { id: 'b', url: `http://127.0.0.1:${b}`, kind: 'data', state: 'voting' },
    { id: 'c', url: `http://127.0.0.1:${c}`, kind: 'data', state: 'voting' },
  ];
  const s = store(dataDir);
  const runtime = new NodeRuntime(
    {
      id: 'a',
      initialConfig: initialConfig(CLUSTER_NAME, members, TIMINGS),
      store: s,
      timings: TIMINGS,
      token: null,
      onRoleChange: null,
      roleChangeTimeoutMs: 1000,
      dataDir,
      logger: pino({ level: 'silent' }),
      seed: 7,
    },
    onFatal ? { onFatal } : {},
  );
  const app = buildApp({ service: runtime, token: null });
  await app.listen({ host: '127.0.0.1', port });
  t.teardown(async () => {
    await runtime.stop();
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  if (startDelayMs > 0) await new Promise((r) => setTimeout(r, startDelayMs));
  runtime.start();
  runtime.reportPosition({ term: 0, lsn: 0 });
  return { id: 'a', runtime, app, dataDir, store: s };
}

/**
 * ballot asks a node for its vote through the real route (a probe when
 * dryRun), as a candidate of its cluster holding its configuration would.
 */
export function ballot(node: LocalNode, candidateId: string, term: number, dryRun = false) {
  return node.app.inject({
    method: 'POST',
    url: '/vote',
    payload: { ...voteFields(node), candidateId, term, lastLogTerm: 9, lastLogLsn: 9, dryRun },
  });
}

/** voteFields are the cluster id and configuration position a candidate of the node's own cluster sends. */
export function voteFields(node: LocalNode): { clusterId: string; config: { term: number; version: number } } {
  const status = node.runtime.status();
  if (status.clusterId === null || status.config === null) throw new Error(`${node.id} holds no configuration`);
  return { clusterId: status.clusterId, config: status.config };
}
