// The settings that decide which cluster a node belongs to: the cluster name a
// new cluster's id starts with, and join mode, where a node with an empty data
// folder makes no configuration and waits for the one of the cluster it names.
// Also what the command hands the runtime from them (cli.ts runtimeOptions).

import { pino } from 'pino';
import t, { type Test } from 'tap';
import { runtimeOptions } from '../../src/cli.js';
import { DEFAULT_CLUSTER_NAME, peerDigest } from '../../src/config.js';
import { initialConfig } from '../../src/runtime/bootstrap.js';
import { config, problems, resolveWith } from './fixtures/resolve.js';

const need = ['--id', 'n4', '--data-dir', 'd'];
const JOIN_ID = 'quorumd-3f2a9c1b7d4e';
const cluster = [
  { id: 'n1', url: 'http://n1:7400', kind: 'data' },
  { id: 'n2', url: 'http://n2:7400', kind: 'data' },
  { id: 'w1', url: 'http://w1:7400', kind: 'witness' },
];

/** expectProblems checks that a result holds exactly these problems, each matched as a pattern. */
function expectProblems(t: Test, found: readonly string[], expected: readonly RegExp[], why = ''): void {
  t.equal(found.length, expected.length, `${why ? `${why}: ` : ''}${expected.length} problem(s): ${found.join(' | ')}`);
  for (const pattern of expected) {
    t.ok(
      found.some((p) => pattern.test(p)),
      `a problem matches ${pattern}`,
    );
  }
}

t.test(`the cluster name is "${DEFAULT_CLUSTER_NAME}" unless set, and nobody joins unless told`, async (t) => {
  const c = config(t, resolveWith(need));
  t.equal(c.clusterName, 'quorumd');
  t.equal(DEFAULT_CLUSTER_NAME, 'quorumd');
  t.equal(c.joinClusterId, null);
});

t.test('the cluster name and the join id each come from flag, variable or file, flags over variables over the file', async (t) => {
  const path = '/srv/quorumd/q.json';
  const fileOnly = { [path]: JSON.stringify({ id: 'n4', dataDir: 'd', clusterName: 'from-file', join: 'from-file-00000000000f' }) };
  const env = { QUORUMD_CONFIG: 'q.json', QUORUMD_CLUSTER_NAME: 'from-env', QUORUMD_JOIN: 'from-env-00000000000e' };

  const file = config(t, resolveWith([], { QUORUMD_CONFIG: 'q.json' }, fileOnly));
  t.equal(file.clusterName, 'from-file', 'clusterName from the file');
  t.equal(file.joinClusterId, 'from-file-00000000000f', 'join from the file');

  const vars = config(t, resolveWith([], env, fileOnly));
  t.equal(vars.clusterName, 'from-env', 'clusterName: variable over file');
  t.equal(vars.joinClusterId, 'from-env-00000000000e', 'join: variable over file');

  const flags = config(t, resolveWith(['--cluster-name', 'from-flag', '--join', 'from-flag-00000000000a'], env, fileOnly));
  t.equal(flags.clusterName, 'from-flag', 'clusterName: flag over variable and file');
  t.equal(flags.joinClusterId, 'from-flag-00000000000a', 'join: flag over variable and file');
});

t.test('a bad cluster name is refused with what a name must be', async (t) => {
  expectProblems(t, problems(t, resolveWith([...need, '--cluster-name', 'orders db'])), [
    /^--cluster-name must be 1 to 51 characters of A-Z, a-z, 0-9, "\.", "_" and "-" \(the cluster id adds "-" and 12 hex digits, up to the 64 of an id\); got "orders db"$/,
  ]);
  expectProblems(t, problems(t, resolveWith(need, { QUORUMD_CLUSTER_NAME: 'x'.repeat(52) })), [/^QUORUMD_CLUSTER_NAME must be 1 to 51 characters/]);
  const files = { '/srv/quorumd/q.json': JSON.stringify({ clusterName: 7 }) };
  expectProblems(t, problems(t, resolveWith([...need, '--config', 'q.json'], {}, files)), [
    /^"clusterName" in config file \/srv\/quorumd\/q\.json must be 1 to 51 characters/,
  ]);
  t.equal(config(t, resolveWith([...need, '--cluster-name', 'x'.repeat(51)])).clusterName.length, 51, 'the longest name is accepted');
});

t.test('a bad join id is refused with what a cluster id looks like and where to find it', async (t) => {
  for (const bad of ['quorumd', 'quorumd-3F2A9C1B7D4E', 'quorumd-3f2a9c1b7d4', 'quorumd 3f2a9c1b7d4e', '-3f2a9c1b7d4e', `${'x'.repeat(52)}-3f2a9c1b7d4e`]) {
    expectProblems(t, problems(t, resolveWith([...need, '--join', bad])), [
      new RegExp(
        `^--join must be a cluster id as GET /status shows it: the cluster name, "-" and 12 lower-case hex digits, such as quorumd-3f2a9c1b7d4e; got ${JSON.stringify(bad).slice(0, 40)}`,
      ),
    ]);
  }
  expectProblems(t, problems(t, resolveWith(need, { QUORUMD_JOIN: 'quorumd-xyz' })), [/^QUORUMD_JOIN must be a cluster id as GET \/status shows it/]);
  t.match(problems(t, resolveWith([...need, '--join'])), [/^--join needs a value$/]);
});

t.test('a node joins without a member list: its own id, and its url if given, are enough', async (t) => {
  const c = config(t, resolveWith([...need, '--join', JOIN_ID, '--url', 'http://n4:7400']));
  t.equal(c.joinClusterId, JOIN_ID);
  t.equal(c.url, 'http://n4:7400');
  t.strictSame(c.members, [], 'no list: nothing to compare the cluster with');
  const fromListen = config(t, resolveWith([...need, '--join', JOIN_ID, '--listen', 'db4.internal:7400', '--insecure', 'on']));
  t.equal(fromListen.url, 'http://db4.internal:7400', 'without a url, the listen address is the url');
  const witness = config(t, resolveWith(['--id', 'w2', '--data-dir', 'd', '--kind', 'witness', '--join', JOIN_ID]));
  t.equal(witness.kind, 'witness', 'a witness may join alone: the cluster it joins has the data members');
  t.match(
    problems(t, resolveWith(['--id', 'w2', '--data-dir', 'd', '--kind', 'witness'])),
    [/^--kind is witness, so members must be given/],
    'but not start alone',
  );
});

t.test('a joining node may be given the list as it stands, without itself; the list is kept only to report differences', async (t) => {
  const c = config(t, resolveWith([...need, '--join', JOIN_ID, '--members', JSON.stringify(cluster)]));
  t.strictSame(
    c.members.map((m) => m.id),
    ['n1', 'n2', 'w1'],
  );
  t.equal(c.joinClusterId, JOIN_ID);
  const listed = config(
    t,
    resolveWith([...need, '--join', JOIN_ID, '--members', JSON.stringify([...cluster, { id: 'n4', url: 'http://n4:7400', kind: 'data' }])]),
  );
  t.equal(listed.url, 'http://n4:7400', 'with itself in the list, its url comes from its entry as before');
});

t.test('the checks of a member list that still make sense hold in join mode too', async (t) => {
  const withSelf = (self: Record<string, string>) => ['--members', JSON.stringify([...cluster, { id: 'n4', ...self }])];
  expectProblems(t, problems(t, resolveWith([...need, '--join', JOIN_ID, ...withSelf({ url: 'http://n4:7400', kind: 'witness' })])), [
    /^--members lists "n4" as witness, but kind \(default\) says data$/,
  ]);
  expectProblems(t, problems(t, resolveWith([...need, '--join', JOIN_ID, '--url', 'http://other', ...withSelf({ url: 'http://n4:7400', kind: 'data' })])), [
    /^--url is "http:\/\/other", but --members gives "n4" the url "http:\/\/n4:7400"/,
  ]);
  expectProblems(
    t,
    problems(t, resolveWith([...need, '--join', JOIN_ID, '--members', JSON.stringify([...cluster, { id: 'n1', url: 'http://n9', kind: 'data' }])])),
    [/^--members lists the id "n1" more than once$/],
  );
  expectProblems(
    t,
    problems(t, resolveWith([...need, '--members', JSON.stringify(cluster)])),
    [/^--members must include this node, "n4" \(from --id\)$/],
    'without join, the list must still hold this node',
  );
});

t.test('a cluster name given with join must be the name of the cluster joined', async (t) => {
  expectProblems(t, problems(t, resolveWith([...need, '--join', JOIN_ID], { QUORUMD_CLUSTER_NAME: 'orders' })), [
    /^QUORUMD_CLUSTER_NAME is "orders", but --join names a cluster called "quorumd": a joining node takes its cluster from the id it joins/,
  ]);
  const same = config(t, resolveWith([...need, '--join', 'orders.db-0123456789ab', '--cluster-name', 'orders.db']));
  t.equal(same.joinClusterId, 'orders.db-0123456789ab', 'the same name is fine');
  const byDefault = config(t, resolveWith([...need, '--join', 'orders-0123456789ab']));
  t.equal(byDefault.joinClusterId, 'orders-0123456789ab', 'the default name is no claim about the cluster joined');
});

const TOKENS = { n1: 'peer-token-of-n1-0123456789', n2: 'peer-token-of-n2-0123456789', w1: 'peer-token-of-w1-0123456789', n4: 'peer-token-of-n4-0123456789' };
const digests = Object.fromEntries(Object.entries(TOKENS).map(([id, token]) => [id, [peerDigest(token)]]));
const perRole = (creds: Record<string, string[]>) => ['--peer-token', TOKENS.n4, '--peer-credentials', JSON.stringify(creds)];

t.test('peer credentials may name members the list does not: membership changes at run time', async (t) => {
  const starting = config(
    t,
    resolveWith([
      '--id',
      'n1',
      '--data-dir',
      'd',
      '--members',
      JSON.stringify(cluster),
      '--peer-token',
      TOKENS.n1,
      '--peer-credentials',
      JSON.stringify(digests),
    ]),
  );
  t.strictSame(Object.keys(starting.peerCredentials ?? {}).sort(), ['n1', 'n2', 'n4', 'w1'], 'n4, to be added by PUT /members, is accepted ahead');
  const joining = config(t, resolveWith([...need, '--join', JOIN_ID, ...perRole(digests)]));
  t.strictSame(joining.peerCredentials, digests, 'a joining node without a list takes every digest given');
  const partial = config(t, resolveWith([...need, '--join', JOIN_ID, ...perRole({ n1: digests.n1 ?? [], n4: digests.n4 ?? [] })]));
  t.strictSame(Object.keys(partial.peerCredentials ?? {}), ['n1', 'n4'], 'without a list, no member is known to need an entry');
});

t.test('peer credentials in join mode still cover the listed members and this node, and let some other member in', async (t) => {
  const { w1: _w1, ...withoutW1 } = digests;
  expectProblems(t, problems(t, resolveWith([...need, '--join', JOIN_ID, '--members', JSON.stringify(cluster), ...perRole(withoutW1)])), [
    /^--peer-credentials has no entry for member "w1": every request it sends would be refused$/,
  ]);
  expectProblems(
    t,
    problems(
      t,
      resolveWith([...need, '--join', JOIN_ID, '--members', JSON.stringify(cluster), ...perRole({ ...digests, n4: [peerDigest('not-the-token-of-n4-0123')] })]),
    ),
    [/^--peer-credentials lists no digest of this node's own peer token \(--peer-token\) under "n4"/],
  );
  expectProblems(t, problems(t, resolveWith([...need, '--join', JOIN_ID, ...perRole({ n4: digests.n4 ?? [] })])), [
    /^--peer-credentials names no member but this node, which is joining \(--join\): it would refuse every heartbeat of the cluster it joins/,
  ]);
  expectProblems(t, problems(t, resolveWith([...need, '--join', JOIN_ID, ...perRole({ n1: digests.n1 ?? [] })])), [
    /^--peer-credentials has no entry for member "n4"/,
  ]);
});

const logger = pino({ level: 'silent' });

t.test('the runtime gets no configuration and the cluster id to wait for in join mode', async (t) => {
  const c = config(t, resolveWith([...need, '--join', JOIN_ID, '--members', JSON.stringify(cluster)]));
  const opts = runtimeOptions(c, logger);
  t.equal(opts.initialConfig, null);
  t.equal(opts.joinClusterId, JOIN_ID);
  t.equal(opts.id, 'n4');
  t.strictSame(opts.timings, c.timings, 'the timings of the settings, used while it joins');
});

t.test('otherwise the runtime gets the configuration the settings describe, with the id derived from name, members and timings', async (t) => {
  const argv = ['--id', 'n1', '--data-dir', 'd', '--members', JSON.stringify(cluster), '--cluster-name', 'orders'];
  const c = config(t, resolveWith(argv));
  const opts = runtimeOptions(c, logger);
  t.equal(opts.joinClusterId, null);
  t.strictSame(opts.initialConfig, initialConfig('orders', c.members, c.timings));
  t.match(opts.initialConfig?.clusterId, /^orders-[0-9a-f]{12}$/);
  t.equal(opts.initialConfig?.version, 1);
  t.equal(opts.initialConfig?.term, 0);
  t.strictSame(
    opts.initialConfig?.members.map((m) => [m.id, m.state]),
    [
      ['n1', 'voting'],
      ['n2', 'voting'],
      ['w1', 'voting'],
    ],
  );
  const slower = runtimeOptions(config(t, resolveWith([...argv, '--election-timeout-ms', '3000'])), logger);
  t.not(slower.initialConfig?.clusterId, opts.initialConfig?.clusterId, 'other timings make another cluster');
  const renamed = runtimeOptions(config(t, resolveWith(argv.slice(0, -2))), logger);
  t.match(renamed.initialConfig?.clusterId, /^quorumd-[0-9a-f]{12}$/, 'the default name');
  const alone = runtimeOptions(config(t, resolveWith(['--id', 'n1', '--data-dir', 'd'])), logger);
  t.strictSame(
    alone.initialConfig?.members.map((m) => m.id),
    ['n1'],
    'a lone node is a cluster of itself',
  );
});
