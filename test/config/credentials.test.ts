// The credential settings: this node's peer token, the members' peer token
// digests, the agent's and the operators' tokens, the shared token as the
// alternative to all of them, and the refusal to serve a non-loopback address
// without any credentials unless insecure is on. Every bad value is a problem
// naming the setting, and no problem ever shows a secret.

import { createHash } from 'node:crypto';
import t from 'tap';
import { redacted, roleCredentials } from '../../src/cli.js';
import { isLoopback, peerDigest } from '../../src/config.js';
import { config, problems, resolveWith } from './fixtures/resolve.js';

const members = [
  { id: 'a', url: 'http://a:7400', kind: 'data' },
  { id: 'b', url: 'http://b:7400', kind: 'data' },
  { id: 'c', url: 'http://c:7400', kind: 'witness' },
];
const TOKENS = { a: 'peer-token-of-a-0123456789', b: 'peer-token-of-b-0123456789', c: 'peer-token-of-c-0123456789' };
const NEXT_A = 'next-peer-token-of-a-012345';
const AGENT = 'agent-token-0123456789';
const AGENT2 = 'agent-token-next-0123456789';
const OPERATOR = 'operator-token-0123456789';
const SHARED = 'shared-token-0123456789';
const digests = { a: [peerDigest(TOKENS.a)], b: [peerDigest(TOKENS.b)], c: [peerDigest(TOKENS.c)] };
const SECRETS = [...Object.values(TOKENS), NEXT_A, AGENT, AGENT2, OPERATOR, SHARED];

/** The environment of node a with per-role credentials, listening on every address. */
function roleEnv(over: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    QUORUMD_ID: 'a',
    QUORUMD_DATA_DIR: 'd',
    QUORUMD_LISTEN: '0.0.0.0:7400',
    QUORUMD_MEMBERS: JSON.stringify(members),
    QUORUMD_PEER_TOKEN: TOKENS.a,
    QUORUMD_PEER_CREDENTIALS: JSON.stringify(digests),
    QUORUMD_AGENT_TOKENS: AGENT,
    QUORUMD_OPERATOR_TOKENS: OPERATOR,
    ...over,
  };
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

function neverShowsSecrets(t: { notOk(value: unknown, message: string): void }, found: readonly string[]): void {
  for (const secret of SECRETS) {
    t.notOk(
      found.some((p) => p.includes(secret) || p.includes(secret.slice(0, 12))),
      `no problem shows ${secret.slice(0, 4)}...`,
    );
  }
}

t.test('per-role credentials from variables: the peer token, every member digest, the agent and operator lists', async (t) => {
  const c = config(t, resolveWith([], roleEnv({ QUORUMD_AGENT_TOKENS: `${AGENT}, ${AGENT2}` })));
  t.equal(c.token, null);
  t.equal(c.peerToken, TOKENS.a);
  t.strictSame(c.peerCredentials, digests);
  t.strictSame(c.agentTokens, [AGENT, AGENT2], 'a comma-separated list, spaces trimmed');
  t.strictSame(c.operatorTokens, [OPERATOR]);
  t.equal(c.insecure, false);
  t.equal(peerDigest('x'), `sha256:${createHash('sha256').update('x').digest('hex')}`, 'the digest is what sha256sum prints');
});

t.test('per-role credentials from flags and from the config file', async (t) => {
  const flags = config(
    t,
    resolveWith([
      '--id',
      'a',
      '--data-dir',
      'd',
      '--members',
      JSON.stringify(members),
      '--peer-token',
      TOKENS.a,
      '--peer-credentials',
      JSON.stringify(digests),
      '--agent-tokens',
      AGENT,
      '--operator-tokens',
      `${OPERATOR},${OPERATOR}x`,
    ]),
  );
  t.equal(flags.peerToken, TOKENS.a);
  t.strictSame(flags.operatorTokens, [OPERATOR, `${OPERATOR}x`]);
  const file = {
    id: 'a',
    dataDir: 'd',
    members,
    peerToken: TOKENS.a,
    peerCredentials: digests,
    agentTokens: [AGENT],
    operatorTokens: [OPERATOR],
    insecure: 'off',
  };
  const fromFile = config(t, resolveWith(['--config', 'q.json'], {}, { '/srv/quorumd/q.json': JSON.stringify(file) }));
  t.strictSame(fromFile.peerCredentials, digests);
  t.strictSame(fromFile.agentTokens, [AGENT]);
});

t.test('a member may have several digests (rotation), and upper-case hex is taken in lower case', async (t) => {
  const upper = peerDigest(TOKENS.b)
    .replace(/^sha256:/, '')
    .toUpperCase();
  const c = config(
    t,
    resolveWith(
      [],
      roleEnv({
        QUORUMD_PEER_CREDENTIALS: JSON.stringify({ ...digests, a: [peerDigest(NEXT_A), peerDigest(TOKENS.a)], b: [`sha256:${upper}`] }),
      }),
    ),
  );
  t.strictSame(c.peerCredentials?.a, [peerDigest(NEXT_A), peerDigest(TOKENS.a)]);
  t.strictSame(c.peerCredentials?.b, [peerDigest(TOKENS.b)]);
});

interface Bad {
  readonly why: string;
  readonly env: Record<string, string>;
  readonly argv?: string[];
  readonly expect: ReadonlyArray<RegExp>;
}

const bad: readonly Bad[] = [
  {
    why: 'a peer token too short',
    env: roleEnv({ QUORUMD_PEER_TOKEN: 'short-token' }),
    expect: [/^QUORUMD_PEER_TOKEN must be 16 to 1024 visible ASCII characters \(no spaces\); got 11 characters$/],
  },
  {
    why: 'a peer token with a space',
    env: roleEnv(),
    argv: ['--peer-token', `${TOKENS.a} x`],
    expect: [/^--peer-token must be 16 to 1024 visible ASCII characters \(no spaces\); got 28 characters$/],
  },
  {
    why: 'peer credentials that are not JSON',
    env: roleEnv({ QUORUMD_PEER_CREDENTIALS: 'a=sha256:00' }),
    expect: [/^QUORUMD_PEER_CREDENTIALS must be JSON \(a JSON object from each member id/],
  },
  {
    why: 'peer credentials that are an array',
    env: roleEnv({ QUORUMD_PEER_CREDENTIALS: '[]' }),
    expect: [/^QUORUMD_PEER_CREDENTIALS must be a JSON object .*; got an array$/],
  },
  {
    why: 'a digest without its prefix',
    env: roleEnv({ QUORUMD_PEER_CREDENTIALS: JSON.stringify({ ...digests, b: [peerDigest(TOKENS.b).slice(7)] }) }),
    expect: [/^QUORUMD_PEER_CREDENTIALS: peerCredentials\.b\[0\] must be "sha256:" followed by 64 hex digits; got "[0-9a-f]{64}"$/],
  },
  {
    why: 'a digest one digit short',
    env: roleEnv({ QUORUMD_PEER_CREDENTIALS: JSON.stringify({ ...digests, c: [peerDigest(TOKENS.c).slice(0, -1)] }) }),
    expect: [/^QUORUMD_PEER_CREDENTIALS: peerCredentials\.c\[0\] must be "sha256:" followed by 64 hex digits/],
  },
  {
    why: 'a member with no digest at all',
    env: roleEnv({ QUORUMD_PEER_CREDENTIALS: JSON.stringify({ ...digests, c: [] }) }),
    expect: [/^QUORUMD_PEER_CREDENTIALS: peerCredentials\.c must be a list of 1 to 16 digests/],
  },
  {
    why: 'a member missing from the credentials',
    env: roleEnv({ QUORUMD_PEER_CREDENTIALS: JSON.stringify({ a: digests.a, b: digests.b }) }),
    expect: [/^QUORUMD_PEER_CREDENTIALS has no entry for member "c": every request it sends would be refused$/],
  },
  {
    why: 'credentials under a name that is no member id',
    env: roleEnv({ QUORUMD_PEER_CREDENTIALS: JSON.stringify({ ...digests, 'd e': digests.b }) }),
    expect: [/^QUORUMD_PEER_CREDENTIALS names "d e", which is not a member id \(1 to 64 characters/],
  },
  {
    why: "this node's own entry not matching its peer token",
    env: roleEnv({ QUORUMD_PEER_TOKEN: NEXT_A }),
    expect: [/^QUORUMD_PEER_CREDENTIALS lists no digest of this node's own peer token \(QUORUMD_PEER_TOKEN\) under "a"/],
  },
  {
    why: 'a peer token without the credentials',
    env: roleEnv({ QUORUMD_PEER_CREDENTIALS: undefined }),
    expect: [/^per-role credentials need both peerToken and peerCredentials: set peerCredentials \(--peer-credentials or QUORUMD_PEER_CREDENTIALS\)/],
  },
  {
    why: 'agent tokens without any peer credentials',
    env: roleEnv({ QUORUMD_PEER_CREDENTIALS: undefined, QUORUMD_PEER_TOKEN: undefined, QUORUMD_OPERATOR_TOKENS: undefined, QUORUMD_LISTEN: '127.0.0.1:7400' }),
    expect: [/^per-role credentials need both peerToken and peerCredentials: set peerToken .* since QUORUMD_AGENT_TOKENS is set$/],
  },
  {
    why: 'an agent token too short',
    env: roleEnv({ QUORUMD_AGENT_TOKENS: `${AGENT},short` }),
    expect: [/^QUORUMD_AGENT_TOKENS: agentTokens\[1\] must be 16 to 1024 visible ASCII characters \(no spaces\); got 5 characters$/],
  },
  {
    why: 'an empty entry in the agent list',
    env: roleEnv({ QUORUMD_AGENT_TOKENS: `${AGENT},,${AGENT2}` }),
    expect: [/^QUORUMD_AGENT_TOKENS: agentTokens\[1\] must be .*; got 0 characters$/],
  },
  {
    why: 'an operator token with a space',
    env: roleEnv({ QUORUMD_OPERATOR_TOKENS: 'operator token 0123456789' }),
    expect: [/^QUORUMD_OPERATOR_TOKENS: operatorTokens\[0\] must be 16 to 1024/],
  },
  {
    why: 'the shared token together with the per-role credentials',
    env: roleEnv({ QUORUMD_TOKEN: SHARED }),
    expect: [
      /^QUORUMD_TOKEN \(the shared token\) cannot be used together with QUORUMD_PEER_TOKEN, QUORUMD_PEER_CREDENTIALS, QUORUMD_AGENT_TOKENS, QUORUMD_OPERATOR_TOKENS: pick one mode, either token alone .* or peerToken and peerCredentials/,
    ],
  },
  {
    why: 'the shared token together with operator tokens only',
    env: { QUORUMD_ID: 'a', QUORUMD_DATA_DIR: 'd', QUORUMD_TOKEN: SHARED, QUORUMD_OPERATOR_TOKENS: OPERATOR },
    expect: [/^QUORUMD_TOKEN \(the shared token\) cannot be used together with QUORUMD_OPERATOR_TOKENS: pick one mode/],
  },
  { why: 'insecure neither on nor off', env: roleEnv({ QUORUMD_INSECURE: 'yes' }), expect: [/^QUORUMD_INSECURE must be one of "on" and "off"; got "yes"$/] },
  {
    why: 'a non-loopback listen address without credentials',
    env: { QUORUMD_ID: 'a', QUORUMD_DATA_DIR: 'd', QUORUMD_LISTEN: '0.0.0.0:7400' },
    expect: [
      /^QUORUMD_LISTEN is 0\.0\.0\.0:7400, not a loopback address, and no credentials are configured: .* Set peerToken and peerCredentials .* or token .*, or set --insecure on \(QUORUMD_INSECURE=on\) to accept that risk$/,
    ],
  },
  {
    why: 'a host name other than localhost without credentials',
    env: { QUORUMD_ID: 'a', QUORUMD_DATA_DIR: 'd', QUORUMD_LISTEN: 'db1.internal:7400', QUORUMD_INSECURE: 'off' },
    expect: [/^QUORUMD_LISTEN is db1\.internal:7400, not a loopback address/],
  },
];

for (const b of bad) {
  t.test(`a configuration with ${b.why} is refused, naming the setting and showing no secret`, async (t) => {
    const found = problems(t, resolveWith(b.argv ?? [], b.env));
    t.equal(found.length, b.expect.length, `${b.expect.length} problem(s): ${found.join(' | ')}`);
    for (const pattern of b.expect)
      t.ok(
        found.some((p) => pattern.test(p)),
        `a problem matches ${pattern}`,
      );
    neverShowsSecrets(t, found);
  });
}

t.test('a config file with a bad token list shows its shape, never the tokens', async (t) => {
  const file = { id: 'a', dataDir: 'd', members, peerToken: TOKENS.a, peerCredentials: digests, agentTokens: AGENT, operatorTokens: [OPERATOR, 7] };
  const found = problems(t, resolveWith(['--config', 'q.json'], {}, { '/srv/quorumd/q.json': JSON.stringify(file) }));
  t.equal(found.length, 2, found.join(' | '));
  t.match(found[0], /^"agentTokens" in config file \/srv\/quorumd\/q\.json must be a list of 1 to 16 tokens.*; got 22 characters$/);
  t.match(found[1], /^"operatorTokens" in config file .*: operatorTokens\[1\] must be 16 to 1024 .*; got number$/);
  neverShowsSecrets(t, found);
});

t.test('a loopback listen address needs no credentials; any other needs them or insecure on', async (t) => {
  for (const listen of ['127.0.0.1:7400', '127.3.2.1:7400', 'localhost:7400', 'LOCALHOST:7400', '[::1]:7400']) {
    t.ok(resolveWith([], { QUORUMD_ID: 'a', QUORUMD_DATA_DIR: 'd', QUORUMD_LISTEN: listen }).ok, `${listen} without credentials`);
  }
  for (const listen of ['0.0.0.0:7400', '[::]:7400', '10.0.0.5:7400', '128.0.0.1:7400', 'localhost.example:7400', '[fe80::1]:7400']) {
    t.notOk(resolveWith([], { QUORUMD_ID: 'a', QUORUMD_DATA_DIR: 'd', QUORUMD_LISTEN: listen }).ok, `${listen} without credentials is refused`);
    const insecure = config(t, resolveWith(['--insecure', 'on'], { QUORUMD_ID: 'a', QUORUMD_DATA_DIR: 'd', QUORUMD_LISTEN: listen }));
    t.equal(insecure.insecure, true, `${listen} with --insecure on`);
    t.ok(resolveWith([], { QUORUMD_ID: 'a', QUORUMD_DATA_DIR: 'd', QUORUMD_LISTEN: listen, QUORUMD_TOKEN: SHARED }).ok, `${listen} with the shared token`);
  }
  t.ok(resolveWith([], roleEnv()).ok, '0.0.0.0 with per-role credentials');
  t.ok(isLoopback('127.255.255.254'));
  t.notOk(isLoopback('127.0.0.1.nip.io'));
});

t.test('the configuration the command logs shows no token of any role', async (t) => {
  const c = config(t, resolveWith([], roleEnv()));
  const logged = JSON.stringify(redacted(c));
  neverShowsSecrets(t, [logged]);
  t.match(logged, peerDigest(TOKENS.b), 'the digests are no secret and stay');
  t.strictSame(roleCredentials(c), { peers: digests, agentTokens: [AGENT], operatorTokens: [OPERATOR] }, 'what the app checks');
  const shared = config(t, resolveWith([], { QUORUMD_ID: 'a', QUORUMD_DATA_DIR: 'd', QUORUMD_TOKEN: SHARED }));
  t.equal(roleCredentials(shared), null, 'none in the shared-token mode');
  neverShowsSecrets(t, [JSON.stringify(redacted(shared))]);
});
