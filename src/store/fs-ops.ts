// The narrow, synchronous filesystem interface the file store is written
// against, and its real implementation on node:fs. Keeping the interface this
// small is what lets a test or the simulator swap in a crash-simulating disk
// (test/support/disk-model.ts) and check every step of a save.
//
// Durability rules callers rely on, which every implementation must model:
//  - writeFile leaves the bytes volatile until fsyncFile of that path;
//  - creating, renaming or removing a name is volatile until fsyncDir of the
//    directory holding it;
//  - mkdirp is durable when it returns.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface Fs {
  /** The whole file, or null when it does not exist (ENOENT). Any other failure throws. */
  readFile(path: string): Uint8Array | null;
  /** Creates or truncates `path` and writes all of `data`. Not durable until fsyncFile and fsyncDir. */
  writeFile(path: string, data: Uint8Array): void;
  /** Makes the bytes of an existing file durable. */
  fsyncFile(path: string): void;
  /** Atomically replaces `to` with `from`. Not durable until fsyncDir of the directory. */
  rename(from: string, to: string): void;
  /** Makes the creations, renames and removals of names in `dir` durable. */
  fsyncDir(dir: string): void;
  /** Creates `dir` and any missing ancestors, durably; does nothing if it exists. */
  mkdirp(dir: string): void;
  /** Removes a file if it exists. Not durable until fsyncDir. */
  removeFile(path: string): void;
}

/** errnoError builds an error shaped like the ones node:fs throws, code and all. */
export function errnoError(code: string, syscall: string, path: string, detail = code): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: ${detail}, ${syscall} '${path}'`);
  err.code = code;
  err.syscall = syscall;
  err.path = path;
  return err;
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

function fsyncPath(path: string, flags: string): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * nodeFs is the real filesystem. fsyncFile opens the file again rather than
 * keeping the writer's descriptor: Linux (since 4.16) reports a writeback
 * error that no one has seen yet to the next descriptor that fsyncs, so the
 * failure is not lost between the two calls.
 */
export const nodeFs: Fs = Object.freeze({
  readFile(path: string): Uint8Array | null {
    try {
      return readFileSync(path);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    }
  },

  writeFile(path: string, data: Uint8Array): void {
    const fd = openSync(path, 'w');
    try {
      let offset = 0;
      // writeSync may write less than asked (a full disk, a signal), so it loops.
      while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
    } finally {
      closeSync(fd);
    }
  },

  // Opened for writing because some platforms refuse to flush a read-only descriptor.
  fsyncFile(path: string): void {
    fsyncPath(path, 'r+');
  },

  rename(from: string, to: string): void {
    renameSync(from, to);
  },

  // A directory can only be opened read-only; on Linux that is enough to fsync it.
  fsyncDir(dir: string): void {
    fsyncPath(dir, 'r');
  },

  mkdirp(dir: string): void {
    // Walk up to the first directory that exists, then create downwards and
    // fsync each parent, so a new data directory survives a crash as well.
    const missing: string[] = [];
    for (let d = resolve(dir); ; d = dirname(d)) {
      const st = statSync(d, { throwIfNoEntry: false });
      if (st) {
        if (!st.isDirectory()) throw errnoError('ENOTDIR', 'mkdir', dir, `${d} is not a directory`);
        break;
      }
      missing.push(d);
      if (dirname(d) === d) break;
    }
    for (const d of missing.reverse()) {
      try {
        mkdirSync(d);
      } catch (err) {
        // Another process may have created it in the meantime; that is fine.
        if (!isErrno(err, 'EEXIST')) throw err;
      }
      nodeFs.fsyncDir(dirname(d));
    }
  },

  removeFile(path: string): void {
    try {
      unlinkSync(path);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  },
});
