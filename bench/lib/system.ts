// What the failover benchmark needs of a replicated system under test, so
// that quorumd and etcd run through the same rounds, faults and clock.

export interface Leader {
  readonly id: string;
  readonly term: number;
}

export interface BenchTimings {
  readonly heartbeatMs: number;
  /** quorumd only: its lease (etcd has none of its own to set). */
  readonly leaseMs: number;
  readonly electionTimeoutMs: number;
  readonly electionJitterMs: number;
  /** quorumd only: QUORUMD_FAST_FAILOVER (a refused port means a dead primary); absent leaves the product's default. */
  readonly fastFailover?: boolean;
}

export type SystemName = 'quorumd' | 'etcd';

export interface SystemUnderTest {
  readonly system: SystemName;
  readonly ids: readonly string[];
  /**
   * agreed is the leader that every listed node names in one term, with the
   * leader itself confirming it (quorumd: it holds its lease), or null.
   */
  agreed(ids: readonly string[]): Promise<Leader | null>;
  /** Sends a signal to a node's process at once (no waiting). */
  signal(id: string, signal: NodeJS.Signals): void;
  /** Resolves once the node's process has exited; false if it had not within timeoutMs. */
  waitExit(id: string, timeoutMs: number): Promise<boolean>;
  /** Starts a stopped node again from its data folder and waits until it takes part. */
  respawn(id: string): Promise<void>;
  /** Cuts every link between these nodes and the rest (needs a proxied cluster); [] heals. */
  isolate(ids: readonly string[]): Promise<void>;
  /** The nodes answering 200 on GET /primary, with the term they answer with (quorumd only). */
  primaryAnswers?(ids: readonly string[]): Promise<Array<{ id: string; term: number }>>;
  pid(id: string): number | undefined;
  /** Ends every process of the cluster and removes its folder. */
  stop(): Promise<void>;
}

/** What a benchmark may add to the processes of a system it starts. */
export interface SpawnOptions {
  /** Extra environment for every node process (quorumd only), e.g. NODE_OPTIONS for a CPU profile. */
  readonly env?: Record<string, string>;
  /** Called with each node's process id as soon as it is spawned (and on every respawn), e.g. to put it in a cgroup. */
  readonly onSpawn?: (id: string, pid: number) => void;
}
