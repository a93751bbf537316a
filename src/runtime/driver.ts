// The driver performs a protocol node's effects, in the order the node gives
// them, through a few small ports: a clock and a timer, a store, a transport
// and notifications. It is the one place that does so: the runtime plugs in
// real ports (performance.now, setTimeout, the file store, the peer client),
// the simulator and the core test harness plug in simulated ones, so every
// simulated run exercises the very effect order production uses.
//
// The order is the protocol's safety: a step's persist comes first, and a
// failed persist is fatal, so nothing after it in the step is performed and
// no answer leaves. The answer to a request or a switchover command is handed
// back to the caller of step() once every effect of the step is performed.

import type {
  ClusterConfig,
  ConfigChangeAnswer,
  Effect,
  ElectionOutcome,
  Event,
  HardState,
  Message,
  Node,
  Role,
  RoleChangeReason,
  SwitchoverAnswer,
} from '../core/index.js';

/** Clock reads the node's own clock, in milliseconds. */
export interface Clock {
  now(): number;
}

/** Timer ticks the node again at or after a time on its clock; arming replaces the earlier request. */
export interface Timer {
  arm(at: number): void;
}

/** Store makes a hard state durable before save returns; it throws if it cannot. */
export interface Store {
  save(state: HardState): void;
}

/** Transport sends requests to other members and closes the open ones of a decided round. */
export interface Transport {
  /** send delivers `message` to `to`; the reply, or its absence by `timeoutMs`, comes back as an event. */
  send(to: string, message: Message, timeoutMs: number): void;
  abort(round: number): void;
}

export interface RoleChange {
  readonly role: Role;
  readonly term: number;
  readonly primaryId: string | null;
  readonly reason: RoleChangeReason;
}

/** Notifications tell the world what the node became and decided. */
export interface Notifications {
  role(change: RoleChange): void;
  /** The primary of `term` starts to serve: every older lease has ended. */
  serving(term: number): void;
  election(outcome: ElectionOutcome): void;
  switchoverAbandoned(target: string): void;
  /** A configuration this primary wrote is committed. */
  configCommitted(config: ClusterConfig): void;
  /** A change this primary started will not commit: it stepped down, or the change timed out and was rolled back. */
  configChangeFailed(version: number, why: 'stepped_down' | 'timed_out'): void;
  /**
   * fatal reports a fault that stops the node: a failed persist (`cause`
   * 'persist') or a node that threw or broke the effect order ('step'). It is
   * called once; the driver steps nothing afterwards.
   */
  fatal(err: Error, cause: 'persist' | 'step'): void;
}

export interface Ports {
  readonly clock: Clock;
  readonly timer: Timer;
  readonly store: Store;
  readonly transport: Transport;
  readonly notify: Notifications;
}

/** What one step produced: the effects the node returned and the answers for whoever asked. */
export interface StepResult {
  readonly effects: readonly Effect[];
  /** The reply to the request stepped (and who asked), once the step's persist is durable; null if none. */
  readonly reply: ReplyEffect | null;
  /** The answer to the switchover command stepped; null if none. */
  readonly switchover: SwitchoverAnswer | null;
  /** The answer to the membership change stepped; null if none. */
  readonly configChange: ConfigChangeAnswer | null;
}

export type ReplyEffect = Extract<Effect, { type: 'reply' }>;

/** An input to the node without its time: the driver reads the clock. */
export type Input = Event extends infer E ? (E extends Event ? Omit<E, 'now'> : never) : never;

/** EffectOrderViolation: a node returned a persist that is not its step's first effect. */
export class EffectOrderViolation extends Error {
  override name = 'EffectOrderViolation';
  constructor(readonly index: number) {
    super(`the node returned a persist as effect ${index}, after effects that depend on it`);
  }
}

const NOTHING: StepResult = Object.freeze({ effects: [], reply: null, switchover: null, configChange: null });

export class Driver {
  private failure: Error | null = null;
  private halted = false;

  constructor(
    readonly node: Node,
    private readonly ports: Ports,
  ) {}

  /** The fatal fault that stopped the node, or null. */
  get failed(): Error | null {
    return this.failure;
  }

  /** halt stops stepping for good, without a fault (a clean shutdown). */
  halt(): void {
    this.halted = true;
  }

  get running(): boolean {
    return !this.halted && this.failure === null;
  }

  /** handle steps one input at the clock's current time. */
  handle(input: Input): StepResult {
    return this.step({ ...input, now: this.ports.clock.now() } as Event);
  }

  /** step feeds one event to the node and performs its effects in order. */
  step(event: Event): StepResult {
    if (!this.running) return NOTHING;
    let effects: Effect[];
    try {
      effects = this.node.step(event);
    } catch (err) {
      this.fail(err as Error, 'step');
      return NOTHING;
    }
    // A persist anywhere but first would let effects that depend on it happen
    // before it is durable: nothing of such a step is performed.
    for (let i = 1; i < effects.length; i++) {
      if ((effects[i] as Effect).type === 'persist') {
        this.fail(new EffectOrderViolation(i), 'step');
        return { ...NOTHING, effects };
      }
    }
    let reply: ReplyEffect | null = null;
    let switchover: SwitchoverAnswer | null = null;
    let configChange: ConfigChangeAnswer | null = null;
    for (const effect of effects) {
      switch (effect.type) {
        case 'persist':
          try {
            this.ports.store.save(effect.state);
          } catch (err) {
            this.fail(err as Error, 'persist');
            return { ...NOTHING, effects };
          }
          break;
        case 'send':
          this.ports.transport.send(effect.to, effect.message, effect.timeoutMs);
          break;
        case 'abort':
          this.ports.transport.abort(effect.round);
          break;
        case 'timer':
          this.ports.timer.arm(effect.at);
          break;
        case 'role':
          this.ports.notify.role(effect);
          break;
        case 'serving':
          this.ports.notify.serving(effect.term);
          break;
        case 'election':
          this.ports.notify.election(effect.outcome);
          break;
        case 'reply':
          reply = effect;
          break;
        case 'switchover_answer':
          switchover = effect.answer;
          break;
        case 'switchover_abandoned':
          this.ports.notify.switchoverAbandoned(effect.target);
          break;
        case 'config_change_answer':
          configChange = effect.answer;
          break;
        case 'config_committed':
          this.ports.notify.configCommitted(effect.config);
          break;
        case 'config_change_failed':
          this.ports.notify.configChangeFailed(effect.version, effect.why);
          break;
      }
      // A notification may have stopped the node (a fatal fault seen by the runtime).
      if (!this.running) return { ...NOTHING, effects };
    }
    return { effects, reply, switchover, configChange };
  }

  private fail(err: Error, cause: 'persist' | 'step'): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.ports.notify.fatal(err, cause);
  }
}
