// The data-folder lock: one quorumd process per data folder. Two processes on
// one folder would share a term and a vote, both write the one state file, and
// each could grant a different candidate in the same term under one name. So
// a node takes this lock before it loads its state: a lock file created with
// O_EXCL that names the holder's pid, node id and the machine's boot. A lock
// whose process is gone (the node was killed), or that was taken in an earlier
// boot of the machine (its pid may now belong to an unrelated process), is
// stale and is taken over.

import { randomUUID } from 'node:crypto';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { nodeFs } from './fs-ops.js';

/** The lock file's name inside a node's data folder. */
export const LOCK_FILE_NAME = 'quorumd.lock';

/** What a lock file says about the process holding it. */
export interface LockHolder {
  readonly pid: number;
  readonly nodeId: string | null;
  /** The boot of the machine the lock was taken in, where the system says (Linux), else null. */
  readonly boot: string | null;
}

/** Another live process holds the data folder's lock; start-up must stop. */
export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly path: string,
    readonly holder: LockHolder,
  ) {
    const who = holder.nodeId === null ? `pid ${holder.pid}` : `pid ${holder.pid}, node ${holder.nodeId}`;
    super(
      `the data folder ${dataDir} is in use by another quorumd process (${who}); ` + `stop that process first, or, if no quorumd runs there, remove ${path}`,
    );
  }
}

export interface DataDirLockOptions {
  /** The id of the node taking the lock; written into the file for people reading it. */
  readonly nodeId: string;
  /** The pid to write; this process's by default. */
  readonly pid?: number;
  /** Whether a process is alive; by default a signal 0 sent to it. */
  readonly isAlive?: (pid: number) => boolean;
  /** This boot of the machine; by default the kernel's boot id, where there is one. */
  readonly boot?: string | null;
  /** Told of a stale lock just before it is removed. */
  readonly onStale?: (stale: LockHolder | null, path: string) => void;
}

// The lock paths this process holds. A second lock on one folder from this
// very process is refused; a lock file that names our pid but is not listed
// here was left by an earlier process that had the same pid (a container
// restarted: its first process is pid 1 again), so it is stale.
const heldHere = new Set<string>();

// A lock file is taken over only this many times in a row; a folder where
// another process keeps creating one between our attempts is refused.
const ATTEMPTS = 5;

export class DataDirLock {
  /** The lock file, as an absolute path. */
  readonly path: string;
  private readonly content: string;
  private released = false;

  private constructor(path: string, content: string) {
    this.path = path;
    this.content = content;
  }

  /**
   * acquire creates the data folder if it is missing and takes its lock, or
   * throws DataDirLockedError when a live process (another one, or this one
   * through an earlier lock) holds it. A stale lock is removed and taken.
   */
  static acquire(dataDir: string, opts: DataDirLockOptions): DataDirLock {
    const dir = resolve(dataDir);
    const path = join(dir, LOCK_FILE_NAME);
    const pid = opts.pid ?? process.pid;
    const isAlive = opts.isAlive ?? processIsAlive;
    const boot = opts.boot === undefined ? currentBoot() : opts.boot;
    const content = `${JSON.stringify({ pid, nodeId: opts.nodeId, boot, token: randomUUID(), since: new Date().toISOString() })}\n`;
    nodeFs.mkdirp(dir);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (heldHere.has(path)) throw new DataDirLockedError(dir, path, { pid, nodeId: null, boot });
      try {
        writeFileSync(path, content, { flag: 'wx', mode: 0o644 });
        heldHere.add(path);
        return new DataDirLock(path, content);
      } catch (err) {
        if (errnoOf(err) !== 'EEXIST') throw err;
      }
      const found = readHolder(path);
      if (found === 'gone') continue;
      const sameBoot = found === null || found.boot === null || boot === null || found.boot === boot;
      if (found !== null && sameBoot && found.pid !== pid && isAlive(found.pid)) throw new DataDirLockedError(dir, path, found);
      // The holder is gone, is an earlier process with our pid, ran before the
      // machine last booted, or wrote nothing readable before it died: the
      // lock is stale. Two processes
      // taking over one stale lock at the same instant could both unlink and
      // recreate it; the loop's O_EXCL create makes that window the few
      // microseconds between one's read and the other's unlink.
      opts.onStale?.(found, path);
      try {
        unlinkSync(path);
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT') throw err;
      }
    }
    throw new Error(`could not take the lock ${path}: another process keeps creating it`);
  }

  /**
   * release removes the lock file if it is still ours, so that the next start
   * finds the folder free. It does nothing the second time.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.path);
    try {
      if (readFileSync(this.path, 'utf8') === this.content) unlinkSync(this.path);
    } catch {
      // A lock file that is already gone, or cannot be read, is not ours to remove.
    }
  }
}

/**
 * processIsAlive: a signal 0 checks that a process exists without touching
 * it. EPERM means it exists under another user; only ESRCH means it is gone.
 */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) !== 'ESRCH';
  }
}

/**
 * readHolder reads a lock file: its holder, 'gone' when the file vanished
 * meanwhile, or null when it holds no valid pid. A file being written by a
 * process that just created it can be empty for an instant, so an unreadable
 * one is read once more after a short pause before it counts as stale.
 */
function readHolder(path: string): LockHolder | 'gone' | null {
  for (let attempt = 0; attempt < 2; attempt++) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return 'gone';
      throw err;
    }
    const holder = parseHolder(text);
    if (holder !== null) return holder;
    if (attempt === 0) sleep(100);
  }
  return null;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text) as { pid?: unknown; nodeId?: unknown; boot?: unknown };
    // A pid of 0 or below would signal a process group, never one process.
    if (typeof value.pid !== 'number' || !Number.isSafeInteger(value.pid) || value.pid <= 0) return null;
    return { pid: value.pid, nodeId: typeof value.nodeId === 'string' ? value.nodeId : null, boot: typeof value.boot === 'string' ? value.boot : null };
  } catch {
    return null;
  }
}

/** currentBoot: the kernel's id of this boot (Linux), or null where the system has none. */
function currentBoot(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}
