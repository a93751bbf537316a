// FileStore keeps a node's HardState in one JSON file and replaces it
// atomically: write a temp file beside it, fsync it, rename it over the live
// file, fsync the directory. A crash at any point leaves either the old record
// or the new one, and once save() returns the new one survives any crash. That
// is what makes a granted vote durable (DESIGN.md, invariant 4).

import { basename, dirname, join, resolve } from 'node:path';
import type { HardState } from '../core/index.js';
import { nodeFs, type Fs } from './fs-ops.js';
import { decodeStateFile, encodeStateFile } from './state-codec.js';
import { StateFileError, StateWriteError, type StateStore } from './store.js';

/** The state file's name inside a node's data directory. */
export const STATE_FILE_NAME = 'state.json';

/** The steps of a save, as they appear in StateWriteError.step. */
export type SaveStep =
  | 'check state'
  | 'create directory'
  | 'write temp file'
  | 'fsync temp file'
  | 'rename temp file'
  | 'fsync directory'
  | 'refused after an earlier failure';

export class FileStore implements StateStore {
  /** The live state file, as an absolute path. */
  readonly location: string;
  /** Where a save writes before it renames; never the live file's name. */
  readonly tempPath: string;
  private readonly dir: string;
  private readonly fs: Fs;
  private dirReady = false;
  private failure: StateWriteError | null = null;

  /** inDataDir is the store of a node whose data directory is `dataDir`. */
  static inDataDir(dataDir: string, fs: Fs = nodeFs): FileStore {
    return new FileStore(join(dataDir, STATE_FILE_NAME), fs);
  }

  constructor(path: string, fs: Fs = nodeFs) {
    this.location = resolve(path);
    this.dir = dirname(this.location);
    // Only the root resolves to its own parent; it cannot be a file.
    if (this.dir === this.location) throw new TypeError(`state file path ${path} names no file`);
    const name = basename(this.location);
    // A leading dot and a suffix make the temp name differ from the live one
    // whatever the live name is, and keep it out of a plain directory listing.
    this.tempPath = join(this.dir, `.${name}.tmp`);
    this.fs = fs;
  }

  /**
   * load returns the saved state, or null when the file does not exist. A
   * file that exists but cannot be read or trusted throws StateFileError: a
   * node must not start from defaults when it may already have voted.
   */
  load(): HardState | null {
    let bytes: Uint8Array | null;
    try {
      bytes = this.fs.readFile(this.location);
    } catch (err) {
      throw new StateFileError(this.location, `it cannot be read (${messageOf(err)})`);
    }
    if (bytes === null) return null;
    const decoded = decodeStateFile(bytes);
    if (!decoded.ok) throw new StateFileError(this.location, decoded.why);
    return decoded.state;
  }

  /**
   * save returns only once `state` is durable. Any failure throws
   * StateWriteError. A failure of the disk also refuses every later save of
   * this store: after a failed fsync the kernel may have dropped the data
   * yet report the next fsync as a success, so this process can no longer
   * know what is on disk and must exit rather than grant anything
   * (DESIGN.md, invariant 4).
   */
  save(state: HardState): void {
    if (this.failure) throw new StateWriteError(this.location, 'refused after an earlier failure', this.failure);
    const bytes = this.step('check state', () => encodeStateFile(state));
    try {
      if (!this.dirReady) {
        this.step('create directory', () => this.fs.mkdirp(this.dir));
        this.dirReady = true;
      }
      this.step('write temp file', () => this.fs.writeFile(this.tempPath, bytes), true);
      this.step('fsync temp file', () => this.fs.fsyncFile(this.tempPath), true);
      this.step('rename temp file', () => this.fs.rename(this.tempPath, this.location), true);
      this.step('fsync directory', () => this.fs.fsyncDir(this.dir));
    } catch (err) {
      if (err instanceof StateWriteError) this.failure = err;
      throw err;
    }
  }

  private step<T>(step: SaveStep, fn: () => T, removeTempOnFailure = false): T {
    try {
      return fn();
    } catch (err) {
      // A temp file left behind is harmless (load never reads it and the next
      // save truncates it), so removing it is only tidiness and may fail.
      if (removeTempOnFailure) {
        try {
          this.fs.removeFile(this.tempPath);
        } catch {
          // The save has failed already; that error is the one to report.
        }
      }
      throw new StateWriteError(this.location, step, err);
    }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
