// The state file's configuration paths (format 2): a joining node's null
// configuration, a member's autoPromote flag, the timings' closed field list,
// and a file of the earlier format, which held a bare member list and must
// be refused by name rather than read as something it is not.

import t from 'tap';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HardState } from '../../src/core/index.js';
import { FileStore, StateFileError, decodeStateFile, encodeStateFile } from '../../src/store/index.js';
import { MEMBERS, NEW, OLD, caught } from './fixtures/index.js';

// Edits reach anywhere into the parsed file, so it is deliberately untyped here.
type Json = Record<string, any>;

/** roundTrip writes a state to a real file and reads it back through a fresh store. */
function roundTrip(dir: string, state: HardState): HardState | null {
  FileStore.inDataDir(dir).save(state);
  return FileStore.inDataDir(dir).load();
}

/** decodeEdited encodes NEW, applies `edit` to the parsed file, and decodes the result. */
function decodeEdited(edit: (f: Json) => void): ReturnType<typeof decodeStateFile> {
  const f = JSON.parse(Buffer.from(encodeStateFile(NEW)).toString('utf8')) as Json;
  edit(f);
  return decodeStateFile(Buffer.from(JSON.stringify(f), 'utf8'));
}

t.test('a null configuration (a node that joins and has not heard one) round-trips as null', async (t) => {
  const joining: HardState = { ...OLD, config: null };
  const loaded = roundTrip(t.testdir(), joining);
  t.same(loaded, joining);
  t.equal(loaded?.config, null, 'null stays null: not an empty configuration');
  const file = JSON.parse(Buffer.from(encodeStateFile(joining)).toString('utf8')) as Json;
  t.equal(file.state.config, null, 'the file says config: null');
});

t.test('autoPromote false round-trips; absent stays absent', async (t) => {
  const held = { ...MEMBERS[3]!, autoPromote: false };
  const state: HardState = { ...NEW, config: { ...NEW.config!, members: [...MEMBERS.slice(0, 3), held] } };
  const loaded = roundTrip(t.testdir(), state);
  t.same(loaded, state);
  t.equal(loaded?.config?.members[3]?.autoPromote, false, 'the held-back member is still held back');
  for (const m of loaded?.config?.members.slice(0, 3) ?? []) t.notOk('autoPromote' in m, `${m.id} has no autoPromote field`);
});

t.test('a non-boolean autoPromote is refused, naming the member and the value', async (t) => {
  for (const [value, shown] of [
    ['false', '"false"'],
    [0, '0'],
    [null, 'null'],
  ] as const) {
    const decoded = decodeEdited((f) => (f.state.config.members[1].autoPromote = value));
    t.equal(decoded.ok, false, `autoPromote ${shown} is refused`);
    if (!decoded.ok) t.equal(decoded.why, `state.config.members[1].autoPromote must be a boolean, got ${shown}`);
  }
  const err = caught(() => encodeStateFile({ ...NEW, config: { ...NEW.config!, members: [{ ...MEMBERS[0]!, autoPromote: 'yes' as unknown as boolean }] } }));
  t.type(err, TypeError, 'nor is one written');
  t.match((err as Error).message, /state\.config\.members\[0\]\.autoPromote must be a boolean, got "yes"/);
});

t.test('an unknown field in config.timings or config is refused', async (t) => {
  const timings = decodeEdited((f) => (f.state.config.timings.leaseMS = 100));
  t.same(timings, { ok: false, why: 'state.config.timings.leaseMS is not a known field' });
  const config = decodeEdited((f) => (f.state.config.name = 'prod'));
  t.same(config, { ok: false, why: 'state.config.name is not a known field' });
  const missing = decodeEdited((f) => delete f.state.config.timings.clockDriftBound);
  t.same(missing, { ok: false, why: 'state.config.timings.clockDriftBound is missing' });
});

t.test('a format-1 file (a bare member list) is refused with a message naming the format', async (t) => {
  // A well-formed file as the previous quorumd wrote it, checksum and all, so
  // only its format can be the reason it is refused.
  const state = { term: 3, votedFor: 'a', commitWatermark: { term: 2, lsn: 40 }, membership: { version: 2, members: MEMBERS.slice(0, 3) } };
  const checksum = `sha256:${createHash('sha256').update(JSON.stringify(state)).digest('hex')}`;
  const path = join(t.testdir(), 'state.json');
  writeFileSync(path, JSON.stringify({ format: 1, state, checksum }, null, 2));
  const err = caught(() => new FileStore(path).load());
  t.type(err, StateFileError);
  t.equal((err as StateFileError).why, 'its format version 1 is not supported (this quorumd reads version 3)');
  t.match((err as Error).message, path, 'the message names the file');
});
