// The first configuration a node's settings make, and how the settings are
// compared with the configuration a node holds (src/runtime/bootstrap.ts).
// The cluster id must tell apart nodes started with different settings, so
// that they refuse each other instead of counting majorities of their own
// lists; and every setting the stored configuration overrides is reported.

import t from 'tap';
import type { Member, Timings } from '../../src/core/index.js';
import { configDifferences, initialConfig } from '../../src/runtime/bootstrap.js';

const TIMINGS: Timings = { heartbeatMs: 30, leaseMs: 90, electionTimeoutMs: 200, electionJitterMs: 100, clockDriftBound: 0.05 };
const MEMBERS: readonly Member[] = [
  { id: 'a', url: 'http://10.0.0.1:7400', kind: 'data', state: 'voting' },
  { id: 'b', url: 'http://10.0.0.2:7400', kind: 'data', state: 'voting' },
  { id: 'w', url: 'http://10.0.0.3:7400', kind: 'witness', state: 'voting' },
];

const idOf = (members: readonly Member[], timings: Timings = TIMINGS, name = 'prod'): string => initialConfig(name, members, timings).clusterId;
const replace = (id: string, change: Partial<Member>): Member[] => MEMBERS.map((m) => (m.id === id ? { ...m, ...change } : m));

t.test('initialConfig is version 1, term 0, of the members and timings given, under an id that starts with the name', async (t) => {
  const config = initialConfig('prod', MEMBERS, TIMINGS);
  t.match(config.clusterId, /^prod-[0-9a-f]{12}$/);
  t.equal(config.term, 0);
  t.equal(config.version, 1);
  t.same(config.members, MEMBERS);
  t.same(config.timings, TIMINGS);
  t.not(config.timings, TIMINGS, 'the timings are a copy');
});

t.test('initialConfig gives the same id for the same settings, whatever the order of the members', async (t) => {
  const id = idOf(MEMBERS);
  t.equal(idOf(MEMBERS), id, 'the same settings, the same id');
  t.equal(idOf([...MEMBERS].reverse()), id, 'members listed in reverse');
  t.equal(idOf([MEMBERS[1]!, MEMBERS[2]!, MEMBERS[0]!]), id, 'members rotated');
  t.equal(idOf(MEMBERS, { ...TIMINGS }), id, 'equal timings in another object');
});

t.test('initialConfig gives a different id for a different member list, url, kind, state, autoPromote, timing or name', async (t) => {
  const id = idOf(MEMBERS);
  const variants: Array<[string, string]> = [
    ['a member left out', idOf(MEMBERS.slice(0, 2))],
    ['a member added', idOf([...MEMBERS, { id: 'c', url: 'http://10.0.0.4:7400', kind: 'data', state: 'voting' }])],
    ['a member renamed', idOf(replace('b', { id: 'c' }))],
    ['a url changed', idOf(replace('b', { url: 'http://10.0.0.9:7400' }))],
    ['a port changed', idOf(replace('a', { url: 'http://10.0.0.1:7401' }))],
    ['a kind changed', idOf(replace('w', { kind: 'data' }))],
    ['a state changed', idOf(replace('b', { state: 'catching_up' }))],
    ['autoPromote false', idOf(replace('b', { autoPromote: false }))],
    ['heartbeatMs changed', idOf(MEMBERS, { ...TIMINGS, heartbeatMs: 31 })],
    ['electionTimeoutMs changed', idOf(MEMBERS, { ...TIMINGS, electionTimeoutMs: 201 })],
    ['electionJitterMs changed', idOf(MEMBERS, { ...TIMINGS, electionJitterMs: 101 })],
    ['clockDriftBound changed', idOf(MEMBERS, { ...TIMINGS, clockDriftBound: 0.06 })],
    ['another name', idOf(MEMBERS, TIMINGS, 'staging')],
  ];
  for (const [what, other] of variants) t.not(other, id, what);
  t.equal(new Set(variants.map(([, other]) => other)).size, variants.length, 'and every variant has an id of its own');
  t.equal(idOf(replace('b', { autoPromote: true })), id, 'autoPromote true is the default, so it is the same cluster');
});

t.test('configDifferences lists nothing when the settings agree with the configuration held', async (t) => {
  const held = initialConfig('prod', MEMBERS, TIMINGS);
  t.same(configDifferences(held, initialConfig('prod', MEMBERS, TIMINGS), TIMINGS), []);
  t.same(configDifferences(held, initialConfig('prod', [...MEMBERS].reverse(), TIMINGS), { ...TIMINGS }), [], 'the order of the members does not matter');
  t.same(
    configDifferences({ ...held, term: 7, version: 4 }, initialConfig('prod', MEMBERS, TIMINGS), TIMINGS),
    [],
    'nor the position of the held configuration',
  );
  t.same(configDifferences(null, initialConfig('prod', MEMBERS, TIMINGS), TIMINGS), [], 'a node that holds none yet has nothing to compare');
});

t.test('configDifferences names a changed url, a missing and an extra member, and a changed timing', async (t) => {
  const held = initialConfig('prod', MEMBERS, TIMINGS);
  const settings: Member[] = [
    { ...MEMBERS[0]!, url: 'http://10.0.0.9:7400' },
    MEMBERS[2]!,
    { id: 'c', url: 'http://10.0.0.4:7400', kind: 'data', state: 'voting' },
  ];
  const differences = configDifferences(held, initialConfig('prod', settings, TIMINGS), { ...TIMINGS, electionTimeoutMs: 500 });
  t.same(differences, [
    'member a is data voting at http://10.0.0.1:7400 in the configuration but data voting at http://10.0.0.9:7400 in the settings',
    'member b is in the configuration but not in the settings',
    'member c is in the settings but not in the configuration',
    'electionTimeoutMs is 200 in the configuration but 500 in the settings',
  ]);
});

t.test('configDifferences names a changed kind or state, and every changed timing', async (t) => {
  const held = initialConfig('prod', MEMBERS, TIMINGS);
  const settings = MEMBERS.map((m) => (m.id === 'w' ? { ...m, kind: 'data' as const } : m.id === 'b' ? { ...m, state: 'catching_up' as const } : m));
  t.same(configDifferences(held, initialConfig('prod', settings, TIMINGS), TIMINGS), [
    'member b is data voting at http://10.0.0.2:7400 in the configuration but data catching_up at http://10.0.0.2:7400 in the settings',
    'member w is witness voting at http://10.0.0.3:7400 in the configuration but data voting at http://10.0.0.3:7400 in the settings',
  ]);
  const timings: Timings = { heartbeatMs: 40, leaseMs: 90, electionTimeoutMs: 300, electionJitterMs: 50, clockDriftBound: 0.1 };
  t.same(configDifferences(held, held, timings), [
    'heartbeatMs is 30 in the configuration but 40 in the settings',
    'electionTimeoutMs is 200 in the configuration but 300 in the settings',
    'electionJitterMs is 100 in the configuration but 50 in the settings',
    'clockDriftBound is 0.05 in the configuration but 0.1 in the settings',
  ]);
});

t.test('configDifferences of a node started to join compares only the timings', async (t) => {
  const held = initialConfig('prod', MEMBERS, TIMINGS);
  t.same(configDifferences(held, null, TIMINGS), [], 'no member list of its own: nothing to differ');
  t.same(configDifferences(held, null, { ...TIMINGS, heartbeatMs: 60 }), ['heartbeatMs is 30 in the configuration but 60 in the settings']);
});
