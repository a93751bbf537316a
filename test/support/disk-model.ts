// DiskModel is an in-memory filesystem that implements the store's Fs
// interface and simulates what a power loss does to a real disk, so tests and
// the simulator can crash a node at any step of a save and check what it
// finds on restart. It is deterministic unless crash() is given a seeded
// Random, so any failure replays from its seed.
//
// What a crash keeps (mirroring src/store/fs-ops.ts):
//  - A file's bytes survive only as of its last fsyncFile. Bytes written
//    since are lost; a file created and never fsynced comes back empty.
//  - A name created, renamed or removed in a directory survives only once
//    that directory was fsyncDir'ed; until then the change is lost.
//  - Directories made by mkdirp are durable at once (the real mkdirp fsyncs
//    each parent it adds to).
// With crash({ random }) the disk is less kind and closer to a real one: each
// directory keeps a random prefix of its unsynced changes (a journal commits
// in order), and each file with unsynced bytes comes back as its synced bytes,
// empty, a prefix of its new bytes, or all of them.
//
// Faults: failNext() makes chosen operations throw an errno error (EIO by
// default) without taking effect. crashAfter() makes the nth matching
// operation take effect and then throw Crash; from then on every operation
// throws Crash, as the process is dead, until crash() applies the power loss
// and "reboots" the disk. Every operation is logged in order in `log`.
//
// Limits: paths are POSIX; rename works within one directory only; there are
// no hard links, permissions or sizes.

import { posix } from 'node:path';
import type { Random } from '../../src/core/index.js';
import { errnoError, type Fs } from '../../src/store/fs-ops.js';

export type OpKind = 'readFile' | 'writeFile' | 'fsyncFile' | 'rename' | 'fsyncDir' | 'mkdirp' | 'removeFile';

/** Every operation that changes the disk: all but readFile. */
export const MUTATING_OPS: readonly OpKind[] = Object.freeze(['writeFile', 'fsyncFile', 'rename', 'fsyncDir', 'mkdirp', 'removeFile']);

export interface DiskOp {
  readonly kind: OpKind;
  /** The normalized absolute path operated on (the source of a rename). */
  readonly path: string;
  /** The target of a rename. */
  readonly to?: string;
}

export interface LoggedOp extends DiskOp {
  /** ok: took effect; failed: threw without effect; crashed: threw Crash (after effect, or refused while halted). */
  readonly outcome: 'ok' | 'failed' | 'crashed';
}

/** OpMatcher picks operations: by kind(s) and path (exact or pattern), or by a predicate. */
export type OpMatcher = { readonly kind?: OpKind | readonly OpKind[]; readonly path?: string | RegExp } | ((op: DiskOp) => boolean);

/** Crash is thrown by an operation the simulated process did not survive. */
export class Crash extends Error {
  override name = 'Crash';
  constructor(
    readonly op: DiskOp,
    message = `simulated crash after ${op.kind} ${op.path}`,
  ) {
    super(message);
  }
}

/** causedByCrash says whether err is a Crash or wraps one (the file store wraps disk errors). */
export function causedByCrash(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof Crash) return true;
  return false;
}

export interface CrashOptions {
  /** Without it every unsynced change is lost; with it, a random part survives (see the header). */
  readonly random?: Random;
}

interface Inode {
  /** What reads see now. Replaced, never mutated, so it can be shared with `synced`. */
  data: Uint8Array;
  /** What survives a crash. */
  synced: Uint8Array;
}

type DirChange =
  | { readonly kind: 'link'; readonly name: string; readonly inode: Inode }
  | { readonly kind: 'unlink'; readonly name: string }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string; readonly inode: Inode };

interface Dir {
  /** The names reads see now. */
  entries: Map<string, Inode>;
  /** The names as of the last fsyncDir. */
  durable: Map<string, Inode>;
  /** Changes to `entries` since the last fsyncDir, in order. */
  pending: DirChange[];
}

const EMPTY = new Uint8Array(0);

function newDir(): Dir {
  return { entries: new Map(), durable: new Map(), pending: [] };
}

function normalize(path: string): string {
  return posix.resolve('/', path);
}

function applyChange(names: Map<string, Inode>, c: DirChange): void {
  if (c.kind === 'link') names.set(c.name, c.inode);
  else if (c.kind === 'unlink') names.delete(c.name);
  else {
    names.delete(c.from);
    names.set(c.to, c.inode);
  }
}

function matches(m: OpMatcher, op: DiskOp): boolean {
  if (typeof m === 'function') return m(op);
  if (m.kind !== undefined && !(typeof m.kind === 'string' ? m.kind === op.kind : m.kind.includes(op.kind))) return false;
  if (m.path !== undefined && !(typeof m.path === 'string' ? normalize(m.path) === op.path : m.path.test(op.path))) return false;
  return true;
}

/** What a crash with a random source leaves of a file whose bytes are not all synced. */
function tornContent(inode: Inode, random: Random): Uint8Array {
  switch (random.nextInt(4)) {
    case 0:
      return inode.synced;
    case 1:
      return EMPTY;
    case 2:
      return inode.data.slice(0, random.nextInt(inode.data.length + 1));
    default:
      return inode.data;
  }
}

export class DiskModel implements Fs {
  /** Every operation so far, in order, with its outcome. */
  readonly log: LoggedOp[] = [];
  private readonly dirs = new Map<string, Dir>([['/', newDir()]]);
  private faults: { match: OpMatcher; code: string; remaining: number }[] = [];
  private crashHook: { match: OpMatcher; remaining: number } | null = null;
  private haltedBy: Crash | null = null;

  // ---- Faults and crashes ---------------------------------------------------

  /**
   * failNext makes the next `times` operations matching `match` throw an
   * errno error with `code` (EIO by default) without taking effect.
   */
  failNext(match: OpMatcher, opts: { readonly code?: string; readonly times?: number } = {}): void {
    this.faults.push({ match, code: opts.code ?? 'EIO', remaining: opts.times ?? 1 });
  }

  /**
   * crashAfter arms a crash: counting from now, the nth operation matching
   * `match` (by default any mutating one) takes effect, then throws Crash.
   * Operations that fail do not count.
   */
  crashAfter(nth: number, match: OpMatcher = { kind: MUTATING_OPS }): void {
    if (!Number.isSafeInteger(nth) || nth < 1) throw new RangeError(`crashAfter needs nth >= 1, got ${nth}`);
    this.crashHook = { match, remaining: nth };
  }

  /** Whether an armed crash fired and the disk refuses work until crash(). */
  get halted(): boolean {
    return this.haltedBy !== null;
  }

  /**
   * crash applies a power loss: every change not yet durable is lost (or, with
   * a random source, partly kept), then the disk works again. An armed crash
   * that has not fired is disarmed; armed faults stay, as the disk is the same.
   */
  crash(opts: CrashOptions = {}): void {
    const { random } = opts;
    const survivors = new Set<Inode>();
    for (const dir of this.dirs.values()) {
      const kept = random ? random.nextInt(dir.pending.length + 1) : 0;
      for (const change of dir.pending.slice(0, kept)) applyChange(dir.durable, change);
      dir.entries = new Map(dir.durable);
      dir.pending = [];
      for (const inode of dir.entries.values()) survivors.add(inode);
    }
    for (const inode of survivors) {
      const unsynced = inode.data !== inode.synced;
      inode.data = unsynced && random ? tornContent(inode, random) : inode.synced;
      inode.synced = inode.data;
    }
    this.haltedBy = null;
    this.crashHook = null;
  }

  // ---- Inspection, outside the log and the faults ----------------------------

  /** The bytes a read would see now, or null. */
  peek(path: string): Uint8Array | null {
    const p = normalize(path);
    return this.dirs.get(posix.dirname(p))?.entries.get(posix.basename(p))?.data ?? null;
  }

  /** The bytes a crash (without a random source) would leave, or null. */
  peekDurable(path: string): Uint8Array | null {
    const p = normalize(path);
    return this.dirs.get(posix.dirname(p))?.durable.get(posix.basename(p))?.synced ?? null;
  }

  /** The file names in a directory now, sorted. */
  list(dir: string): string[] {
    return [...(this.dirs.get(normalize(dir))?.entries.keys() ?? [])].sort();
  }

  /** put stores a file durably at once, creating its directories: a fixture, not an operation. */
  put(path: string, data: Uint8Array): void {
    const p = normalize(path);
    this.makeDirs(posix.dirname(p));
    const dir = this.dirs.get(posix.dirname(p))!;
    const copy = data.slice();
    const inode: Inode = { data: copy, synced: copy };
    dir.entries.set(posix.basename(p), inode);
    dir.durable.set(posix.basename(p), inode);
  }

  // ---- Fs ------------------------------------------------------------------

  readFile(path: string): Uint8Array | null {
    const p = normalize(path);
    return this.perform({ kind: 'readFile', path: p }, () => {
      if (this.dirs.has(p)) throw errnoError('EISDIR', 'read', p, 'illegal operation on a directory');
      const dir = this.dirOf(p, 'open', true);
      return dir?.entries.get(posix.basename(p))?.data.slice() ?? null;
    });
  }

  writeFile(path: string, data: Uint8Array): void {
    const p = normalize(path);
    this.perform({ kind: 'writeFile', path: p }, () => {
      if (this.dirs.has(p)) throw errnoError('EISDIR', 'open', p, 'illegal operation on a directory');
      const dir = this.dirOf(p, 'open')!;
      const name = posix.basename(p);
      const existing = dir.entries.get(name);
      if (existing) {
        existing.data = data.slice();
        return;
      }
      const inode: Inode = { data: data.slice(), synced: EMPTY };
      dir.entries.set(name, inode);
      dir.pending.push({ kind: 'link', name, inode });
    });
  }

  fsyncFile(path: string): void {
    const p = normalize(path);
    this.perform({ kind: 'fsyncFile', path: p }, () => {
      const inode = this.dirOf(p, 'open')!.entries.get(posix.basename(p));
      if (!inode) throw errnoError('ENOENT', 'open', p, 'no such file or directory');
      inode.synced = inode.data;
    });
  }

  rename(from: string, to: string): void {
    const f = normalize(from);
    const t = normalize(to);
    this.perform({ kind: 'rename', path: f, to: t }, () => {
      const dir = this.dirOf(f, 'rename')!;
      const inode = dir.entries.get(posix.basename(f));
      if (!inode) throw errnoError('ENOENT', 'rename', f, 'no such file or directory');
      if (this.dirs.has(t)) throw errnoError('EISDIR', 'rename', t, 'illegal operation on a directory');
      if (posix.dirname(f) !== posix.dirname(t)) throw errnoError('EXDEV', 'rename', f, 'the disk model renames within one directory only');
      if (f === t) return;
      const change: DirChange = { kind: 'rename', from: posix.basename(f), to: posix.basename(t), inode };
      applyChange(dir.entries, change);
      dir.pending.push(change);
    });
  }

  fsyncDir(dir: string): void {
    const p = normalize(dir);
    this.perform({ kind: 'fsyncDir', path: p }, () => {
      const d = this.dirs.get(p);
      if (!d) {
        const parent = this.dirs.get(posix.dirname(p));
        const isFile = parent?.entries.has(posix.basename(p)) ?? false;
        throw errnoError(isFile ? 'ENOTDIR' : 'ENOENT', 'fsync', p, isFile ? 'not a directory' : 'no such file or directory');
      }
      d.durable = new Map(d.entries);
      d.pending = [];
    });
  }

  mkdirp(dir: string): void {
    const p = normalize(dir);
    this.perform({ kind: 'mkdirp', path: p }, () => this.makeDirs(p));
  }

  removeFile(path: string): void {
    const p = normalize(path);
    this.perform({ kind: 'removeFile', path: p }, () => {
      const dir = this.dirOf(p, 'unlink', true);
      const name = posix.basename(p);
      if (!dir?.entries.has(name)) return;
      const change: DirChange = { kind: 'unlink', name };
      applyChange(dir.entries, change);
      dir.pending.push(change);
    });
  }

  // ---- Internals -------------------------------------------------------------

  private perform<T>(op: DiskOp, apply: () => T): T {
    if (this.haltedBy) {
      this.log.push({ ...op, outcome: 'crashed' });
      throw new Crash(op, `${op.kind} ${op.path} refused: the process crashed at ${this.haltedBy.op.kind} ${this.haltedBy.op.path}`);
    }
    const fault = this.faults.find((f) => matches(f.match, op));
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
      this.log.push({ ...op, outcome: 'failed' });
      throw errnoError(fault.code, op.kind, op.path, 'injected fault');
    }
    let result: T;
    try {
      result = apply();
    } catch (err) {
      this.log.push({ ...op, outcome: 'failed' });
      throw err;
    }
    const hook = this.crashHook;
    if (hook && matches(hook.match, op) && --hook.remaining === 0) {
      this.crashHook = null;
      this.haltedBy = new Crash(op);
      this.log.push({ ...op, outcome: 'crashed' });
      throw this.haltedBy;
    }
    this.log.push({ ...op, outcome: 'ok' });
    return result;
  }

  /**
   * dirOf finds the directory holding `path`. A missing one is ENOENT, or,
   * with `missingOk`, undefined; a file in the way is ENOTDIR.
   */
  private dirOf(path: string, syscall: string, missingOk = false): Dir | undefined {
    const parent = posix.dirname(path);
    const dir = this.dirs.get(parent);
    if (dir) return dir;
    for (let d = parent; d !== '/'; d = posix.dirname(d)) {
      if (this.dirs.get(posix.dirname(d))?.entries.has(posix.basename(d))) {
        throw errnoError('ENOTDIR', syscall, path, 'not a directory');
      }
    }
    if (missingOk) return undefined;
    throw errnoError('ENOENT', syscall, path, 'no such file or directory');
  }

  private makeDirs(p: string): void {
    const chain: string[] = [];
    for (let d = p; d !== '/'; d = posix.dirname(d)) chain.unshift(d);
    for (const d of chain) {
      if (this.dirs.has(d)) continue;
      if (this.dirs.get(posix.dirname(d))?.entries.has(posix.basename(d))) {
        throw errnoError('ENOTDIR', 'mkdir', p, `${d} is a file`);
      }
      this.dirs.set(d, newDir());
    }
  }
}
