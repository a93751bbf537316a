// What a node runtime needs to start: its identity, the initial configuration,
// its store, timings and hook. The command line (src/cli.ts) builds this from
// the checked configuration.

import type { Logger } from 'pino';
import type { ClusterConfig, Timings } from '../core/index.js';
import type { StateStore } from '../store/store.js';

export interface RuntimeOptions {
  readonly id: string;
  /**
   * The configuration this node's settings describe (bootstrap.ts): written on
   * the first start of an empty data folder, and only compared with the
   * stored one afterwards. Null when the node was started to join a cluster.
   */
  readonly initialConfig: ClusterConfig | null;
  /**
   * The configuration the settings describe, joining or not, to report where
   * the held one differs; null when the settings list no members. Absent: initialConfig.
   */
  readonly settings?: ClusterConfig | null;
  /** When joining: take the first configuration only from this cluster id; null takes any that lists this node. */
  readonly joinClusterId?: string | null;
  readonly store: StateStore;
  /** The timings the settings say: used while the node joins, and compared with the configuration's. */
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
  /** A shell command run on promotion, demotion and, on a follower, each new primary; null for none. */
  readonly onRoleChange: string | null;
  /** A url the same events are POSTed to as JSON; null for none. */
  readonly onRoleChangeUrl?: string | null;
  /** How long the role-change command (or the webhook) may take before it is ended. */
  readonly roleChangeTimeoutMs: number;
  /** A shell command a new primary runs, bounded, before it serves; null for none. */
  readonly prePromote?: string | null;
  /** How long the pre-promote command may run before it is killed (the primary then serves anyway); roleChangeTimeoutMs if absent. */
  readonly prePromoteTimeoutMs?: number;
  /** Where the node keeps its history file; null keeps history in memory only. */
  readonly dataDir: string | null;
  readonly logger: Logger;
  /**
   * Watch the primary's connection: when it closes and the primary's port
   * refuses a connect, probe at once instead of after the election timeout.
   * A refusal that lies (a firewall REJECT, a proxy with no backend, a stale
   * url) costs a refused probe: voters that still hear the primary refuse.
   */
  readonly fastFailover?: boolean;
  /** Seed for the election-timeout jitter; random when absent. */
  readonly seed?: number;
}
