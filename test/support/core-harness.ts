// Test helpers for the protocol core: build members, configurations, nodes and
// vote requests in one line, and run a few nodes together by delivering the
// messages their effects send. Nothing here decides anything: every decision
// is the core's. A cluster's nodes are driven by the runtime's own driver
// (src/runtime/driver.ts) through ports that record what it performs, and
// every step is checked for the one rule the driver relies on (at most one
// persist, and it comes first).

import fc from 'fast-check';
import type { Test } from 'tap';
import {
  DEFAULT_TIMINGS,
  Node,
  ZERO_POSITION,
  seededRandom,
  type Effect,
  type ElectionOutcome,
  type Event,
  type Heartbeat,
  type HardState,
  type LogPosition,
  type Member,
  type MemberKind,
  type MemberState,
  type ClusterConfig,
  type Message,
  type Timings,
  type VoteRequest,
  type VoteResponse,
} from '../../src/core/index.js';
import { Driver, type Ports } from '../../src/runtime/driver.js';

/** The timings of the core tests: the product's old defaults, with a lease of their own. */
export const TIMINGS: Timings = Object.freeze({ ...DEFAULT_TIMINGS, leaseMs: 100, electionTimeoutMs: 150, electionJitterMs: 150 });

/**
 * A time by which every node started at 0 is past its start-up loyalty and
 * its first election deadline (the largest possible draw).
 */
export const AFTER_START_LOYALTY = TIMINGS.electionTimeoutMs + TIMINGS.electionJitterMs + 1;

export function pos(term: number, lsn: number): LogPosition {
  return { term, lsn };
}

export function member(id: string, kind: MemberKind = 'data', state: MemberState = 'voting'): Member {
  return { id, url: `http://${id}.test:7400`, kind, state };
}
export const data = (id: string): Member => member(id, 'data', 'voting');
export const witness = (id: string): Member => member(id, 'witness', 'voting');
export const catchingUp = (id: string): Member => member(id, 'data', 'catching_up');

/** The cluster id every test configuration carries. */
export const CLUSTER_ID = 'test';

/**
 * clusterConfig is a configuration of the test cluster, as a primary of term 1
 * left it unless told: a cluster past its bootstrap, whose elections need a
 * majority. A bootstrap configuration (term 0) needs every voter for its first
 * election (test/core/config-change.test.ts).
 */
export function clusterConfig(members: readonly Member[], version = 1, term = 1, timings: Timings = TIMINGS): ClusterConfig {
  return { clusterId: CLUSTER_ID, term, version, members, timings };
}

export interface NodeSetup {
  readonly term?: number;
  readonly votedFor?: string | null;
  readonly commitWatermark?: LogPosition;
  /** The position the data store's agent reports right after start; none if omitted. */
  readonly position?: LogPosition;
  /** Start time on the node's clock. */
  readonly now?: number;
  readonly seed?: number;
  /** A node that starts with no configuration joins only this cluster; null joins any that lists it. */
  readonly joinClusterId?: string | null;
  readonly timings?: Timings;
  /** In a Cluster, the configuration this node starts with when it differs from the others' (a change still spreading). */
  readonly config?: ClusterConfig | null;
}

export function hardState(ms: ClusterConfig | null, setup: NodeSetup = {}): HardState {
  return {
    term: setup.term ?? 0,
    votedFor: setup.votedFor ?? null,
    commitWatermark: setup.commitWatermark ?? ZERO_POSITION,
    config: ms,
  };
}

/** makeNode starts a node and, if a position is given, reports it at the start time. */
export function makeNode(id: string, ms: ClusterConfig | null, setup: NodeSetup = {}): Node {
  const now = setup.now ?? 0;
  const node = new Node({
    id,
    hardState: hardState(ms, setup),
    timings: setup.timings ?? TIMINGS,
    joinClusterId: setup.joinClusterId ?? null,
    random: seededRandom(setup.seed ?? seedOf(id)),
    now,
  });
  if (setup.position) checkedStep(node, { type: 'position', now, position: setup.position });
  return node;
}

function seedOf(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h >>> 0;
}

export interface VoteRequestFields {
  readonly candidateId: string;
  readonly term: number;
  readonly position?: LogPosition;
  readonly dryRun?: boolean;
  readonly round?: number;
  readonly handoff?: boolean;
  /** The candidate's configuration position: version 1 of term 1, the test clusters' own, unless given. */
  readonly config?: { readonly term: number; readonly version: number };
  readonly clusterId?: string;
}

export function voteRequest(f: VoteRequestFields): VoteRequest {
  const p = f.position ?? pos(1, 10);
  return {
    type: 'vote_request',
    round: f.round ?? 1,
    clusterId: f.clusterId ?? CLUSTER_ID,
    candidateId: f.candidateId,
    config: f.config ?? { term: 1, version: 1 },
    term: f.term,
    lastLogTerm: p.term,
    lastLogLsn: p.lsn,
    dryRun: f.dryRun ?? false,
    ...(f.handoff ? { handoff: true } : {}),
  };
}

/** deliver hands a node one message at `now` and returns what it did. */
export function deliver(node: Node, now: number, message: Message): Effect[] {
  return checkedStep(node, { type: 'message', now, message });
}

/** ask sends a node a vote request at `now` and returns its effects. */
export function ask(node: Node, now: number, f: VoteRequestFields): Effect[] {
  return deliver(node, now, voteRequest(f));
}

/**
 * checkProperty runs a fast-check property and turns the result into one tap
 * assertion, whose failure message carries the shrunk counterexample and seed.
 */
export function checkProperty<Ts>(t: Test, message: string, property: fc.IProperty<Ts>, params: fc.Parameters<Ts> = {}): void {
  const details = fc.check(property, params);
  t.notOk(details.failed, details.failed ? `${message}\n${fc.defaultReportMessage(details) ?? ''}` : message);
}

// ---- Reading effects ----------------------------------------------------------

export type SendEffect = Extract<Effect, { type: 'send' }>;
export type ReplyEffect = Extract<Effect, { type: 'reply' }>;
/**
 * An outgoing message of a step: a send, or the reply to the request stepped.
 * A reply travels on its request's connection and has no deadline of its own,
 * so its timeoutMs reads 0.
 */
export type Outgoing = Readonly<Omit<SendEffect, 'type'>> & { readonly type: 'send' | 'reply' };
export type PersistEffect = Extract<Effect, { type: 'persist' }>;
export type RoleEffect = Extract<Effect, { type: 'role' }>;

export function persists(effects: readonly Effect[]): PersistEffect[] {
  return effects.filter((e): e is PersistEffect => e.type === 'persist');
}

/** sends lists what a step sent, replies included, of one message type or of all. */
export function sends<T extends Message['type']>(effects: readonly Effect[], type?: T): Array<Outgoing & { message: Extract<Message, { type: T }> }> {
  const out: Outgoing[] = [];
  for (const e of effects) {
    if (e.type === 'send') out.push(e);
    else if (e.type === 'reply') out.push({ type: 'reply', to: e.to, message: e.message, timeoutMs: 0 });
  }
  return out.filter((e): e is Outgoing & { message: Extract<Message, { type: T }> } => type === undefined || e.message.type === type);
}

export function outcomes(effects: readonly Effect[]): ElectionOutcome[] {
  return effects.flatMap((e) => (e.type === 'election' ? [e.outcome] : []));
}

export function roleChanges(effects: readonly Effect[]): RoleEffect[] {
  return effects.filter((e): e is RoleEffect => e.type === 'role');
}

/** The single vote response a voter's step sent, or an error saying what it sent instead. */
export function voteReply(effects: readonly Effect[]): VoteResponse {
  const replies = sends(effects, 'vote_response');
  const only = replies[0];
  if (replies.length !== 1 || !only) {
    throw new Error(`expected exactly one vote_response, got ${JSON.stringify(effects)}`);
  }
  return only.message;
}

/**
 * checkEffectOrder throws unless a step's effects hold at most one persist and
 * that persist comes first: the runtime makes state durable before it sends.
 */
export function checkEffectOrder(effects: readonly Effect[], where: string): void {
  const at = effects.map((e, i) => (e.type === 'persist' ? i : -1)).filter((i) => i >= 0);
  if (at.length > 1 || (at.length === 1 && at[0] !== 0)) {
    throw new Error(`${where}: persist effects at ${JSON.stringify(at)}, expected at most one at index 0`);
  }
}

export function checkedStep(node: Node, ev: Event): Effect[] {
  const effects = node.step(ev);
  checkEffectOrder(effects, `${node.id} on ${ev.type}`);
  return effects;
}

// ---- A few nodes together ----------------------------------------------------

export interface Envelope {
  readonly from: string;
  readonly to: string;
  readonly message: Message;
  readonly timeoutMs: number;
}

/**
 * Cluster runs nodes side by side. Sends go into a FIFO of envelopes in
 * flight; the test decides what is delivered, dropped or reported
 * undeliverable, and when. Every role change is recorded, so a test can ask
 * which nodes ever took the primary role in a term.
 */
export class Cluster {
  readonly nodes = new Map<string, Node>();
  private readonly drivers = new Map<string, Driver>();
  /** The hard state each node last persisted through its driver's store port. */
  private readonly saved = new Map<string, HardState>();
  readonly config: ClusterConfig;
  inFlight: Envelope[] = [];
  now: number;
  /** Links that are cut: a request across one is reported undeliverable to its sender. */
  cut: (from: string, to: string) => boolean = () => false;
  /** Every node that took the primary role, by term. */
  readonly primaries = new Map<number, Set<string>>();
  readonly roleLog: Array<{ readonly id: string; readonly change: RoleEffect }> = [];
  readonly outcomeLog: Array<{ readonly id: string; readonly outcome: ElectionOutcome }> = [];
  /** Called after every step of every node, e.g. to check an invariant at that moment. */
  onStep: ((id: string, ev: Event, effects: readonly Effect[]) => void) | null = null;
  /** Every message any node sent, in order. */
  readonly sentLog: Envelope[] = [];

  constructor(members: readonly Member[], setups: Record<string, NodeSetup> = {}, now = 0) {
    this.config = clusterConfig(members);
    this.now = now;
    for (const m of members) {
      const setup = setups[m.id] ?? {};
      // A setup's config of null is a node that joins: it must stay null.
      this.attach(m.id, makeNode(m.id, setup.config === undefined ? this.config : setup.config, { now, ...setup }));
    }
    // A first tick arms every node's timer, so run() knows when each is due.
    for (const m of members) this.tick(m.id, now);
  }

  node(id: string): Node {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /**
   * step feeds one event to a node through its driver and returns the node's
   * effects. The driver's ports put sends in flight and log role changes and
   * outcomes; a reply is put in flight back to whoever asked.
   */
  step(id: string, ev: Event): Effect[] {
    const driver = this.drivers.get(id);
    if (!driver) throw new Error(`no node ${id}`);
    const { effects, reply } = driver.step(ev);
    checkEffectOrder(effects, `${id} on ${ev.type}`);
    if (reply) this.post({ from: id, to: reply.to, message: reply.message, timeoutMs: 0 });
    this.onStep?.(id, ev, effects);
    return [...effects];
  }

  /** attach drives `node` from now on, through ports that record what it does. */
  private attach(id: string, node: Node): void {
    const ports: Ports = {
      clock: { now: () => this.now },
      // run() reads each node's nextTimer instead.
      timer: { arm: () => undefined },
      store: { save: (state) => void this.saved.set(id, state) },
      transport: {
        send: (to, message, timeoutMs) => this.post({ from: id, to, message, timeoutMs }),
        // A round's requests stay in flight: a test decides what becomes of each.
        abort: () => undefined,
      },
      notify: {
        role: (change) => {
          const e: RoleEffect = { type: 'role', ...change };
          this.roleLog.push({ id, change: e });
          if (e.role === 'primary') {
            const set = this.primaries.get(e.term) ?? new Set<string>();
            set.add(id);
            this.primaries.set(e.term, set);
          }
        },
        serving: () => undefined,
        election: (outcome) => void this.outcomeLog.push({ id, outcome }),
        switchoverAbandoned: () => undefined,
        configCommitted: () => undefined,
        configChangeFailed: () => undefined,
        fatal: (err) => {
          throw err;
        },
      },
    };
    this.nodes.set(id, node);
    this.drivers.set(id, new Driver(node, ports));
  }

  private post(env: Envelope): void {
    this.inFlight.push(env);
    this.sentLog.push(env);
  }

  tick(id: string, now = this.now): Effect[] {
    this.now = Math.max(this.now, now);
    return this.step(id, { type: 'tick', now });
  }

  /**
   * restart replaces a node by a fresh one started at `now` from the hard
   * state it last persisted through its store port (or started with), with
   * its data store reporting `position`.
   */
  restart(id: string, now: number, position?: LogPosition): Node {
    const saved = this.saved.get(id) ?? this.node(id).hardState;
    const node = makeNode(id, saved.config, {
      term: saved.term,
      votedFor: saved.votedFor,
      commitWatermark: saved.commitWatermark,
      now,
      ...(position ? { position } : {}),
    });
    this.attach(id, node);
    this.now = Math.max(this.now, now);
    this.tick(id, now);
    return node;
  }

  /** Removes and returns the envelopes in flight that match. */
  take(match: (env: Envelope) => boolean = () => true): Envelope[] {
    const taken: Envelope[] = [];
    const kept: Envelope[] = [];
    for (const env of this.inFlight) (match(env) ? taken : kept).push(env);
    this.inFlight = kept;
    return taken;
  }

  /** Delivers one envelope (already taken from the queue) now, or reports it undeliverable across a cut. */
  deliverEnvelope(env: Envelope): Effect[] {
    if (!this.nodes.has(env.to)) return [];
    if (this.cut(env.from, env.to)) {
      return this.step(env.from, { type: 'undeliverable', now: this.now, to: env.to, message: env.message });
    }
    return this.step(env.to, { type: 'message', now: this.now, message: env.message });
  }

  /** Delivers matching envelopes, including ones sent meanwhile, until none match. Returns how many. */
  deliver(match: (env: Envelope) => boolean = () => true, limit = 100_000): number {
    let count = 0;
    for (;;) {
      const i = this.inFlight.findIndex(match);
      if (i < 0) return count;
      const [env] = this.inFlight.splice(i, 1);
      if (env) this.deliverEnvelope(env);
      if (++count > limit) throw new Error(`more than ${limit} deliveries: the nodes never go quiet`);
    }
  }

  /**
   * run advances time to `until`, ticking each node when its timer is due and
   * delivering everything in flight after each tick (zero latency, except
   * across a cut). Nodes listed in `stopped` are down: never ticked, and what
   * is sent to them is undeliverable.
   */
  run(until: number, stopped: ReadonlySet<string> = new Set()): void {
    const cut = this.cut;
    this.cut = (from, to) => cut(from, to) || stopped.has(from) || stopped.has(to);
    try {
      this.runTimers(until, stopped);
    } finally {
      this.cut = cut;
    }
    this.now = Math.max(this.now, until);
  }

  private runTimers(until: number, stopped: ReadonlySet<string>): void {
    for (;;) {
      let next: { id: string; at: number } | null = null;
      for (const [id, n] of this.nodes) {
        if (stopped.has(id)) continue;
        if (next === null || n.nextTimer < next.at) next = { id, at: n.nextTimer };
      }
      if (next === null || next.at > until) break;
      const at = Math.max(this.now, next.at);
      this.tick(next.id, at);
      if (this.node(next.id).nextTimer <= at) throw new Error(`${next.id} did not rearm its timer after a tick at ${at}`);
      this.deliver();
    }
  }

  primariesOf(term: number): string[] {
    return [...(this.primaries.get(term) ?? [])].sort();
  }

  /**
   * elect lets `id` stand at `now` (after every node's start loyalty) with the
   * whole network up, and delivers everything until the cluster is quiet.
   */
  elect(id: string, now = Math.max(this.now, AFTER_START_LOYALTY)): Effect[] {
    const effects = this.tick(id, now);
    this.deliver();
    return effects;
  }
}

/** heartbeat builds a primary's heartbeat; the watermark is zero unless given. */
/** heartbeat builds a primary's heartbeat; its configuration is stamped with its term, as a primary's is. */
export function heartbeat(ms: ClusterConfig, term: number, primaryId: string, extra: Partial<Heartbeat> = {}): Heartbeat {
  return { type: 'heartbeat', round: 1, term, primaryId, commitWatermark: ZERO_POSITION, config: { ...ms, term }, ...extra };
}
