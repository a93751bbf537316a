// MemoryStore keeps the store contract without a disk: it returns what was
// last saved, copies so no caller can change the stored state behind its
// back, and injects the failures the runtime must treat as fatal. Both stores
// refuse a malformed state before anything is written.

import t from 'tap';
import type { HardState } from '../../src/core/index.js';
import { FileStore, MemoryStore, StateFileError, StateWriteError, type StateStore } from '../../src/store/index.js';
import { DiskModel } from '../support/disk-model.js';
import { MEMBERS, NEW, OLD, caught } from './fixtures/index.js';

/** A writable view of a HardState, to play a caller that mutates what it holds. */
type Mutable = { term: number; votedFor: string | null; commitWatermark: { lsn: number }; config: { members: { id: string }[] } };

t.test('a memory store starts empty, or with its initial state, and loads what was last saved', async (t) => {
  const store = new MemoryStore();
  t.equal(store.load(), null);
  store.save(OLD);
  store.save(NEW);
  t.same(store.load(), NEW);
  t.equal(store.saves, 2);
  t.same(new MemoryStore({ initial: OLD }).load(), OLD);
  t.equal(new MemoryStore({ location: 'memory:v' }).location, 'memory:v');
});

t.test('a memory store is isolated from changes to the objects saved into it and loaded from it', async (t) => {
  const original = structuredClone(OLD) as unknown as Mutable;
  const store = new MemoryStore({ initial: original as unknown as HardState });
  original.term = 99;
  t.same(store.load(), OLD, 'changing the initial object changes nothing');

  const saved = structuredClone(NEW) as unknown as Mutable;
  store.save(saved as unknown as HardState);
  saved.votedFor = 'someone else';
  saved.commitWatermark.lsn = 0;
  saved.config.members.pop();
  t.same(store.load(), NEW, 'changing the saved object changes nothing');

  const loaded = store.load() as unknown as Mutable;
  loaded.term = 0;
  loaded.config.members[0]!.id = 'x';
  t.same(store.load(), NEW, 'changing a loaded object changes nothing');
  t.not(store.load(), store.load(), 'each load is a fresh copy');
});

t.test('an injected save failure surfaces as StateWriteError once and keeps the old state', async (t) => {
  const store = new MemoryStore({ initial: OLD, location: 'memory:v' });
  const cause = new Error('EIO: injected');
  store.failNextSave(cause);
  const err = caught(() => store.save(NEW));
  t.type(err, StateWriteError);
  t.equal((err as StateWriteError).cause, cause);
  t.match((err as Error).message, /memory:v.*EIO: injected/);
  t.same(store.load(), OLD, 'the old state stands');
  t.equal(store.saves, 0);
  store.save(NEW);
  t.same(store.load(), NEW, 'only the next save failed');
});

t.test('an injected corruption makes load throw StateFileError until a save replaces the state', async (t) => {
  const store = new MemoryStore({ initial: OLD });
  store.corrupt('bad checksum');
  for (const attempt of [1, 2]) {
    const err = caught(() => store.load());
    t.type(err, StateFileError, `load ${attempt} refuses`);
    t.equal((err as StateFileError).why, 'bad checksum');
  }
  store.save(NEW);
  t.same(store.load(), NEW);
});

t.test('both stores refuse to save a malformed state before anything is written, and stay usable', async (t) => {
  const bad: [string, unknown, RegExp][] = [
    ['a negative term', { ...NEW, term: -1 }, /state\.term must be a non-negative safe integer/],
    ['a NaN lsn', { ...NEW, commitWatermark: { term: 1, lsn: Number.NaN } }, /state\.commitWatermark\.lsn/],
    ['an unknown kind', { ...NEW, config: { ...NEW.config, members: [{ ...MEMBERS[0], kind: 'replica' }] } }, /state\.config\.members\[0\]\.kind/],
    ['a missing config', { term: 1, votedFor: null, commitWatermark: { term: 0, lsn: 0 } }, /state\.config is missing/],
    [
      'a string autoPromote',
      { ...NEW, config: { ...NEW.config, members: [{ ...MEMBERS[0], autoPromote: 'no' }] } },
      /state\.config\.members\[0\]\.autoPromote must be a boolean, got "no"/,
    ],
  ];
  const disk = new DiskModel();
  const stores: StateStore[] = [new MemoryStore({ initial: OLD }), new FileStore('/d/state.json', disk)];
  stores[1]!.save(OLD);
  disk.log.length = 0;
  for (const store of stores) {
    for (const [name, state, why] of bad) {
      const err = caught(() => store.save(state as HardState));
      t.type(err, StateWriteError, `${store.constructor.name} refuses ${name}`);
      t.equal((err as StateWriteError).step, 'check state');
      t.match((err as Error).message, why);
      t.same(store.load(), OLD, 'the stored state is untouched');
    }
    store.save(NEW);
    t.same(store.load(), NEW, `${store.constructor.name} still saves a good state`);
  }
  t.same(
    disk.log.filter((op) => op.kind !== 'readFile').map((op) => op.kind),
    ['writeFile', 'fsyncFile', 'rename', 'fsyncDir'],
    'the file store touched the disk only for the good state',
  );
  t.throws(() => new MemoryStore({ initial: { ...OLD, term: -1 } }), TypeError, 'a malformed initial state is refused');
});
