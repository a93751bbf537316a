// Node is one quorumd member's protocol state machine. It is pure: events go
// in through step(), effects come out, and the driver performs them in order.
// The answer to a request or a switchover command is an effect of its own
// (reply, switchover_answer), which the driver hands back to whoever asked.
// Time arrives with each event and randomness through an injected source, so a
// simulator can run many nodes in one process and replay any run exactly.
//
// Roles: a follower that hears no primary for its randomized election timeout
// becomes a precandidate and probes every other voter (dry run, no term bump).
// On a probe quorum it becomes a candidate: one persist of { term + 1,
// votedFor: self }, then a ballot to every voter at once. On a ballot quorum it
// becomes primary and sends heartbeats on an interval. It serves (holds a
// lease) only once it has waited out the longest lease an older primary could
// still hold, which it learns from its voters' grants, and then while
// quorum-acknowledged rounds keep renewing its own lease. It advances the
// commit watermark from the positions its voting data members report.
//
// Safety therefore rests on leases and clock-rate drift, never on evidence: a
// refused connection to the primary's port only makes a follower probe at
// once, and the probe is refused while its voters still hear the primary.
//
// The cluster configuration (cluster-config.ts) is part of the hard state and
// rides on every heartbeat. A new primary first stamps it with its own term
// and commits it (a majority of its voters acknowledge a round that carries
// it); only then does it take a membership change, one at a time, each
// committed before the next, and each promotion of a caught-up member is such
// a change too.

import { findMember, isElectable, isVoter, priorityOf, quorumSize, voters, watermarkHolders, type Member } from './membership.js';
import {
  applyChange,
  compareConfigs,
  configPosition,
  isPaused,
  validateConfig,
  type ClusterConfig,
  type ConfigChange,
  type ConfigPosition,
} from './cluster-config.js';
import { comparePositions, covers, type LogPosition } from './position.js';
import type { Heartbeat, HeartbeatResponse, Message, Refusal, VoteRequest, VoteResponse } from './messages.js';
import type { ConfigChangeAnswer, Effect, ElectionCause, ElectionOutcome, Event, HardState, Reply, Role, RoleChangeReason, VoterRefusal } from './events.js';
import { decideVote, type VoterView } from './vote.js';
import { tally } from './tally.js';
import { watermarkCandidate } from './watermark.js';
import { randomizedElectionTimeout } from './timeout.js';
import { leaseWaitMs, type Timings } from './timings.js';
import type { Random } from './random.js';
import { MAX_TERM } from './wire-types.js';

export interface NodeOptions {
  readonly id: string;
  readonly hardState: HardState;
  /** The timings used while the node holds no configuration (it joins); afterwards the configuration's. */
  readonly timings: Timings;
  /** A joining node takes the first configuration only from this cluster; null takes any that lists it. */
  readonly joinClusterId?: string | null;
  readonly random: Random;
  /** The time the node starts, on its own clock. */
  readonly now: number;
}

/** InvariantViolation means the protocol itself is broken; never caught. */
export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

interface ElectionRound {
  readonly round: number;
  readonly phase: 'probe' | 'ballot';
  readonly term: number;
  readonly handoff: boolean;
  readonly deadline: number;
  readonly voterIds: readonly string[];
  readonly quorum: number;
  readonly granted: Set<string>;
  /** Each voter that refused, with its reason (null: no usable answer), kept for the round's outcome. */
  readonly refused: Map<string, Refusal | null>;
  /** When the round was sent: granted ballots are the new primary's first lease round. */
  readonly sentAt: number;
  /** Why the attempt (its probe, then its ballot) began, and when. */
  readonly attempt: Attempt;
  /** A ballot's: when the winner may serve, the latest end of an older lease its grants report. */
  servesFrom: number;
}

/** An election attempt: why it began and when (its probe; a handoff's ballot). */
interface Attempt {
  readonly cause: ElectionCause;
  readonly startedAt: number;
}

interface HeartbeatRound {
  readonly sentAt: number;
  /** The configuration the round carried; its acknowledgements commit it. */
  readonly config: ConfigPosition;
  readonly acks: Set<string>;
}

/** A membership change under way: its configuration's version, and when it is given up. */
interface PendingChange {
  readonly version: number;
  readonly deadline: number;
  /** The members before the change, and whether failover was paused, restored if it times out. */
  readonly previous: readonly Member[];
  readonly previousPaused: boolean;
  /** A rollback is never rolled back in turn, nor a change left to the step-down. */
  readonly rollback: boolean;
}

/** What a node last knew of another member. */
export interface PeerContact {
  readonly lastContactAt: number;
  readonly position: LogPosition | null;
}

/** A switchover under way: the primary is making `target` the next primary. */
interface Switchover {
  readonly target: string;
  readonly deadline: number;
  /** The heartbeat round that first named the target, once the target caught up. */
  announcedRound: number | null;
  /** Whether a quorum, the target among it, acknowledged a round that names the target: it may be handed over. */
  named: boolean;
}

interface PrimaryState {
  readonly since: number;
  /** When this primary may start to serve: every older primary's lease has ended by then. */
  readonly servesFrom: number;
  /** Whether it has reached servesFrom (and said so with a serving effect). */
  serving: boolean;
  leaseExpiry: number;
  /**
   * The end of the latest lease given to this node's data store: every
   * answer to its position report carries the lease (src/runtime/lease-report.ts),
   * and the store may serve until then even after the switchover began.
   */
  storeLeaseUntil: number;
  /** The send time of the latest round a majority acknowledged (or since): it steps down an election timeout after. */
  lastQuorumAt: number;
  nextHeartbeatAt: number;
  readonly rounds: Map<number, HeartbeatRound>;
  switchover: Switchover | null;
  /** Whether the configuration this primary holds now is committed. */
  configCommitted: boolean;
  change: PendingChange | null;
  /** Members are promoted by the primary only on an answer after this time (the last rollback). */
  promoteAfter: number;
  /**
   * Members the last change removed, with their urls: they are sent the
   * configuration that removes them until one answers, so they learn it.
   */
  readonly departed: Map<string, string>;
}

export class Node {
  readonly id: string;
  private readonly bootstrapTimings: Timings;
  private readonly joinClusterId: string | null;
  private readonly random: Random;
  private hard: HardState;

  private role: Role = 'follower';
  private primaryId: string | null = null;
  private position: LogPosition | null = null;
  /** When this node last accepted a heartbeat from primaryId (or started). */
  private lastHeartbeatAt: number;
  /**
   * When this node last acknowledged a primary that may still serve: it
   * accepted its heartbeat, granted its ballot, or started (which stands for
   * whatever it acknowledged before a restart). Its grants report how long
   * ago that was, so that the winner waits out that primary's lease.
   */
  private lastAckAt: number;
  /**
   * When the runtime saw primaryId's port refuse a connection, or null. It is
   * evidence, not proof (a firewall REJECT or a stale url refuses too): the
   * node probes at once and retries quickly for one election timeout, and
   * its voters refuse the probes while they still hear the primary.
   */
  private goneAt: number | null = null;
  private handoffCandidate: string | null = null;
  /** An operator told this node to resume automatic failover while no primary was known; cleared once one is. */
  private resuming = false;
  /** The follower the primary named to stand first if it dies. */
  private heir: string | null = null;
  private electionDeadline: number;
  private roundSeq = 0;
  private election: ElectionRound | null = null;
  private primary: PrimaryState | null = null;
  private readonly contacts = new Map<string, PeerContact>();
  /**
   * The voters heard speaking this node's cluster id (a vote request, or a
   * reply that is not wrong_cluster). On a bootstrap configuration (term 0:
   * no primary ever stamped it) a probe wins only once every voter has been
   * heard: nodes started with different member lists or timings have
   * different cluster ids, and were a majority of each list enough, each side
   * could elect its own primary (two of {A, B, C} while C, D, E hold
   * {A..E}). So a new cluster waits for every initial member once, as
   * Consul's bootstrap_expect does, and a mismatched one elects nobody and
   * says why (wrong_cluster). From the first primary on, a majority decides.
   */
  private readonly heard = new Set<string>();

  private out: Effect[] = [];
  private dirty = false;
  private timerAt = -1;
  private emitted: { role: Role; term: number; primaryId: string | null };
  /** Why the view (role, term, primary) changed in this step, for the role effect. */
  private pendingReason: RoleChangeReason = 'start';

  constructor(opts: NodeOptions) {
    this.id = opts.id;
    this.bootstrapTimings = opts.timings;
    this.joinClusterId = opts.joinClusterId ?? null;
    this.random = opts.random;
    this.hard = opts.hardState;
    // A node that just started cannot know whether a primary is alive, so it
    // stays loyal to an unknown primary for one lease, and its grants count
    // its start as its last acknowledgement.
    this.lastHeartbeatAt = opts.now;
    this.lastAckAt = opts.now;
    this.electionDeadline = opts.now + this.randomTimeout();
    this.emitted = { role: this.role, term: this.hard.term, primaryId: null };
  }

  // ---- Read-only views ------------------------------------------------------

  get hardState(): HardState {
    return this.hard;
  }
  get currentRole(): Role {
    return this.role;
  }
  get term(): number {
    return this.hard.term;
  }
  get knownPrimary(): string | null {
    return this.primaryId;
  }
  get logPosition(): LogPosition | null {
    return this.position;
  }
  /** The timings of the configuration, or the bootstrap ones while the node holds none. */
  get timings(): Timings {
    return this.hard.config?.timings ?? this.bootstrapTimings;
  }
  get config(): ClusterConfig | null {
    return this.hard.config;
  }
  /** The members of the configuration; none while the node holds no configuration. */
  get members(): readonly Member[] {
    return this.hard.config?.members ?? [];
  }
  get self(): Member | undefined {
    return findMember(this.members, this.id);
  }
  /** Whether this primary's configuration is committed; null if not primary. */
  get configCommitted(): boolean | null {
    return this.primary ? this.primary.configCommitted : null;
  }
  /** The version of the change this primary has under way, or null. */
  get pendingChange(): number | null {
    return this.primary?.change?.version ?? null;
  }
  /** The url of a member, or of one the last change removed (so it can be told). */
  urlOf(id: string): string | null {
    return findMember(this.members, id)?.url ?? this.primary?.departed.get(id) ?? null;
  }
  /** The lease expiry of a primary (0 while it waits out older leases or hands over), or null if this node is not primary. */
  get leaseExpiry(): number | null {
    const p = this.primary;
    if (!p) return null;
    return p.switchover || !p.serving ? 0 : p.leaseExpiry;
  }
  /** holdsLease: a primary may act as primary only while this is true. */
  holdsLease(now: number): boolean {
    const lease = this.leaseExpiry;
    return this.role === 'primary' && lease !== null && now < lease;
  }
  /** hearsPrimary: whether this node is the primary, or heard one within an election timeout. */
  hearsPrimary(now: number): boolean {
    if (this.role === 'primary') return true;
    return this.primaryId !== null && now - this.lastHeartbeatAt < this.timings.electionTimeoutMs;
  }
  /** The time of the last heartbeat accepted from the current primary. */
  get lastHeartbeat(): number | null {
    return this.primaryId && this.primaryId !== this.id ? this.lastHeartbeatAt : null;
  }
  contactOf(id: string): PeerContact | undefined {
    return this.contacts.get(id);
  }
  get nextTimer(): number {
    return this.timerAt;
  }

  // ---- Stepping ------------------------------------------------------------

  step(ev: Event): Effect[] {
    this.out = [];
    this.dirty = false;
    // A view change with no explicit transition is a term learned from a reply.
    this.pendingReason = 'higher_term';
    switch (ev.type) {
      case 'start':
        this.begin(ev.now);
        break;
      case 'tick':
        this.tick(ev.now);
        break;
      case 'message':
        this.receive(ev.now, ev.message);
        break;
      case 'undeliverable':
        this.undeliverable(ev.now, ev.to, ev.message);
        break;
      case 'position':
        this.reportPosition(ev.now, ev.position);
        break;
      case 'primary_unreachable':
        this.primaryUnreachable(ev.now, ev.primaryId);
        break;
      case 'switchover':
        this.switchover(ev.now, ev.target);
        break;
      case 'config_change':
        this.changeConfig(ev.now, ev.change);
        break;
      case 'resume':
        this.resume(ev.now);
        break;
    }
    this.emitView();
    this.scheduleTimer();
    const effects = this.out;
    this.out = [];
    return this.dirty ? [{ type: 'persist', state: this.hard }, ...effects] : effects;
  }

  /**
   * begin: the node starts to answer. Until now it could hear nothing, so its
   * loyalty to an unknown primary and its first election deadline start here.
   */
  private begin(now: number): void {
    if (this.role !== 'follower' || this.primaryId !== null) return;
    this.lastHeartbeatAt = now;
    this.lastAckAt = now;
    this.electionDeadline = now + this.randomTimeout();
  }

  private tick(now: number): void {
    switch (this.role) {
      case 'follower':
        if (now >= this.electionDeadline) this.startElection(now, false);
        break;
      case 'precandidate':
      case 'candidate': {
        const e = this.election;
        if (e && now >= e.deadline) this.becomeFollower(now, null, 'election_ended', 'timed_out');
        break;
      }
      case 'primary':
        this.tickPrimary(now);
        break;
    }
  }

  private receive(now: number, m: Message): void {
    // The HTTP layer refuses terms above MAX_TERM; should one reach the core
    // anyway, it is refused or ignored here and changes nothing.
    if (!withinTermSpace(m)) {
      if (m.type === 'vote_request') this.refuseOutOfRange(m);
      else if (m.type === 'heartbeat') this.replyHeartbeat(m, false);
      return;
    }
    // A message of another cluster changes nothing here; a vote request is
    // refused with the reason (vote.ts), a heartbeat is answered unsuccessful.
    const own = this.hard.config?.clusterId ?? null;
    if (m.type === 'heartbeat' && own !== null && m.config.clusterId !== own) return this.replyHeartbeat(m, false);
    if (m.type === 'handoff' && m.clusterId !== own) return;
    switch (m.type) {
      case 'vote_request':
        return this.onVoteRequest(now, m);
      case 'vote_response':
        return this.onVoteResponse(now, m);
      case 'heartbeat':
        return this.onHeartbeat(now, m);
      case 'heartbeat_response':
        return this.onHeartbeatResponse(now, m);
      case 'handoff':
        if (m.term === this.hard.term && m.primaryId === this.primaryId && this.role === 'follower') {
          this.startElection(now, true);
        }
        return;
    }
  }

  // ---- Voter ---------------------------------------------------------------

  voterView(now: number): VoterView {
    const self = this.self;
    let livePrimary: VoterView['livePrimary'] = null;
    if (this.role === 'primary') {
      livePrimary = { id: this.id, agoMs: 0 };
    } else if (now - this.lastHeartbeatAt < this.timings.leaseMs) {
      livePrimary = { id: this.primaryId, agoMs: now - this.lastHeartbeatAt };
    }
    return {
      id: this.id,
      term: this.hard.term,
      votedFor: this.hard.votedFor,
      commitWatermark: this.hard.commitWatermark,
      clusterId: this.hard.config?.clusterId ?? null,
      config: this.hard.config ? configPosition(this.hard.config) : null,
      members: this.members,
      kind: self?.kind ?? 'data',
      position: this.position,
      paused: isPaused(this.hard.config),
      livePrimary,
      handoffCandidate: this.handoffCandidate,
    };
  }

  private onVoteRequest(now: number, req: VoteRequest): void {
    if (req.clusterId === this.hard.config?.clusterId) this.heard.add(req.candidateId);
    const decision = decideVote(this.voterView(now), req);
    const lastAckAgoMs = now - this.lastAckAt;
    if (decision.granted && !req.dryRun) {
      // A grant is an acknowledgement too: should this candidate win, it
      // serves from this ballot on, and a later winner waits that out.
      this.lastAckAt = now;
      if (req.term !== this.hard.term || this.hard.votedFor !== req.candidateId) {
        // A newer term has no known primary yet: the old term's must not be reported for it.
        if (req.term > this.hard.term) this.primaryId = null;
        this.setHard({ term: req.term, votedFor: req.candidateId });
      }
      this.pendingReason = 'voted';
      if (this.role !== 'follower') this.becomeFollower(now, null, 'voted');
      this.resetElectionTimer(now);
    }
    const reply: VoteResponse = {
      type: 'vote_response',
      round: req.round,
      voterId: this.id,
      term: this.hard.term,
      granted: decision.granted,
      dryRun: req.dryRun,
      ...(decision.granted ? { lastAckAgoMs } : { reason: decision.reason }),
      // A candidate behind this voter's configuration is sent it with any
      // refusal, so that it catches up instead of standing on an old list.
      ...(!decision.granted && this.hard.config && compareConfigs(configPosition(this.hard.config), req.config) > 0 ? { config: this.hard.config } : {}),
    };
    this.reply(req.candidateId, reply);
  }

  /**
   * refuseOutOfRange refuses a vote request that carries a term above
   * MAX_TERM. None of the refusal codes describes it, so the refusal has no
   * reason; the reply carries the voter's term, which is unchanged.
   */
  private refuseOutOfRange(req: VoteRequest): void {
    this.reply(req.candidateId, {
      type: 'vote_response',
      round: req.round,
      voterId: this.id,
      term: this.hard.term,
      granted: false,
      dryRun: req.dryRun,
    });
  }

  // ---- Candidate -----------------------------------------------------------

  /** electability says why this node may not stand, or null if it may. */
  electability(): string | null {
    const self = this.self;
    if (!this.hard.config) return 'it holds no configuration yet (it joins, and waits to hear the primary)';
    if (!self) return 'it is not a member of the configuration (removed, or not yet added)';
    if (self.kind !== 'data') return 'a witness never stands';
    if (priorityOf(self) === 0) return 'its failover priority is 0: it never stands';
    if (!isElectable(self)) return 'a catching-up member never stands';
    if (!this.position) return 'its log position is not known yet';
    if (!covers(this.position, this.hard.commitWatermark)) return 'its log does not cover the commit watermark';
    // Standing means term + 1; past MAX_TERM no peer would take the request.
    if (this.hard.term >= MAX_TERM) return 'the term space is exhausted';
    return null;
  }

  private startElection(now: number, handoff: boolean): void {
    // Maintenance mode: nobody stands by itself; a handoff is a planned switchover and goes on.
    const why = !handoff && !this.resuming && isPaused(this.hard.config) ? 'automatic failover is paused (maintenance mode)' : this.electability();
    if (why !== null) {
      this.out.push({ type: 'election', outcome: { kind: 'not_electable', term: this.hard.term, why } });
      this.resetElectionTimer(now);
      return;
    }
    const deadline = now + this.randomTimeout();
    const evidence = this.goneAt !== null && now - this.goneAt < this.timings.electionTimeoutMs;
    const attempt: Attempt = { cause: handoff ? 'handoff' : this.resuming ? 'resume' : evidence ? 'evidence' : 'timeout', startedAt: now };
    if (handoff) this.becomeCandidate(now, deadline, true, attempt);
    else this.beginRound(now, 'probe', this.hard.term + 1, deadline, false, attempt);
  }

  private beginRound(now: number, phase: 'probe' | 'ballot', term: number, deadline: number, handoff: boolean, attempt: Attempt): void {
    const config = this.hard.config!;
    const voterIds = voters(config.members).map((m) => m.id);
    const e: ElectionRound = {
      round: ++this.roundSeq,
      phase,
      term,
      handoff,
      deadline,
      voterIds,
      quorum: quorumSize(voterIds.length),
      granted: new Set([this.id]),
      refused: new Map(),
      sentAt: now,
      attempt,
      // By handoff, its primary stopped serving before it sent the handoff,
      // and had waited out every older lease before it served, so there is
      // nothing to wait for: this ballot's term is the next after its own.
      servesFrom: handoff ? now : now + leaseWaitMs(this.timings, now - this.lastAckAt),
    };
    if (phase === 'ballot') this.lastAckAt = now;
    this.election = e;
    this.role = phase === 'probe' ? 'precandidate' : 'candidate';
    this.primaryId = null;
    this.pendingReason = 'election_started';
    const pos = this.position!;
    for (const id of voterIds) {
      if (id === this.id) continue;
      const req: VoteRequest = {
        type: 'vote_request',
        round: e.round,
        clusterId: config.clusterId,
        candidateId: this.id,
        config: configPosition(config),
        term,
        lastLogTerm: pos.term,
        lastLogLsn: pos.lsn,
        dryRun: phase === 'probe',
        ...(handoff ? { handoff: true } : {}),
        ...(this.resuming ? { resume: true } : {}),
      };
      this.send(id, req, Math.max(1, deadline - now));
    }
    this.maybeDecide(now);
  }

  private becomeCandidate(now: number, deadline: number, handoff: boolean, attempt: Attempt): void {
    const term = this.hard.term + 1;
    this.setHard({ term, votedFor: this.id });
    this.beginRound(now, 'ballot', term, deadline, handoff, attempt);
  }

  private onVoteResponse(now: number, r: VoteResponse): void {
    // A refusal for being behind carries the voter's configuration, late or not.
    if (!r.granted && r.config) this.catchUpConfig(r.config);
    if (r.granted || r.reason?.code !== 'wrong_cluster') this.heard.add(r.voterId);
    const e = this.election;
    if (!e || r.round !== e.round || r.dryRun !== (e.phase === 'probe') || !e.voterIds.includes(r.voterId)) return;
    // A ballot grant counts only in the term it was given for: round numbers
    // restart with the process, so a delayed grant to an earlier incarnation's
    // ballot can carry this round's number.
    if (r.granted && e.phase === 'ballot' && r.term !== e.term) return;
    if (!r.granted && r.term > this.hard.term) {
      this.setHard({ term: r.term, votedFor: null });
      this.becomeFollower(now, null, 'higher_term');
      return;
    }
    if (r.granted) e.granted.add(r.voterId);
    else e.refused.set(r.voterId, r.reason ?? null);
    if (r.granted && e.phase === 'ballot' && !e.handoff) {
      e.servesFrom = Math.max(e.servesFrom, now + leaseWaitMs(this.timings, r.lastAckAgoMs ?? 0));
    }
    this.maybeDecide(now);
  }

  private undeliverable(now: number, to: string, m: Message): void {
    const e = this.election;
    if (m.type === 'vote_request' && e && m.round === e.round && !e.granted.has(to)) {
      e.refused.set(to, null);
      this.maybeDecide(now);
    }
  }

  private maybeDecide(now: number): void {
    const e = this.election!;
    let result = tally(e.granted.size, e.refused.size, e.voterIds.length, e.quorum);
    if (result === 'won' && e.phase === 'probe' && this.hard.config?.term === 0 && !e.voterIds.every((id) => id === this.id || this.heard.has(id))) {
      // A bootstrap probe waits for every voter to have been heard (see heard).
      result = e.granted.size + e.refused.size === e.voterIds.length ? 'lost' : 'pending';
    }
    if (result === 'pending') return;
    if (result === 'lost') {
      this.becomeFollower(now, null, 'election_ended');
    } else if (e.phase === 'probe') {
      this.out.push({ type: 'abort', round: e.round });
      this.becomeCandidate(now, e.deadline, e.handoff, e.attempt);
    } else {
      this.out.push({ type: 'abort', round: e.round });
      this.out.push({
        type: 'election',
        outcome: {
          kind: 'elected',
          term: e.term,
          votes: e.granted.size,
          needed: e.quorum,
          refusals: refusalsOf(e),
          cause: e.attempt.cause,
          durationMs: now - e.attempt.startedAt,
          position: this.position,
        },
      });
      this.becomePrimary(now, e);
    }
  }

  // ---- Follower ------------------------------------------------------------

  /**
   * becomeFollower closes any open election round with its outcome (a probe
   * that ends early failed, a ballot that ends early is lost, unless the round
   * ran out of time) and follows primaryId, or nobody yet.
   */
  private becomeFollower(now: number, primaryId: string | null, reason: RoleChangeReason, kind: 'timed_out' | null = null): void {
    const e = this.election;
    const change = this.primary?.change;
    if (change) this.out.push({ type: 'config_change_failed', version: change.version, why: 'stepped_down' });
    if (e) {
      this.out.push({ type: 'abort', round: e.round });
      const outcome: ElectionOutcome = {
        kind: kind ?? (e.phase === 'probe' ? 'probe_failed' : 'lost'),
        term: e.term,
        votes: e.granted.size,
        needed: e.quorum,
        refusals: refusalsOf(e),
      };
      this.out.push({ type: 'election', outcome });
    }
    this.role = 'follower';
    this.primaryId = primaryId;
    this.election = null;
    this.primary = null;
    this.pendingReason = reason;
    this.resetElectionTimer(now);
  }

  private onHeartbeat(now: number, hb: Heartbeat): void {
    if (hb.term < this.hard.term) {
      this.replyHeartbeat(hb, false);
      return;
    }
    // A primary stamps its configuration with its own term when elected and
    // only ever adds versions to it, so an honest heartbeat carries a
    // configuration of its own term, at or after the one this node holds.
    // The sender is judged by the later of the two configurations: it may
    // have been promoted in one this node has not heard yet.
    const own = this.hard.config;
    const order = own === null ? (this.mayJoin(hb.config) ? 1 : -1) : compareConfigs(configPosition(hb.config), configPosition(own));
    const later = order > 0;
    if (hb.config.term !== hb.term || order < 0 || (later && validateConfig(hb.config).length > 0)) {
      this.replyHeartbeat(hb, false);
      return;
    }
    // A term has one primary. A heartbeat that names another for a term whose
    // primary this node already knows (itself included), or that comes from a
    // member that may not lead, is forged or broken: refused, never followed.
    const sender = findMember((later ? hb.config : own!).members, hb.primaryId);
    const rival = hb.term === this.hard.term && this.primaryId !== null && this.primaryId !== hb.primaryId;
    if (!sender || !isElectable(sender) || rival) {
      this.replyHeartbeat(hb, false);
      return;
    }
    if (hb.term > this.hard.term) this.setHard({ term: hb.term, votedFor: null });
    if (this.role !== 'follower' || this.primaryId !== hb.primaryId) this.becomeFollower(now, hb.primaryId, 'heartbeat');
    this.lastHeartbeatAt = now;
    this.lastAckAt = now;
    this.goneAt = null;
    this.resuming = false;
    this.handoffCandidate = hb.handoffTo ?? null;
    this.heir = hb.heir ?? null;
    this.contacts.set(hb.primaryId, { lastContactAt: now, position: this.contacts.get(hb.primaryId)?.position ?? null });
    this.resetElectionTimer(now);
    if (comparePositions(hb.commitWatermark, this.hard.commitWatermark) > 0) {
      this.setHard({ commitWatermark: hb.commitWatermark });
    }
    if (later) this.setHard({ config: hb.config });
    this.replyHeartbeat(hb, true);
  }

  /**
   * catchUpConfig takes a later configuration of its own cluster that a voter
   * sent with a refusal. Every configuration that exists was
   * written by a primary, and positions only move forward, so this is the
   * same as hearing that primary late; the next attempt stands on it.
   */
  private catchUpConfig(config: ClusterConfig): void {
    const own = this.hard.config;
    if (!own || config.clusterId !== own.clusterId || compareConfigs(configPosition(config), configPosition(own)) <= 0) return;
    if (validateConfig(config).length > 0) return;
    this.setHard({ config });
  }

  /** mayJoin: a node with no configuration takes the first one that lists it, of the cluster it was told to join. */
  private mayJoin(config: ClusterConfig): boolean {
    return (this.joinClusterId === null || config.clusterId === this.joinClusterId) && findMember(config.members, this.id) !== undefined;
  }

  private replyHeartbeat(hb: Heartbeat, success: boolean): void {
    const reply: HeartbeatResponse = {
      type: 'heartbeat_response',
      round: hb.round,
      memberId: this.id,
      term: this.hard.term,
      success,
      position: this.self?.kind === 'witness' ? null : this.position,
      config: this.hard.config ? configPosition(this.hard.config) : null,
    };
    this.reply(hb.primaryId, reply);
  }

  private primaryUnreachable(now: number, primaryId: string): void {
    if (this.role !== 'follower' || this.primaryId !== primaryId || this.goneAt !== null) return;
    this.goneAt = now;
    // Every follower sees the evidence within a few milliseconds of the others.
    // The heir the primary named stands after a third of a heartbeat interval
    // and retries within one until its voters' loyalty (a lease) runs out; the
    // others hold back until a lease and two intervals have passed, time for
    // the heir to win, so they do not split the vote.
    this.electionDeadline = Math.min(this.electionDeadline, now + this.evidenceDelay(true));
  }

  /** resume: an operator resumes failover on a node that hears no primary; it stands now. */
  private resume(now: number): void {
    if (this.role !== 'follower' || this.hearsPrimary(now)) return;
    this.resuming = true;
    this.startElection(now, false);
  }

  private reportPosition(now: number, position: LogPosition): void {
    this.position = position;
    if (this.role === 'primary') {
      const lease = this.leaseExpiry!;
      if (now < lease) this.primary!.storeLeaseUntil = Math.max(this.primary!.storeLeaseUntil, lease);
      this.maybeAdvanceWatermark();
      this.maybeAnnounceTarget(now);
    }
  }

  // ---- Primary -------------------------------------------------------------

  private becomePrimary(now: number, won: ElectionRound): void {
    this.role = 'primary';
    this.primaryId = this.id;
    this.election = null;
    this.handoffCandidate = null;
    this.contacts.clear();
    // The configuration is stamped with this term, so that it orders after
    // any another primary of an earlier term wrote and never committed; it
    // is committed once a majority of its voters acknowledge a round.
    // An operator's resume is written in the same stamp.
    const { paused, ...config } = this.hard.config!;
    this.setHard({ config: { ...config, term: this.hard.term, ...(paused && !this.resuming ? { paused } : {}) } });
    this.resuming = false;
    this.primary = {
      since: now,
      servesFrom: won.servesFrom,
      serving: false,
      // The granted ballots were a majority acknowledging this node as of their send time.
      leaseExpiry: won.sentAt + this.timings.leaseMs,
      storeLeaseUntil: Number.NEGATIVE_INFINITY,
      lastQuorumAt: won.sentAt,
      nextHeartbeatAt: now,
      rounds: new Map(),
      switchover: null,
      configCommitted: false,
      change: null,
      promoteAfter: Number.NEGATIVE_INFINITY,
      departed: new Map(),
    };
    this.pendingReason = 'elected';
    this.sendHeartbeats(now);
    this.maybeServe(now);
  }

  /**
   * maybeServe: once every older lease has ended, the primary serves. The
   * serving effect is when the runtime runs its hook; until then /primary
   * does not answer 200 and the watermark does not move.
   */
  private maybeServe(now: number): void {
    const p = this.primary;
    if (!p || p.serving || now < p.servesFrom || this.role !== 'primary') return;
    p.serving = true;
    this.out.push({ type: 'serving', term: this.hard.term });
    this.maybeAdvanceWatermark();
    this.maybeAnnounceTarget(now);
  }

  private tickPrimary(now: number): void {
    const p = this.primary!;
    if (p.change && now >= this.rollbackAt(p, p.change)) this.rollBack(now, p.change);
    if (this.role !== 'primary') return;
    this.maybeHandOff(now);
    if (this.role !== 'primary') return;
    if (p.switchover && now >= p.switchover.deadline) {
      this.out.push({ type: 'switchover_abandoned', target: p.switchover.target });
      p.switchover = null;
    }
    if (now >= this.stepDownAt(p)) {
      this.becomeFollower(now, null, 'quorum_lost');
      return;
    }
    this.maybeServe(now);
    if (now >= p.nextHeartbeatAt) this.sendHeartbeats(now);
  }

  /**
   * stepDownAt: a primary that no majority acknowledged for an election
   * timeout steps down. Its lease lapsed long before, so it served nothing
   * since; staying primary that long lets a primary that was only paused (a
   * CPU limit, a garbage collection) take up its lease again with no election.
   */
  private stepDownAt(p: PrimaryState): number {
    return p.lastQuorumAt + this.timings.electionTimeoutMs;
  }

  private sendHeartbeats(now: number): void {
    const p = this.primary!;
    const round = ++this.roundSeq;
    const config = this.hard.config!;
    p.rounds.set(round, { sentAt: now, config: configPosition(config), acks: new Set([this.id]) });
    for (const [r, hb] of p.rounds) if (hb.sentAt < now - 2 * this.timings.electionTimeoutMs) p.rounds.delete(r);
    p.nextHeartbeatAt = now + this.timings.heartbeatMs;
    const heir = this.chooseHeir(now);
    const hb: Heartbeat = {
      type: 'heartbeat',
      round,
      term: this.hard.term,
      primaryId: this.id,
      commitWatermark: this.hard.commitWatermark,
      config,
      ...(p.switchover && p.switchover.announcedRound !== null ? { handoffTo: p.switchover.target } : {}),
      ...(heir ? { heir } : {}),
    };
    for (const m of config.members) {
      if (m.id !== this.id) this.send(m.id, hb, this.timings.electionTimeoutMs);
    }
    for (const id of p.departed.keys()) this.send(id, hb, this.timings.electionTimeoutMs);
    this.maybeRenewLease(now, round);
  }

  /**
   * chooseHeir names the electable follower heard from lately that holds the
   * commit watermark, by failover priority first, then position.
   */
  private chooseHeir(now: number): string | null {
    let best: { member: Member; position: LogPosition } | null = null;
    for (const m of this.members) {
      const c = this.contacts.get(m.id);
      if (m.id === this.id || !isElectable(m) || !c?.position || now - c.lastContactAt >= this.timings.electionTimeoutMs) continue;
      if (!covers(c.position, this.hard.commitWatermark)) continue;
      if (!best || preferred({ member: m, position: c.position }, best)) best = { member: m, position: c.position };
    }
    return best?.member.id ?? null;
  }

  private onHeartbeatResponse(now: number, r: HeartbeatResponse): void {
    if (r.term > this.hard.term) {
      this.setHard({ term: r.term, votedFor: null });
      // The primary it knew led an older term; nobody is known for this one.
      if (this.role === 'primary') this.becomeFollower(now, null, 'higher_term');
      else this.primaryId = null;
      return;
    }
    const p = this.primary;
    if (!p || r.term !== this.hard.term || !r.success) return;
    // A removed member that answered has learnt it; nothing else of it counts.
    if (p.departed.delete(r.memberId) || !findMember(this.members, r.memberId)) return;
    this.contacts.set(r.memberId, { lastContactAt: now, position: r.position });
    p.rounds.get(r.round)?.acks.add(r.memberId);
    this.maybeRenewLease(now, r.round);
    if (this.role !== 'primary') return;
    this.maybeAdvanceWatermark();
    this.maybeAnnounceTarget(now);
    this.maybePromote(now);
  }

  private maybeRenewLease(now: number, round: number): void {
    const p = this.primary!;
    const hb = p.rounds.get(round);
    if (!hb) return;
    const config = this.hard.config!;
    const voterIds = voters(config.members).map((m) => m.id);
    const acks = voterIds.filter((id) => hb.acks.has(id)).length;
    if (acks < quorumSize(voterIds.length)) return;
    p.leaseExpiry = Math.max(p.leaseExpiry, hb.sentAt + this.timings.leaseMs);
    p.lastQuorumAt = Math.max(p.lastQuorumAt, hb.sentAt);
    if (!p.configCommitted && compareConfigs(hb.config, configPosition(config)) === 0) {
      p.configCommitted = true;
      p.change = null;
      this.out.push({ type: 'config_committed', config });
    }
    // A switchover waits until a quorum, the target among it, has heard whom it names.
    const h = p.switchover;
    if (h && h.announcedRound !== null && round >= h.announcedRound && hb.acks.has(h.target)) {
      h.named = true;
      this.maybeHandOff(now);
    }
  }

  /**
   * Once the target is named, and the last lease given to this node's store
   * has ended (the target serves at once), the primary steps down and sends
   * the target a handoff.
   */
  private maybeHandOff(now: number): void {
    const p = this.primary;
    const h = p?.switchover;
    if (!p || !h?.named || now < p.storeLeaseUntil || this.role !== 'primary') return;
    this.send(h.target, { type: 'handoff', clusterId: this.hard.config!.clusterId, term: this.hard.term, primaryId: this.id }, this.timings.electionTimeoutMs);
    this.handoffCandidate = h.target;
    this.lastHeartbeatAt = now - this.timings.leaseMs;
    this.becomeFollower(now, null, 'handoff');
  }

  /**
   * The watermark advances only while the primary serves, only to a position
   * of its own term (Raft's commit rule), and never past its own position:
   * the data store writes on the primary first, so members that report more
   * than it holds are wrong, and what it never wrote cannot be acknowledged.
   */
  private maybeAdvanceWatermark(): void {
    if (!this.primary?.serving || !this.position) return;
    const members = this.members;
    const voterCount = voters(members).length;
    const positions: LogPosition[] = [];
    for (const m of members) {
      if (!isVoter(m) || m.kind !== 'data') continue;
      const pos = this.positionOf(m.id);
      if (pos) positions.push(pos);
    }
    const candidate = watermarkCandidate(positions, watermarkHolders(voterCount));
    // A member at a later position of this term holds this primary's whole log of the term, so the own position is held too.
    const next = candidate && !covers(this.position, candidate) ? this.position : candidate;
    if (next && next.term === this.hard.term && comparePositions(next, this.hard.commitWatermark) > 0) {
      this.setHard({ commitWatermark: next });
    }
  }

  // ---- Switchover ------------------------------------------------------------

  private switchover(now: number, target: string | null): void {
    const p = this.primary;
    if (this.role !== 'primary' || !p) return this.refuseSwitchover('this node is not the primary');
    if (p.switchover) return this.refuseSwitchover(`a switchover to ${p.switchover.target} is already under way`);
    const fresh = (m: Member): boolean => {
      const c = this.contacts.get(m.id);
      return !!c && now - c.lastContactAt < this.timings.electionTimeoutMs;
    };
    let chosen: Member | undefined;
    if (target !== null) {
      chosen = findMember(this.members, target);
      if (!chosen) return this.refuseSwitchover(`${target} is not a member`);
      if (chosen.id === this.id) return this.refuseSwitchover(`${target} is already the primary`);
      if (!isElectable(chosen)) return this.refuseSwitchover(`${target} is not electable (a witness or catching up)`);
      if (!fresh(chosen)) return this.refuseSwitchover(`${target} has not answered a heartbeat recently`);
    } else {
      // By failover priority first, then position: the target must reach the primary's position anyway.
      const ranked = this.members
        .filter((m) => m.id !== this.id && isElectable(m) && fresh(m))
        .map((m) => ({ member: m, position: this.contacts.get(m.id)?.position ?? { term: -1, lsn: -1 } }));
      ranked.sort((a, b) => (preferred(a, b) ? -1 : preferred(b, a) ? 1 : 0));
      chosen = ranked[0]?.member;
      if (!chosen) return this.refuseSwitchover('no electable member has answered a heartbeat recently');
    }
    // A primary hands over only once it serves and its store's lease has ended, so its bound starts then.
    p.switchover = {
      target: chosen.id,
      deadline: Math.max(now, p.servesFrom, p.storeLeaseUntil) + this.timings.electionTimeoutMs,
      announcedRound: null,
      named: false,
    };
    this.out.push({ type: 'switchover_answer', answer: { status: 'started', target: chosen.id } });
    this.maybeAnnounceTarget(now);
  }

  private refuseSwitchover(reason: string): void {
    this.out.push({ type: 'switchover_answer', answer: { status: 'refused', reason } });
  }

  /**
   * Once the primary serves and the target holds everything the primary
   * holds, name it to every member. Not before it serves: the target of a
   * handoff waits for no older lease, because the primary that hands over
   * waited them all out, and one that has not served yet has not.
   */
  private maybeAnnounceTarget(now: number): void {
    const h = this.primary?.switchover;
    if (!h || h.announcedRound !== null || !this.primary?.serving) return;
    const targetPos = this.contacts.get(h.target)?.position;
    if (!targetPos || !this.position || comparePositions(targetPos, this.position) < 0) return;
    h.announcedRound = this.roundSeq + 1;
    this.sendHeartbeats(now);
  }

  // ---- Membership changes ----------------------------------------------------

  /**
   * changeConfig makes one membership change. Only a primary whose own
   * configuration is committed, with no change under way, makes one: the
   * next single-voter change waits for the last to commit, and a new primary
   * for its configuration to commit in its term (without that, changes of
   * two primaries could each be one voter from a common ancestor and two from
   * each other, and their majorities need not meet).
   */
  private changeConfig(now: number, change: ConfigChange): void {
    const p = this.primary;
    const config = this.hard.config;
    if (this.role !== 'primary' || !p || !config) return this.answerChange({ status: 'refused', code: 'not_primary', why: 'this node is not the primary' });
    if (change.op === 'pause') return this.changePause(now, p, config, change.paused);
    const id = change.op === 'put' ? change.member.id : change.id;
    const existing = findMember(config.members, id);
    if (change.op === 'put' && existing && sameMember(existing, change.member)) {
      if (p.change) return this.answerChange({ status: 'started', version: p.change.version });
      if (p.configCommitted) return this.answerChange({ status: 'unchanged', config });
    }
    const blocked = this.changeBlocked(p);
    if (blocked) return this.answerChange({ status: 'refused', ...blocked });
    if (change.op === 'put' && existing?.state === 'catching_up' && change.member.state === 'voting' && !this.caughtUp(now, existing)) {
      const why = existing.kind === 'data' ? 'its position does not cover the commit watermark, or it has not answered lately' : 'it has not answered lately';
      return this.answerChange({ status: 'refused', code: 'not_caught_up', why: `${id} cannot vote yet: ${why}` });
    }
    const result = applyChange(config, change);
    if (!result.ok) return this.answerChange({ status: 'refused', ...result.refusal });
    if (!this.holdersCover(result.members)) {
      return this.answerChange({
        status: 'refused',
        code: 'not_caught_up',
        why: 'after it, fewer than a majority of the voters would be known to hold every acknowledged write',
      });
    }
    // Last, so that a change that would be refused anyway moves no primary.
    if (id === this.id && !(change.op === 'put' && isElectable(change.member))) {
      return this.answerChange({ status: 'refused', code: 'hand_over_first', why: `${id} is the primary: it hands over to another member first` });
    }
    // The answer goes first: with a single voter the change commits within writeConfig.
    this.answerChange({ status: 'started', version: config.version + 1 });
    this.writeConfig(now, result.members, false);
  }

  /**
   * changeBlocked says why this primary takes no change now, or null: one is
   * under way, its configuration is not committed in its term yet, or it has
   * not acknowledged a write of its term (until then the watermark it knows
   * may lag what earlier primaries acknowledged). Operator changes and
   * promotions alike wait for all three.
   */
  private changeBlocked(p: PrimaryState): { code: 'change_in_progress' | 'not_ready'; why: string } | null {
    if (p.change) return { code: 'change_in_progress', why: `the change to version ${p.change.version} is not committed yet` };
    if (!p.configCommitted) return { code: 'change_in_progress', why: 'this primary has not committed its configuration in its term yet' };
    if (this.hard.commitWatermark.term !== this.hard.term) {
      return {
        code: 'not_ready',
        why: 'this primary has not yet acknowledged a write of its own term, so it cannot tell what every member must hold (its data store writes one on promotion)',
      };
    }
    return null;
  }

  /** changePause writes the next version with failover paused or resumed; no voter changes, so no holders to check. */
  private changePause(now: number, p: PrimaryState, config: ClusterConfig, paused: boolean): void {
    if (isPaused(config) === paused) {
      if (p.change) return this.answerChange({ status: 'started', version: p.change.version });
      if (p.configCommitted) return this.answerChange({ status: 'unchanged', config });
    }
    const blocked = this.changeBlocked(p);
    if (blocked) return this.answerChange({ status: 'refused', ...blocked });
    this.answerChange({ status: 'started', version: config.version + 1 });
    this.writeConfig(now, config.members, false, paused);
  }

  private answerChange(answer: ConfigChangeAnswer): void {
    this.out.push({ type: 'config_change_answer', answer });
  }

  /** writeConfig makes the next version of the configuration and sends it at once. */
  private writeConfig(now: number, members: readonly Member[], rollback: boolean, paused = isPaused(this.hard.config)): void {
    const p = this.primary!;
    const { paused: wasPaused, ...config } = this.hard.config!;
    this.setHard({ config: { ...config, term: this.hard.term, version: config.version + 1, members, ...(paused ? { paused: true } : {}) } });
    p.configCommitted = false;
    // A rollback is not rolled back in turn: if it cannot commit either, the
    // primary steps down (no majority acknowledges it) and the next primary
    // settles the configuration.
    p.change = {
      version: config.version + 1,
      deadline: now + this.timings.electionTimeoutMs,
      previous: config.members,
      previousPaused: wasPaused === true,
      rollback,
    };
    p.departed.clear();
    for (const m of config.members) if (!findMember(members, m.id)) p.departed.set(m.id, m.url);
    this.sendHeartbeats(now);
  }

  /**
   * rollBack gives up a change that did not commit in time: the members
   * before it come back as a new version. Both differ from the committed
   * configuration by at most the one voter the change touched, so every
   * majority of any of the three still meets every other.
   */
  private rollBack(now: number, change: PendingChange): void {
    // Writes acknowledged under the change are held by a majority of its
    // voters; unless a majority of the previous ones holds them too, the
    // change is left to the step-down (and never looked at again: its time to
    // roll back has passed, and the timer must not fire on it for ever).
    if (!this.holdersCover(change.previous)) {
      this.primary!.change = { ...change, rollback: true };
      return;
    }
    this.out.push({ type: 'config_change_failed', version: change.version, why: 'timed_out' });
    // A member whose promotion was rolled back is promoted again only once it answers again.
    this.primary!.promoteAfter = now;
    this.writeConfig(now, change.previous, true, change.previousPaused);
  }

  /**
   * rollbackAt is when an uncommitted change is given up: at its deadline, or
   * a heartbeat interval before the primary would step down, whichever is
   * first. A round that fails to commit the change fails to count as a
   * majority's acknowledgement too (both need a majority of the same voters),
   * so waiting longer would only make it step down; rolled back in time, the
   * previous voters can keep it primary.
   */
  private rollbackAt(p: PrimaryState, change: PendingChange): number {
    if (change.rollback) return Number.POSITIVE_INFINITY;
    return Math.min(change.deadline, this.stepDownAt(p) - this.timings.heartbeatMs);
  }

  /** positionOf: this node's own log position, or the last a member reported to this primary. */
  private positionOf(id: string): LogPosition | null {
    return id === this.id ? this.position : (this.contacts.get(id)?.position ?? null);
  }

  /** caughtUp: the member answered lately and, if it holds data, its position covers the commit watermark. */
  private caughtUp(now: number, m: Member): boolean {
    const c = this.contacts.get(m.id);
    if (!c || now - c.lastContactAt >= this.timings.electionTimeoutMs) return false;
    return m.kind === 'witness' || (c.position !== null && covers(c.position, this.hard.commitWatermark));
  }

  /** maybePromote makes a caught-up catching-up member a voter, one at a time, unless told not to. */
  private maybePromote(now: number): void {
    const p = this.primary;
    const config = this.hard.config;
    if (!p || !config || this.changeBlocked(p)) return;
    for (const m of config.members) {
      const answeredSince = (this.contacts.get(m.id)?.lastContactAt ?? -1) > p.promoteAfter;
      if (m.state !== 'catching_up' || m.autoPromote === false || !answeredSince || !this.caughtUp(now, m)) continue;
      const result = applyChange(config, { op: 'put', member: { ...m, state: 'voting' } });
      if (result.ok && this.holdersCover(result.members)) return this.writeConfig(now, result.members, false);
    }
  }

  /**
   * holdersCover: a majority of the voters of `members` is known to hold the
   * commit watermark, hence every acknowledged write. A change is written
   * only then, so that every acknowledged write stays held by a majority of
   * the voters through any number of changes, not only across one (Raft gets
   * this from committing a configuration entry after the entries before it).
   * A primary makes no change before its watermark is of its own term, so the
   * watermark it knows covers everything earlier primaries acknowledged.
   */
  private holdersCover(members: readonly Member[]): boolean {
    const voting = voters(members);
    const holders = voting.filter((m) => {
      const position = m.kind === 'data' ? this.positionOf(m.id) : null;
      return position !== null && covers(position, this.hard.commitWatermark);
    }).length;
    return holders >= watermarkHolders(voting.length);
  }

  // ---- Plumbing --------------------------------------------------------------

  private setHard(patch: Partial<HardState>): void {
    const next = { ...this.hard, ...patch };
    if (next.term < this.hard.term) throw new InvariantViolation(`term would go back from ${this.hard.term} to ${next.term}`);
    if (comparePositions(next.commitWatermark, this.hard.commitWatermark) < 0) {
      throw new InvariantViolation('the commit watermark would go back');
    }
    this.hard = next;
    this.dirty = true;
  }

  private send(to: string, message: Message, timeoutMs: number): void {
    this.out.push({ type: 'send', to, message, timeoutMs });
  }

  /** reply answers the request being stepped; `to` is who asked. */
  private reply(to: string, message: Reply): void {
    this.out.push({ type: 'reply', to, message });
  }

  /**
   * resetElectionTimer draws the next election timeout. Right after evidence
   * that the primary's port refused us, a failed attempt (voters still loyal
   * to the primary they heard refuse with primary_alive) is retried soon
   * instead of after a whole timeout: see evidenceDelay.
   */
  private resetElectionTimer(now: number): void {
    const quick = this.goneAt !== null && now - this.goneAt < this.timings.electionTimeoutMs;
    this.electionDeadline = now + (quick ? this.evidenceDelay(false) : this.randomTimeout());
  }

  /**
   * evidenceDelay: how long to wait before the first attempt after evidence,
   * or the next. The heir stands after a third of a heartbeat interval and
   * retries within one; with an heir named, the others wait a lease and two
   * intervals, by when the heir has won unless it is gone too (before the
   * lease ends its voters refuse everyone); with none named, everyone stands
   * within an interval and retries within two.
   */
  private evidenceDelay(first: boolean): number {
    const hb = this.timings.heartbeatMs;
    const jitter = this.random.nextInt(hb);
    if (this.heir === this.id) return first ? Math.floor(hb / 3) : jitter;
    if (this.heir) return this.timings.leaseMs + 2 * hb + jitter;
    return first ? jitter : hb + jitter;
  }

  private randomTimeout(): number {
    return randomizedElectionTimeout(this.timings.electionTimeoutMs, this.timings.electionJitterMs, this.random);
  }

  private emitView(): void {
    const v = this.emitted;
    if (v.role === this.role && v.term === this.hard.term && v.primaryId === this.primaryId) return;
    this.emitted = { role: this.role, term: this.hard.term, primaryId: this.primaryId };
    this.out.push({ type: 'role', role: this.role, term: this.hard.term, primaryId: this.primaryId, reason: this.pendingReason });
  }

  private scheduleTimer(): void {
    let at: number;
    if (this.role === 'follower') at = this.electionDeadline;
    else if (this.election) at = this.election.deadline;
    else {
      const p = this.primary!;
      at = Math.min(p.nextHeartbeatAt, this.stepDownAt(p));
      if (!p.serving) at = Math.min(at, p.servesFrom);
      if (p.switchover) at = Math.min(at, p.switchover.deadline, p.switchover.named ? p.storeLeaseUntil : Number.POSITIVE_INFINITY);
      if (p.change) at = Math.min(at, this.rollbackAt(p, p.change));
    }
    if (at !== this.timerAt) {
      this.timerAt = at;
      this.out.push({ type: 'timer', at });
    }
  }
}

/** refusalsOf lists a round's refusals for its outcome. */
function refusalsOf(e: ElectionRound): VoterRefusal[] {
  return [...e.refused].map(([voterId, reason]) => ({ voterId, reason }));
}

function sameMember(a: Member, b: Member): boolean {
  return a.url === b.url && a.kind === b.kind && a.state === b.state && (a.autoPromote ?? true) === (b.autoPromote ?? true) && priorityOf(a) === priorityOf(b);
}

/** preferred: whether a member at a position is a better successor than another: failover priority first, then position. */
function preferred(a: { member: Member; position: LogPosition }, b: { member: Member; position: LogPosition }): boolean {
  const byPriority = priorityOf(a.member) - priorityOf(b.member);
  return byPriority !== 0 ? byPriority > 0 : comparePositions(a.position, b.position) > 0;
}

/** withinTermSpace says whether every term a message carries is at most MAX_TERM. */
function withinTermSpace(m: Message): boolean {
  switch (m.type) {
    case 'vote_request':
      return m.term <= MAX_TERM && m.lastLogTerm <= MAX_TERM && m.config.term <= MAX_TERM;
    case 'heartbeat':
      return m.term <= MAX_TERM && m.commitWatermark.term <= MAX_TERM && m.config.term <= MAX_TERM;
    case 'heartbeat_response':
      return m.term <= MAX_TERM && (m.position === null || m.position.term <= MAX_TERM) && (m.config === null || m.config.term <= MAX_TERM);
    case 'vote_response':
    case 'handoff':
      return m.term <= MAX_TERM;
  }
}
