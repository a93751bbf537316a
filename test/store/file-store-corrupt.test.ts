// A state file that is torn, garbled, edited or of the wrong shape must stop
// start-up with a StateFileError naming the file and the reason, never load
// as defaults: a node that forgot its vote could grant twice in a term.

import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileStore, StateFileError, encodeStateFile } from '../../src/store/index.js';
import { NEW, caught } from './fixtures/index.js';

// Edits reach anywhere into the parsed file, so it is deliberately untyped here.
type Json = Record<string, any>;

/** A valid state file's parsed JSON, to be edited into a bad one. */
function validFile(): Json {
  return JSON.parse(Buffer.from(encodeStateFile(NEW)).toString('utf8')) as Json;
}

/** Writes `contents` as the state file and checks that loading it fails with a reason matching `why`. */
function refusesToLoad(t: Test, name: string, contents: string | Uint8Array, why: RegExp): void {
  t.test(name, async (t) => {
    const dir = t.testdir();
    const path = join(dir, 'state.json');
    writeFileSync(path, contents);
    const err = caught(() => new FileStore(path).load());
    t.type(err, StateFileError, 'load throws StateFileError');
    t.match((err as Error).message, path, 'the message names the file');
    t.match((err as StateFileError).why, why, 'the reason says what is wrong');
  });
}

function edited(edit: (f: Json) => void): string {
  const f = validFile();
  edit(f);
  return JSON.stringify(f, null, 2);
}

t.test('a truncated or empty state file refuses to load', async (t) => {
  const whole = encodeStateFile(NEW);
  refusesToLoad(t, 'cut in half', whole.slice(0, whole.length >> 1), /not valid JSON.*truncated/);
  refusesToLoad(t, 'one byte short', whole.slice(0, whole.length - 3), /not valid JSON/);
  refusesToLoad(t, 'empty', '', /empty/);
});

t.test('a state file that is not JSON, not UTF-8 or not an object refuses to load', async (t) => {
  refusesToLoad(t, 'bad JSON', '{"format": 1, "state": {term: 4}}', /not valid JSON/);
  refusesToLoad(t, 'binary', Uint8Array.from([0xff, 0xfe, 0x00, 0x7b]), /not UTF-8/);
  refusesToLoad(t, 'an array', '[1, 2]', /the file must be an object, got an array/);
  refusesToLoad(t, 'null', 'null', /the file must be an object, got null/);
});

t.test('a state file whose checksum does not match its values refuses to load', async (t) => {
  refusesToLoad(
    t,
    'term edited',
    edited((f) => (f.state.term = 5)),
    /checksum does not match/,
  );
  refusesToLoad(
    t,
    'vote edited',
    edited((f) => (f.state.votedFor = 'a')),
    /checksum does not match/,
  );
  refusesToLoad(
    t,
    'member dropped',
    edited((f) => f.state.config.members.pop()),
    /checksum does not match/,
  );
  refusesToLoad(
    t,
    'checksum edited',
    edited((f) => (f.checksum = `sha256:${'0'.repeat(64)}`)),
    /checksum does not match/,
  );
  refusesToLoad(
    t,
    'checksum malformed',
    edited((f) => (f.checksum = 'md5:abc')),
    /checksum must be "sha256:"/,
  );
  refusesToLoad(
    t,
    'checksum missing',
    edited((f) => delete f.checksum),
    /the file\.checksum is missing/,
  );
});

t.test('a state file with a negative term refuses to load', async (t) => {
  refusesToLoad(
    t,
    'term -1',
    edited((f) => (f.state.term = -1)),
    /state\.term must be a non-negative safe integer, got -1/,
  );
  refusesToLoad(
    t,
    'lsn -5',
    edited((f) => (f.state.commitWatermark.lsn = -5)),
    /state\.commitWatermark\.lsn must be a non-negative/,
  );
});

t.test('a state file with a field of the wrong type or value refuses to load, naming the field', async (t) => {
  const cases: [string, (f: Json) => void, RegExp][] = [
    ['term as a string', (f) => (f.state.term = '4'), /state\.term must be a non-negative safe integer, got "4"/],
    ['term fractional', (f) => (f.state.term = 4.5), /state\.term must be/],
    ['term beyond 2^53', (f) => (f.state.term = 2 ** 53), /state\.term must be/],
    ['votedFor a number', (f) => (f.state.votedFor = 7), /state\.votedFor must be a string, got 7/],
    ['watermark not an object', (f) => (f.state.commitWatermark = 40), /state\.commitWatermark must be an object/],
    ['config version null', (f) => (f.state.config.version = null), /state\.config\.version must be/],
    ['config term negative', (f) => (f.state.config.term = -2), /state\.config\.term must be a non-negative safe integer, got -2/],
    ['cluster id a number', (f) => (f.state.config.clusterId = 7), /state\.config\.clusterId must be a string, got 7/],
    ['config missing', (f) => delete f.state.config, /state\.config is missing/],
    ['config not an object', (f) => (f.state.config = 'abc'), /state\.config must be an object, got "abc"/],
    ['timings missing', (f) => delete f.state.config.timings, /state\.config\.timings is missing/],
    ['timings null', (f) => (f.state.config.timings = null), /state\.config\.timings must be an object, got null/],
    [
      'heartbeat a string',
      (f) => (f.state.config.timings.heartbeatMs = '30'),
      /state\.config\.timings\.heartbeatMs must be a non-negative safe integer, got "30"/,
    ],
    ['members not an array', (f) => (f.state.config.members = {}), /state\.config\.members must be an array/],
    ['member id missing', (f) => delete f.state.config.members[0].id, /state\.config\.members\[0\]\.id is missing/],
    ['member url a number', (f) => (f.state.config.members[1].url = 80), /members\[1\]\.url must be a string/],
    ['member kind unknown', (f) => (f.state.config.members[2].kind = 'replica'), /members\[2\]\.kind must be one of 'data', 'witness', got "replica"/],
    ['member state unknown', (f) => (f.state.config.members[3].state = 'active'), /members\[3\]\.state must be one of 'voting', 'catching_up'/],
    ['term missing', (f) => delete f.state.term, /state\.term is missing/],
    ['unknown state field', (f) => (f.state.leader = 'a'), /state\.leader is not a known field/],
    ['unknown member field', (f) => (f.state.config.members[0].zone = 'x'), /members\[0\]\.zone is not a known field/],
  ];
  for (const [name, edit, why] of cases) refusesToLoad(t, name, edited(edit), why);
});

t.test('a state file of an unknown format version refuses to load', async (t) => {
  refusesToLoad(
    t,
    'version 4',
    edited((f) => (f.format = 4)),
    /format version 4 is not supported \(this quorumd reads version 3\)/,
  );
  refusesToLoad(
    t,
    'version missing',
    edited((f) => delete f.format),
    /the file\.format is missing/,
  );
});

t.test('a re-indented state file with unchanged values still loads: the checksum covers values, not layout', async (t) => {
  const path = join(t.testdir(), 'state.json');
  writeFileSync(path, JSON.stringify(validFile()));
  t.same(new FileStore(path).load(), NEW);
});
