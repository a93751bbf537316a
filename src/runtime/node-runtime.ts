// The runtime drives one protocol node with the real clock, timers and
// network. Every event goes through Node.step(), and the effects it returns
// are performed here in order: the persist first (synchronously, so nothing
// is sent before the state is on disk), then sends, timers and role changes.
// A failed persist is fatal: the process logs why and exits, granting nothing.

import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  Node,
  ZERO_POSITION,
  findMember,
  isElectable,
  isVoter,
  leaseMs,
  quorumSize,
  seededRandom,
  voters,
  watermarkHolders,
  type Effect,
  type Event,
  type HardState,
  type LogPosition,
  type Message,
  type Role,
  type SwitchoverResult,
} from '../core/index.js';
import { ApiError } from '../errors.js';
import { PeerClient } from '../transport/peer-client.js';
import { StateFileError, type StateStore } from '../store/store.js';
import { HISTORY_FILE, History } from './history.js';
import { Metrics } from './metrics.js';
import { RoleHook } from './role-hook.js';
import type { RuntimeOptions } from './options.js';
import type {
  Check,
  HandoffBody,
  HeartbeatBody,
  HeartbeatReply,
  HistoryEntry,
  MembersView,
  PeerConnection,
  QuorumService,
  StatusView,
  SwitchoverReply,
  VoteBody,
  VoteReply,
} from './service.js';

/** Thrown after a fatal fault, so no further effect of the step is performed. */
export class FatalError extends Error {
  override name = 'FatalError';
}

export interface RuntimeHooks {
  /** Called on a fatal fault; the default exits the process with status 70. */
  readonly onFatal?: (err: Error) => void;
}

export class NodeRuntime implements QuorumService {
  readonly id: string;
  readonly registry: Registry;
  private readonly node: Node;
  private readonly store: StateStore;
  private readonly logger: Logger;
  private readonly client: PeerClient;
  private readonly metrics = new Metrics();
  private readonly terms: History;
  private readonly hook: RoleHook | null;
  private readonly onFatal: (err: Error) => void;
  private readonly startedAt = new Date();
  private readonly inflight = new Map<number, Set<AbortController>>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failed: Error | null = null;
  private switchoverWaiters: Array<(r: SwitchoverReply) => void> = [];
  private pendingSwitchover: { readonly target: string; readonly fromTerm: number } | null = null;
  /** The node's answer to the switchover request being stepped. */
  private switchoverAnswer: SwitchoverResult | null = null;
  private lastRole: Role = 'follower';

  constructor(
    private readonly opts: RuntimeOptions,
    hooks: RuntimeHooks = {},
  ) {
    this.id = opts.id;
    this.store = opts.store;
    this.logger = opts.logger;
    this.registry = this.metrics.registry;
    this.onFatal =
      hooks.onFatal ??
      ((err) => {
        this.logger.fatal({ err }, 'fatal fault; exiting so that nothing is granted');
        process.exit(70);
      });
    const stored = this.store.load();
    // Until membership changes arrive through the API, the configured member
    // list is the operator's word at every start (URLs do move); the term,
    // the vote and the watermark are what must survive.
    const hardState: HardState = stored
      ? { ...stored, membership: { version: stored.membership.version, members: opts.members } }
      : { term: 0, votedFor: null, commitWatermark: ZERO_POSITION, membership: { version: 1, members: opts.members } };
    if (stored && JSON.stringify(stored.membership.members) !== JSON.stringify(opts.members)) {
      this.logger.warn({ stored: stored.membership.members, configured: opts.members }, 'the configured members differ from the stored ones; using the configured');
    }
    if (stored === null) this.initialize(hardState);
    this.client = new PeerClient({ token: opts.token });
    this.terms = new History(opts.dataDir);
    this.hook = opts.onRoleChange ? new RoleHook(opts.onRoleChange, opts.roleChangeTimeoutMs, opts.logger) : null;
    this.node = new Node({
      id: opts.id,
      hardState,
      timings: opts.timings,
      random: seededRandom(opts.seed ?? randomInt(2 ** 31)),
      now: this.now(),
    });
    this.metrics.term.set(hardState.term);
    this.metrics.setRole('follower');
    this.metrics.commitWatermarkLsn.set(hardState.commitWatermark.lsn);
    this.logger.info({ term: hardState.term, votedFor: hardState.votedFor, restored: stored !== null }, 'node state loaded');
  }

  /**
   * initialize writes the first state of a new node, so that from then on a
   * missing state file can only mean a lost one. A data folder that already
   * holds a history but no state lost its votes: starting over could grant a
   * second candidate in a term, so start-up stops instead.
   */
  private initialize(state: HardState): void {
    if (this.opts.dataDir && existsSync(join(this.opts.dataDir, HISTORY_FILE))) {
      throw new StateFileError(
        this.store.location,
        `it is missing, but ${this.opts.dataDir} has been used before (it holds ${HISTORY_FILE}); restore the state file, or start from an empty folder`,
      );
    }
    this.store.save(state);
  }

  start(): void {
    this.step({ type: 'tick', now: this.now() });
  }

  /**
   * stop hands leadership over first when this node is the primary and a
   * member is ready to take it, then stops timers and closes connections.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.node.currentRole === 'primary' && !this.failed) {
      const result = await this.switchover(null);
      this.logger.info({ result }, 'handover before shutdown');
    }
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const set of this.inflight.values()) for (const c of set) c.abort();
    this.inflight.clear();
    await this.hook?.idle();
    await this.client.close();
  }

  // ---- QuorumService ---------------------------------------------------------

  vote(body: VoteBody): VoteReply {
    const reply = this.request({ type: 'vote_request', round: 0, ...body });
    if (reply?.type !== 'vote_response') throw new Error('the node did not answer a vote request');
    this.metrics.votes.inc({ phase: body.dryRun ? 'probe' : 'ballot', result: reply.granted ? 'granted' : (reply.reason?.code ?? 'refused') });
    return { granted: reply.granted, term: reply.term, voterId: reply.voterId, ...(reply.reason ? { reason: reply.reason } : {}) };
  }

  heartbeat(body: HeartbeatBody, connection?: PeerConnection): HeartbeatReply {
    const reply = this.request({ type: 'heartbeat', round: 0, ...body });
    if (reply?.type !== 'heartbeat_response') throw new Error('the node did not answer a heartbeat');
    if (reply.success && connection && this.opts.fastFailover) this.watchPrimary(body.primaryId, connection);
    return { term: reply.term, success: reply.success, memberId: reply.memberId, position: reply.position };
  }

  /**
   * watchPrimary waits for the primary's connection to close. A close alone
   * proves nothing (connections are recycled), so the runtime then connects
   * to the primary: a refused connection means no process listens there, and
   * the node may start its election without waiting out the timeout. A hung
   * process or a cut link refuses nothing and falls back to the timeout.
   */
  private watchPrimary(primaryId: string, connection: PeerConnection): void {
    if (this.watched.has(connection)) return;
    this.watched.add(connection);
    connection.once('close', () => {
      if (this.stopped || this.failed || this.node.knownPrimary !== primaryId) return;
      const member = findMember(this.node.hardState.membership.members, primaryId);
      if (!member) return;
      // A refusal comes back at once; the bound only ends a connect that hangs
      // (a stopped process, a cut link). One heartbeat interval was too tight
      // on a busy machine, where the timer could fire before the refusal was read.
      void this.client.probeRefused(member.url, this.opts.timings.electionTimeoutMs).then((refused) => {
        if (!refused) return;
        this.logger.info({ primaryId }, 'the primary closed its connection and its port refuses connections');
        this.step({ type: 'primary_unreachable', now: this.now(), primaryId });
      });
    });
  }

  private readonly watched = new WeakSet<PeerConnection>();

  handoff(body: HandoffBody): void {
    this.step({ type: 'message', now: this.now(), message: { type: 'handoff', ...body } });
  }

  reportPosition(position: LogPosition): StatusView {
    const self = this.node.self;
    if (self?.kind === 'witness') {
      throw new ApiError(409, 'witness_has_no_log', 'a witness holds no data, so it has no log position to report');
    }
    this.step({ type: 'position', now: this.now(), position });
    this.metrics.positionLsn.set(position.lsn);
    return this.status();
  }

  /**
   * switchover answers a refusal at once (to this caller only: a second
   * request refused while a handover is under way must not end the first);
   * a handover that started is answered once the target leads a newer term,
   * or as abandoned when the node gives up or a bound passes.
   */
  async switchover(target: string | null): Promise<SwitchoverReply> {
    this.switchoverAnswer = null;
    this.step({ type: 'switchover', now: this.now(), target });
    const answer = this.switchoverAnswer as SwitchoverResult | null;
    if (answer === null) return { status: 'refused', reason: 'this node has stopped' };
    if (answer.status !== 'started') return answer;
    const pending = this.pendingSwitchover;
    return new Promise((resolve) => {
      this.switchoverWaiters.push(resolve);
      const t = this.opts.timings;
      const boundMs = 2 * (t.electionTimeoutMs + t.electionJitterMs);
      setTimeout(() => {
        if (pending && this.pendingSwitchover === pending) this.finishSwitchover({ status: 'abandoned', target: pending.target });
      }, boundMs).unref();
    });
  }

  status(): StatusView {
    const now = this.now();
    const hard = this.node.hardState;
    const self = this.node.self;
    const expiry = this.node.leaseExpiry;
    const t = this.opts.timings;
    return {
      id: this.id,
      kind: self?.kind ?? 'data',
      role: this.node.currentRole,
      term: hard.term,
      votedFor: hard.votedFor,
      primaryId: this.node.knownPrimary,
      position: this.node.logPosition,
      commitWatermark: hard.commitWatermark,
      lease: { holds: this.node.holdsLease(now), remainingMs: expiry === null ? 0 : Math.max(0, Math.round(expiry - now)) },
      timings: {
        heartbeatMs: t.heartbeatMs,
        electionTimeoutMs: t.electionTimeoutMs,
        electionJitterMs: t.electionJitterMs,
        leaseMs: leaseMs(t),
      },
      startedAt: this.startedAt.toISOString(),
    };
  }

  members(): MembersView {
    const now = this.now();
    const m = this.node.hardState.membership;
    const voterCount = voters(m.members).length;
    const primaryId = this.node.knownPrimary;
    return {
      version: m.version,
      quorum: quorumSize(voterCount),
      voters: voterCount,
      watermarkHolders: watermarkHolders(voterCount),
      members: m.members.map((member) => {
        const contact = this.node.contactOf(member.id);
        const isSelf = member.id === this.id;
        const role: Role | 'unknown' = isSelf
          ? this.node.currentRole
          : member.id === primaryId
            ? 'primary'
            : primaryId === this.id && contact
              ? 'follower'
              : 'unknown';
        return {
          id: member.id,
          url: member.url,
          kind: member.kind,
          state: member.state,
          voter: isVoter(member),
          electable: isElectable(member),
          role,
          position: isSelf ? this.node.logPosition : (contact?.position ?? null),
          lastContactAgoMs: isSelf ? 0 : contact ? Math.round(now - contact.lastContactAt) : null,
        };
      }),
    };
  }

  history(): HistoryEntry[] {
    return this.terms.list();
  }

  health(): Check {
    if (this.failed) return { ok: false, reason: `fatal fault: ${this.failed.message}` };
    return { ok: true };
  }

  readiness(): Check {
    const health = this.health();
    if (!health.ok) return health;
    const now = this.now();
    const role = this.node.currentRole;
    if (role === 'primary') {
      return this.node.holdsLease(now) ? { ok: true } : { ok: false, reason: 'primary without a lease yet' };
    }
    if (this.hearsPrimary(now)) return { ok: true };
    return { ok: false, reason: role === 'follower' ? 'no live primary known' : `an election is under way (${role})` };
  }

  isPrimary(): boolean {
    return !this.failed && this.node.holdsLease(this.now());
  }

  isReplica(): boolean {
    const self = this.node.self;
    return (
      !this.failed &&
      this.node.currentRole === 'follower' &&
      self?.kind === 'data' &&
      this.node.logPosition !== null &&
      this.hearsPrimary(this.now())
    );
  }

  // ---- Driving the node ------------------------------------------------------

  private now(): number {
    return performance.now();
  }

  private hearsPrimary(now: number): boolean {
    const last = this.node.lastHeartbeat;
    return last !== null && now - last < this.opts.timings.electionTimeoutMs;
  }

  /** request steps an inbound request and returns the node's reply to it. */
  private request(message: Message): Message | null {
    const reply = this.failed ? null : this.step({ type: 'message', now: this.now(), message });
    if (this.failed) throw new ApiError(503, 'node_failed', 'this node hit a fatal fault and answers nothing');
    return reply;
  }

  /**
   * step feeds one event to the node and performs its effects in order. A
   * reply to the inbound request, if the step produced one, is returned
   * rather than sent: it travels back as the HTTP response.
   */
  private step(event: Event): Message | null {
    if (this.failed || this.stopped) return null;
    let reply: Message | null = null;
    try {
      for (const effect of this.node.step(event)) {
        const r = this.perform(effect);
        if (r) reply = r;
      }
    } catch (err) {
      // A failed persist already stopped the node; anything else thrown here
      // is a broken invariant of the protocol, just as fatal.
      if (!(err instanceof FatalError)) this.fail(err as Error);
      return null;
    }
    return reply;
  }

  private fail(err: Error): void {
    this.failed = err;
    if (this.timer) clearTimeout(this.timer);
    for (const set of this.inflight.values()) for (const c of set) c.abort();
    this.onFatal(err);
  }

  private perform(effect: Effect): Message | null {
    switch (effect.type) {
      case 'persist':
        this.persist(effect.state);
        return null;
      case 'send':
        if (effect.message.type === 'vote_response' || effect.message.type === 'heartbeat_response') return effect.message;
        this.send(effect.to, effect.message, effect.timeoutMs);
        return null;
      case 'abort':
        for (const c of this.inflight.get(effect.round) ?? []) c.abort();
        this.inflight.delete(effect.round);
        return null;
      case 'timer':
        this.arm(effect.at);
        return null;
      case 'role':
        this.onRole(effect.role, effect.term, effect.primaryId, effect.reason);
        return null;
      case 'election':
        this.metrics.elections.inc({ outcome: effect.outcome.kind });
        // A witness or catching-up member declines every timeout: not news.
        this.logger[effect.outcome.kind === 'not_electable' ? 'debug' : 'info']({ outcome: effect.outcome }, `election ${effect.outcome.kind}`);
        return null;
      case 'switchover': {
        const r = effect.result;
        this.logger.info({ switchover: r }, `switchover ${r.status}`);
        this.switchoverAnswer = r;
        if (r.status === 'started') this.pendingSwitchover = { target: r.target, fromTerm: this.node.term };
        else if (r.status === 'abandoned') this.finishSwitchover(r);
        return null;
      }
    }
  }

  private persist(state: HardState): void {
    const end = this.metrics.persistSeconds.startTimer();
    try {
      this.store.save(state);
    } catch (err) {
      this.fail(err as Error);
      throw new FatalError(`persist failed: ${(err as Error).message}`);
    } finally {
      end();
    }
    this.metrics.term.set(state.term);
    this.metrics.commitWatermarkLsn.set(state.commitWatermark.lsn);
  }

  private send(to: string, message: Message, timeoutMs: number): void {
    const member = findMember(this.node.hardState.membership.members, to);
    if (!member) return;
    const controller = new AbortController();
    const round = message.type === 'vote_request' || message.type === 'heartbeat' ? message.round : -1;
    let set = this.inflight.get(round);
    if (!set) this.inflight.set(round, (set = new Set()));
    set.add(controller);
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(Math.max(1, Math.round(timeoutMs)))]);
    void this.client.deliver(member.url, message, signal).then((d) => {
      set.delete(controller);
      if (set.size === 0 && this.inflight.get(round) === set) this.inflight.delete(round);
      if (this.stopped || controller.signal.aborted) return;
      if (d.ok) {
        if (d.reply) this.step({ type: 'message', now: this.now(), message: d.reply });
      } else {
        this.metrics.peerFailures.inc({ peer: to, message: message.type });
        this.step({ type: 'undeliverable', now: this.now(), to, message });
      }
    });
  }

  /**
   * arm makes sure the node is ticked at or after `at`. Node's timers run off
   * a cached, whole-millisecond loop clock and can fire a fraction early; the
   * node asks for each deadline only once, so an early wake-up re-arms.
   */
  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = this.now();
      if (now < at) this.arm(at);
      else this.step({ type: 'tick', now });
    }, Math.ceil(Math.max(0, at - this.now())));
  }

  private onRole(role: Role, term: number, primaryId: string | null, reason: string): void {
    this.metrics.setRole(role);
    this.metrics.roleChanges.inc({ role });
    this.metrics.term.set(term);
    this.logger.info({ role, term, primaryId, reason }, `role ${role} in term ${term}`);
    if (primaryId !== null) {
      this.terms.record(term, primaryId, primaryId === this.id ? 'elected' : 'heartbeat', new Date());
    }
    const wasPrimary = this.lastRole === 'primary';
    this.lastRole = role;
    if (role === 'primary' || wasPrimary) {
      this.hook?.run({ nodeId: this.id, role: role === 'primary' ? 'primary' : 'follower', term, primaryId });
    }
    const pending = this.pendingSwitchover;
    if (pending && primaryId === pending.target && term > pending.fromTerm) {
      this.finishSwitchover({ status: 'completed', target: pending.target, term });
    }
  }

  private finishSwitchover(r: SwitchoverReply): void {
    this.pendingSwitchover = null;
    const waiters = this.switchoverWaiters;
    this.switchoverWaiters = [];
    for (const w of waiters) w(r);
  }
}
