// What goes into the node (events) and what comes out (effects). The driver
// (src/runtime/driver.ts) performs a step's effects in the order given; a
// persist always comes first, so nothing is sent before the state it depends
// on is durable. The answer to the request or command being stepped is an
// effect of its own (reply, switchover_answer): it goes back to whoever asked,
// after the step's persist, and never travels as a send.

import type { LogPosition } from './position.js';
import type { ClusterConfig, ConfigChange, ChangeRefusal } from './cluster-config.js';
import type { HeartbeatResponse, Message, Refusal, VoteResponse } from './messages.js';

export type Event =
  /**
   * The node can answer from now on (its process listens). Its start-up
   * loyalty and first election deadline run from here, not from when it was
   * built: a process can take seconds between the two.
   */
  | { readonly type: 'start'; readonly now: number }
  /** Time passed; the node checks its timers. */
  | { readonly type: 'tick'; readonly now: number }
  /** A message arrived from another node. */
  | { readonly type: 'message'; readonly now: number; readonly message: Message }
  /** A request this node sent got no reply (deadline, refused, reset). */
  | { readonly type: 'undeliverable'; readonly now: number; readonly to: string; readonly message: Message }
  /** The local data store's agent reports this node's durable log position. */
  | { readonly type: 'position'; readonly now: number; readonly position: LogPosition }
  /** The runtime saw the primary's process gone: its port refused a connection. */
  | { readonly type: 'primary_unreachable'; readonly now: number; readonly primaryId: string }
  /** An operator asks the primary for a switchover, to a named or the best member. */
  | { readonly type: 'switchover'; readonly now: number; readonly target: string | null }
  /**
   * An operator resumes automatic failover while this node hears no primary
   * (the primary died during maintenance): it stands at once, and if it wins
   * it writes the configuration resumed.
   */
  | { readonly type: 'resume'; readonly now: number }
  /** An operator asks the primary to change the membership by one member. */
  | { readonly type: 'config_change'; readonly now: number; readonly change: ConfigChange };

export type Role = 'follower' | 'precandidate' | 'candidate' | 'primary';

/** HardState is what must survive a crash; it is persisted whole. */
export interface HardState {
  readonly term: number;
  readonly votedFor: string | null;
  readonly commitWatermark: LogPosition;
  /** The cluster configuration; null until a node that joins an existing cluster has heard it. */
  readonly config: ClusterConfig | null;
}

/**
 * One voter that did not grant a round, and why: its refusal, or null when
 * no usable answer came (undeliverable, or a refusal with no reason).
 */
export interface VoterRefusal {
  readonly voterId: string;
  readonly reason: Refusal | null;
}

/** The tally of a round that was held; `refusals` lists the voters that refused, in the order they did. */
interface RoundTally {
  readonly term: number;
  readonly votes: number;
  readonly needed: number;
  readonly refusals?: readonly VoterRefusal[];
}

/**
 * Why an election began: a follower's election timeout ran out, its primary's
 * port refused a connection (evidence), the primary handed over (a
 * switchover, or its shutdown), or an operator resumed failover.
 */
export type ElectionCause = 'timeout' | 'evidence' | 'handoff' | 'resume';

/** What the winner knows of the election it won: why it began, how long it took from its first probe, and its log position. */
interface Win {
  readonly cause: ElectionCause;
  readonly durationMs: number;
  readonly position: LogPosition | null;
}

export type ElectionOutcome =
  | ({ readonly kind: 'elected' } & RoundTally & Win)
  | ({ readonly kind: 'probe_failed' } & RoundTally)
  | ({ readonly kind: 'lost' } & RoundTally)
  | ({ readonly kind: 'timed_out' } & RoundTally)
  | { readonly kind: 'not_electable'; readonly term: number; readonly why: string };

export type RoleChangeReason = 'start' | 'elected' | 'heartbeat' | 'higher_term' | 'quorum_lost' | 'handoff' | 'election_started' | 'election_ended' | 'voted';

/** The node's answer to a switchover command, given in the step that took it. */
export type SwitchoverAnswer = { readonly status: 'started'; readonly target: string } | { readonly status: 'refused'; readonly reason: string };

/**
 * The answer to a membership change, given in the step that took it: started
 * (it commits later, see config_committed), already in force, or refused.
 * `not_primary` and `hand_over_first` are for the runtime: it forwards the
 * change to the primary, or hands over before removing the primary itself.
 */
export type ConfigChangeAnswer =
  | { readonly status: 'started'; readonly version: number }
  | { readonly status: 'unchanged'; readonly config: ClusterConfig }
  | {
      readonly status: 'refused';
      readonly code: ChangeRefusal['code'] | 'not_primary' | 'hand_over_first' | 'change_in_progress' | 'not_ready' | 'not_caught_up';
      readonly why: string;
    };

/** A reply answers a request (a vote request, a heartbeat) on the request's own connection. */
export type Reply = VoteResponse | HeartbeatResponse;

export type Effect =
  | { readonly type: 'persist'; readonly state: HardState }
  | { readonly type: 'send'; readonly to: string; readonly message: Message; readonly timeoutMs: number }
  /** Abort requests still in flight for a round that is decided. */
  | { readonly type: 'abort'; readonly round: number }
  /** Tick the node again at this time (replaces any earlier request). */
  | { readonly type: 'timer'; readonly at: number }
  | {
      readonly type: 'role';
      readonly role: Role;
      readonly term: number;
      readonly primaryId: string | null;
      readonly reason: RoleChangeReason;
    }
  | { readonly type: 'election'; readonly outcome: ElectionOutcome }
  /**
   * The primary of `term` starts to serve: every older primary's lease has
   * ended. Its lease holds from here while rounds are acknowledged; the
   * runtime runs the promotion hook now, not when the election was won.
   */
  | { readonly type: 'serving'; readonly term: number }
  /**
   * The answer to the request being stepped. `to` names who asked; the answer
   * goes back on the request's connection, so only that asker can get it.
   */
  | { readonly type: 'reply'; readonly to: string; readonly message: Reply }
  /** The answer to the switchover command being stepped. */
  | { readonly type: 'switchover_answer'; readonly answer: SwitchoverAnswer }
  /** A switchover under way was given up: its target did not take over in time. */
  | { readonly type: 'switchover_abandoned'; readonly target: string }
  /** The answer to the membership change being stepped. */
  | { readonly type: 'config_change_answer'; readonly answer: ConfigChangeAnswer }
  /**
   * A configuration written by this primary was acknowledged by a majority of
   * its voters, in this primary's term: every later primary holds it.
   * `promoted` names a member this primary promoted by itself, if it did.
   */
  | { readonly type: 'config_committed'; readonly config: ClusterConfig }
  /**
   * A change this primary started did not commit: it stepped down, or the
   * change timed out and was rolled back by a new version with the old members.
   */
  | { readonly type: 'config_change_failed'; readonly version: number; readonly why: 'stepped_down' | 'timed_out' };
