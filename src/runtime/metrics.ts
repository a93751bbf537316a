// The node's Prometheus metrics. One name per concept, as in the API: term,
// role, commit watermark, log position, lease, elections and votes.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Role } from '../core/index.js';

const ROLES: readonly Role[] = ['follower', 'precandidate', 'candidate', 'primary'];

export const AUTH_REFUSALS = 'quorumd_auth_refusals_total';

/**
 * authRefusals is the counter of requests the HTTP layer refused for their
 * credentials, on a registry: the one already there, else a new one. The
 * runtime's metrics create it; the app finds it on the registry the service
 * exposes, as GET /metrics does, so both count into the same series.
 */
export function authRefusals(registry: Registry): Counter<'reason'> {
  const existing = registry.getSingleMetric(AUTH_REFUSALS);
  if (existing instanceof Counter) return existing as Counter<'reason'>;
  return new Counter({
    name: AUTH_REFUSALS,
    help: 'Requests refused for their credentials, by reason (unauthorized, forbidden, identity_mismatch).',
    labelNames: ['reason'],
    registers: [registry],
  });
}

export class Metrics {
  readonly registry = new Registry();
  readonly term = new Gauge({ name: 'quorumd_term', help: 'The current term of this node.', registers: [this.registry] });
  readonly role = new Gauge({
    name: 'quorumd_role',
    help: 'The role of this node: 1 for the current role, 0 for the others.',
    labelNames: ['role'],
    registers: [this.registry],
  });
  readonly leaseHeld = new Gauge({
    name: 'quorumd_primary_lease_held',
    help: '1 while this node is the primary holding its lease, else 0.',
    registers: [this.registry],
  });
  readonly commitWatermarkLsn = new Gauge({
    name: 'quorumd_commit_watermark_lsn',
    help: 'The LSN of the commit watermark this node knows.',
    registers: [this.registry],
  });
  readonly positionLsn = new Gauge({
    name: 'quorumd_log_position_lsn',
    help: "The LSN of this node's durable log position, as its agent last reported it.",
    registers: [this.registry],
  });
  readonly elections = new Counter({
    name: 'quorumd_elections_total',
    help: 'Elections this node stood in, by outcome (elected, probe_failed, lost, timed_out, not_electable).',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly votes = new Counter({
    name: 'quorumd_votes_total',
    help: 'Vote requests this node answered, by phase (probe, ballot) and result (granted or the refusal code).',
    labelNames: ['phase', 'result'],
    registers: [this.registry],
  });
  readonly peerFailures = new Counter({
    name: 'quorumd_peer_request_failures_total',
    help: 'Requests to peers that got no reply, by peer and message type.',
    labelNames: ['peer', 'message'],
    registers: [this.registry],
  });
  readonly identityMismatches = new Counter({
    name: 'quorumd_peer_identity_mismatch_total',
    help: 'Replies from a peer that named another member than the one asked (a stale url, a mistaken member list), by the peer asked.',
    labelNames: ['peer'],
    registers: [this.registry],
  });
  readonly persistSeconds = new Histogram({
    name: 'quorumd_persist_seconds',
    help: "Time to make the node's state durable (write, fsync, rename, directory fsync).",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly hookRuns = new Counter({
    name: 'quorumd_hook_runs_total',
    help: 'Hook runs, by hook (on-role-change, on-role-change-url, pre-promote) and how each ended (ok, failed, timed_out).',
    labelNames: ['hook', 'result'],
    registers: [this.registry],
  });
  readonly hookSeconds = new Histogram({
    name: 'quorumd_hook_seconds',
    help: 'How long each hook run took, by hook.',
    labelNames: ['hook'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly roleChanges = new Counter({
    name: 'quorumd_role_changes_total',
    help: 'Role changes of this node, by the role it took.',
    labelNames: ['role'],
    registers: [this.registry],
  });

  readonly configVersion = new Gauge({
    name: 'quorumd_config_version',
    help: 'The version of the cluster configuration this node holds (0 while it joins).',
    registers: [this.registry],
  });
  readonly paused = new Gauge({
    name: 'quorumd_failover_paused',
    help: '1 while the cluster configuration this node holds pauses automatic failover (maintenance mode), else 0.',
    registers: [this.registry],
  });
  readonly configDifferences = new Gauge({
    name: 'quorumd_config_differences',
    help: "How many of this node's settings differ from the stored cluster configuration, which wins (see /status configDifferences).",
    registers: [this.registry],
  });
  readonly configChanges = new Counter({
    name: 'quorumd_config_changes_total',
    help: 'Membership changes this node was asked to make as the primary, by result (committed, unchanged, or the refusal or failure code).',
    labelNames: ['result'],
    registers: [this.registry],
  });

  readonly authRefusals = authRefusals(this.registry);

  constructor() {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 1000 });
  }

  setRole(role: Role): void {
    for (const r of ROLES) this.role.set({ role: r }, r === role ? 1 : 0);
  }
}
