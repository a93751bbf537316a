// The runtime drives one protocol node with the real clock, timers, store
// and network: it is the driver (driver.ts) with real ports. Events reach the
// node through the driver, which performs the effects in order: the persist
// first (synchronously, so nothing is sent before the state is on disk), then
// sends, timers and notifications. A failed persist is fatal: the process logs
// why and exits, granting nothing. The read-only views live in views.ts.

import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  Node,
  ZERO_POSITION,
  isPaused,
  seededRandom,
  type ClusterConfig,
  type ConfigChange,
  type ConfigChangeAnswer,
  type ElectionOutcome,
  type HardState,
  type Message,
} from '../core/index.js';
import { configDifferences } from './bootstrap.js';
import { ApiError } from '../errors.js';
import { PeerClient } from '../transport/peer-client.js';
import { PrimaryWatch } from '../transport/primary-watch.js';
import { handoffFromWire, heartbeatFromWire, heartbeatReplyToWire, voteReplyToWire, voteRequestFromWire } from '../transport/wire.js';
import { StateFileError, type StateStore } from '../store/store.js';
import { Driver, type RoleChange } from './driver.js';
import { HISTORY_FILE, History } from './history.js';
import { Metrics } from './metrics.js';
import { RoleHook, type HookResult, type RoleHookEvent } from './role-hook.js';
import { RoleWebhook } from './role-webhook.js';
import type { RuntimeOptions } from './options.js';
import type {
  Check,
  ClusterView,
  ElectionView,
  HandoffBody,
  HeartbeatBody,
  HeartbeatReply,
  HistoryEntry,
  MembersView,
  MembershipChange,
  PositionReply,
  PositionReport,
  QuorumService,
  StatusView,
  SwitchoverOutcome,
  VoteBody,
  VoteReply,
  WhyReply,
} from './service.js';
import { agentLease, servingLeaseMs } from './lease-report.js';
import { clusterView, healthCheck, isPrimary, isReplica, memberUrl, membersView, readinessCheck, statusView } from './views.js';
import { why } from './why.js';

/** The HTTP status of each refusal of a membership change. */
const CHANGE_REFUSAL_STATUS: Record<Extract<ConfigChangeAnswer, { status: 'refused' }>['code'], number> = {
  unknown_member: 404,
  invalid_change: 409,
  would_break_cluster: 409,
  change_in_progress: 409,
  not_ready: 409,
  not_caught_up: 409,
  not_primary: 409,
  hand_over_first: 409,
};

export interface RuntimeHooks {
  /** Called on a fatal fault; the default exits the process with status 70. */
  readonly onFatal?: (err: Error) => void;
}

export class NodeRuntime implements QuorumService {
  readonly id: string;
  readonly registry: Registry;
  private readonly node: Node;
  private readonly driver: Driver;
  private readonly store: StateStore;
  private readonly logger: Logger;
  private readonly client: PeerClient;
  private readonly watch: PrimaryWatch | null;
  private readonly metrics = new Metrics();
  private readonly terms: History;
  private readonly hook: RoleHook | null;
  private readonly webhook: RoleWebhook | null;
  private readonly prePromote: RoleHook | null;
  /** The primary (and its term) the role-change hooks last announced to a follower. */
  private announced: { primaryId: string | null; term: number } = { primaryId: null, term: -1 };
  /** The term this node was last promoted in: its pre-promote command, if any, has ended. */
  private promotedTerm = -1;
  /** The election this node last won, for its history entry (the role effect comes after it). */
  private lastWin: Extract<ElectionOutcome, { kind: 'elected' }> | null = null;
  private readonly onFatal: (err: Error) => void;
  private readonly startedAt = new Date();
  private readonly inflight = new Map<number, Set<AbortController>>();
  private timer: NodeJS.Timeout | null = null;
  /** The last deadline the node asked to be ticked at, and when the pending timer fires (both on this.now()). */
  private deadline = 0;
  private timerDue = 0;
  private stopped = false;
  private switchoverWaiters: Array<(r: SwitchoverOutcome) => void> = [];
  private pendingSwitchover: { readonly target: string; readonly fromTerm: number } | null = null;
  private readonly differences: string[];
  private changeWaiters: Array<{ version: number; resolve: (r: MembershipChange) => void; reject: (err: Error) => void }> = [];
  /** The members whose url last answered as another member, and the id it answered as. */
  private readonly answersAs = new Map<string, string>();
  /** The last election this node held, for /status. */
  private lastElection: ElectionView | null = null;

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
    // The settings make the configuration only on the first start; after that
    // the stored configuration is the cluster's word, and settings that
    // differ from it are reported, never applied.
    const hardState: HardState = stored ?? { term: 0, votedFor: null, commitWatermark: ZERO_POSITION, config: opts.initialConfig };
    if (stored === null) this.initialize(hardState);
    this.differences = configDifferences(hardState.config, opts.settings === undefined ? opts.initialConfig : opts.settings, opts.timings);
    // Peers are called with this node's own peer token, or the shared token in that mode.
    const credential = opts.peerToken ?? opts.token;
    // Under mutual TLS the certificate is the credential, and no token is sent.
    this.client = new PeerClient({ token: opts.tls ? null : credential, tls: opts.tls ?? null });
    this.terms = new History(opts.dataDir);
    // The hook's environment carries no copy of a token, however it was given (variable, flag or file).
    const secrets = [opts.token, opts.peerToken].filter((s): s is string => typeof s === 'string');
    const counted = (hook: string) => (result: HookResult, seconds: number) => {
      this.metrics.hookRuns.inc({ hook, result });
      this.metrics.hookSeconds.observe({ hook }, seconds);
    };
    this.hook = opts.onRoleChange
      ? new RoleHook(opts.onRoleChange, opts.roleChangeTimeoutMs, opts.logger, { secrets, onDone: counted('on-role-change') })
      : null;
    this.webhook = opts.onRoleChangeUrl ? new RoleWebhook(opts.onRoleChangeUrl, opts.roleChangeTimeoutMs, opts.logger, counted('on-role-change-url')) : null;
    this.prePromote = opts.prePromote
      ? new RoleHook(opts.prePromote, opts.prePromoteTimeoutMs ?? opts.roleChangeTimeoutMs, opts.logger, {
          secrets,
          name: 'pre-promote',
          onDone: counted('pre-promote'),
        })
      : null;
    this.node = new Node({
      id: opts.id,
      hardState,
      timings: opts.timings,
      joinClusterId: opts.joinClusterId ?? null,
      random: seededRandom(opts.seed ?? randomInt(2 ** 31)),
      now: this.now(),
    });
    this.driver = new Driver(this.node, {
      clock: { now: () => this.now() },
      timer: { arm: (at) => this.arm(at) },
      store: { save: (state) => this.persist(state) },
      transport: { send: (to, message, timeoutMs) => this.send(to, message, timeoutMs), abort: (round) => this.abort(round) },
      notify: {
        role: (change) => this.onRole(change),
        serving: (term) => this.onServing(term),
        election: (outcome) => this.onElection(outcome),
        switchoverAbandoned: (target) => this.onSwitchoverAbandoned(target),
        configCommitted: (config) => this.onConfigCommitted(config),
        configChangeFailed: (version, why) => this.onConfigChangeFailed(version, why),
        fatal: (err) => this.fail(err),
      },
    });
    // The watch on the primary's connection is the fast-failover evidence, so
    // it exists only when fast failover is on. A probe accepted by a primary
    // still dying is tried again up to the election timeout: evidence later
    // than that is worth nothing, as the timeout has fired by then.
    this.watch = opts.fastFailover
      ? new PrimaryWatch({
          probeTimeoutMs: this.node.timings.electionTimeoutMs,
          probeAgainForMs: this.node.timings.electionTimeoutMs,
          onGone: (primaryId) => this.primaryGone(primaryId),
        })
      : null;
    this.metrics.term.set(hardState.term);
    this.metrics.setRole('follower');
    this.metrics.commitWatermarkLsn.set(hardState.commitWatermark.lsn);
    this.metrics.configVersion.set(hardState.config?.version ?? 0);
    this.metrics.paused.set(isPaused(hardState.config) ? 1 : 0);
    this.metrics.configDifferences.set(this.differences.length);
    this.logger.info(
      { term: hardState.term, votedFor: hardState.votedFor, restored: stored !== null, clusterId: hardState.config?.clusterId ?? null },
      'node state loaded',
    );
    if (this.differences.length > 0) {
      this.logger.warn(
        { differences: this.differences },
        'the settings differ from the stored cluster configuration, which wins: change membership through the API (see the README)',
      );
    }
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

  /**
   * start tells the node it can answer from now on: call it once the server
   * listens. Its start-up loyalty and first election deadline run from here.
   */
  start(): void {
    this.driver.handle({ type: 'start' });
  }

  /**
   * stop makes a switchover first when this node is the primary and a member
   * is ready to take over, then stops timers and closes connections.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.node.currentRole === 'primary' && !this.driver.failed) {
      const result = await this.switchover(null);
      this.logger.info({ result }, 'switchover before shutdown');
    }
    this.stopped = true;
    this.driver.halt();
    this.watch?.close();
    if (this.timer) clearTimeout(this.timer);
    for (const set of this.inflight.values()) for (const c of set) c.abort();
    this.inflight.clear();
    await Promise.all([this.hook?.idle(), this.webhook?.idle(), this.prePromote?.idle()]);
    await this.client.close();
  }

  // ---- QuorumService ---------------------------------------------------------

  vote(body: VoteBody): VoteReply {
    const reply = this.request(voteRequestFromWire(body));
    if (reply?.type !== 'vote_response') throw new Error('the node did not answer a vote request');
    this.metrics.votes.inc({ phase: body.dryRun ? 'probe' : 'ballot', result: reply.granted ? 'granted' : (reply.reason?.code ?? 'refused') });
    return voteReplyToWire(reply);
  }

  heartbeat(body: HeartbeatBody): HeartbeatReply {
    const reply = this.request(heartbeatFromWire(body));
    if (reply?.type !== 'heartbeat_response') throw new Error('the node did not answer a heartbeat');
    if (reply.success && this.watch) {
      const url = memberUrl(this.node, body.primaryId);
      if (url !== null) this.watch.heartbeatAccepted(body.primaryId, url);
    }
    return heartbeatReplyToWire(reply);
  }

  handoff(body: HandoffBody): void {
    this.driver.handle({ type: 'message', message: handoffFromWire(body) });
  }

  reportPosition(report: PositionReport): PositionReply {
    const self = this.node.self;
    if (self?.kind === 'witness') {
      throw new ApiError(409, 'witness_has_no_log', 'a witness holds no data, so it has no log position to report');
    }
    const position = { term: report.term, lsn: report.lsn };
    this.driver.handle({ type: 'position', position });
    this.metrics.positionLsn.set(position.lsn);
    const now = this.now();
    const remainingMs = this.driver.failed ? null : servingLeaseMs(this.node, now);
    return {
      ...statusView(this.node, now, this.startedAt, this.differences),
      ...agentLease(remainingMs, this.node.timings.clockDriftBound, report.agentClockMs),
    };
  }

  /**
   * switchover answers a refusal at once (to this caller only: a second
   * request refused while a switchover is under way must not end the first);
   * a switchover that started is answered once the target leads a newer term,
   * or as abandoned when the node gives up or a bound passes.
   */
  async switchover(target: string | null): Promise<SwitchoverOutcome> {
    const answer = this.driver.handle({ type: 'switchover', target }).switchover;
    if (answer === null) return { status: 'refused', reason: 'this node has stopped' };
    this.logger.info({ switchover: answer }, `switchover ${answer.status}`);
    if (answer.status !== 'started') return answer;
    const pending = { target: answer.target, fromTerm: this.node.term };
    this.pendingSwitchover = pending;
    return new Promise((resolve) => {
      this.switchoverWaiters.push(resolve);
      const t = this.node.timings;
      const boundMs = 2 * (t.electionTimeoutMs + t.electionJitterMs);
      setTimeout(() => {
        if (this.pendingSwitchover === pending) this.finishSwitchover({ status: 'abandoned', target: pending.target });
      }, boundMs).unref();
    });
  }

  /**
   * changeMembers makes one membership change on this node, the primary, and
   * resolves once it is committed. A node that is not the primary refuses
   * with not_primary (the route forwards the request). Removing or demoting
   * the primary itself hands over first; the caller then forwards to the new
   * primary, which makes the change.
   */
  async changeMembers(change: ConfigChange): Promise<MembershipChange> {
    let answer = this.driver.handle({ type: 'config_change', change }).configChange;
    // A resume with no primary known (it died during maintenance): this node
    // stands, and whoever is elected makes the change, or already made it.
    if (change.op === 'pause' && !change.paused && answer?.status === 'refused' && answer.code === 'not_primary' && !this.node.hearsPrimary(this.now())) {
      answer = await this.resumeWithoutPrimary(change);
    }
    // A primary just elected (a handover, say) settles within a few heartbeat
    // rounds: its configuration commits, a write of its term is acknowledged
    // and its members' positions come in. A change asked of it meanwhile
    // waits for that, bounded, instead of sending the operator back with a
    // 409; a refusal that does not pass comes back after the bound.
    const t = this.node.timings;
    const settleBy = this.now() + 2 * (t.electionTimeoutMs + t.electionJitterMs);
    while (answer !== null && answer.status === 'refused' && this.settling(answer.code) && this.now() < settleBy) {
      await new Promise((r) => setTimeout(r, t.heartbeatMs));
      answer = this.driver.handle({ type: 'config_change', change }).configChange;
    }
    if (answer === null) throw new ApiError(503, 'node_failed', 'this node has stopped');
    this.logger.info({ change, answer }, `configuration change ${answer.status}`);
    switch (answer.status) {
      case 'unchanged':
        this.metrics.configChanges.inc({ result: 'unchanged' });
        return { status: 'unchanged', config: answer.config };
      case 'refused':
        this.metrics.configChanges.inc({ result: answer.code });
        if (answer.code === 'hand_over_first') {
          const handed = await this.switchover(null);
          if (handed.status !== 'completed') {
            throw new ApiError(409, 'hand_over_failed', `${answer.why}, and the handover did not complete (${JSON.stringify(handed)})`);
          }
          throw new ApiError(409, 'not_primary', `this node handed over to ${handed.target}, which makes the change`);
        }
        throw new ApiError(CHANGE_REFUSAL_STATUS[answer.code], answer.code, answer.why);
      case 'started':
        return new Promise((resolve, reject) => {
          this.changeWaiters.push({ version: answer.version, resolve, reject });
        });
    }
  }

  /**
   * resumeWithoutPrimary tells the node to stand with the operator's resume,
   * waits (bounded, a few election timeouts) until it hears some primary, and
   * asks again: this node if it won, else the route forwards to the winner.
   */
  private async resumeWithoutPrimary(change: ConfigChange): Promise<ConfigChangeAnswer | null> {
    this.driver.handle({ type: 'resume' });
    const t = this.node.timings;
    const by = this.now() + 4 * (t.electionTimeoutMs + t.electionJitterMs);
    while (!this.node.hearsPrimary(this.now()) && this.now() < by && !this.driver.failed) {
      await new Promise((r) => setTimeout(r, t.heartbeatMs));
    }
    if (!this.node.hearsPrimary(this.now())) {
      const why = this.node.electability();
      throw new ApiError(
        503,
        'no_primary',
        `no primary was elected to resume failover${why ? `: this node may not stand (${why}); ask an electable data member` : '; retry'}`,
      );
    }
    return this.driver.handle({ type: 'config_change', change }).configChange;
  }

  /**
   * isPeer: whether a certificate naming `id` is taken on the peer routes: a
   * member of the configuration this node holds (or one its last change
   * removed, so it can be told), or anyone the cluster CA signed while this
   * node joins and holds no configuration yet.
   */
  isPeer(id: string): boolean {
    return this.node.config === null || this.node.urlOf(id) !== null;
  }

  /**
   * settling: a refusal that passes by itself within a few heartbeat rounds
   * on a primary: one just elected has not acknowledged a write of its term
   * (not_ready) or committed its configuration (change_in_progress with no
   * change under way), and hears its members' positions again only as they
   * answer its heartbeats (not_caught_up).
   */
  private settling(code: string): boolean {
    if (this.node.currentRole !== 'primary') return false;
    return code === 'not_ready' || code === 'not_caught_up' || (code === 'change_in_progress' && this.node.pendingChange === null);
  }

  /** The url of the primary this node knows, or null: where a membership change is forwarded. */
  primaryUrl(): string | null {
    const id = this.node.knownPrimary;
    return id === null || id === this.id ? null : memberUrl(this.node, id);
  }

  status(): StatusView {
    return statusView(this.node, this.now(), this.startedAt, this.differences, this.lastElection);
  }

  members(): MembersView {
    return membersView(this.node, this.now(), this.answersAs);
  }

  cluster(partialBecause: string | null): ClusterView {
    return clusterView(this.node, this.now(), this.answersAs, partialBecause);
  }

  /** why probes every other voter as an election would, waiting for each at most as long as an election round lasts. */
  why(): Promise<WhyReply> {
    if (this.driver.failed) throw new ApiError(503, 'node_failed', 'this node hit a fatal fault and answers nothing');
    const t = this.node.timings;
    return why(this.node, (url, message, signal, memberId) => this.client.deliver(url, message, signal, memberId), t.electionTimeoutMs + t.electionJitterMs);
  }

  history(): HistoryEntry[] {
    return this.terms.list();
  }

  health(): Check {
    return healthCheck(this.driver.failed);
  }

  readiness(): Check {
    return readinessCheck(this.node, this.driver.failed);
  }

  isPrimary(): boolean {
    // With a pre-promote command, the primary answers as such only once it has ended.
    return isPrimary(this.node, this.now(), this.driver.failed) && (this.prePromote === null || this.promotedTerm === this.node.term);
  }

  isReplica(): boolean {
    return isReplica(this.node, this.now(), this.driver.failed);
  }

  // ---- Driving the node ------------------------------------------------------

  private now(): number {
    return performance.now();
  }

  /** request steps an inbound request and returns the node's reply to it. */
  private request(message: Message): Message | null {
    const reply = this.driver.failed ? null : (this.driver.handle({ type: 'message', message }).reply?.message ?? null);
    if (this.driver.failed) throw new ApiError(503, 'node_failed', 'this node hit a fatal fault and answers nothing');
    return reply;
  }

  /**
   * primaryGone: the primary's connection closed and its port refuses. The
   * node is told only if it still follows that primary.
   */
  private primaryGone(primaryId: string): void {
    if (!this.driver.running || this.node.knownPrimary !== primaryId) return;
    this.logger.info({ primaryId }, 'the primary closed its connection and its port refuses connections');
    this.driver.handle({ type: 'primary_unreachable', primaryId });
  }

  private fail(err: Error): void {
    if (this.timer) clearTimeout(this.timer);
    for (const set of this.inflight.values()) for (const c of set) c.abort();
    this.onFatal(err);
  }

  // ---- Ports -------------------------------------------------------------------

  private persist(state: HardState): void {
    const end = this.metrics.persistSeconds.startTimer();
    try {
      this.store.save(state);
    } finally {
      end();
    }
    this.metrics.term.set(state.term);
    this.metrics.commitWatermarkLsn.set(state.commitWatermark.lsn);
    this.metrics.configVersion.set(state.config?.version ?? 0);
    this.metrics.paused.set(isPaused(state.config) ? 1 : 0);
  }

  private send(to: string, message: Message, timeoutMs: number): void {
    const url = memberUrl(this.node, to);
    if (url === null) return;
    const controller = new AbortController();
    const round = message.type === 'vote_request' || message.type === 'heartbeat' ? message.round : -1;
    let set = this.inflight.get(round);
    if (!set) {
      set = new Set();
      this.inflight.set(round, set);
    }
    set.add(controller);
    // One controller ends the request on its deadline or with its round, and
    // the deadline timer is cleared once a reply comes. A heartbeat round
    // sends a request per member every few tens of milliseconds:
    // AbortSignal.timeout plus AbortSignal.any cost a timer that was never
    // cleared, and a TimeoutError built when it fired, for every one of them.
    let timedOut = false;
    const deadline = setTimeout(
      () => {
        timedOut = true;
        controller.abort();
      },
      Math.max(1, Math.round(timeoutMs)),
    );
    deadline.unref();
    void this.client.deliver(url, message, controller.signal, to).then((d) => {
      clearTimeout(deadline);
      set.delete(controller);
      if (set.size === 0 && this.inflight.get(round) === set) this.inflight.delete(round);
      // Aborted with its round: the node has decided it and wants no answer.
      if (this.stopped || (controller.signal.aborted && !timedOut)) return;
      if (d.ok) {
        if (d.reply) {
          this.answeredAs(to, url, to);
          this.driver.handle({ type: 'message', message: d.reply });
        }
      } else {
        if (d.answeredAs !== undefined) this.answeredAs(to, url, d.answeredAs);
        this.metrics.peerFailures.inc({ peer: to, message: message.type });
        this.driver.handle({ type: 'undeliverable', to, message });
      }
    });
  }

  /**
   * answeredAs records who answered a request sent to member `to`. A reply in
   * another member's name was stepped as undeliverable; it is counted every
   * time, but warned of only when the answering id changes, so a member list
   * that stays wrong logs once rather than on every heartbeat.
   */
  private answeredAs(to: string, url: string, id: string): void {
    const before = this.answersAs.get(to) ?? to;
    if (id !== to) this.metrics.identityMismatches.inc({ peer: to });
    if (id === before) return;
    if (id === to) {
      this.answersAs.delete(to);
      this.logger.info({ peer: to, url }, `member ${to} answers as itself again`);
    } else {
      this.answersAs.set(to, id);
      this.logger.warn(
        { peer: to, url, answeredAs: id },
        `the url of member ${to} answered as ${id}: its replies are not counted (check the member list and that each node has its own id)`,
      );
    }
  }

  private abort(round: number): void {
    for (const c of this.inflight.get(round) ?? []) c.abort();
    this.inflight.delete(round);
  }

  /**
   * arm makes sure the node is ticked at or after `at`, the deadline the node
   * asked for last (each request replaces the one before). Node's timers run
   * off a cached, whole-millisecond loop clock and can fire a fraction
   * early, and the node asks for each deadline only once, so an early
   * wake-up re-arms. A follower's deadline moves later with every heartbeat:
   * a timer already due by then is kept and re-armed when it fires, instead
   * of a clearTimeout and a setTimeout on every heartbeat.
   */
  private arm(at: number): void {
    this.deadline = at;
    if (this.timer !== null && this.timerDue <= at) return;
    if (this.timer) clearTimeout(this.timer);
    const now = this.now();
    const delay = Math.ceil(Math.max(0, at - now));
    this.timerDue = now + delay;
    this.timer = setTimeout(() => this.timerFired(), delay);
  }

  /**
   * timerFired defers judging the deadline by one turn of the event loop
   * (setImmediate runs after the loop's I/O poll). A heartbeat that arrived
   * while this process could not run (a CPU-throttled period, a garbage
   * collection pause) is then handled before an election deadline is
   * judged, where a timer ticked at once would see the deadline passed and
   * start an election the waiting heartbeat would have prevented.
   */
  private timerFired(): void {
    this.timer = null;
    setImmediate(() => {
      // Re-armed meanwhile (the heartbeat came in): the new timer judges.
      if (this.timer !== null || this.stopped) return;
      const now = this.now();
      if (now < this.deadline) this.arm(this.deadline);
      else this.driver.step({ type: 'tick', now });
    });
  }

  private onRole({ role, term, primaryId, reason }: RoleChange): void {
    this.metrics.setRole(role);
    this.metrics.roleChanges.inc({ role });
    this.metrics.term.set(term);
    this.logger.info({ role, term, primaryId, reason }, `role ${role} in term ${term}`);
    if (primaryId !== null) {
      const won = primaryId === this.id && this.lastWin?.term === term ? this.lastWin : null;
      const election = won
        ? { cause: won.cause, durationMs: Math.round(won.durationMs), position: won.position, votes: won.votes, needed: won.needed }
        : undefined;
      this.terms.record(term, primaryId, primaryId === this.id ? 'elected' : 'heartbeat', new Date(), election);
    }
    // Promotion runs the hooks once the primary serves (onServing); demotion
    // at once, if the hooks were told it serves; a follower, on each new
    // primary it hears, with its url.
    if (this.announced.primaryId === this.id && role !== 'primary') this.announce('follower', term, primaryId);
    else if (role === 'follower' && primaryId !== null && (primaryId !== this.announced.primaryId || term !== this.announced.term)) {
      this.announce('follower', term, primaryId);
    }
    const pending = this.pendingSwitchover;
    if (pending && primaryId === pending.target && term > pending.fromTerm) {
      this.finishSwitchover({ status: 'completed', target: pending.target, term });
    }
  }

  /** The primary may serve: every older lease has ended. */
  private onServing(term: number): void {
    this.logger.info({ term }, `may serve as primary in term ${term}`);
    void this.promote(term);
  }

  /**
   * promote runs the pre-promote command, bounded, and only then lets this
   * node answer as primary (GET /primary) and runs the role-change hooks. A
   * command that fails or times out is logged and counted, and the primary
   * serves anyway: the command prepares the store, it does not vote.
   */
  private async promote(term: number): Promise<void> {
    const event = this.hookEvent('primary', term, this.id);
    if (this.prePromote) {
      const result = await this.prePromote.run(event);
      if (result !== 'ok') this.logger.warn({ term, result }, 'the pre-promote command did not succeed; serving anyway');
    }
    if (this.node.currentRole !== 'primary' || this.node.term !== term) return;
    this.promotedTerm = term;
    this.logger.info({ term }, `serving as primary in term ${term}`);
    this.announce('primary', term, this.id);
  }

  /** announce runs the role-change command and webhook for a view of the primary. */
  private announce(role: 'primary' | 'follower', term: number, primaryId: string | null): void {
    this.announced = { primaryId, term };
    const event = this.hookEvent(role, term, primaryId);
    void this.hook?.run(event);
    void this.webhook?.run(event);
  }

  private hookEvent(role: 'primary' | 'follower', term: number, primaryId: string | null): RoleHookEvent {
    return { nodeId: this.id, role, term, primaryId, primaryUrl: primaryId === null ? null : memberUrl(this.node, primaryId) };
  }

  private onElection(outcome: ElectionOutcome): void {
    this.metrics.elections.inc({ outcome: outcome.kind });
    // A witness or catching-up member declines every timeout: not news, and
    // not an election held, so the last one held stays on /status.
    if (outcome.kind === 'not_electable') {
      this.logger.debug({ outcome }, `election ${outcome.kind}`);
      return;
    }
    if (outcome.kind === 'elected') this.lastWin = outcome;
    const refusals = outcome.refusals ?? [];
    this.lastElection = {
      kind: outcome.kind,
      term: outcome.term,
      votes: outcome.votes,
      needed: outcome.needed,
      refusals: [...refusals],
      at: new Date().toISOString(),
    };
    // The voters' reasons go into the line itself, so that a failed election says why.
    const reasons = refusals.map((r) => `${r.voterId}: ${r.reason?.code ?? 'no answer'}`).join(', ');
    this.logger.info(
      { outcome },
      `election ${outcome.kind} in term ${outcome.term}: ${outcome.votes} of ${outcome.needed} votes needed${reasons ? `; refused by ${reasons}` : ''}`,
    );
  }

  private onSwitchoverAbandoned(target: string): void {
    this.logger.info({ switchover: { status: 'abandoned', target } }, 'switchover abandoned');
    this.finishSwitchover({ status: 'abandoned', target });
  }

  private onConfigCommitted(config: ClusterConfig): void {
    this.logger.info(
      { clusterId: config.clusterId, term: config.term, version: config.version, members: config.members },
      `configuration ${config.version} committed`,
    );
    const done = this.changeWaiters.filter((w) => w.version <= config.version);
    this.changeWaiters = this.changeWaiters.filter((w) => w.version > config.version);
    for (const w of done) {
      this.metrics.configChanges.inc({ result: 'committed' });
      w.resolve({ status: 'committed', config });
    }
  }

  private onConfigChangeFailed(version: number, why: 'stepped_down' | 'timed_out'): void {
    this.logger.warn({ version, why }, `membership change to version ${version} did not commit (${why})`);
    const failed = this.changeWaiters.filter((w) => w.version <= version);
    this.changeWaiters = this.changeWaiters.filter((w) => w.version > version);
    for (const w of failed) {
      this.metrics.configChanges.inc({ result: why });
      w.reject(
        why === 'timed_out'
          ? new ApiError(
              503,
              'change_timed_out',
              `version ${version} was not acknowledged by a majority of its voters in time; the primary rolled it back to the members before it`,
            )
          : new ApiError(
              503,
              'change_interrupted',
              `the primary stepped down before version ${version} committed: it may still take effect or be dropped; read GET /members`,
            ),
      );
    }
  }

  private finishSwitchover(r: SwitchoverOutcome): void {
    this.pendingSwitchover = null;
    const waiters = this.switchoverWaiters;
    this.switchoverWaiters = [];
    for (const w of waiters) w(r);
  }
}
