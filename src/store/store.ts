// The contract of a node's durable state store. save() returns only once the
// state is durable; load() returns null when nothing was ever saved, so the
// caller applies its defaults. Both are synchronous on purpose: the runtime
// performs a step's effects in order, and a synchronous save makes "persist
// before send" hold without any queueing.

import type { HardState } from '../core/index.js';

export interface StateStore {
  /** The last saved state, or null if none was ever saved. Throws StateFileError. */
  load(): HardState | null;
  /** Makes `state` durable before returning. Throws StateWriteError: the caller must treat it as fatal. */
  save(state: HardState): void;
  /** Where the state lives, for messages. */
  readonly location: string;
}

/** The state file exists but cannot be read or trusted; start-up must stop. */
export class StateFileError extends Error {
  override name = 'StateFileError';
  constructor(
    readonly path: string,
    readonly why: string,
  ) {
    super(`state file ${path} cannot be used: ${why}`);
  }
}

/** A write, fsync or rename of the state failed; nothing may be granted after this. */
export class StateWriteError extends Error {
  override name = 'StateWriteError';
  constructor(
    readonly path: string,
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`saving state to ${path} failed at ${step}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
