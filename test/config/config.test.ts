// The node configuration: flags over variables over the config file over
// defaults; every bad value is one problem naming the setting where it came
// from; a valid configuration comes out whole, with what it implies (the
// advertised URL, the initial members, absolute paths, timings).

import t from 'tap';
import { DEFAULT_TIMINGS } from '../../src/core/index.js';
import { DEFAULT_LISTEN, SETTINGS, USAGE, checkEnv, parseListen, urlFromListen, wantsHelp } from '../../src/config.js';
import { config, cwd, problems, resolveWith, type Files } from './fixtures/resolve.js';

const members3 = [
  { id: 'n1', url: 'http://n1:7400', kind: 'data' },
  { id: 'n2', url: 'http://n2:7400', kind: 'data', state: 'voting' },
  { id: 'w1', url: 'http://w1:7400', kind: 'witness', state: 'catching_up' },
];

t.test('the least configuration, an id and a data dir, is a single-node cluster with the defaults', async (t) => {
  const c = config(t, resolveWith(['--id', 'n1', '--data-dir', 'data']));
  t.strictSame(c, {
    id: 'n1',
    kind: 'data',
    listen: { host: '127.0.0.1', port: 7400 },
    url: 'http://127.0.0.1:7400',
    members: [{ id: 'n1', url: 'http://127.0.0.1:7400', kind: 'data', state: 'voting' }],
    clusterName: 'quorumd',
    joinClusterId: null,
    dataDir: '/srv/quorumd/data',
    token: null,
    peerToken: null,
    peerCredentials: null,
    agentTokens: [],
    operatorTokens: [],
    tls: null,
    insecure: false,
    timings: DEFAULT_TIMINGS,
    onRoleChange: null,
    onRoleChangeUrl: null,
    roleChangeTimeoutMs: 10_000,
    prePromote: null,
    prePromoteTimeoutMs: 5_000,
    logLevel: 'info',
    fastFailover: true,
  });
  t.equal(DEFAULT_LISTEN, '127.0.0.1:7400');
});

t.test('every setting can be given by its flag', async (t) => {
  const c = config(
    t,
    resolveWith([
      '--id=n1',
      '--kind',
      'data',
      '--listen',
      '0.0.0.0:7401',
      '--url',
      'http://n1:7400',
      '--members',
      JSON.stringify(members3),
      '--cluster-name',
      'orders-db',
      '--data-dir',
      '/var/lib/quorumd',
      '--token',
      's3cret-s3cret-s3cret',
      '--heartbeat-ms',
      '50',
      '--lease-ms',
      '150',
      '--election-timeout-ms',
      '500',
      '--election-jitter-ms',
      '0',
      '--on-role-change',
      '/usr/local/bin/promote --fast',
      '--role-change-timeout-ms',
      '2500',
      '--on-role-change-url',
      'http://hooks.example:8080/quorumd',
      '--pre-promote',
      '/usr/local/bin/prepare',
      '--pre-promote-timeout-ms',
      '1500',
      '--log-level',
      'debug',
      '--fast-failover',
      'on',
      '--insecure',
      'off',
    ]),
  );
  t.strictSame(c, {
    id: 'n1',
    kind: 'data',
    listen: { host: '0.0.0.0', port: 7401 },
    url: 'http://n1:7400',
    members: [
      { id: 'n1', url: 'http://n1:7400', kind: 'data', state: 'voting' },
      { id: 'n2', url: 'http://n2:7400', kind: 'data', state: 'voting' },
      { id: 'w1', url: 'http://w1:7400', kind: 'witness', state: 'catching_up' },
    ],
    clusterName: 'orders-db',
    joinClusterId: null,
    dataDir: '/var/lib/quorumd',
    token: 's3cret-s3cret-s3cret',
    peerToken: null,
    peerCredentials: null,
    agentTokens: [],
    operatorTokens: [],
    tls: null,
    insecure: false,
    timings: { heartbeatMs: 50, leaseMs: 150, electionTimeoutMs: 500, electionJitterMs: 0, clockDriftBound: DEFAULT_TIMINGS.clockDriftBound },
    onRoleChange: '/usr/local/bin/promote --fast',
    onRoleChangeUrl: 'http://hooks.example:8080/quorumd',
    roleChangeTimeoutMs: 2500,
    prePromote: '/usr/local/bin/prepare',
    prePromoteTimeoutMs: 1500,
    logLevel: 'debug',
    fastFailover: true,
  });
});

const fullEnv = {
  QUORUMD_ID: 'w1',
  QUORUMD_KIND: 'witness',
  QUORUMD_LISTEN: '[::]:7400',
  QUORUMD_MEMBERS: JSON.stringify(members3),
  QUORUMD_DATA_DIR: 'state',
  QUORUMD_CLUSTER_NAME: 'orders.db_2',
  QUORUMD_TOKEN: 's3cret-s3cret-s3cret',
  QUORUMD_HEARTBEAT_MS: '40',
  QUORUMD_LEASE_MS: '120',
  QUORUMD_ELECTION_TIMEOUT_MS: '400',
  QUORUMD_ELECTION_JITTER_MS: '100',
  QUORUMD_ON_ROLE_CHANGE: 'true',
  QUORUMD_ROLE_CHANGE_TIMEOUT_MS: '1000',
  QUORUMD_ON_ROLE_CHANGE_URL: 'https://hooks.example/q',
  QUORUMD_PRE_PROMOTE: 'prepare-store',
  QUORUMD_PRE_PROMOTE_TIMEOUT_MS: '700',
  QUORUMD_LOG_LEVEL: 'warn',
  QUORUMD_FAST_FAILOVER: 'on',
  QUORUMD_INSECURE: 'off',
};

t.test('every setting can be given by its environment variable, which checkEnv checks alone', async (t) => {
  const c = config(t, checkEnv(fullEnv, { cwd }));
  t.strictSame(c, {
    id: 'w1',
    kind: 'witness',
    listen: { host: '::', port: 7400 },
    url: 'http://w1:7400',
    members: [
      { id: 'n1', url: 'http://n1:7400', kind: 'data', state: 'voting' },
      { id: 'n2', url: 'http://n2:7400', kind: 'data', state: 'voting' },
      { id: 'w1', url: 'http://w1:7400', kind: 'witness', state: 'catching_up' },
    ],
    clusterName: 'orders.db_2',
    joinClusterId: null,
    dataDir: '/srv/quorumd/state',
    token: 's3cret-s3cret-s3cret',
    peerToken: null,
    peerCredentials: null,
    agentTokens: [],
    operatorTokens: [],
    tls: null,
    insecure: false,
    timings: { heartbeatMs: 40, leaseMs: 120, electionTimeoutMs: 400, electionJitterMs: 100, clockDriftBound: DEFAULT_TIMINGS.clockDriftBound },
    onRoleChange: 'true',
    onRoleChangeUrl: 'https://hooks.example/q',
    roleChangeTimeoutMs: 1000,
    prePromote: 'prepare-store',
    prePromoteTimeoutMs: 700,
    logLevel: 'warn',
    fastFailover: true,
  });
  t.strictSame(checkEnv(fullEnv, { cwd }), resolveWith([], fullEnv), 'checkEnv is the command line without flags');
});

t.test('every setting can be given in the config file, under its key', async (t) => {
  const file = {
    id: 'n2',
    kind: 'data',
    listen: 'localhost:7402',
    url: 'http://n2:7400',
    members: members3,
    dataDir: '/var/q',
    clusterName: 'inventory',
    token: 's3cret-s3cret-s3cret',
    heartbeatMs: 20,
    leaseMs: 60,
    electionTimeoutMs: 200,
    electionJitterMs: 50,
    onRoleChange: 'echo',
    onRoleChangeUrl: 'http://127.0.0.1:9/hook',
    roleChangeTimeoutMs: 300,
    prePromote: 'true',
    prePromoteTimeoutMs: 200,
    logLevel: 'error',
    fastFailover: 'off',
    insecure: 'off',
  };
  // The TLS settings name files and are tested in tls.test.ts; join mode is in cluster.test.ts.
  const elsewhere = ['peerToken', 'peerCredentials', 'agentTokens', 'operatorTokens', 'tlsCert', 'tlsKey', 'tlsCa', 'join'];
  t.strictSame(
    [...Object.keys(file), ...elsewhere].sort(),
    SETTINGS.map((s) => s.key).sort(),
    'the file covers every setting but the per-role credentials, which exclude the shared token (tested below), and join',
  );
  const c = config(t, resolveWith(['--config', 'etc/q.json'], {}, { '/srv/quorumd/etc/q.json': JSON.stringify(file) }));
  t.equal(c.id, 'n2');
  t.strictSame(c.listen, { host: 'localhost', port: 7402 });
  t.equal(c.url, 'http://n2:7400');
  t.equal(c.dataDir, '/var/q');
  t.equal(c.clusterName, 'inventory');
  t.equal(c.token, 's3cret-s3cret-s3cret');
  t.strictSame(c.timings, { heartbeatMs: 20, leaseMs: 60, electionTimeoutMs: 200, electionJitterMs: 50, clockDriftBound: DEFAULT_TIMINGS.clockDriftBound });
  t.equal(c.onRoleChange, 'echo');
  t.equal(c.roleChangeTimeoutMs, 300);
  t.equal(c.onRoleChangeUrl, 'http://127.0.0.1:9/hook');
  t.equal(c.prePromote, 'true');
  t.equal(c.prePromoteTimeoutMs, 200);
  t.equal(c.logLevel, 'error');
  const viaEnv = config(t, resolveWith([], { QUORUMD_CONFIG: '/srv/quorumd/etc/q.json' }, { '/srv/quorumd/etc/q.json': JSON.stringify(file) }));
  t.strictSame(viaEnv, c, 'QUORUMD_CONFIG names the file too');
});

t.test('flags win over variables, variables over the file, the file over defaults', async (t) => {
  const files = { '/srv/quorumd/q.json': JSON.stringify({ id: 'file', dataDir: 'file-dir', heartbeatMs: 11, logLevel: 'trace', listen: '127.0.0.1:1' }) };
  const env = { QUORUMD_CONFIG: 'q.json', QUORUMD_ID: 'env', QUORUMD_HEARTBEAT_MS: '12', QUORUMD_LISTEN: '127.0.0.1:2' };
  const c = config(t, resolveWith(['--id', 'flag', '--listen', '127.0.0.1:3'], env, files));
  t.equal(c.id, 'flag', 'id: flag over variable and file');
  t.equal(c.listen.port, 3, 'listen: flag over variable and file');
  t.equal(c.timings.heartbeatMs, 12, 'heartbeatMs: variable over file');
  t.equal(c.logLevel, 'trace', 'logLevel: file over default');
  t.equal(c.dataDir, '/srv/quorumd/file-dir', 'dataDir: from the file');
  t.equal(c.timings.electionTimeoutMs, DEFAULT_TIMINGS.electionTimeoutMs, 'electionTimeoutMs: default');

  const other = { '/srv/quorumd/other.json': JSON.stringify({ id: 'other', dataDir: 'd' }) };
  const chosen = config(t, resolveWith(['--config', 'other.json'], { QUORUMD_CONFIG: 'missing.json' }, other));
  t.equal(chosen.id, 'other', '--config wins over QUORUMD_CONFIG');
});

t.test('an empty variable counts as unset', async (t) => {
  const c = config(t, resolveWith([], { QUORUMD_ID: 'n1', QUORUMD_DATA_DIR: 'd', QUORUMD_TOKEN: '', QUORUMD_HEARTBEAT_MS: '', QUORUMD_CONFIG: '' }));
  t.equal(c.token, null);
  t.equal(c.timings.heartbeatMs, DEFAULT_TIMINGS.heartbeatMs);
});

t.test('the variables Kubernetes injects for a Service named quorumd are ignored, not fatal; a near miss is still an error', async (t) => {
  // A Service named quorumd (or quorumd-peers) in the pod's namespace puts these in every pod.
  const injected = {
    QUORUMD_SERVICE_HOST: '10.96.0.12',
    QUORUMD_SERVICE_PORT: '7400',
    QUORUMD_SERVICE_PORT_HTTP: '7400',
    QUORUMD_PORT: 'tcp://10.96.0.12:7400',
    QUORUMD_PORT_7400_TCP: 'tcp://10.96.0.12:7400',
    QUORUMD_PORT_7400_TCP_PROTO: 'tcp',
    QUORUMD_PORT_7400_TCP_PORT: '7400',
    QUORUMD_PORT_7400_TCP_ADDR: '10.96.0.12',
    QUORUMD_PEERS_SERVICE_HOST: '10.96.0.13',
    QUORUMD_PEERS_PORT_7400_TCP_ADDR: '10.96.0.13',
  };
  const c = config(t, resolveWith(['--id', 'n1', '--data-dir', 'd'], injected));
  t.equal(c.id, 'n1', 'the node starts with its own settings');
  for (const typo of ['QUORUMD_PORTS', 'QUORUMD_SERVICE', 'QUORUMD_PORT_7400', 'QUORUMD_LISTEN_PORT_X']) {
    t.match(
      problems(t, resolveWith(['--id', 'n1', '--data-dir', 'd'], { [typo]: '1' })),
      [new RegExp(`^unknown environment variable ${typo} `)],
      `${typo} is refused`,
    );
  }
});

t.test('a bad value decides its setting: it never falls back to a lower source', async (t) => {
  const p = problems(t, resolveWith(['--heartbeat-ms', 'soon'], { QUORUMD_ID: 'n1', QUORUMD_DATA_DIR: 'd', QUORUMD_HEARTBEAT_MS: '40' }));
  t.strictSame(p, ['--heartbeat-ms must be a whole number of milliseconds from 1 to 60000; got "soon"']);
});

t.test("the advertised URL comes from the url setting, else this node's member entry, else the listen address", async (t) => {
  const base = ['--id', 'n1', '--data-dir', 'd', '--insecure', 'on'];
  t.equal(config(t, resolveWith([...base, '--members', JSON.stringify(members3)])).url, 'http://n1:7400', 'from members');
  t.equal(config(t, resolveWith([...base, '--listen', 'db1.internal:8000'])).url, 'http://db1.internal:8000', 'from listen');
  t.equal(config(t, resolveWith([...base, '--listen', '0.0.0.0:8000'])).url, 'http://127.0.0.1:8000', 'a wildcard IPv4 listen is reached on loopback');
  t.equal(config(t, resolveWith([...base, '--listen', '[::]:8000'])).url, 'http://[::1]:8000', 'a wildcard IPv6 listen is reached on loopback');
  t.equal(config(t, resolveWith([...base, '--listen', '[fe80::1]:8000'])).url, 'http://[fe80::1]:8000');
  const own = config(t, resolveWith([...base, '--url', 'http://n1.example/q']));
  t.equal(own.url, 'http://n1.example/q');
  t.strictSame(own.members, [{ id: 'n1', url: 'http://n1.example/q', kind: 'data', state: 'voting' }], 'a lone node is its own member, at its url');
  t.strictSame(parseListen('[::1]:9'), { host: '::1', port: 9 });
  t.equal(urlFromListen({ host: 'a', port: 1 }), 'http://a:1');
});

interface Bad {
  readonly why: string;
  readonly argv?: string[];
  readonly env?: Record<string, string>;
  readonly files?: Files;
  /** Every problem expected, each matched as a pattern. */
  readonly expect: ReadonlyArray<RegExp>;
}

const need = ['--id', 'n1', '--data-dir', 'd'];
const members = (list: unknown) => ['--members', JSON.stringify(list)];

const bad: readonly Bad[] = [
  { why: 'nothing at all', argv: [], expect: [/^id is required: set --id or QUORUMD_ID/, /^dataDir is required: set --data-dir or QUORUMD_DATA_DIR/] },
  {
    why: 'an id with a space',
    argv: ['--id', 'n 1', '--data-dir', 'd'],
    expect: [/^--id must be 1 to 64 characters of A-Z, a-z, 0-9, "\.", "_" and "-"; got "n 1"$/],
  },
  { why: 'an id too long', env: { QUORUMD_ID: 'x'.repeat(65), QUORUMD_DATA_DIR: 'd' }, expect: [/^QUORUMD_ID must be 1 to 64 characters/] },
  { why: 'an unknown kind', argv: [...need, '--kind', 'primary'], expect: [/^--kind must be one of "data" and "witness"; got "primary"$/] },
  { why: 'a listen address without a port', argv: [...need, '--listen', 'localhost'], expect: [/^--listen must be host:port, .*; got "localhost"$/] },
  {
    why: 'a listen address with port 0',
    argv: [...need, '--listen', 'localhost:0'],
    expect: [/^--listen must have a port from 1 to 65535; got "localhost:0"$/],
  },
  {
    why: 'a listen address with a port too high',
    env: { QUORUMD_ID: 'n1', QUORUMD_DATA_DIR: 'd', QUORUMD_LISTEN: '1.2.3.4:65536' },
    expect: [/^QUORUMD_LISTEN must have a port from 1 to 65535/],
  },
  { why: 'a url that is not http', argv: [...need, '--url', 'ftp://n1'], expect: [/^--url must be an http:\/\/ or https:\/\/ URL .*; got "ftp:\/\/n1"$/] },
  { why: 'a url with a query', argv: [...need, '--url', 'http://n1/?a=1'], expect: [/^--url must be an http/] },
  {
    why: 'members that are not JSON',
    argv: [...need, '--members', 'n1=http://n1'],
    expect: [/^--members must be JSON \(a JSON array of 1 to 64 members.*\); it does not parse/],
  },
  { why: 'members that are not an array', argv: [...need, ...members({ id: 'n1' })], expect: [/^--members must be a JSON array of 1 to 64 members/] },
  { why: 'no members', argv: [...need, ...members([])], expect: [/^--members must be a JSON array of 1 to 64 members.*; got an array$/] },
  { why: 'a member without a url', argv: [...need, ...members([{ id: 'n1', kind: 'data' }])], expect: [/^--members: members\[0\]\.url is required$/] },
  {
    why: 'a member of an unknown kind',
    argv: [...need, ...members([{ id: 'n1', url: 'http://a', kind: 'replica' }])],
    expect: [/^--members: members\[0\]\.kind must be one of "data" and "witness"; got "replica"$/],
  },
  {
    why: 'a member in an unknown state',
    argv: [...need, ...members([{ id: 'n1', url: 'http://a', kind: 'data', state: 'learner' }])],
    expect: [/^--members: members\[0\]\.state must be one of "voting" and "catching_up"; got "learner"$/],
  },
  {
    why: 'a member with a bad id',
    argv: [
      ...need,
      ...members([
        { id: 'n1', url: 'http://a', kind: 'data' },
        { id: 'n/2', url: 'http://b', kind: 'data' },
      ]),
    ],
    expect: [/^--members: members\[1\]\.id must be 1 to 64 characters/],
  },
  {
    why: 'a member with an unknown field',
    argv: [...need, ...members([{ id: 'n1', url: 'http://a', kind: 'data', votes: true }])],
    expect: [/^--members: members\[0\]\.votes is not a known field/],
  },
  {
    why: 'members with a repeated id and url',
    argv: [
      ...need,
      ...members([
        { id: 'n1', url: 'http://a', kind: 'data' },
        { id: 'n1', url: 'http://a', kind: 'data' },
      ]),
    ],
    expect: [/^--members lists the id "n1" more than once$/, /^--members lists the url "http:\/\/a" more than once$/],
  },
  {
    why: 'members without this node',
    argv: [...need, ...members([{ id: 'n2', url: 'http://b', kind: 'data' }])],
    expect: [/^--members must include this node, "n1" \(from --id\)$/],
  },
  {
    why: 'members that make this node another kind',
    env: {
      QUORUMD_ID: 'n1',
      QUORUMD_DATA_DIR: 'd',
      QUORUMD_MEMBERS: JSON.stringify([
        { id: 'n1', url: 'http://a', kind: 'witness' },
        { id: 'n2', url: 'http://b', kind: 'data' },
        { id: 'n3', url: 'http://c', kind: 'data' },
      ]),
    },
    expect: [/^QUORUMD_MEMBERS lists "n1" as witness, but kind \(default\) says data$/],
  },
  {
    why: "a url other than this node's member entry",
    argv: [...need, '--url', 'http://elsewhere', ...members([{ id: 'n1', url: 'http://a', kind: 'data' }])],
    expect: [/^--url is "http:\/\/elsewhere", but --members gives "n1" the url "http:\/\/a": peers use the latter$/],
  },
  {
    why: 'members without a voting data member',
    argv: [
      '--id',
      'w1',
      '--data-dir',
      'd',
      '--kind',
      'witness',
      ...members([
        { id: 'w1', url: 'http://a', kind: 'witness' },
        { id: 'n2', url: 'http://b', kind: 'data', state: 'catching_up' },
      ]),
    ],
    expect: [/^--members cannot work: no voting data member whose priority is above 0: nobody could be elected$/],
  },
  {
    why: 'one data member with two witnesses',
    argv: [
      ...need,
      ...members([
        { id: 'n1', url: 'http://a', kind: 'data' },
        { id: 'w1', url: 'http://b', kind: 'witness' },
        { id: 'w2', url: 'http://c', kind: 'witness' },
      ]),
    ],
    expect: [/^--members cannot work: 1 voting data member\(s\) among 3 voters: a write needs 2 holders, so none could ever be acknowledged$/],
  },
  { why: 'a witness alone', argv: ['--id', 'w1', '--data-dir', 'd', '--kind', 'witness'], expect: [/^--kind is witness, so members must be given/] },
  {
    why: 'a token too short',
    argv: [...need, '--token', 'hunter2'],
    expect: [/^--token must be 16 to 1024 visible ASCII characters \(no spaces\); got 7 characters$/],
  },
  {
    why: 'a token with a space',
    env: { QUORUMD_ID: 'n1', QUORUMD_DATA_DIR: 'd', QUORUMD_TOKEN: 'correct horse battery staple' },
    expect: [/^QUORUMD_TOKEN must be 16 to 1024 visible ASCII characters \(no spaces\); got 28 characters$/],
  },
  {
    why: 'a heartbeat that is not a number',
    argv: [...need, '--heartbeat-ms', 'fast'],
    expect: [/^--heartbeat-ms must be a whole number of milliseconds from 1 to 60000; got "fast"$/],
  },
  {
    why: 'a heartbeat with a fraction',
    env: { QUORUMD_ID: 'n1', QUORUMD_DATA_DIR: 'd', QUORUMD_HEARTBEAT_MS: '1.5' },
    expect: [/^QUORUMD_HEARTBEAT_MS must be a whole number of milliseconds from 1 to 60000; got "1.5"$/],
  },
  {
    why: 'a negative heartbeat',
    env: { QUORUMD_ID: 'n1', QUORUMD_DATA_DIR: 'd', QUORUMD_HEARTBEAT_MS: '-30' },
    expect: [/^QUORUMD_HEARTBEAT_MS must be a whole number .*; got "-30"$/],
  },
  { why: 'a heartbeat in exponent form', argv: [...need, '--heartbeat-ms', '3e1'], expect: [/^--heartbeat-ms must be a whole number .*; got "3e1"$/] },
  {
    why: 'a heartbeat beyond 2^53',
    argv: [...need, '--heartbeat-ms', '99999999999999999999'],
    expect: [/^--heartbeat-ms must be a whole number .*; got "99999999999999999999"$/],
  },
  {
    why: 'a zero heartbeat',
    argv: [...need, '--heartbeat-ms', '0'],
    expect: [/^--heartbeat-ms must be a whole number of milliseconds from 1 to 60000; got 0$/],
  },
  {
    why: 'a lease not above the heartbeat',
    env: { QUORUMD_ID: 'n1', QUORUMD_DATA_DIR: 'd', QUORUMD_HEARTBEAT_MS: '100', QUORUMD_LEASE_MS: '100' },
    expect: [
      /^timings: leaseMs must exceed heartbeatMs, or no round could renew the lease before it ends \(QUORUMD_HEARTBEAT_MS = 100, QUORUMD_LEASE_MS = 100\)$/,
    ],
  },
  {
    why: 'an election timeout shorter than the lease',
    env: { QUORUMD_ID: 'n1', QUORUMD_DATA_DIR: 'd', QUORUMD_LEASE_MS: '300', QUORUMD_ELECTION_TIMEOUT_MS: '200' },
    expect: [/^timings: electionTimeoutMs must be at least leaseMs \(QUORUMD_LEASE_MS = 300, QUORUMD_ELECTION_TIMEOUT_MS = 200\)$/],
  },
  {
    why: 'an election timeout too long',
    argv: [...need, '--election-timeout-ms', '600001'],
    expect: [/^--election-timeout-ms must be a whole number of milliseconds from 2 to 600000; got 600001$/],
  },
  {
    why: 'a negative jitter',
    argv: [...need, '--election-jitter-ms', '-1'],
    expect: [/^--election-jitter-ms must be a whole number of milliseconds from 0 to 600000; got "-1"$/],
  },
  {
    why: 'a zero role-change timeout',
    env: { QUORUMD_ID: 'n1', QUORUMD_DATA_DIR: 'd', QUORUMD_ROLE_CHANGE_TIMEOUT_MS: '0' },
    expect: [/^QUORUMD_ROLE_CHANGE_TIMEOUT_MS must be a whole number of milliseconds from 1 to 3600000; got 0$/],
  },
  { why: 'an empty role-change command', argv: [...need, '--on-role-change', ''], expect: [/^--on-role-change needs a value$/] },
  {
    why: 'an unknown log level',
    argv: [...need, '--log-level', 'verbose'],
    expect: [/^--log-level must be one of "fatal", "error", "warn", "info", "debug", "trace" and "silent"; got "verbose"$/],
  },
  { why: 'a flag without its value', argv: [...need, '--data-dir'], expect: [/^--data-dir needs a value$/] },
  { why: 'an unknown flag', argv: [...need, '--heartbeat', '30'], expect: [/^unknown option --heartbeat \(see --help\)$/, /^unexpected argument "30"/] },
  { why: 'a stray argument', argv: [...need, 'start'], expect: [/^unexpected argument "start": options take the form --name value/] },
  {
    why: 'an unknown QUORUMD_ variable (a typo is never ignored)',
    argv: need,
    env: { QUORUMD_HEARTBEAT: '30' },
    expect: [/^unknown environment variable QUORUMD_HEARTBEAT /],
  },
  {
    why: 'a config file that cannot be read',
    argv: [...need, '--config', 'nope.json'],
    expect: [/^config file \/srv\/quorumd\/nope\.json cannot be read: ENOENT/],
  },
  {
    why: 'a config file that is not JSON',
    argv: [...need, '--config', 'q.json'],
    files: { '/srv/quorumd/q.json': 'id = "n1"' },
    expect: [/^config file \/srv\/quorumd\/q\.json is not valid JSON: /],
  },
  {
    why: 'a config file that is not an object',
    argv: [...need, '--config', 'q.json'],
    files: { '/srv/quorumd/q.json': '["n1"]' },
    expect: [/^config file \/srv\/quorumd\/q\.json must hold a JSON object of settings$/],
  },
  {
    why: 'a config file with an unknown setting',
    argv: [...need, '--config', 'q.json'],
    files: { '/srv/quorumd/q.json': '{"heartbeat_ms":30}' },
    expect: [/^config file \/srv\/quorumd\/q\.json has an unknown setting "heartbeat_ms"; the settings are id, kind,/],
  },
  {
    why: 'a config file value of the wrong type',
    argv: [...need, '--config', 'q.json'],
    files: { '/srv/quorumd/q.json': '{"heartbeatMs":"30","members":"n1"}' },
    expect: [
      /^"members" in config file \/srv\/quorumd\/q\.json must be a JSON array/,
      /^"heartbeatMs" in config file \/srv\/quorumd\/q\.json must be a whole number of milliseconds from 1 to 60000; got "30"$/,
    ],
  },
  {
    why: 'a config file value with a fraction',
    argv: ['--config', 'q.json'],
    files: { '/srv/quorumd/q.json': '{"id":"n1","dataDir":"d","electionJitterMs":1.5}' },
    expect: [/^"electionJitterMs" in config file \/srv\/quorumd\/q\.json must be a whole number of milliseconds from 0 to 600000; got 1\.5$/],
  },
];

for (const b of bad) {
  t.test(`a configuration with ${b.why} is refused with a message naming the setting`, async (t) => {
    const found = problems(t, resolveWith(b.argv ?? [], b.env ?? {}, b.files ?? {}));
    t.equal(found.length, b.expect.length, `${b.expect.length} problem(s): ${found.join(' | ')}`);
    for (const pattern of b.expect)
      t.ok(
        found.some((p) => pattern.test(p)),
        `a problem matches ${pattern}`,
      );
  });
}

t.test('every problem is reported at once', async (t) => {
  const found = problems(t, resolveWith(['--kind', 'both', '--heartbeat-ms', 'x'], { QUORUMD_LOG_LEVEL: 'loud', QUORUMD_TOKEN: 'short', QUORUMD_NOPE: '1' }));
  t.equal(found.length, 7, found.join(' | '));
});

t.test('a problem never shows the token', async (t) => {
  const token = 'almost a token but with spaces';
  const found = problems(t, resolveWith([...need, '--token', token]));
  t.equal(found.length, 1);
  t.notOk(
    found.some((p) => p.includes('almost')),
    found.join(' | '),
  );
});

t.test('--help and -h ask for the usage, which lists every flag and variable', async (t) => {
  t.ok(wantsHelp(['--help']));
  t.ok(wantsHelp(['--id', 'n1', '-h']));
  t.notOk(wantsHelp(['--id', 'n1']));
  for (const s of SETTINGS) {
    t.match(USAGE, `--${s.flag} `, `usage shows --${s.flag}`);
    t.match(USAGE, s.env, `usage shows ${s.env}`);
  }
  t.match(USAGE, 'QUORUMD_CONFIG');
});
