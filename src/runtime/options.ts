// What a node runtime needs to start: its identity, the initial membership,
// its store, timings and hook. The command line (src/cli.ts) builds this from
// the checked configuration.

import type { Logger } from 'pino';
import type { Member, Timings } from '../core/index.js';
import type { StateStore } from '../store/store.js';

export interface RuntimeOptions {
  readonly id: string;
  /** The initial membership, used when the store holds none yet. */
  readonly members: readonly Member[];
  readonly store: StateStore;
  readonly timings: Timings;
  /** The shared token (every role, no identity); null when none is configured. */
  readonly token: string | null;
  /**
   * This node's own peer token, presented on every request to a peer, under
   * per-member credentials; null or absent in the shared-token mode (the
   * shared token is presented then) or without credentials.
   */
  readonly peerToken?: string | null;
  /**
   * Mutual TLS: this node's certificate and key, presented to every peer, and
   * the cluster CA the peers' certificates are checked against (PEM); null or
   * absent without TLS.
   */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string } | null;
  /** A shell command run on promotion and demotion; null for none. */
  readonly onRoleChange: string | null;
  /** How long the role-change command may run before it is killed. */
  readonly roleChangeTimeoutMs: number;
  /** Where the node keeps its history file; null keeps history in memory only. */
  readonly dataDir: string | null;
  readonly logger: Logger;
  /**
   * Treat a refused connection to the primary's port as evidence that its
   * process is gone, and elect at once. Sound only where nothing between the
   * members rejects connections (a firewall REJECT rule, a proxy or a service
   * with no endpoints would look the same while the primary lives on).
   */
  readonly fastFailover?: boolean;
  /** Seed for the election-timeout jitter; random when absent. */
  readonly seed?: number;
}
