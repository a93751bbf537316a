// MemoryStore keeps a node's HardState in memory with the same contract as
// the file store: it copies on save and on load, so neither the caller nor a
// later step of the node can change what was "written", and it checks the
// state's shape the same way. Tests and the simulator use it where a disk is
// beside the point, and inject its failures to exercise the fatal paths.

import type { HardState } from '../core/index.js';
import { checkHardState, copyHardState } from './state-codec.js';
import { StateFileError, StateWriteError, type StateStore } from './store.js';

export interface MemoryStoreOptions {
  /** The state already "on disk", as if saved by an earlier process. */
  readonly initial?: HardState | null;
  /** The name shown in error messages. */
  readonly location?: string;
}

export class MemoryStore implements StateStore {
  readonly location: string;
  private stored: HardState | null;
  private nextSaveFailure: { readonly cause: unknown } | null = null;
  private corruption: string | null = null;
  private saveCount = 0;

  constructor(opts: MemoryStoreOptions = {}) {
    this.location = opts.location ?? 'memory';
    const problem = opts.initial ? checkHardState(opts.initial) : null;
    if (problem) throw new TypeError(`MemoryStore initial state is malformed: ${problem}`);
    this.stored = opts.initial ? copyHardState(opts.initial) : null;
  }

  load(): HardState | null {
    if (this.corruption !== null) throw new StateFileError(this.location, this.corruption);
    return this.stored ? copyHardState(this.stored) : null;
  }

  save(state: HardState): void {
    const copy = this.checked(state);
    const failure = this.nextSaveFailure;
    if (failure) {
      this.nextSaveFailure = null;
      throw new StateWriteError(this.location, 'injected failure', failure.cause);
    }
    this.stored = copy;
    this.corruption = null;
    this.saveCount += 1;
  }

  /** failNextSave makes the next save throw StateWriteError and keep the old state, as a failed fsync would. */
  failNextSave(cause: unknown = new Error('injected write failure')): void {
    this.nextSaveFailure = { cause };
  }

  /** corrupt makes every load throw StateFileError with `why`, until a save replaces the state. */
  corrupt(why = 'injected corruption'): void {
    this.corruption = why;
  }

  /** How many saves succeeded: a test can check that a step persisted, or did not. */
  get saves(): number {
    return this.saveCount;
  }

  private checked(state: HardState): HardState {
    const problem = checkHardState(state);
    if (problem) throw new StateWriteError(this.location, 'check state', new TypeError(`refusing to write a malformed state: ${problem}`));
    return copyHardState(state);
  }
}
