// The file store on the real filesystem: round trips, a missing file, the
// temp file's place and fate, and failures of the disk surfacing as errors
// that leave the old record intact. Each test works in its own t.testdir(),
// which tap removes afterwards.

import t from 'tap';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FileStore, STATE_FILE_NAME, STATE_FORMAT_VERSION, StateFileError, StateWriteError } from '../../src/store/index.js';
import { NEW, OLD, caught } from './fixtures/index.js';

t.test('a saved state loads back equal through a fresh store, and the next save replaces it', async (t) => {
  const dataDir = join(t.testdir(), 'nested', 'node-a');
  const store = FileStore.inDataDir(dataDir);
  store.save(OLD);
  t.same(new FileStore(join(dataDir, STATE_FILE_NAME)).load(), OLD, 'a new process reads the saved state');
  store.save(NEW);
  t.same(new FileStore(join(dataDir, STATE_FILE_NAME)).load(), NEW, 'the second save replaced the first');
  t.same(store.load(), NEW, 'the saving store reads its own write');
});

t.test('a missing state file loads as null, even when its directory does not exist', async (t) => {
  const dir = t.testdir();
  t.equal(FileStore.inDataDir(dir).load(), null);
  t.equal(FileStore.inDataDir(join(dir, 'never', 'made')).load(), null);
});

t.test('a save leaves only the state file in the directory; the temp file sits beside it under another name', async (t) => {
  const dir = t.testdir();
  const store = FileStore.inDataDir(dir);
  t.equal(store.location, join(dir, STATE_FILE_NAME));
  t.equal(dirname(store.tempPath), dir, 'the temp file is in the same directory, so the rename stays atomic');
  t.not(store.tempPath, store.location, 'the temp file never collides with the live file');
  t.throws(() => new FileStore('/'), TypeError, 'a path that names no file is refused up front');
  store.save(OLD);
  store.save(NEW);
  t.same(readdirSync(dir), [STATE_FILE_NAME]);
});

t.test('the state file is readable JSON with a format version and a sha256 checksum', async (t) => {
  const dir = t.testdir();
  const store = FileStore.inDataDir(dir);
  store.save(NEW);
  const text = readFileSync(store.location, 'utf8');
  const file = JSON.parse(text) as { format: number; state: unknown; checksum: string };
  t.equal(file.format, STATE_FORMAT_VERSION);
  t.equal(file.format, 3, 'format 3: the state holds the whole cluster configuration, its timings with their own lease');
  t.match(file.checksum, /^sha256:[0-9a-f]{64}$/);
  t.same(file.state, NEW);
  t.ok(text.endsWith('\n') && text.includes('\n  "state"'), 'pretty-printed for an operator');
});

t.test('a stale temp file from an interrupted save is ignored by load and replaced by the next save', async (t) => {
  const dir = t.testdir();
  const store = FileStore.inDataDir(dir);
  store.save(OLD);
  writeFileSync(store.tempPath, '{"format":1,"state":{"te');
  t.same(FileStore.inDataDir(dir).load(), OLD, 'load reads only the live file');
  const restarted = FileStore.inDataDir(dir);
  restarted.save(NEW);
  t.same(restarted.load(), NEW);
  t.same(readdirSync(dir), [STATE_FILE_NAME], 'the stale temp file was consumed by the rename');
});

t.test('a state path whose parent is a file fails to save with StateWriteError and to load with StateFileError', async (t) => {
  const dir = t.testdir({ 'not-a-dir': 'plain file' });
  const path = join(dir, 'not-a-dir', STATE_FILE_NAME);
  const store = new FileStore(path);
  const saveErr = caught(() => store.save(NEW));
  t.type(saveErr, StateWriteError);
  t.equal((saveErr as StateWriteError).step, 'create directory');
  t.match((saveErr as Error).message, path, 'the message names the state file');
  const loadErr = caught(() => store.load());
  t.type(loadErr, StateFileError);
  t.match((loadErr as StateFileError).why, /cannot be read.*ENOTDIR/);
  t.equal(readFileSync(join(dir, 'not-a-dir'), 'utf8'), 'plain file', 'nothing was overwritten');
});

t.test('a save that cannot write its temp file fails with StateWriteError and the old record stays intact', async (t) => {
  const dir = t.testdir();
  const store = FileStore.inDataDir(dir);
  store.save(OLD);
  // A directory where the temp file should go makes the write fail even for
  // root, which ignores permission bits.
  mkdirSync(store.tempPath);
  const err = caught(() => store.save(NEW));
  t.type(err, StateWriteError);
  t.equal((err as StateWriteError).step, 'write temp file');
  t.match((err as Error).message, store.location);
  t.match((err as Error).message, /EISDIR/);
  t.same(FileStore.inDataDir(dir).load(), OLD, 'the live file still holds the old record');
  const again = caught(() => store.save(NEW));
  t.equal((again as StateWriteError).step, 'refused after an earlier failure', 'the store stays failed');
});

t.test('a state path that is a directory refuses to load with StateFileError', async (t) => {
  const dir = t.testdir({ [STATE_FILE_NAME]: {} });
  const err = caught(() => FileStore.inDataDir(dir).load());
  t.type(err, StateFileError);
  t.match((err as Error).message, join(dir, STATE_FILE_NAME));
  t.match((err as StateFileError).why, /cannot be read.*EISDIR/);
});
