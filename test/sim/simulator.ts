// Simulation runs a whole quorumd cluster in one process, deterministically:
// real core Nodes (or a test's deliberately broken variant of them), a virtual
// clock (an event queue in true time), a seeded network that partitions, drops,
// delays, reorders and duplicates, crashes and restarts (also in the middle of
// a persist), pauses, per-node clocks whose rates drift within the timings'
// bound, and a model data store whose primary writes only under its lease.
// The checkers (checkers.ts) watch every run. Test tooling, never shipped.
//
// How the runtime is modelled, and why:
//  - A node's local time is rate × true time + offset, rates in
//    [1 - clockDriftBound, 1 + clockDriftBound], offsets arbitrary; a
//    clock_drift fault changes a rate without a jump in local time.
//  - A step's effects are performed by the runtime's own driver
//    (src/runtime/driver.ts), in its order, through simulated ports: the
//    clock, timer, store, transport and notifications below. A crash during a
//    step's persist happens in the store port: it keeps either the whole new
//    state or none of it (the file store writes a temp file, fsyncs, renames,
//    fsyncs the directory) and fails the persist, so the driver performs none
//    of the step's later effects. A crash between steps loses nothing durable.
//  - Requests (vote_request, heartbeat, handoff) travel like HTTP requests: the
//    reply comes back on the request's connection, so it reaches only the
//    process that asked, and only while that request is still open. A request
//    with no reply by its timeoutMs (on the sender's clock) turns into an
//    'undeliverable' event at the sender; a request to a crashed node whose
//    link is up is refused at once (a closed port) and is undeliverable too.
//    An abort effect closes the open requests of that round.
//  - When a primary's process dies, the followers that can reach its host see
//    the closed port within one or two heartbeat intervals: 'primary_unreachable'.
//    A paused process keeps its port open, so a pause never produces that.
//  - Lying evidence (fault kinds reject_cut, stale_url, proxy_no_backend): a
//    refusal while the primary lives. A REJECT cut is a partition whose cut
//    links refuse connections: a follower cut from its primary that way sees
//    its heartbeat connection reset and the primary's port refuse, once. A
//    stale url (one follower, now and then two) and a proxy without a backend
//    (every member's connections to the primary) refuse the followers' own
//    connections to a live primary whose heartbeats still reach them; their
//    heartbeat connections are recycled again and again, and each time the
//    runtime sees the port refuse: 'primary_unreachable', repeatedly. A
//    refused request is undeliverable at once, as a crashed node's is.
//  - A paused node receives nothing and does nothing; what reaches it waits
//    (as in a socket buffer) and is handled when it resumes, with its old state.
//  - The data store: the primary appends only while node.holdsLease(localNow),
//    a no-op first in a new term; followers copy a prefix of the log of the
//    primary they follow, in the same term (the term fences the data path); each
//    node hears its log position through 'position' events; once the primary's
//    commit watermark of its own term covers an entry, it and the whole prefix
//    below it (earlier terms' entries too) are acknowledged in that term.
//    Each position report's answer gives the store a lease, as PUT /log's
//    leaseUntil does, on an agent clock as slow as the drift bound allows;
//    single_lease counts a store serving under it as holding a lease.
//  - Membership (opt-in, fault kind member_change): the simulator steps
//    config_change events on the node it sees as primary, as an operator's
//    API call would. A member it adds runs from then on as a fresh process
//    that joins (config null, joinClusterId set), with its own store and, for
//    data, its own log. Removed members keep running (removed, they neither
//    vote nor stand); one may be added again later, with its old state.
//  - Mismatched starts (opt-in, SimOptions.mismatch): some nodes bootstrap
//    with another member list or other timings, hence another cluster id, as
//    runtime/bootstrap.ts's initialConfig would give. They are always too few
//    to be a majority of their own list, so a second primary would be a bug.

import {
  Node,
  ZERO_POSITION,
  compareConfigs,
  configPosition,
  findMember,
  formatPosition,
  isElectable,
  isVoter,
  quorumSize,
  seededRandom,
  type ClusterConfig,
  type ConfigChange,
  type ConfigChangeAnswer,
  type Event,
  type HardState,
  type Member,
  type MemberKind,
  type Message,
  type NodeOptions,
  type Timings,
} from '../../src/core/index.js';
import { Driver, EffectOrderViolation, type Ports, type StepResult } from '../../src/runtime/driver.js';
import { initialConfig } from '../../src/runtime/bootstrap.js';
import { agentLease, servingLeaseMs } from '../../src/runtime/lease-report.js';
import { drawMismatch } from './mismatch.js';
import { Checkers, livenessBoundMs, type CheckerName, type Violation } from './checkers.js';
import { DataLog } from '../kit/data-log.js';
import { CALM, Network, PARTITION_KINDS, type PartitionKind, type Weather } from './network.js';
import { EventQueue } from './queue.js';
import { SimRandom, mixSeed } from './random.js';
import { SHAPES, TIMING_PROFILES, type Shape } from './shapes.js';
import { Trace, describeMessage } from './trace.js';

/** NodeModule is what the simulator needs of src/core/node.js: the real one, or a test's broken variant. */
export interface NodeModule {
  readonly Node: new (opts: NodeOptions) => Node;
}

/**
 * StoreModel is how a node's durable state store behaves across a crash:
 * 'durable' is the real contract; the others are deliberately broken stores
 * for proving the checkers: 'forget_votes' loses votedFor on restart,
 * 'rollback' loses the last save.
 */
export type StoreModel = 'durable' | 'forget_votes' | 'rollback';

export type FaultKind =
  | 'partition'
  | 'crash'
  | 'crash_primary'
  | 'crash_mid_persist'
  | 'pause'
  | 'pause_primary'
  | 'weather'
  | 'switchover'
  | 'clock_drift'
  | 'member_change'
  | LieKind;

/** The faults that refuse connections to a primary that lives: evidence that lies. */
export type LieKind = 'reject_cut' | 'stale_url' | 'proxy_no_backend';

export const DEFAULT_FAULTS: Readonly<Record<FaultKind, number>> = Object.freeze({
  partition: 4,
  crash: 1,
  crash_primary: 1,
  crash_mid_persist: 1.5,
  pause: 1,
  pause_primary: 0.7,
  weather: 1,
  switchover: 0.7,
  clock_drift: 0.5,
  // Off unless a run asks for it: the fixed-membership sweeps keep their seeds.
  member_change: 0,
  reject_cut: 1.5,
  stale_url: 0.8,
  proxy_no_backend: 0.6,
});

/**
 * NO_LIES turns lying evidence off: what runs found before those faults
 * existed replay with it (the new kinds come last among the weights, so with
 * weight 0 they change no draw).
 */
export const NO_LIES: Readonly<Record<LieKind, number>> = Object.freeze({ reject_cut: 0, stale_url: 0, proxy_no_backend: 0 });

/** The member_change weight of the membership sweeps and `--members`: about two faults in five. */
export const MEMBER_CHANGE_WEIGHT = 8;

/** The most members a configuration grows to through the simulator's adds, and the fewest its removes leave. */
export const MAX_SIM_MEMBERS = 7;
export const MIN_SIM_MEMBERS = 2;
/** The most processes a run starts in all (members, removed members, joiners never listed). */
const MAX_SIM_NODES = 10;

export interface SimOptions {
  readonly seed: number;
  /** The seed picks one of these shapes (default: all of SHAPES). */
  readonly shapes?: readonly Shape[];
  /** The seed picks one of these timing profiles (default: TIMING_PROFILES). */
  readonly timingProfiles?: readonly Timings[];
  readonly nodeModule?: NodeModule;
  readonly store?: StoreModel;
  /** Fault weights; a kind with weight 0 never happens. Unnamed kinds keep their default. */
  readonly faults?: Partial<Record<FaultKind, number>>;
  readonly partitions?: readonly PartitionKind[];
  /** Faults go on for a time drawn from this range, then everything heals. */
  readonly faultWindowMs?: readonly [number, number];
  /** Time between faults, drawn from this range. */
  readonly faultGapMs?: readonly [number, number];
  /** 'all' heals every node, 'majority' only a majority of voters, 'either' lets the seed choose. */
  readonly heal?: 'all' | 'majority' | 'either';
  /** How many trace lines to keep (Infinity keeps every line). */
  readonly traceLimit?: number;
  readonly maxEvents?: number;
  /** Stop at the first violation of one of these checkers (default: of any), and run on past the others. */
  readonly stopOn?: readonly CheckerName[];
  /** The chance that a run starts some nodes with a mismatched configuration (another cluster id); default 0. */
  readonly mismatch?: number;
}

export interface RunStats extends MembershipCounts {
  events: number;
  virtualMs: number;
  healedAt: number;
  /** True time from the heal to the first lease of a stable primary, or null if none came. */
  primaryAfterHealMs: number | null;
  maxTerm: number;
  elections: number;
  writes: number;
  acked: number;
  crashes: number;
  midPersistCrashes: number;
  pauses: number;
  partitions: number;
  switchovers: number;
  lost: number;
  duplicated: number;
  /** Nodes started with a mismatched configuration. */
  mismatched: number;
  /** 1 if the heal left only a majority of voters stable, else 0. */
  majorityHealed: number;
  /** Faults that made links refuse while the primary lived, by kind. */
  rejectCuts: number;
  staleUrls: number;
  proxiesWithoutBackend: number;
  /** primary_unreachable events stepped on a follower whose primary's process was alive. */
  lyingEvidence: number;
}

/** What became of the membership changes of a run, or of a sweep's runs together. */
export interface MembershipCounts {
  /** Membership changes stepped on the primary, started, and refused by code (not_primary, hand_over_first, ...). */
  memberChanges: number;
  changesStarted: number;
  changesRefused: Record<string, number>;
  /** Configurations of a version past the first committed, and changes that failed. */
  configsCommitted: number;
  changesFailed: number;
  /** Processes started to join, and the most members a committed configuration listed. */
  joiners: number;
  maxMembers: number;
}

/** noMembershipCounts is a fresh, all-zero MembershipCounts. */
export function noMembershipCounts(): MembershipCounts {
  return { memberChanges: 0, changesStarted: 0, changesRefused: {}, configsCommitted: 0, changesFailed: 0, joiners: 0, maxMembers: 0 };
}

/** addMembershipCounts adds a run's counts into a sweep's: sums, and the largest member count. */
export function addMembershipCounts(into: MembershipCounts, from: MembershipCounts): void {
  into.memberChanges += from.memberChanges;
  into.changesStarted += from.changesStarted;
  for (const [code, n] of Object.entries(from.changesRefused)) into.changesRefused[code] = (into.changesRefused[code] ?? 0) + n;
  into.configsCommitted += from.configsCommitted;
  into.changesFailed += from.changesFailed;
  into.joiners += from.joiners;
  into.maxMembers = Math.max(into.maxMembers, from.maxMembers);
}

export interface RunResult {
  readonly seed: number;
  readonly shape: Shape;
  readonly timings: Timings;
  readonly violations: readonly Violation[];
  /** The last trace lines (all of them with an unbounded traceLimit). */
  readonly trace: readonly string[];
  /** A hash of every event the run dispatched, in order: equal digests, equal runs. */
  readonly digest: number;
  readonly stats: RunStats;
}

interface Request {
  readonly id: number;
  readonly from: number;
  readonly fromInc: number;
  readonly to: number;
  readonly message: Message;
  done: boolean;
}

type SimEvent =
  | { kind: 'request'; at: number; seq: number; req: Request }
  | { kind: 'reply'; at: number; seq: number; req: Request; message: Message | null }
  | { kind: 'deadline'; at: number; seq: number; req: Request; localAt: number }
  | { kind: 'refused'; at: number; seq: number; req: Request }
  | { kind: 'timer'; at: number; seq: number; node: number; inc: number; gen: number; localAt: number }
  | { kind: 'position'; at: number; seq: number; node: number; inc: number }
  | { kind: 'unreachable'; at: number; seq: number; node: number; inc: number; primary: number }
  | { kind: 'evidence'; at: number; seq: number; node: number; primary: number; lie: LieKind; fault: number }
  | { kind: 'lie_tick'; at: number; seq: number; fault: number }
  | { kind: 'lie_end'; at: number; seq: number; fault: number }
  | { kind: 'replicate'; at: number; seq: number; node: number }
  | { kind: 'write'; at: number; seq: number }
  | { kind: 'fault'; at: number; seq: number }
  | { kind: 'restart'; at: number; seq: number; node: number; inc: number }
  | { kind: 'resume'; at: number; seq: number; node: number; pauseId: number }
  | { kind: 'partition_end'; at: number; seq: number; gen: number }
  | { kind: 'weather_end'; at: number; seq: number; gen: number }
  | { kind: 'heal'; at: number; seq: number }
  | { kind: 'liveness'; at: number; seq: number };

const KIND_CODES: Record<SimEvent['kind'], number> = {
  request: 1,
  reply: 2,
  deadline: 3,
  refused: 4,
  timer: 5,
  position: 6,
  unreachable: 7,
  replicate: 8,
  write: 9,
  fault: 10,
  restart: 11,
  resume: 12,
  partition_end: 13,
  weather_end: 14,
  heal: 15,
  liveness: 16,
  evidence: 17,
  lie_tick: 18,
  lie_end: 19,
};

/** A stale url or a proxy without a backend: `followers`' connections to `primary` are refused until it ends. */
interface Lie {
  readonly kind: 'stale_url' | 'proxy_no_backend';
  readonly primary: number;
  readonly followers: readonly number[];
}

interface SimNode {
  readonly index: number;
  readonly id: string;
  readonly kind: MemberKind;
  readonly isData: boolean;
  /** What its store holds before its first save: its bootstrap configuration, or none (it joins). */
  readonly initial: HardState;
  readonly joinClusterId: string | null;
  /** Started with a configuration other than the cluster's (another cluster id). */
  readonly mismatched: boolean;
  rate: number;
  offset: number;
  node: Node | null;
  /** The driver that performs node's effects; null while the node is down. */
  driver: Driver | null;
  incarnation: number;
  durable: HardState | null;
  previousDurable: HardState | null;
  paused: boolean;
  pauseId: number;
  inbox: SimEvent[];
  timerGen: number;
  readonly outstanding: Map<number, Request>;
  readonly log: DataLog;
  positionPending: boolean;
  /**
   * Until when, in true time, its data store may serve: the leaseUntil of the
   * last answer to its position report, on an agent clock as slow as the
   * drift bound allows. The store keeps it whatever becomes of the node.
   */
  storeLeaseEnd: number;
  crashAtNextPersist: boolean;
  /** How far this node's log has been acknowledged as primary of `term`. */
  ackedThrough: { term: number; lsn: number };
  readonly replEveryMs: number;
  readonly replBatch: number;
}

/** CrashMidPersist is the simulated store's failure: the process died while it saved. */
class CrashMidPersist extends Error {
  override name = 'CrashMidPersist';
}

/** After the first stable lease, the run goes on this long (more writes, more checks), then ends. */
const TAIL_MS = 300;

export class Simulation {
  readonly seed: number;
  readonly shape: Shape;
  readonly timings: Timings;
  readonly checkers: Checkers;
  private readonly NodeCtor: NodeModule['Node'];
  private readonly store: StoreModel;
  private readonly faultWeights: Record<FaultKind, number>;
  private readonly partitionKinds: readonly PartitionKind[];
  private readonly healMode: 'all' | 'majority' | 'either';
  private readonly maxEvents: number;
  private readonly stopOn: ReadonlySet<CheckerName> | null;

  private readonly rng: SimRandom;
  private readonly netRng: SimRandom;
  private readonly dataRng: SimRandom;
  /** When lying evidence reaches each follower: a stream of its own, so that it shifts no other draw. */
  private readonly lieRng: SimRandom;
  /** Stale urls and proxies without a backend in force, by fault number. */
  private readonly lies = new Map<number, Lie>();
  private lieSeq = 0;
  private readonly nodes: SimNode[];
  private readonly byId = new Map<string, SimNode>();
  private readonly queue = new EventQueue<SimEvent>();
  private readonly network: Network;
  private readonly trace: Trace;
  /** The configuration every node that is not mismatched starts with. */
  private readonly config: ClusterConfig;
  private readonly membershipChanges: boolean;
  private urlSeq = 0;
  private joinSeq = 0;
  private readonly faultWindowMs: number;
  private readonly faultGapMs: readonly [number, number];
  private readonly baseWeather: Weather;
  private readonly writeEveryMs: number;

  private now = 0;
  private healed = false;
  private endAt = Infinity;
  private requestSeq = 0;
  private writeSeq = 0;
  private partitionGen = 0;
  private weatherGen = 0;
  private digest = 0x811c9dc5;
  private readonly stats: RunStats = {
    events: 0,
    virtualMs: 0,
    healedAt: 0,
    primaryAfterHealMs: null,
    maxTerm: 0,
    elections: 0,
    writes: 0,
    acked: 0,
    crashes: 0,
    midPersistCrashes: 0,
    pauses: 0,
    partitions: 0,
    switchovers: 0,
    lost: 0,
    duplicated: 0,
    ...noMembershipCounts(),
    mismatched: 0,
    majorityHealed: 0,
    rejectCuts: 0,
    staleUrls: 0,
    proxiesWithoutBackend: 0,
    lyingEvidence: 0,
  };

  constructor(opts: SimOptions) {
    this.seed = opts.seed;
    this.rng = new SimRandom(mixSeed(opts.seed, 1));
    this.netRng = new SimRandom(mixSeed(opts.seed, 2));
    this.dataRng = new SimRandom(mixSeed(opts.seed, 3));
    this.lieRng = new SimRandom(mixSeed(opts.seed, 4));
    this.shape = this.rng.pick(opts.shapes ?? SHAPES);
    this.timings = this.rng.pick(opts.timingProfiles ?? TIMING_PROFILES);
    this.NodeCtor = (opts.nodeModule ?? { Node }).Node;
    this.store = opts.store ?? 'durable';
    this.faultWeights = { ...DEFAULT_FAULTS, ...opts.faults };
    this.partitionKinds = opts.partitions ?? PARTITION_KINDS;
    this.healMode = opts.heal ?? 'either';
    this.maxEvents = opts.maxEvents ?? 2_000_000;
    this.stopOn = opts.stopOn ? new Set(opts.stopOn) : null;
    this.trace = new Trace(opts.traceLimit ?? 60);
    const [wMin, wMax] = opts.faultWindowMs ?? [1500, 3000];
    this.faultWindowMs = this.rng.range(wMin, wMax);
    // Most seeds space their faults out; some are storms of faults.
    this.faultGapMs = opts.faultGapMs ?? (this.rng.chance(0.3) ? [5, 80] : [40, 350]);
    this.writeEveryMs = this.rng.range(4, 25);
    this.baseWeather = {
      dropRate: this.rng.pick([0, 0.01, 0.05]),
      duplicateRate: this.rng.pick([0, 0.01, 0.05]),
      delayMinMs: 0.1,
      delayMaxMs: this.rng.pick([1, 3, 8]),
      longDelayRate: this.rng.pick([0, 0.01, 0.05]),
      longDelayMaxMs: this.rng.range(30, 250),
    };
    // Every node starts with the configuration runtime/bootstrap.ts would
    // make of the shape's list; mismatched nodes with one made of another.
    this.config = initialConfig('sim', this.shape.members, this.timings);
    this.membershipChanges = this.faultWeights.member_change > 0;
    const mismatched = this.rng.chance(opts.mismatch ?? 0) ? drawMismatch(this.rng, this.config, TIMING_PROFILES) : new Map<string, ClusterConfig>();
    this.stats.mismatched = mismatched.size;
    this.stats.maxMembers = this.config.members.length;
    this.nodes = this.shape.members.map((member, index) => {
      const config = mismatched.get(member.id) ?? this.config;
      return this.makeNode(index, member.id, member.kind, config, null);
    });
    this.network = new Network(this.nodes.map((n) => n.id));
    this.network.weather = this.baseWeather;
    this.checkers = new Checkers((id) => this.byId.get(id)?.log ?? null);
  }

  /** run plays the seed to its end and returns what happened. */
  run(): RunResult {
    this.start();
    for (;;) {
      const ev = this.queue.pop();
      if (!ev || ev.at > this.endAt) break;
      this.now = ev.at;
      this.dispatch(ev);
      if (++this.stats.events > this.maxEvents) {
        this.checkers.runaway(this.now, `more than ${this.maxEvents} events; the run does not settle`);
        break;
      }
      if (this.stopped()) break;
      const primaryAt = this.checkers.primaryAfterHeal;
      if (primaryAt !== null && this.endAt > primaryAt + TAIL_MS) this.endAt = primaryAt + TAIL_MS;
    }
    const primaryAt = this.checkers.primaryAfterHeal;
    this.stats.virtualMs = this.now;
    this.stats.primaryAfterHealMs = primaryAt === null ? null : primaryAt - this.stats.healedAt;
    this.stats.acked = this.checkers.acked.filter((w) => w.entry.writeId > 0).length;
    for (const sn of this.nodes) this.stats.maxTerm = Math.max(this.stats.maxTerm, sn.node?.term ?? sn.durable?.term ?? 0);
    return {
      seed: this.seed,
      shape: this.shape,
      timings: this.timings,
      violations: this.checkers.violations,
      trace: this.trace.lines(),
      digest: this.digest >>> 0,
      stats: { ...this.stats },
    };
  }

  /** stopped: a violation the run stops at has been seen. */
  private stopped(): boolean {
    const vs = this.checkers.violations;
    if (vs.length === 0) return false;
    if (this.stopOn === null) return true;
    return vs.some((v) => this.stopOn?.has(v.checker));
  }

  // ---- Set-up --------------------------------------------------------------

  private start(): void {
    this.note(-1, () => `start ${this.shape.name} seed ${this.seed} timings ${JSON.stringify(this.timings)}`);
    for (const sn of this.nodes) {
      this.note(sn.index, `clock rate ${sn.rate.toFixed(4)} offset ${sn.offset.toFixed(1)}`);
      this.boot(sn);
      if (sn.isData) this.schedule({ kind: 'replicate', at: this.dataRng.range(0, sn.replEveryMs), seq: 0, node: sn.index });
    }
    this.schedule({ kind: 'write', at: this.writeEveryMs, seq: 0 });
    this.schedule({ kind: 'fault', at: this.rng.range(0, 300), seq: 0 });
    this.schedule({ kind: 'heal', at: this.faultWindowMs, seq: 0 });
  }

  /** makeNode is one simulated process: its clock, its store's first state, its data store's pace. */
  private makeNode(index: number, id: string, kind: MemberKind, config: ClusterConfig | null, joinClusterId: string | null): SimNode {
    const sn: SimNode = {
      index,
      id,
      kind,
      isData: kind === 'data',
      initial: { term: 0, votedFor: null, commitWatermark: ZERO_POSITION, config },
      joinClusterId,
      mismatched: config !== null && config !== this.config,
      rate: this.drawRate(this.timings.clockDriftBound),
      offset: this.rng.range(0, 1e6),
      node: null,
      driver: null,
      incarnation: 0,
      durable: null,
      previousDurable: null,
      paused: false,
      pauseId: 0,
      inbox: [],
      timerGen: 0,
      outstanding: new Map(),
      log: new DataLog(),
      positionPending: false,
      storeLeaseEnd: Number.NEGATIVE_INFINITY,
      crashAtNextPersist: false,
      ackedThrough: { term: 0, lsn: 0 },
      replEveryMs: this.rng.chance(0.2) ? this.rng.range(60, 250) : this.rng.range(3, 30),
      replBatch: this.rng.chance(0.3) ? 1 + this.rng.int(3) : 1000,
    };
    this.byId.set(sn.id, sn);
    return sn;
  }

  private drawRate(d: number): number {
    // Half the nodes sit at an extreme of the allowed drift: that is where leases are tested.
    if (this.rng.chance(0.5)) return this.rng.chance(0.5) ? 1 - d : 1 + d;
    return 1 + this.rng.range(-d, d);
  }

  // ---- Time ----------------------------------------------------------------

  private localOf(sn: SimNode): number {
    return sn.rate * this.now + sn.offset;
  }

  /** trueTimeOf: the earliest true time (not before now) at which sn's clock reads at least `local`. */
  private trueTimeOf(sn: SimNode, local: number): number {
    let t = (local - sn.offset) / sn.rate;
    if (t <= this.now) return this.now;
    while (sn.rate * t + sn.offset < local) t += 1e-6;
    return t;
  }

  private schedule(ev: SimEvent): void {
    this.queue.push(ev);
  }

  // ---- Dispatch ------------------------------------------------------------

  private dispatch(ev: SimEvent): void {
    this.digest = Math.imul(this.digest ^ KIND_CODES[ev.kind], 16777619);
    this.digest = Math.imul(this.digest ^ Math.round(ev.at * 1000), 16777619);
    switch (ev.kind) {
      case 'request':
        return this.onRequest(ev);
      case 'reply':
        return this.onReply(ev);
      case 'deadline':
      case 'refused':
        return this.onUndeliverable(ev);
      case 'timer':
        return this.onTimer(ev);
      case 'position':
        return this.onPosition(ev);
      case 'unreachable':
        return this.onUnreachable(ev);
      case 'evidence':
        return this.onEvidence(ev);
      case 'lie_tick':
        return this.onLieTick(ev);
      case 'lie_end':
        return this.endLie(ev.fault);
      case 'replicate':
        return this.onReplicate(ev);
      case 'write':
        return this.onWriteTick();
      case 'fault':
        return this.onFault();
      case 'restart': {
        const sn = this.nodes[ev.node] as SimNode;
        if (!this.healed && sn.node === null && sn.incarnation === ev.inc) this.boot(sn);
        return;
      }
      case 'resume': {
        const sn = this.nodes[ev.node] as SimNode;
        if (!this.healed && sn.paused && sn.pauseId === ev.pauseId) this.resume(sn);
        return;
      }
      case 'partition_end':
        if (!this.healed && ev.gen === this.partitionGen) {
          this.network.heal();
          this.note(-1, 'partition healed');
        }
        return;
      case 'weather_end':
        if (!this.healed && ev.gen === this.weatherGen) {
          this.network.weather = this.baseWeather;
          this.note(-1, 'weather back to normal');
        }
        return;
      case 'heal':
        return this.heal();
      case 'liveness':
        return this.checkers.livenessDeadline(this.now);
    }
  }

  private onRequest(ev: Extract<SimEvent, { kind: 'request' }>): void {
    const req = ev.req;
    const sn = this.nodes[req.to] as SimNode;
    if (!this.network.isUp(req.from, req.to)) {
      this.lost(req.from, req.message, req.to, 'cut in flight');
      return;
    }
    if (sn.node === null) {
      // A closed port: the sender learns at once, if the way back is up.
      if (this.network.isUp(req.to, req.from)) this.schedule({ kind: 'refused', at: this.now + this.network.delayMs(this.netRng), seq: 0, req });
      return;
    }
    if (sn.paused) {
      sn.inbox.push(ev);
      return;
    }
    this.note(sn.index, () => `recv ${describeMessage(req.message)}`);
    this.step(sn, { type: 'message', now: this.localOf(sn), message: req.message }, req);
  }

  private onReply(ev: Extract<SimEvent, { kind: 'reply' }>): void {
    const req = ev.req;
    const sn = this.nodes[req.from] as SimNode;
    if (req.done || sn.node === null || sn.incarnation !== req.fromInc) return;
    if (!this.network.isUp(req.to, req.from)) {
      if (ev.message) this.lost(req.to, ev.message, req.from, 'cut in flight');
      return;
    }
    if (sn.paused) {
      sn.inbox.push(ev);
      return;
    }
    req.done = true;
    sn.outstanding.delete(req.id);
    const m = ev.message;
    if (m === null) return;
    this.note(sn.index, () => `recv ${describeMessage(m)}`);
    this.step(sn, { type: 'message', now: this.localOf(sn), message: m }, null);
  }

  private onUndeliverable(ev: Extract<SimEvent, { kind: 'deadline' | 'refused' }>): void {
    const req = ev.req;
    const sn = this.nodes[req.from] as SimNode;
    if (req.done || sn.node === null || sn.incarnation !== req.fromInc) return;
    if (sn.paused) {
      sn.inbox.push(ev);
      return;
    }
    if (ev.kind === 'deadline' && this.localOf(sn) < ev.localAt) {
      // The sender's clock rate changed since: its deadline is later in true time.
      this.schedule({ ...ev, at: this.trueTimeOf(sn, ev.localAt) });
      return;
    }
    req.done = true;
    sn.outstanding.delete(req.id);
    const to = (this.nodes[req.to] as SimNode).id;
    this.note(sn.index, () => `undeliverable (${ev.kind === 'refused' ? 'refused' : 'no reply'}) to ${to}: ${describeMessage(req.message)}`);
    this.step(sn, { type: 'undeliverable', now: this.localOf(sn), to, message: req.message }, null);
  }

  private onTimer(ev: Extract<SimEvent, { kind: 'timer' }>): void {
    const sn = this.nodes[ev.node] as SimNode;
    if (sn.node === null || sn.incarnation !== ev.inc || sn.timerGen !== ev.gen) return;
    if (sn.paused) {
      sn.inbox.push(ev);
      return;
    }
    if (this.localOf(sn) < ev.localAt) {
      this.schedule({ ...ev, at: this.trueTimeOf(sn, ev.localAt) });
      return;
    }
    this.note(sn.index, 'tick');
    this.step(sn, { type: 'tick', now: this.localOf(sn) }, null);
  }

  private onPosition(ev: Extract<SimEvent, { kind: 'position' }>): void {
    const sn = this.nodes[ev.node] as SimNode;
    if (sn.node === null || sn.incarnation !== ev.inc) return;
    if (sn.paused) {
      sn.inbox.push(ev);
      return;
    }
    sn.positionPending = false;
    const position = sn.log.position();
    this.note(sn.index, () => `position ${formatPosition(position)}`);
    this.step(sn, { type: 'position', now: this.localOf(sn), position }, null);
    // The agent's reply (PUT /log) carries the lease on its clock, as the runtime computes it.
    if (sn.node === null) return;
    const d = this.timings.clockDriftBound;
    const until = agentLease(servingLeaseMs(sn.node, this.localOf(sn)), d, 0).leaseUntil;
    if (typeof until === 'number') sn.storeLeaseEnd = Math.max(sn.storeLeaseEnd, this.now + until / (1 - d));
  }

  private onUnreachable(ev: Extract<SimEvent, { kind: 'unreachable' }>): void {
    const sn = this.nodes[ev.node] as SimNode;
    const primary = this.nodes[ev.primary] as SimNode;
    if (sn.node === null || sn.incarnation !== ev.inc || primary.node !== null) return;
    if (!this.network.bothUp(sn.index, primary.index)) return;
    if (sn.paused) {
      sn.inbox.push(ev);
      return;
    }
    this.note(sn.index, `sees ${primary.id}'s port closed`);
    this.step(sn, { type: 'primary_unreachable', now: this.localOf(sn), primaryId: primary.id }, null);
  }

  /**
   * onEvidence: a follower's runtime saw its heartbeat connection close and
   * the primary's port refuse, while the refusal lies. As the runtime does,
   * it tells the node only if the node still follows that primary; the fault
   * must still be in force and the link still refusing.
   */
  private onEvidence(ev: Extract<SimEvent, { kind: 'evidence' }>): void {
    const sn = this.nodes[ev.node] as SimNode;
    const primary = this.nodes[ev.primary] as SimNode;
    const inForce = ev.lie === 'reject_cut' ? this.partitionGen === ev.fault : this.lies.has(ev.fault);
    if (this.healed || !inForce || sn.node === null || !this.network.refuses(sn.index, primary.index)) return;
    if (sn.paused) {
      sn.inbox.push(ev);
      return;
    }
    if (sn.node.knownPrimary !== primary.id) return;
    const alive = primary.node !== null;
    if (alive) this.stats.lyingEvidence++;
    this.note(sn.index, `sees ${primary.id}'s port refuse (${ev.lie.replaceAll('_', ' ')})${alive ? ' while it lives' : ''}`);
    this.step(sn, { type: 'primary_unreachable', now: this.localOf(sn), primaryId: primary.id }, null);
  }

  /** onLieTick: the affected followers' heartbeat connections are recycled; each probes the primary's port again. */
  private onLieTick(ev: Extract<SimEvent, { kind: 'lie_tick' }>): void {
    const lie = this.lies.get(ev.fault);
    if (this.healed || !lie) return;
    const hb = this.timings.heartbeatMs;
    for (const f of lie.followers) {
      const at = this.now + this.lieRng.range(0.2, hb);
      this.schedule({ kind: 'evidence', at, seq: 0, node: f, primary: lie.primary, lie: lie.kind, fault: ev.fault });
    }
    this.schedule({ kind: 'lie_tick', at: this.now + this.lieRng.range(hb, 4 * hb), seq: 0, fault: ev.fault });
  }

  // ---- Stepping a node and performing its effects -------------------------

  /**
   * ports are the simulated world one incarnation of a node is driven
   * through. They are called only while the driver performs a step of that
   * incarnation, so `sn` is the live node throughout.
   */
  private ports(sn: SimNode): Ports {
    return {
      clock: { now: () => this.localOf(sn) },
      timer: {
        arm: (at) => {
          const gen = ++sn.timerGen;
          this.schedule({ kind: 'timer', at: this.trueTimeOf(sn, at), seq: 0, node: sn.index, inc: sn.incarnation, gen, localAt: at });
        },
      },
      store: { save: (state) => this.persist(sn, state) },
      transport: {
        send: (to, message, timeoutMs) => this.send(sn, to, message, timeoutMs),
        abort: (round) => {
          for (const [id, req] of sn.outstanding) {
            if ('round' in req.message && req.message.round === round) {
              req.done = true;
              sn.outstanding.delete(id);
            }
          }
        },
      },
      notify: {
        role: (change) => {
          this.note(sn.index, () => `role ${change.role} t${change.term}${change.primaryId ? ` primary ${change.primaryId}` : ''} (${change.reason})`);
          if (change.role === 'primary') {
            this.stats.elections++;
            this.checkers.primaryElected(this.now, sn.id, change.term);
            this.checkers.primaryLog(this.now, sn.id, change.term, sn.log, 'elected');
          }
        },
        serving: (term) => this.note(sn.index, `serving t${term}`),
        election: (o) => this.note(sn.index, () => `election ${o.kind} t${o.term}${'votes' in o ? ` ${o.votes}/${o.needed}` : ` (${o.why})`}`),
        switchoverAbandoned: (target) => this.note(sn.index, `switchover abandoned ${target}`),
        configCommitted: (config) => {
          this.note(sn.index, () => `configuration ${config.term}/${config.version} committed: ${describeMembers(config)}`);
          if (config.version > 1) this.stats.configsCommitted++;
          this.stats.maxMembers = Math.max(this.stats.maxMembers, config.members.length);
        },
        configChangeFailed: (version, why) => {
          this.stats.changesFailed++;
          this.note(sn.index, `change to version ${version} failed: ${why}`);
        },
        fatal: (err, cause) => {
          if (err instanceof CrashMidPersist) {
            this.stats.midPersistCrashes++;
            this.crash(sn, err.message);
          } else if (err instanceof EffectOrderViolation) {
            this.checkers.persistNotFirst(this.now, sn.id, err.index);
            this.crash(sn, 'after breaking the effect order');
          } else {
            this.checkers.nodeThrew(this.now, sn.id, err);
            this.note(sn.index, () => `threw ${String(err)} (${cause})`);
            this.crash(sn, 'after throwing');
          }
        },
      },
    };
  }

  /** persist is the store port: a save, or the crash in the middle of one that a fault asked for. */
  private persist(sn: SimNode, state: HardState): void {
    const c = state.config;
    const describe = `t${state.term} vote ${state.votedFor ?? '-'} wm ${formatPosition(state.commitWatermark)} config ${c ? `${c.term}/${c.version}` : '-'}`;
    if (sn.crashAtNextPersist) {
      const kept = this.rng.chance(0.5);
      if (kept) this.save(sn, state);
      throw new CrashMidPersist(`in the middle of a persist (new state ${kept ? 'kept' : 'lost'}: ${describe})`);
    }
    this.save(sn, state);
    this.note(sn.index, () => `persist ${describe}`);
  }

  /**
   * step feeds one event to a live node through its driver, then sends the
   * node's answer back on `request`, the request being served, if any.
   */
  private step(sn: SimNode, ev: Event, request: Request | null): StepResult | null {
    const driver = sn.driver as Driver;
    const result = driver.step(ev);
    // A fatal fault in the step crashed the node: nothing of it goes out.
    if (sn.driver !== driver) return null;
    const reply = result.reply;
    if (reply !== null) {
      const m = reply.message;
      if (m.type === 'vote_response' && m.granted && !m.dryRun) this.checkers.voteGranted(this.now, sn.id, reply.to, m.term);
      const asked = request?.message;
      const matches =
        request !== null &&
        asked !== undefined &&
        (this.nodes[request.from] as SimNode).id === reply.to &&
        'round' in asked &&
        asked.round === reply.message.round &&
        ((asked.type === 'vote_request' && reply.message.type === 'vote_response') ||
          (asked.type === 'heartbeat' && reply.message.type === 'heartbeat_response'));
      if (request !== null && matches) this.transmitReply(sn, request, reply.message);
      else this.note(sn.index, () => `reply with no open request, dropped: ${describeMessage(reply.message)}`);
    } else if (request !== null && request.message.type === 'handoff') {
      // A handoff has no reply body: the connection's empty answer closes it.
      this.transmitReply(sn, request, null);
    }
    const answer = result.switchover;
    if (answer !== null) this.note(sn.index, () => `switchover ${answer.status} ${'target' in answer ? answer.target : answer.reason}`);
    if (result.configChange !== null) this.changeAnswered(sn, result.configChange);
    this.afterStep(sn);
    return result;
  }

  /** send is the transport port: a request travels to `to`, and its deadline runs on the sender's clock. */
  private send(sn: SimNode, to: string, m: Message, timeoutMs: number): void {
    const target = this.byId.get(to);
    if (!target) {
      this.note(sn.index, `send to unknown member ${to}`);
      return;
    }
    const req: Request = { id: ++this.requestSeq, from: sn.index, fromInc: sn.incarnation, to: target.index, message: m, done: false };
    sn.outstanding.set(req.id, req);
    const localAt = this.localOf(sn) + timeoutMs;
    this.schedule({ kind: 'deadline', at: this.trueTimeOf(sn, localAt), seq: 0, req, localAt });
    if (this.network.refuses(sn.index, target.index)) {
      // A REJECT rule, a stale url or a proxy without a backend: refused at once.
      this.note(sn.index, () => `refused on the way to ${target.id}: ${describeMessage(m)}`);
      this.schedule({ kind: 'refused', at: this.now + this.network.delayMs(this.netRng), seq: 0, req });
      return;
    }
    if (!this.network.isUp(sn.index, target.index)) {
      this.lost(sn.index, m, target.index, 'partition');
      return;
    }
    if (this.netRng.chance(this.network.weather.dropRate)) {
      this.lost(sn.index, m, target.index, 'dropped');
      return;
    }
    this.schedule({ kind: 'request', at: this.now + this.network.delayMs(this.netRng), seq: 0, req });
    if (this.netRng.chance(this.network.weather.duplicateRate)) {
      this.stats.duplicated++;
      this.schedule({ kind: 'request', at: this.now + this.network.delayMs(this.netRng), seq: 0, req });
    }
    return;
  }

  private transmitReply(sn: SimNode, request: Request, m: Message | null): void {
    if (!this.network.isUp(sn.index, request.from)) {
      if (m) this.lost(sn.index, m, request.from, 'partition');
      return;
    }
    if (m && this.netRng.chance(this.network.weather.dropRate)) {
      this.lost(sn.index, m, request.from, 'dropped');
      return;
    }
    this.schedule({ kind: 'reply', at: this.now + this.network.delayMs(this.netRng), seq: 0, req: request, message: m });
  }

  private lost(from: number, m: Message, to: number, why: string): void {
    this.stats.lost++;
    const toId = (this.nodes[to] as SimNode).id;
    this.note(from, () => `lost (${why}) to ${toId}: ${describeMessage(m)}`);
  }

  /** afterStep: the checks a completed step allows, and the data store's reaction to the node's new state. */
  private afterStep(sn: SimNode): void {
    const node = sn.node as Node;
    this.checkers.termObserved(this.now, sn.id, node.term, 'step');
    if (node.holdsLease(this.localOf(sn))) {
      const others: string[] = [];
      for (const o of this.nodes) {
        if (o === sn) continue;
        if (o.node?.holdsLease(this.localOf(o))) others.push(o.id);
        else if (o.storeLeaseEnd > this.now) others.push(`${o.id}'s store`);
      }
      this.checkers.leaseHeld(this.now, sn.id, others);
      if (sn.isData && !sn.paused && sn.log.lastTerm < node.term) this.firstWrite(sn);
    }
    if (node.currentRole === 'primary') this.maybeAcknowledge(sn);
  }

  private save(sn: SimNode, state: HardState): void {
    sn.previousDurable = sn.durable;
    sn.durable = state;
  }

  /** load is what the store hands a restarting node: the real contract, or a broken store's version of it. */
  private load(sn: SimNode): HardState {
    switch (this.store) {
      case 'durable':
        return sn.durable ?? sn.initial;
      case 'forget_votes':
        return { ...(sn.durable ?? sn.initial), votedFor: null };
      case 'rollback':
        return sn.previousDurable ?? sn.initial;
    }
  }

  // ---- Crashes, restarts, pauses ------------------------------------------

  private boot(sn: SimNode): void {
    const hardState = this.load(sn);
    const opts: NodeOptions = {
      id: sn.id,
      hardState,
      timings: this.timings,
      joinClusterId: sn.joinClusterId,
      random: seededRandom(mixSeed(this.seed, sn.index, sn.incarnation)),
      now: this.localOf(sn),
    };
    sn.node = new this.NodeCtor(opts);
    sn.driver = new Driver(sn.node, this.ports(sn));
    const verb = sn.incarnation === 0 ? 'start' : 'restart';
    const cfg = hardState.config;
    this.note(
      sn.index,
      () =>
        `${verb} t${hardState.term} vote ${hardState.votedFor ?? '-'} wm ${formatPosition(hardState.commitWatermark)} config ${cfg ? `${cfg.term}/${cfg.version} ${cfg.clusterId} ${describeMembers(cfg)}` : `- (joining ${sn.joinClusterId})`}`,
    );
    this.checkers.termObserved(this.now, sn.id, sn.node.term, 'restart');
    this.step(sn, { type: 'tick', now: this.localOf(sn) }, null);
    if (sn.isData && sn.node !== null) this.reportPosition(sn);
  }

  private crash(sn: SimNode, why: string): void {
    const node = sn.node;
    if (node === null) return;
    sn.node = null;
    sn.driver?.halt();
    sn.driver = null;
    sn.incarnation++;
    sn.paused = false;
    sn.inbox = [];
    for (const req of sn.outstanding.values()) req.done = true;
    sn.outstanding.clear();
    sn.timerGen++;
    sn.positionPending = false;
    sn.crashAtNextPersist = false;
    this.stats.crashes++;
    this.note(sn.index, `crash ${why}`);
    // Followers that can reach its host see the closed port soon after.
    for (const f of this.nodes) {
      if (f !== sn && f.node !== null && f.node.knownPrimary === sn.id) {
        const at = this.now + this.rng.range(this.timings.heartbeatMs, 2 * this.timings.heartbeatMs);
        this.schedule({ kind: 'unreachable', at, seq: 0, node: f.index, inc: f.incarnation, primary: sn.index });
      }
    }
    if (!this.healed) {
      const downMs = this.rng.chance(0.3) ? this.rng.range(0, 30) : this.rng.range(30, 900);
      this.schedule({ kind: 'restart', at: this.now + downMs, seq: 0, node: sn.index, inc: sn.incarnation });
    }
  }

  private pause(sn: SimNode): void {
    if (sn.node === null || sn.paused) return;
    sn.paused = true;
    const pauseId = ++sn.pauseId;
    this.stats.pauses++;
    const ms = this.rng.range(10, 700);
    this.note(sn.index, `pause for ${ms.toFixed(1)} ms`);
    this.schedule({ kind: 'resume', at: this.now + ms, seq: 0, node: sn.index, pauseId });
  }

  private resume(sn: SimNode): void {
    sn.paused = false;
    const inbox = sn.inbox;
    sn.inbox = [];
    this.note(sn.index, `resume (${inbox.length} waiting)`);
    for (const ev of inbox) {
      this.dispatch(ev);
      if (this.stopped()) return;
    }
    // A primary that slept through its lease writes nothing now: afterStep asks holdsLease.
    if (sn.node !== null) this.afterStep(sn);
  }

  // ---- The data store -------------------------------------------------------

  private reportPosition(sn: SimNode): void {
    if (sn.positionPending || sn.node === null) return;
    sn.positionPending = true;
    this.schedule({ kind: 'position', at: this.now + this.dataRng.range(0.1, 2), seq: 0, node: sn.index, inc: sn.incarnation });
  }

  /** firstWrite: a new primary's data store writes a no-op in the new term before anything else. */
  private firstWrite(sn: SimNode): void {
    const node = sn.node as Node;
    this.checkers.primaryLog(this.now, sn.id, node.term, sn.log, 'first write');
    const e = sn.log.append(node.term, 0);
    this.note(sn.index, `no-op at ${e.term}/${e.lsn}`);
    this.reportPosition(sn);
  }

  /**
   * maybeAcknowledge: a primary's commit watermark of its own term covers the
   * whole prefix of its log below it, entries of earlier terms included, so
   * every entry up to it is acknowledged (once), in the primary's term.
   */
  private maybeAcknowledge(sn: SimNode): void {
    const node = sn.node as Node;
    const wm = node.hardState.commitWatermark;
    if (wm.term !== node.term) return;
    if (sn.ackedThrough.term !== node.term) sn.ackedThrough = { term: node.term, lsn: 0 };
    for (let lsn = sn.ackedThrough.lsn + 1; lsn <= wm.lsn; lsn++) {
      const e = sn.log.at(lsn);
      if (!e) break;
      if (e.writeId > 0) this.note(sn.index, () => `ack write #${e.writeId} at ${e.term}/${e.lsn} in term ${node.term} (wm ${formatPosition(wm)})`);
      this.checkers.writeAcknowledged(this.now, sn.id, node.term, e, wm);
      sn.ackedThrough = { term: node.term, lsn };
    }
  }

  private onWriteTick(): void {
    for (const sn of this.nodes) {
      const node = sn.node;
      if (!sn.isData || node === null || sn.paused || !node.holdsLease(this.localOf(sn))) continue;
      if (sn.log.lastTerm < node.term) this.firstWrite(sn);
      const e = sn.log.append(node.term, ++this.writeSeq);
      this.stats.writes++;
      this.note(sn.index, `write #${e.writeId} at ${e.term}/${e.lsn}`);
      this.reportPosition(sn);
    }
    this.schedule({ kind: 'write', at: this.now + this.writeEveryMs * this.dataRng.range(0.5, 1.5), seq: 0 });
  }

  /** onReplicate: a follower's data store copies from the primary it follows, in the same term, when the link allows. */
  private onReplicate(ev: Extract<SimEvent, { kind: 'replicate' }>): void {
    const sn = this.nodes[ev.node] as SimNode;
    this.schedule({ kind: 'replicate', at: this.now + sn.replEveryMs * this.dataRng.range(0.5, 1.5), seq: 0, node: sn.index });
    const node = sn.node;
    if (node === null || sn.paused) return;
    const primaryId = node.knownPrimary;
    if (primaryId === null || primaryId === sn.id) return;
    const src = this.byId.get(primaryId);
    if (!src || src.node === null || src.paused || src.node.currentRole !== 'primary' || src.node.term !== node.term) return;
    if (!this.network.bothUp(sn.index, src.index) || this.netRng.chance(this.network.weather.dropRate)) return;
    if (sn.log.copyFrom(src.log, sn.replBatch)) {
      const position = sn.log.position();
      this.note(sn.index, () => `replicated from ${src.id} to ${formatPosition(position)}`);
      this.reportPosition(sn);
    }
  }

  // ---- Faults and the heal -------------------------------------------------

  private currentPrimary(): SimNode | null {
    let best: SimNode | null = null;
    for (const sn of this.nodes) {
      if (sn.node !== null && sn.node.currentRole === 'primary' && (!best || sn.node.term > (best.node as Node).term)) best = sn;
    }
    return best;
  }

  private liveNodes(): SimNode[] {
    return this.nodes.filter((sn) => sn.node !== null && !sn.paused);
  }

  private onFault(): void {
    if (this.healed) return;
    const kind = this.rng.weighted(this.faultWeights);
    const primary = this.currentPrimary();
    const live = this.liveNodes();
    switch (kind) {
      case 'partition': {
        const pk = this.rng.pick(this.partitionKinds);
        const focus = primary && this.rng.chance(0.6) ? primary.index : -1;
        const words = this.network.partition(pk, this.rng, focus);
        const gen = ++this.partitionGen;
        this.stats.partitions++;
        this.note(-1, `partition: ${words}`);
        this.schedule({ kind: 'partition_end', at: this.now + this.rng.range(50, 1200), seq: 0, gen });
        break;
      }
      case 'crash':
      case 'crash_primary': {
        const target = kind === 'crash_primary' && primary ? primary : live.length > 0 ? this.rng.pick(live) : null;
        if (target) this.crash(target, 'between steps');
        break;
      }
      case 'crash_mid_persist': {
        if (live.length > 0) {
          const target = this.rng.pick(live);
          target.crashAtNextPersist = true;
          this.note(target.index, 'will crash during its next persist');
        }
        break;
      }
      case 'pause':
      case 'pause_primary': {
        const target = kind === 'pause_primary' && primary && !primary.paused ? primary : live.length > 0 ? this.rng.pick(live) : null;
        if (target) this.pause(target);
        break;
      }
      case 'weather': {
        const w: Weather = {
          dropRate: this.rng.pick([0.1, 0.3, 0.6]),
          duplicateRate: this.rng.pick([0, 0.1, 0.3]),
          delayMinMs: 0.1,
          delayMaxMs: this.rng.range(2, 30),
          longDelayRate: this.rng.pick([0, 0.1, 0.3]),
          longDelayMaxMs: this.rng.range(50, 400),
        };
        this.network.weather = w;
        const gen = ++this.weatherGen;
        this.note(
          -1,
          `weather: drop ${w.dropRate} dup ${w.duplicateRate} delay <${w.delayMaxMs.toFixed(0)}ms, ${w.longDelayRate} up to ${w.longDelayMaxMs.toFixed(0)}ms`,
        );
        this.schedule({ kind: 'weather_end', at: this.now + this.rng.range(50, 800), seq: 0, gen });
        break;
      }
      case 'switchover': {
        if (primary && !primary.paused) {
          const target = this.rng.chance(0.5) ? null : this.rng.pick(this.nodes).id;
          this.stats.switchovers++;
          this.note(primary.index, `operator asks for a switchover to ${target ?? 'the best member'}`);
          this.step(primary, { type: 'switchover', now: this.localOf(primary), target }, null);
        }
        break;
      }
      case 'member_change':
        this.memberChange(primary);
        break;
      case 'reject_cut':
        this.rejectCut(primary);
        break;
      case 'stale_url':
      case 'proxy_no_backend':
        this.startLie(kind, primary);
        break;
      case 'clock_drift': {
        const sn = this.rng.pick(this.nodes);
        const rate = this.drawRate(this.timings.clockDriftBound);
        // Keep the local clock continuous: only its rate changes from now on.
        sn.offset = sn.rate * this.now + sn.offset - rate * this.now;
        sn.rate = rate;
        this.note(sn.index, `clock rate now ${rate.toFixed(4)}`);
        break;
      }
    }
    this.schedule({ kind: 'fault', at: this.now + this.rng.range(this.faultGapMs[0], this.faultGapMs[1]), seq: 0 });
  }

  /**
   * rejectCut partitions the network as a partition fault does, but every cut
   * link refuses connections (a firewall REJECT rule). Each follower whose
   * link to the primary it follows now refuses sees its heartbeat connection
   * reset and the primary's port refuse, once, although the primary lives.
   */
  private rejectCut(primary: SimNode | null): void {
    const pk = this.rng.pick(this.partitionKinds);
    const focus = primary && this.rng.chance(0.6) ? primary.index : -1;
    const words = this.network.partition(pk, this.rng, focus);
    this.network.rejectBlocked();
    const gen = ++this.partitionGen;
    this.stats.partitions++;
    this.stats.rejectCuts++;
    this.note(-1, `REJECT cut: ${words}`);
    this.schedule({ kind: 'partition_end', at: this.now + this.rng.range(50, 1200), seq: 0, gen });
    const hb = this.timings.heartbeatMs;
    for (const f of this.nodes) {
      const p = f.node?.knownPrimary;
      const ps = p && p !== f.id ? this.byId.get(p) : undefined;
      if (!ps || ps.node === null || !this.network.refuses(f.index, ps.index)) continue;
      const at = this.now + this.lieRng.range(0.2, hb + 1);
      this.schedule({ kind: 'evidence', at, seq: 0, node: f.index, primary: ps.index, lie: 'reject_cut', fault: gen });
    }
  }

  /**
   * startLie: a stale url (one follower, now and then two, holds an old url
   * for the primary) or a proxy without a backend (every member reaches the
   * primary through it). Their connections to the primary are refused while
   * its heartbeats still reach them, until the fault ends.
   */
  private startLie(kind: 'stale_url' | 'proxy_no_backend', primary: SimNode | null): void {
    if (!primary) return;
    const others = this.nodes.filter((sn) => sn !== primary).map((sn) => sn.index);
    const followers = kind === 'proxy_no_backend' ? others : this.rng.shuffle(others).slice(0, this.rng.chance(0.3) ? 2 : 1);
    if (followers.length === 0) return;
    const fault = ++this.lieSeq;
    this.lies.set(fault, { kind, primary: primary.index, followers });
    for (const f of followers) this.network.misroute(f, primary.index, true);
    if (kind === 'stale_url') this.stats.staleUrls++;
    else this.stats.proxiesWithoutBackend++;
    const names = followers.map((f) => (this.nodes[f] as SimNode).id).join(',');
    this.note(
      -1,
      kind === 'stale_url' ? `stale url for ${primary.id} held by {${names}}` : `a proxy without a backend in front of ${primary.id} for {${names}}`,
    );
    this.schedule({ kind: 'lie_tick', at: this.now + this.lieRng.range(0, this.timings.heartbeatMs), seq: 0, fault });
    this.schedule({ kind: 'lie_end', at: this.now + this.rng.range(kind === 'stale_url' ? 100 : 50, 1000), seq: 0, fault });
  }

  /** endLie ends a stale url or a proxy without a backend: the followers' connections to the primary go through again. */
  private endLie(fault: number): void {
    const lie = this.lies.get(fault);
    if (!lie) return;
    this.lies.delete(fault);
    for (const f of lie.followers) this.network.misroute(f, lie.primary, false);
    const names = lie.followers.map((f) => (this.nodes[f] as SimNode).id).join(',');
    const primaryId = (this.nodes[lie.primary] as SimNode).id;
    this.note(-1, `${lie.kind === 'stale_url' ? 'stale url' : 'proxy without a backend'} for ${primaryId} fixed for {${names}}`);
  }

  /**
   * heal ends the faults. Either every node is restarted, resumed and
   * connected, or only a majority of voters that includes an electable data
   * member is, and the rest stay cut off (or down). A primary of the stable
   * set is then due within the liveness bound.
   */
  private heal(): void {
    this.healed = true;
    this.stats.healedAt = this.now;
    // With members changed by an operator, which majority must elect depends
    // on configurations still in flight; those runs heal every node.
    // A bare majority is promised to elect only on a configuration settled
    // past the bootstrap: every node of the cluster holds the same one, of a
    // term a primary stamped. A node still on the bootstrap configuration
    // (term 0) elects only after hearing every voter, and a configuration in
    // flight (a promotion, a rollback, an operator's change) decides which
    // majority counts; such runs heal every node.
    const choice = this.healMode === 'all' || (this.healMode === 'either' && this.rng.chance(0.6));
    const held = this.nodes
      .map((sn) => (sn.node?.hardState ?? sn.durable ?? sn.initial).config)
      .filter((c): c is ClusterConfig => c !== null && c.clusterId === this.config.clusterId);
    const settled = held.every((c) => c.term > 0 && compareConfigs(configPosition(c), configPosition(held[0]!)) === 0);
    const full = choice || this.membershipChanges || !settled;
    if (!full) this.stats.majorityHealed = 1;
    let stable: SimNode[];
    if (full) {
      stable = [...this.nodes];
      this.network.heal();
    } else {
      // The voters are those of the latest configuration of the cluster, not
      // the shape's: the primary promotes caught-up members by itself. Nodes
      // that speak another cluster id are no help to its majority.
      const latest = this.latestConfig();
      const memberOf = (sn: SimNode): Member | undefined => findMember(latest.members, sn.id);
      const votes = (sn: SimNode): boolean => {
        const m = memberOf(sn);
        return m !== undefined && isVoter(m);
      };
      const votersAll = this.rng.shuffle(this.nodes.filter((sn) => votes(sn) && !sn.mismatched));
      const q = quorumSize(latest.members.filter(isVoter).length);
      const chosen = votersAll.slice(0, q);
      if (!chosen.some((sn) => isElectable(memberOf(sn) as Member))) {
        const electable = votersAll.slice(q).filter((sn) => isElectable(memberOf(sn) as Member));
        chosen[chosen.length - 1] = this.rng.pick(electable);
      }
      const extras = this.nodes.filter((sn) => !votes(sn) && this.rng.chance(0.5));
      stable = [...chosen, ...extras];
      const inStable = new Set(stable);
      this.network.split([stable.map((sn) => sn.index), ...this.nodes.filter((sn) => !inStable.has(sn)).map((sn) => [sn.index])]);
    }
    this.network.weather = CALM;
    this.network.endMisroutes();
    this.lies.clear();
    for (const sn of this.nodes) sn.crashAtNextPersist = false;
    this.note(-1, () => `heal: ${full ? 'every node' : `only {${stable.map((sn) => sn.id).join(',')}}`} connected and stable; ${this.network.describe()}`);
    for (const sn of this.nodes) if (sn.paused) this.resume(sn);
    for (const sn of stable) if (sn.node === null) this.boot(sn);
    const boundMs = livenessBoundMs(this.timings);
    this.checkers.healed(this.now, boundMs, new Set(stable.map((sn) => sn.id)));
    this.schedule({ kind: 'liveness', at: this.now + boundMs, seq: 0 });
    this.endAt = this.now + boundMs + 1;
  }

  /** latestConfig: the cluster's configuration of the highest position any of its nodes holds, durably or live. */
  private latestConfig(): ClusterConfig {
    let latest = this.config;
    for (const sn of this.nodes) {
      const c = (sn.node?.hardState ?? sn.durable ?? sn.initial).config;
      if (c && c.clusterId === this.config.clusterId && compareConfigs(configPosition(c), configPosition(latest)) > 0) latest = c;
    }
    return latest;
  }

  // ---- Membership changes ------------------------------------------------------

  /**
   * memberChange is an operator's membership change, stepped on the node the
   * simulator sees as primary (if it is not, it refuses, as it should): an
   * add (a new process that joins, or one not listed now), a remove (now and
   * then of the primary itself, which must hand over first), a url change,
   * autoPromote turned off or on, or an explicit promotion.
   */
  private memberChange(primary: SimNode | null): void {
    const config = primary?.node?.config;
    if (!primary || primary.paused || !config) return;
    const members = config.members;
    const others = members.filter((m) => m.id !== primary.id);
    const catchingUp = members.filter((m) => m.state === 'catching_up');
    const op = this.rng.weighted({ add: 4, remove: 3, url: 1, auto_promote: 1, promote: catchingUp.length > 0 ? 1 : 0 });
    let change: ConfigChange | null = null;
    switch (op) {
      case 'add': {
        if (members.length >= MAX_SIM_MEMBERS) break;
        const unlisted = this.nodes.filter((sn) => !sn.mismatched && !findMember(members, sn.id));
        let sn: SimNode | null = null;
        if (unlisted.length > 0 && (this.nodes.length >= MAX_SIM_NODES || this.rng.chance(0.4))) sn = this.rng.pick(unlisted);
        else if (this.nodes.length < MAX_SIM_NODES) sn = this.startJoiner(this.rng.chance(0.3) ? 'witness' : 'data');
        if (sn === null) break;
        const member: Member = {
          id: sn.id,
          url: `http://${sn.id}`,
          kind: sn.kind,
          state: 'catching_up',
          ...(this.rng.chance(0.2) ? { autoPromote: false } : {}),
        };
        change = { op: 'put', member };
        break;
      }
      case 'remove': {
        if (members.length <= MIN_SIM_MEMBERS) break;
        const target = this.rng.chance(0.15) || others.length === 0 ? primary.id : this.rng.pick(others).id;
        change = { op: 'remove', id: target };
        break;
      }
      case 'url': {
        const m = this.rng.pick(members);
        change = { op: 'put', member: { ...m, url: `http://${m.id}-${++this.urlSeq}` } };
        break;
      }
      case 'auto_promote': {
        const m = this.rng.pick(catchingUp.length > 0 && this.rng.chance(0.7) ? catchingUp : members);
        change = { op: 'put', member: { ...m, autoPromote: m.autoPromote === false } };
        break;
      }
      case 'promote': {
        const m = this.rng.pick(catchingUp);
        change = { op: 'put', member: { ...m, state: 'voting' } };
        break;
      }
    }
    if (change === null) return;
    this.stats.memberChanges++;
    const words = change.op === 'remove' ? `remove ${change.id}` : `put ${describeMember(change.member)}`;
    this.note(primary.index, `operator asks for a membership change: ${words}`);
    this.step(primary, { type: 'config_change', now: this.localOf(primary), change }, null);
  }

  /** startJoiner starts a new process to join the cluster: no configuration yet, only the cluster id it may take one from. */
  private startJoiner(kind: MemberKind): SimNode {
    const id = `${kind === 'data' ? 'j' : 'x'}${++this.joinSeq}`;
    const index = this.network.add(id);
    const sn = this.makeNode(index, id, kind, null, this.config.clusterId);
    this.nodes.push(sn);
    this.stats.joiners++;
    this.note(sn.index, `clock rate ${sn.rate.toFixed(4)} offset ${sn.offset.toFixed(1)}`);
    this.boot(sn);
    if (sn.isData) this.schedule({ kind: 'replicate', at: this.now + this.dataRng.range(0, sn.replEveryMs), seq: 0, node: sn.index });
    return sn;
  }

  private changeAnswered(sn: SimNode, answer: ConfigChangeAnswer): void {
    if (answer.status === 'started') this.stats.changesStarted++;
    if (answer.status === 'refused') this.stats.changesRefused[answer.code] = (this.stats.changesRefused[answer.code] ?? 0) + 1;
    this.note(sn.index, () => {
      switch (answer.status) {
        case 'started':
          return `membership change started: version ${answer.version}`;
        case 'unchanged':
          return `membership change: already in force at ${answer.config.version}`;
        case 'refused':
          return `membership change refused: ${answer.code} (${answer.why})`;
      }
    });
  }

  // ---- Trace -----------------------------------------------------------------

  private note(node: number, detail: string | (() => string)): void {
    this.trace.add(this.now, node < 0 ? '-' : (this.nodes[node] as SimNode).id, detail);
  }
}

function describeMember(m: Member): string {
  return `${m.id}${m.kind === 'witness' ? '(w)' : ''}${m.state === 'catching_up' ? '(c)' : ''}${m.autoPromote === false ? '(manual)' : ''}@${m.url}`;
}

function describeMembers(c: ClusterConfig): string {
  return `{${c.members.map(describeMember).join(',')}}`;
}

/** runSeed runs one seed with the given options. */
export function runSeed(opts: SimOptions): RunResult {
  return new Simulation(opts).run();
}

/**
 * formatFailure is what a failing run prints: its seed, shape, the violation,
 * the command that replays it (null when the run used options the command line
 * cannot give, such as a broken variant), and the trace leading to it.
 */
export function formatFailure(r: RunResult, lines = 40, replay: string | null = `npm run sim -- --seed ${r.seed}`): string {
  const v = r.violations[0];
  const head = v
    ? `seed ${r.seed} (${r.shape.name}): ${v.checker} at ${v.at.toFixed(3)}${v.node ? ` on ${v.node}` : ''}: ${v.message}`
    : `seed ${r.seed} (${r.shape.name}): no violation`;
  return [head, ...(replay === null ? [] : [`replay: ${replay}`]), ...r.trace.slice(-lines)].join('\n');
}
