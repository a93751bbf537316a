// The operator's tool without a cluster: the tables it prints, the command
// lines it refuses (exit 2, one line, nothing sent), and where it takes the
// cluster's url and its credentials from, in the node's order of precedence.

import t from 'tap';
import { parseCtlArgs, UsageError, DEFAULT_TIMEOUT_MS, wantsCtlHelp } from '../../src/ctl/args.js';
import { errorReason } from '../../src/ctl/client.js';
import { resolveConnection, SettingsError } from '../../src/ctl/connection.js';
import { ago, details, formatCluster, formatHistory, formatWhy, table } from '../../src/ctl/format.js';
import { EXIT_USAGE, runCtl } from '../../src/ctl/index.js';
import type { ClusterView, WhyReply } from '../../src/runtime/service.js';

const view: ClusterView = {
  view: 'primary',
  viewedBy: 'd1',
  partialBecause: null,
  clusterId: 'quorumd-0123456789ab',
  term: 4,
  primaryId: 'd1',
  commitWatermark: { term: 4, lsn: 120 },
  config: { term: 4, version: 2 },
  committed: true,
  paused: false,
  quorum: 2,
  voters: 3,
  members: [
    {
      id: 'd1',
      url: 'http://127.0.0.1:7401',
      kind: 'data',
      state: 'voting',
      autoPromote: true,
      priority: 1,
      voter: true,
      role: 'primary',
      term: 4,
      position: { term: 4, lsn: 125 },
      lag: 0,
      lastContactAgoMs: 0,
      electable: true,
      notElectableBecause: null,
      answersAs: null,
    },
    {
      id: 'replica-2',
      url: 'http://127.0.0.1:7402',
      kind: 'data',
      state: 'voting',
      autoPromote: true,
      priority: 1,
      voter: true,
      role: 'follower',
      term: 4,
      position: { term: 4, lsn: 100 },
      lag: 20,
      lastContactAgoMs: 1530,
      electable: false,
      notElectableBecause: 'its log does not cover the commit watermark',
      answersAs: null,
    },
    {
      id: 'w1',
      url: 'http://127.0.0.1:7403',
      kind: 'witness',
      state: 'voting',
      autoPromote: true,
      priority: 1,
      voter: true,
      role: 'unknown',
      term: null,
      position: null,
      lag: null,
      lastContactAgoMs: null,
      electable: false,
      notElectableBecause: 'a witness never stands',
      answersAs: null,
    },
  ],
};

t.test('table aligns every column under its header and trims trailing spaces', async (t) => {
  t.equal(
    table(
      ['A', 'LONGER'],
      [
        ['wide cell', 'x'],
        ['b', ''],
      ],
    ),
    'A          LONGER\nwide cell  x\nb\n',
  );
  t.equal(table(['ONLY'], []), 'ONLY\n', 'a table with no rows is its header');
});

t.test('list: a line about the view, then one aligned row per member', async (t) => {
  t.equal(
    formatCluster(view),
    [
      'cluster quorumd-0123456789ab: primary d1 in term 4, commit watermark 4/120, 3 voters (quorum 2)',
      'MEMBER     KIND     STATE   ROLE      TERM  POSITION  LAG  LAST CONTACT  ELECTABLE',
      'd1         data     voting  primary   4     4/125     0    -             yes',
      'replica-2  data     voting  follower  4     4/100     20   1.5 s ago     no: its log does not cover the commit watermark',
      'w1         witness  voting  unknown   -     -         -    never         no: a witness never stands',
      '',
    ].join('\n'),
  );
  t.match(
    formatCluster({ ...view, paused: true }).split('\n')[1],
    'automatic failover is PAUSED (maintenance mode): nobody stands by itself; a switchover still works',
    'a paused cluster says so under the first line',
  );
  const partial = formatCluster({ ...view, view: 'partial', viewedBy: 'replica-2', partialBecause: 'this node knows of no primary', primaryId: null });
  t.match(
    partial.split('\n')[0],
    'cluster quorumd-0123456789ab: PARTIAL view of replica-2 (this node knows of no primary); primary unknown, term 4',
    'a partial view says so, whose it is and why, first',
  );
});

t.test('ago, history and refusal details', async (t) => {
  t.equal(ago(0), '0 ms ago');
  t.equal(ago(999), '999 ms ago');
  t.equal(ago(12_345), '12.3 s ago');
  t.equal(ago(null), 'never');
  t.equal(formatHistory([]), 'no term with a known primary yet\n');
  t.equal(
    formatHistory([
      {
        term: 3,
        primaryId: 'd2',
        at: '2026-12-02T02:00:00.000Z',
        reason: 'elected',
        election: { cause: 'evidence', durationMs: 41, position: { term: 2, lsn: 120 }, votes: 2, needed: 2 },
      },
      { term: 4, primaryId: 'd1', at: '2026-12-02T02:01:00.000Z', reason: 'heartbeat' },
    ]),
    'TERM  PRIMARY  SINCE                     LEARNT BY     WHY       TOOK   AT POSITION\n' +
      '3     d2       2026-12-02T02:00:00.000Z  elected here  evidence  41 ms  2/120\n' +
      '4     d1       2026-12-02T02:01:00.000Z  heartbeat\n',
    "the winner's entry says why, how long and at what position",
  );
  t.equal(
    details({ code: 'watermark_not_covered', candidatePosition: { term: 4, lsn: 100 }, commitWatermark: { term: 4, lsn: 120 } }),
    'watermark_not_covered (candidatePosition 4/100, commitWatermark 4/120)',
  );
  t.equal(details({ code: 'primary_alive', primaryId: 'd1', lastHeartbeatAgoMs: 12.6 }), 'primary_alive (primaryId d1, lastHeartbeatAgoMs 13)');
  t.equal(
    details({ code: 'config_behind', candidateConfig: { term: 3, version: 1 }, voterConfig: { term: 4, version: 2 } }),
    'config_behind (candidateConfig 3.1, voterConfig 4.2)',
  );
  t.equal(details({ code: 'wrong_cluster', clusterId: null, candidateClusterId: 'x' }), 'wrong_cluster (clusterId none, candidateClusterId x)');
});

t.test('why: the verdict, the tally, and each voter', async (t) => {
  const lagging: WhyReply = {
    candidateId: 'replica-2',
    kind: 'data',
    term: 5,
    position: { term: 4, lsn: 100 },
    config: { term: 4, version: 2 },
    electable: false,
    notElectableBecause: 'its log does not cover the commit watermark',
    probed: true,
    votes: 1,
    needed: 2,
    wouldWin: false,
    voters: [
      {
        voterId: 'd1',
        granted: false,
        reason: { code: 'watermark_not_covered', candidatePosition: { term: 4, lsn: 100 }, commitWatermark: { term: 4, lsn: 120 } },
        error: null,
      },
      { voterId: 'w1', granted: false, reason: null, error: 'connection refused' },
    ],
  };
  t.equal(
    formatWhy(lagging),
    [
      'replica-2 would not be elected now: its log does not cover the commit watermark',
      'its dry-run probe for term 5, from position 4/100, got 1 of the 2 votes needed',
      'VOTER  ANSWER     REASON',
      'd1     refused    watermark_not_covered (candidatePosition 4/100, commitWatermark 4/120)',
      'w1     no answer  connection refused',
      '',
    ].join('\n'),
  );
  const winner = formatWhy({
    ...lagging,
    electable: true,
    notElectableBecause: null,
    wouldWin: true,
    votes: 3,
    voters: [{ voterId: 'd1', granted: true, reason: null, error: null }],
  });
  t.match(winner, /^replica-2 would be elected now\n.*got 3 of the 2 votes needed\nVOTER\s+ANSWER\s+REASON\nd1\s+granted\n$/);
  t.equal(
    formatWhy({ ...lagging, kind: 'witness', probed: false, notElectableBecause: 'a witness never stands', voters: [] }),
    'replica-2 cannot be elected: a witness never stands; no voter was asked\n',
  );
});

t.test('an error answer is one line: the status, the code and the message', async (t) => {
  t.equal(errorReason(409, { error: { code: 'would_break_cluster', message: 'it would\n  break' } }), 'HTTP 409 would_break_cluster: it would break');
  t.equal(errorReason(502, { something: 'else' }), 'HTTP 502');
});

t.test('commands and their arguments', async (t) => {
  t.same(parseCtlArgs(['list']).command, { name: 'list' });
  t.same(parseCtlArgs(['pause']).command, { name: 'pause' });
  t.same(parseCtlArgs(['resume']).command, { name: 'resume' });
  t.same(parseCtlArgs(['switchover']).command, { name: 'switchover', to: null });
  t.same(parseCtlArgs(['switchover', '--to', 'd2']).command, { name: 'switchover', to: 'd2' });
  t.same(parseCtlArgs(['why', 'w1']).command, { name: 'why', id: 'w1' });
  t.same(parseCtlArgs(['members', 'remove', 'd4']).command, { name: 'members-remove', id: 'd4' });
  t.same(parseCtlArgs(['members', 'promote', 'd4']).command, { name: 'members-promote', id: 'd4' });
  const add = parseCtlArgs(['--url', 'http://10.0.0.1:7400', 'members', 'add', 'd4', '--url', 'http://10.0.0.4:7400', '--kind', 'witness']);
  t.same(add.command, { name: 'members-add', id: 'd4', url: 'http://10.0.0.4:7400', kind: 'witness', autoPromote: true, priority: null });
  t.equal((parseCtlArgs(['members', 'add', 'dr-1', '--url', 'http://h:1', '--kind', 'data', '--priority', '0']).command as { priority: number }).priority, 0);
  t.equal(add.options.url, 'http://10.0.0.1:7400', "a --url before the command is the cluster's, after it the new member's");
  t.equal(parseCtlArgs(['members', 'add', 'd4', '--url', 'http://h:1', '--kind', 'data']).options.url, undefined, 'no cluster url given');
  t.equal(
    (parseCtlArgs(['members', 'add', 'd4', '--url', 'http://h:1', '--kind', 'data', '--auto-promote', 'off']).command as { autoPromote: boolean }).autoPromote,
    false,
  );
  const list = parseCtlArgs(['list', '--url', 'http://h:7400', '--json', '--timeout-ms', '2500']);
  t.same([list.options.url, list.options.json, list.options.timeoutMs], ['http://h:7400', true, 2500]);
  t.equal(parseCtlArgs(['history']).options.timeoutMs, DEFAULT_TIMEOUT_MS);
});

t.test('a command line that cannot be run is refused with one line saying why', async (t) => {
  const refusals: Array<[string[], RegExp]> = [
    [['launch'], /^unknown command "launch": the commands are list, switchover, members, history, pause, resume and why$/],
    [['pause', 'now'], /^pause takes no arguments; got "now"$/],
    [['members', 'add', 'd4', '--url', 'http://x:1', '--kind', 'data', '--priority', '101'], /^--priority must be a whole number from 0 to 100; got "101"$/],
    [['list', '--priority', '3'], /^list takes no --priority$/],
    [['list', 'extra'], /^list takes no arguments; got "extra"$/],
    [['why'], /^why takes one member id$/],
    [['why', 'a', 'b'], /^why takes one member id; got 2 arguments$/],
    [['why', 'bad id!'], /^the member id must be 1 to 64 letters, digits/],
    [['switchover', '--to', '../x'], /^--to must be 1 to 64 letters/],
    [['list', '--to', 'd2'], /^list takes no --to$/],
    [['members'], /^members needs an action: add, remove or promote$/],
    [['members', 'rename', 'd4'], /^unknown members action "rename"/],
    [['members', 'add', 'd4', '--kind', 'data'], /^members add needs --url after the member id/],
    [['members', 'add', 'd4', '--url', 'ftp://x', '--kind', 'data'], /^--url must be an http or https url; got "ftp:\/\/x"$/],
    [['members', 'add', 'd4', '--url', 'http://x:1', '--kind', 'primary'], /^members add needs --kind data or --kind witness; got "primary"$/],
    [['members', 'add', 'd4', '--url', 'http://x:1', '--kind', 'data', '--auto-promote', 'maybe'], /^--auto-promote must be on or off/],
    [['list', '--timeout-ms', '0'], /^--timeout-ms must be a whole number of milliseconds, at least 1; got "0"$/],
    [['list', '--timeout-ms', '1.5'], /^--timeout-ms must be a whole number/],
    [['list', '--tls-cert', 'c.pem'], /^--tls-cert and --tls-key go together$/],
    [['list', '--verbose'], /^Unknown option '--verbose'.*\(see quorumd ctl --help\)$/],
  ];
  for (const [argv, message] of refusals) {
    t.throws(() => parseCtlArgs(argv), { name: 'UsageError', message }, argv.join(' '));
  }
  t.ok(new UsageError('x') instanceof Error);
});

t.test('runCtl: help exits 0, a bad command line exits 2 with one line and sends nothing', async (t) => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } };
  t.equal(await runCtl(['--help'], {}, io), 0);
  t.match(out.join(''), /^Usage: quorumd ctl <command> \[options\]/);
  t.ok(wantsCtlHelp([]) && wantsCtlHelp(['help']) && wantsCtlHelp(['why', 'd1', '-h']), 'no command, help, or -h anywhere asks for the usage');
  t.notOk(wantsCtlHelp(['why', 'help']), 'a member called help is a member');
  // An unreachable url: were anything sent, the exit would be 1, not 2.
  t.equal(await runCtl(['why'], { QUORUMD_URL: 'http://127.0.0.1:1' }, io), EXIT_USAGE);
  t.same(err, ['quorumd ctl: why takes one member id\n']);
});

t.test('the url and credentials: flags, then the node variables, then its config file, then the defaults', async (t) => {
  const base = parseCtlArgs(['list']).options;
  const files: Record<string, string> = {
    '/etc/quorumd/node.json': JSON.stringify({ listen: '0.0.0.0:7500', operatorTokens: ['file-operator-token-0123'], id: 'ignored' }),
    '/etc/quorumd/url.json': JSON.stringify({ url: 'http://10.0.0.9:7400', token: 'file-shared-token-01234' }),
    '/etc/quorumd/bad.json': JSON.stringify({ token: 'short' }),
    '/run/token': 'from-the-file-0123456789\nsecond line\n',
    '/run/empty': '\n',
    '/pki/ca.crt': 'CA PEM',
  };
  const io = {
    cwd: '/',
    readFile: (p: string) => {
      const text = files[p];
      if (text === undefined) throw new Error('ENOENT: no such file');
      return text;
    },
  };
  const defaults = resolveConnection(base, {}, io);
  t.same(defaults, { url: 'http://127.0.0.1:7400', token: null, tls: null, timeoutMs: DEFAULT_TIMEOUT_MS }, 'the default listen address, no token');
  const fromFile = resolveConnection({ ...base, config: '/etc/quorumd/node.json' }, {}, io);
  t.same([fromFile.url, fromFile.token], ['http://127.0.0.1:7500', 'file-operator-token-0123'], "the file's listen address and first operator token");
  const fromEnvFile = resolveConnection(base, { QUORUMD_CONFIG: '/etc/quorumd/url.json' }, io);
  t.same([fromEnvFile.url, fromEnvFile.token], ['http://10.0.0.9:7400', 'file-shared-token-01234'], 'QUORUMD_CONFIG names the file; its url and shared token');
  const env = {
    QUORUMD_CONFIG: '/etc/quorumd/url.json',
    QUORUMD_URL: 'http://10.0.0.2:7400/',
    QUORUMD_OPERATOR_TOKENS: 'env-operator-a-0123456, env-operator-b',
  };
  const fromEnv = resolveConnection(base, env, io);
  t.same([fromEnv.url, fromEnv.token], ['http://10.0.0.2:7400', 'env-operator-a-0123456'], 'the variables win over the file (the first operator token)');
  t.equal(
    resolveConnection(base, { ...env, QUORUMD_TOKEN: 'env-shared-token-0123' }, io).token,
    'env-shared-token-0123',
    'the shared token before the operator tokens',
  );
  const fromFlags = resolveConnection({ ...base, url: 'http://10.0.0.3:7400', tokenFile: '/run/token' }, env, io);
  t.same([fromFlags.url, fromFlags.token], ['http://10.0.0.3:7400', 'from-the-file-0123456789'], 'flags win; a token file gives its first line');
  t.equal(resolveConnection({ ...base, token: 'flag-token', tokenFile: '/run/token' }, env, io).token, 'flag-token', '--token before --token-file');
  t.same(resolveConnection({ ...base, url: 'https://10.0.0.3:7400', tlsCa: '/pki/ca.crt' }, {}, io).tls, { ca: 'CA PEM' }, 'the CA, and no client certificate');

  const problems: Array<[() => unknown, RegExp]> = [
    [
      () => resolveConnection({ ...base, url: 'https://10.0.0.3:7400' }, {}, io),
      /^https:\/\/10\.0\.0\.3:7400 is an https url: give the cluster CA with --tls-ca \(or QUORUMD_TLS_CA\)$/,
    ],
    [() => resolveConnection({ ...base, tokenFile: '/run/empty' }, {}, io), /^the token file \/run\/empty is empty$/],
    [() => resolveConnection({ ...base, tokenFile: '/run/missing' }, {}, io), /^the token file \/run\/missing cannot be read: ENOENT/],
    [() => resolveConnection({ ...base, config: '/etc/quorumd/bad.json' }, {}, io), /^"token" in the config file \/etc\/quorumd\/bad\.json must be /],
    [() => resolveConnection({ ...base, config: '/run/token' }, {}, io), /^the config file \/run\/token is not valid JSON/],
  ];
  for (const [run, message] of problems) t.throws(run, { name: 'SettingsError', message });
  t.ok(new SettingsError('x') instanceof Error);
});
