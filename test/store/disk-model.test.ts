// The disk model itself, since the store's crash tests and the simulator rely
// on it: it must lose exactly what a real disk may lose, fail and halt when
// told, and be able to catch a store that skips a step.

import t from 'tap';
import { seededRandom } from '../../src/core/index.js';
import { FileStore, StateFileError, encodeStateFile } from '../../src/store/index.js';
import { Crash, DiskModel, causedByCrash } from '../support/disk-model.js';
import { NEW, OLD, caught } from './fixtures/index.js';

const bytes = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const text = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('utf8'));

t.test('the disk model loses bytes written but not fsynced, and keeps them once fsynced', async (t) => {
  const disk = new DiskModel();
  disk.put('/d/kept', bytes('old'));
  disk.writeFile('/d/kept', bytes('new, unsynced'));
  t.equal(text(disk.readFile('/d/kept')), 'new, unsynced', 'a read sees the write at once');
  disk.crash();
  t.equal(text(disk.readFile('/d/kept')), 'old', 'the crash took the unsynced bytes');
  disk.writeFile('/d/kept', bytes('new, synced'));
  disk.fsyncFile('/d/kept');
  disk.crash();
  t.equal(text(disk.readFile('/d/kept')), 'new, synced');
  disk.writeFile('/d/fresh', bytes('never fsynced'));
  disk.fsyncDir('/d');
  disk.crash();
  t.equal(text(disk.readFile('/d/fresh')), '', 'a new file whose name is durable but whose bytes are not comes back empty');
});

t.test('the disk model loses a create or rename whose directory was not fsynced, and keeps it once it was', async (t) => {
  const disk = new DiskModel();
  disk.mkdirp('/d');
  disk.writeFile('/d/a', bytes('A'));
  disk.fsyncFile('/d/a');
  disk.crash();
  t.equal(disk.readFile('/d/a'), null, 'the unsynced create was lost');
  disk.writeFile('/d/a', bytes('A'));
  disk.fsyncFile('/d/a');
  disk.fsyncDir('/d');
  disk.rename('/d/a', '/d/b');
  t.same(disk.list('/d'), ['b']);
  disk.crash();
  t.same(disk.list('/d'), ['a'], 'the unsynced rename was lost');
  disk.rename('/d/a', '/d/b');
  disk.fsyncDir('/d');
  disk.removeFile('/d/b');
  disk.crash();
  t.same(disk.list('/d'), ['b'], 'the synced rename stayed and the unsynced removal was lost');
  t.equal(text(disk.peekDurable('/d/b')), 'A');
});

t.test('the disk model fails chosen operations without effect, and halts every operation after an armed crash until crash()', async (t) => {
  const disk = new DiskModel();
  disk.put('/d/f', bytes('old'));
  disk.failNext({ kind: 'fsyncFile', path: '/d/f' }, { code: 'EIO', times: 2 });
  disk.writeFile('/d/f', bytes('new'));
  for (const attempt of [1, 2]) {
    const err = caught(() => disk.fsyncFile('/d/f'));
    t.equal((err as NodeJS.ErrnoException).code, 'EIO', `attempt ${attempt} fails with EIO`);
  }
  t.equal(text(disk.peekDurable('/d/f')), 'old', 'the failed fsyncs took no effect');
  disk.fsyncFile('/d/f');
  t.equal(text(disk.peekDurable('/d/f')), 'new', 'the fault was used up');

  disk.crashAfter(2);
  disk.writeFile('/d/g', bytes('g'));
  const crash = caught(() => disk.fsyncFile('/d/g'));
  t.type(crash, Crash);
  t.equal((crash as Crash).op.kind, 'fsyncFile');
  t.equal(text(disk.peek('/d/g')), 'g', 'the crashing operation took effect');
  t.ok(disk.halted);
  t.type(
    caught(() => disk.readFile('/d/f')),
    Crash,
    'a dead process reads nothing',
  );
  t.ok(causedByCrash(new Error('wrapped', { cause: crash })), 'a wrapped crash is recognised');
  disk.crash();
  t.notOk(disk.halted);
  t.equal(text(disk.readFile('/d/f')), 'new', 'after the reboot the disk works');
  t.same(
    disk.log.slice(-4).map((op) => op.outcome),
    ['ok', 'crashed', 'crashed', 'ok'],
    'the log records each outcome',
  );
});

t.test('the disk model answers like node:fs: null for a missing file, ENOTDIR and EISDIR for the wrong kind of path', async (t) => {
  const disk = new DiskModel();
  t.equal(disk.readFile('/nowhere/f'), null);
  disk.put('/d/file', bytes('x'));
  t.equal((caught(() => disk.readFile('/d/file/f')) as NodeJS.ErrnoException).code, 'ENOTDIR');
  t.equal((caught(() => disk.mkdirp('/d/file/sub')) as NodeJS.ErrnoException).code, 'ENOTDIR');
  t.equal((caught(() => disk.writeFile('/d', bytes('x'))) as NodeJS.ErrnoException).code, 'EISDIR');
  t.equal((caught(() => disk.fsyncFile('/d/none')) as NodeJS.ErrnoException).code, 'ENOENT');
  t.equal((caught(() => disk.writeFile('/e/f', bytes('x'))) as NodeJS.ErrnoException).code, 'ENOENT');
  t.equal((caught(() => disk.fsyncDir('/d/file')) as NodeJS.ErrnoException).code, 'ENOTDIR');
});

t.test('the disk model catches a save that renames before fsyncing the file: some torn crash leaves an unreadable state file', async (t) => {
  // This is the seed's mistake when its fsync is skipped or fails quietly:
  // the rename can reach the disk before the bytes it points to.
  let brokenSeed: number | null = null;
  for (let seed = 1; seed <= 100 && brokenSeed === null; seed++) {
    const disk = new DiskModel();
    new FileStore('/d/state.json', disk).save(OLD);
    disk.writeFile('/d/.state.json.tmp', encodeStateFile(NEW));
    disk.rename('/d/.state.json.tmp', '/d/state.json');
    disk.fsyncDir('/d');
    disk.crash({ random: seededRandom(seed) });
    if (caught(() => new FileStore('/d/state.json', disk).load()) instanceof StateFileError) brokenSeed = seed;
  }
  t.not(brokenSeed, null, 'a torn state file was produced and refused to load');
});
