// The file store on the crash-simulating disk model: a crash after any step
// of a save leaves the old record or the new one, never a mix and never an
// unreadable file, and the new one for certain once save() returned; a disk
// error at any step surfaces as StateWriteError and keeps the old record.

import t from 'tap';
import type { HardState } from '../../src/core/index.js';
import { seededRandom } from '../../src/core/index.js';
import { FileStore, StateWriteError, type SaveStep } from '../../src/store/index.js';
import { DiskModel, MUTATING_OPS, causedByCrash, type OpKind } from '../support/disk-model.js';
import { NEW, OLD, caught } from './fixtures/index.js';

const DATA_DIR = '/var/lib/quorumd';
const PATH = `${DATA_DIR}/state.json`;
const TEMP = `${DATA_DIR}/.state.json.tmp`;

/** The four disk steps of a save once the data directory exists. */
const SAVE_OPS: readonly OpKind[] = ['writeFile', 'fsyncFile', 'rename', 'fsyncDir'];

/** A disk whose state file durably holds OLD, written by an earlier process. */
function diskWithOld(): DiskModel {
  const disk = new DiskModel();
  new FileStore(PATH, disk).save(OLD);
  disk.log.length = 0;
  return disk;
}

/**
 * Saves `state` from a new process with a crash armed after the nth of its
 * disk operations of the given kinds (by default the four save steps, not
 * the directory check a new store makes first); returns whether save()
 * returned.
 */
function saveWithCrashAfter(disk: DiskModel, nth: number, state: HardState, kinds: readonly OpKind[] = SAVE_OPS): boolean {
  disk.crashAfter(nth, { kind: kinds });
  const err = caught(() => new FileStore(PATH, disk).save(state));
  if (err === undefined) return true;
  if (!(err instanceof StateWriteError) || !causedByCrash(err)) throw err;
  return false;
}

/** What a new process finds on the disk after a power loss. */
function loadAfterCrash(disk: DiskModel, seed?: number): HardState | null {
  disk.crash(seed === undefined ? {} : { random: seededRandom(seed) });
  return new FileStore(PATH, disk).load();
}

t.test('a save writes the temp file, fsyncs it, renames it over the state file, then fsyncs the directory', async (t) => {
  const disk = new DiskModel();
  const store = new FileStore(PATH, disk);
  store.save(OLD);
  store.save(NEW);
  const step = (kind: OpKind, path: string, to?: string) => ({ kind, path, ...(to ? { to } : {}), outcome: 'ok' });
  const save = [step('writeFile', TEMP), step('fsyncFile', TEMP), step('rename', TEMP, PATH), step('fsyncDir', DATA_DIR)];
  t.same(disk.log, [step('mkdirp', DATA_DIR), ...save, ...save], 'the directory is made once, then every save takes the same four steps');
  t.same(disk.list(DATA_DIR), ['state.json']);
});

t.test('a crash after any step of a save leaves the old record or the new one, and the new one once the directory is fsynced', async (t) => {
  // Without a random source the disk loses everything not yet durable, so the
  // outcome of each step is exact: only the directory fsync publishes.
  const expected: Partial<Record<OpKind, HardState>> = { writeFile: OLD, fsyncFile: OLD, rename: OLD, fsyncDir: NEW };
  for (const [i, kind] of SAVE_OPS.entries()) {
    const disk = diskWithOld();
    t.notOk(saveWithCrashAfter(disk, i + 1, NEW), `the crash after ${kind} interrupted the save`);
    t.same(loadAfterCrash(disk), expected[kind], `after ${kind}`);
  }
  const disk = diskWithOld();
  t.ok(saveWithCrashAfter(disk, SAVE_OPS.length + 1, NEW), 'with no step left to crash in, save returns');
  t.same(loadAfterCrash(disk), NEW, 'a save that returned survives the crash');
});

t.test('a crash at any step of the first save leaves no record or the new one', async (t) => {
  const steps: OpKind[] = ['mkdirp', ...SAVE_OPS];
  for (const [i, kind] of steps.entries()) {
    const disk = new DiskModel();
    t.notOk(saveWithCrashAfter(disk, i + 1, NEW, steps));
    t.same(loadAfterCrash(disk), kind === 'fsyncDir' ? NEW : null, `after ${kind}`);
  }
});

t.test('a crash at any step with torn file writes and partly kept directory changes never yields a mix or an error', async (t) => {
  const seen = new Set<string>();
  let runs = 0;
  for (let seed = 1; seed <= 150; seed++) {
    for (const [i, kind] of SAVE_OPS.entries()) {
      const disk = diskWithOld();
      saveWithCrashAfter(disk, i + 1, NEW);
      const loaded = loadAfterCrash(disk, seed);
      const which = JSON.stringify(loaded) === JSON.stringify(NEW) ? 'new' : JSON.stringify(loaded) === JSON.stringify(OLD) ? 'old' : 'mix';
      if (which === 'mix' || (kind === 'fsyncDir' && which !== 'new')) {
        t.fail(`seed ${seed}, crash after ${kind}: loaded ${JSON.stringify(loaded)}`);
        return;
      }
      seen.add(`${kind}:${which}`);
      runs++;
    }
  }
  t.equal(runs, 150 * SAVE_OPS.length, 'every crash loaded the old or the new record');
  t.ok(seen.has('rename:old') && seen.has('rename:new'), 'an unsynced rename sometimes survived and sometimes did not');
  t.notOk(seen.has('fsyncDir:old'), 'after the directory fsync it was always the new one');
});

t.test('across a series of saves, a crash anywhere loads the last save that returned or the one in flight', async (t) => {
  const states: HardState[] = Array.from({ length: 6 }, (_, i) => ({ ...NEW, term: 10 + i, votedFor: `n${i}` }));
  for (let seed = 1; seed <= 200; seed++) {
    const random = seededRandom(seed);
    const disk = new DiskModel();
    const store = new FileStore(PATH, disk);
    disk.crashAfter(1 + random.nextInt(states.length * SAVE_OPS.length + 2), { kind: MUTATING_OPS });
    let completed: HardState | null = null;
    let inFlight: HardState | null = null;
    for (const s of states) {
      inFlight = s;
      if (caught(() => store.save(s)) !== undefined) break;
      completed = s;
      inFlight = null;
    }
    const loaded = loadAfterCrash(disk, seed);
    const ok = JSON.stringify(loaded) === JSON.stringify(completed) || (inFlight !== null && JSON.stringify(loaded) === JSON.stringify(inFlight));
    if (!ok) {
      t.fail(`seed ${seed}: loaded ${JSON.stringify(loaded)}, completed ${JSON.stringify(completed)}`);
      return;
    }
  }
  t.pass('200 seeded runs loaded the last completed save or the one in flight');
});

t.test('a disk error at any step of a save surfaces as StateWriteError naming the path and the step, and the old record survives', async (t) => {
  const steps: [OpKind, SaveStep][] = [
    ['writeFile', 'write temp file'],
    ['fsyncFile', 'fsync temp file'],
    ['rename', 'rename temp file'],
    ['fsyncDir', 'fsync directory'],
  ];
  for (const [kind, step] of steps) {
    const disk = diskWithOld();
    disk.failNext({ kind }, { code: 'EIO' });
    const err = caught(() => new FileStore(PATH, disk).save(NEW));
    t.type(err, StateWriteError, `${kind} failing`);
    t.equal((err as StateWriteError).step, step);
    t.match((err as Error).message, PATH);
    t.match((err as Error).message, /EIO/);
    // Before the rename the old record is still what a read sees; after it the
    // new one is visible but not durable, and the node must exit either way.
    t.same(new FileStore(PATH, disk).load(), kind === 'fsyncDir' ? NEW : OLD, `a read right after ${kind} failed`);
    t.same(disk.list(DATA_DIR), ['state.json'], 'the temp file was removed or renamed');
    t.same(loadAfterCrash(disk), OLD, `after ${kind} failed and the power went, the old record`);
  }
  const disk = new DiskModel();
  disk.failNext({ kind: 'mkdirp' }, { code: 'EACCES' });
  const err = caught(() => new FileStore(PATH, disk).save(NEW));
  t.equal((err as StateWriteError).step, 'create directory', 'a data directory that cannot be made fails the first save');
});

t.test('after a failed save the file store refuses every later save, even once the disk works again', async (t) => {
  const disk = diskWithOld();
  const store = new FileStore(PATH, disk);
  disk.failNext({ kind: 'fsyncFile' });
  const first = caught(() => store.save(NEW));
  t.type(first, StateWriteError);
  const opsBefore = disk.log.length;
  const second = caught(() => store.save(NEW));
  t.type(second, StateWriteError);
  t.equal((second as StateWriteError).step, 'refused after an earlier failure');
  t.equal((second as StateWriteError).cause, first, 'the refusal carries the original failure');
  t.equal(disk.log.length, opsBefore, 'the refused save touched nothing');
  t.same(store.load(), OLD, 'load still works, so an operator can see what is on disk');
  const restarted = new FileStore(PATH, disk);
  restarted.save(NEW);
  t.same(restarted.load(), NEW, 'a new process may save again');
});
