// The first configuration of a cluster, and how a node's own settings compare
// with the configuration it holds. Settings (environment, flags, file) make
// the configuration once, on the first start of an empty data folder, as
// etcd's --initial-cluster does; afterwards the stored, replicated
// configuration wins, and every setting that says otherwise is reported.

import { createHash } from 'node:crypto';
import { DEFAULT_PRIORITY, priorityOf, type ClusterConfig, type Member, type Timings } from '../core/index.js';

/**
 * initialConfig is version 1 of a new cluster. Its id is the cluster name
 * followed by a digest of the name, the members and the timings, so nodes
 * started with different lists or timings make different clusters: each
 * refuses the other's messages (wrong_cluster) instead of counting a majority
 * of its own list.
 */
export function initialConfig(name: string, members: readonly Member[], timings: Timings): ClusterConfig {
  const canonical = JSON.stringify({
    name,
    members: [...members]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((m) => [m.id, m.url, m.kind, m.state, m.autoPromote ?? true, priorityOf(m)]),
    timings: [timings.heartbeatMs, timings.leaseMs, timings.electionTimeoutMs, timings.electionJitterMs, timings.clockDriftBound],
  });
  const digest = createHash('sha256').update(canonical).digest('hex').slice(0, 12);
  return { clusterId: `${name}-${digest}`, term: 0, version: 1, members: [...members], timings: { ...timings } };
}

/**
 * configDifferences lists, in words, where a node's settings differ from the
 * configuration it holds: the member list and each timing. `configured` is
 * null when the node was started to join, with no list of its own.
 */
export function configDifferences(held: ClusterConfig | null, configured: ClusterConfig | null, timings: Timings): string[] {
  if (held === null) return [];
  const out: string[] = [];
  if (configured !== null) {
    const said = new Map(configured.members.map((m) => [m.id, m]));
    for (const m of held.members) {
      const s = said.get(m.id);
      if (!s) out.push(`member ${m.id} is in the configuration but not in the settings`);
      else if (s.url !== m.url || s.kind !== m.kind || s.state !== m.state || priorityOf(s) !== priorityOf(m)) {
        out.push(`member ${m.id} is ${describe(m)} in the configuration but ${describe(s)} in the settings`);
      }
      said.delete(m.id);
    }
    for (const id of said.keys()) out.push(`member ${id} is in the settings but not in the configuration`);
  }
  for (const k of ['heartbeatMs', 'leaseMs', 'electionTimeoutMs', 'electionJitterMs', 'clockDriftBound'] as const) {
    if (held.timings[k] !== timings[k]) out.push(`${k} is ${held.timings[k]} in the configuration but ${timings[k]} in the settings`);
  }
  return out;
}

function describe(m: Member): string {
  return `${m.kind} ${m.state} at ${m.url}${priorityOf(m) === DEFAULT_PRIORITY ? '' : ` with priority ${priorityOf(m)}`}`;
}
