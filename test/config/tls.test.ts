// The mutual TLS settings: all three files or none, each read and checked at
// start-up (a PEM certificate the cluster CA signed, naming this node by its
// URI SAN, with its own key), https urls exactly when TLS is on, no peer or
// shared token beside it, and a non-loopback address accepted with it.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { redacted, roleCredentials } from '../../src/cli.js';
import { memberIdOfCert, resolveConfig, type ConfigResult } from '../../src/config.js';
import { makeCa, makeMemberCert } from '../kit/certs.js';

const members = (scheme: string) =>
  JSON.stringify([
    { id: 'a', url: `${scheme}://127.0.0.1:7401`, kind: 'data' },
    { id: 'b', url: `${scheme}://127.0.0.1:7402`, kind: 'data' },
  ]);

function certsDir(t: Test): string {
  const dir = t.testdir();
  makeCa(dir);
  makeMemberCert(dir, 'a');
  makeMemberCert(dir, 'b');
  makeCa(dir, 'other');
  makeMemberCert(dir, 'a', { ca: 'other', file: 'a-other' });
  return dir;
}

function base(dir: string, over: Record<string, string> = {}): Record<string, string> {
  return {
    QUORUMD_ID: 'a',
    QUORUMD_DATA_DIR: 'data',
    QUORUMD_MEMBERS: members('https'),
    QUORUMD_TLS_CERT: join(dir, 'a.crt'),
    QUORUMD_TLS_KEY: join(dir, 'a.key'),
    QUORUMD_TLS_CA: join(dir, 'ca.crt'),
    ...over,
  };
}

function problemsOf(t: Test, r: ConfigResult): string {
  if (r.ok) {
    t.fail('expected problems');
    return '';
  }
  return r.problems.join('\n');
}

t.test('a good TLS configuration: files read, agent and operator tokens beside it, any listen address', async (t) => {
  const dir = certsDir(t);
  const r = resolveConfig([], base(dir, { QUORUMD_LISTEN: '0.0.0.0:7401', QUORUMD_AGENT_TOKENS: 'agent-token-0123456789' }), { cwd: dir });
  if (!r.ok) return t.fail(r.problems.join('; '));
  t.match(r.config.tls?.cert, /BEGIN CERTIFICATE/);
  t.match(r.config.tls?.key, /PRIVATE KEY/);
  t.equal(r.config.tls?.certPath, join(dir, 'a.crt'));
  t.strictSame(roleCredentials(r.config), { peers: {}, agentTokens: ['agent-token-0123456789'], operatorTokens: [] });
  const logged = JSON.stringify(redacted(r.config));
  t.notMatch(logged, /PRIVATE KEY/, 'the key is never logged');
  t.match(logged, /a\.key/, 'its path is');
  const flags = resolveConfig(
    ['--tls-cert', 'a.crt', '--tls-key', 'a.key', '--tls-ca', 'ca.crt', '--id', 'a', '--data-dir', 'd', '--members', members('https')],
    {},
    { cwd: dir },
  );
  t.ok(flags.ok, 'the flags, relative to the working folder');
  const file = join(dir, 'quorumd.json');
  writeFileSync(file, JSON.stringify({ id: 'a', dataDir: 'd', members: JSON.parse(members('https')), tlsCert: 'a.crt', tlsKey: 'a.key', tlsCa: 'ca.crt' }));
  t.ok(resolveConfig(['--config', file], {}, { cwd: dir }).ok, 'the config file keys');
});

t.test('bad TLS configurations are refused, each with a clear problem', async (t) => {
  const dir = certsDir(t);
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['a certificate without its key and CA', { QUORUMD_TLS_KEY: '', QUORUMD_TLS_CA: '' }, /needs tlsCert, tlsKey and tlsCa together: set tlsKey .* and tlsCa/],
    ['a missing file', { QUORUMD_TLS_CA: join(dir, 'nope.crt') }, /QUORUMD_TLS_CA: the file .*nope\.crt cannot be read/],
    ['a key given as the certificate', { QUORUMD_TLS_CERT: join(dir, 'a.key') }, /a\.key holds no PEM certificate/],
    ['a certificate given as the key', { QUORUMD_TLS_KEY: join(dir, 'a.crt') }, /a\.crt holds no usable PEM private key/],
    ["another member's key", { QUORUMD_TLS_KEY: join(dir, 'b.key') }, /the key in .*b\.key is not the key of the certificate/],
    [
      "another member's certificate",
      { QUORUMD_TLS_CERT: join(dir, 'b.crt'), QUORUMD_TLS_KEY: join(dir, 'b.key') },
      /must name this node .*"quorumd:member:a"; it names "b"/,
    ],
    ['a certificate from another CA', { QUORUMD_TLS_CERT: join(dir, 'a-other.crt'), QUORUMD_TLS_KEY: join(dir, 'a-other.key') }, /not signed by the CA in/],
    ['http member urls', { QUORUMD_MEMBERS: members('http') }, /a url that is not https, but mutual TLS is on/],
    ['the shared token', { QUORUMD_TOKEN: 'shared-token-0123456789' }, /QUORUMD_TOKEN cannot be used together with mutual TLS/],
    ['a peer token', { QUORUMD_PEER_TOKEN: 'peer-token-0123456789' }, /QUORUMD_PEER_TOKEN cannot be used together with mutual TLS/],
  ];
  for (const [why, over, expected] of cases) {
    const text = problemsOf(t, resolveConfig([], base(dir, over), { cwd: dir }));
    t.match(text, expected, why);
    t.notMatch(text, /0123456789/, `${why}: no secret shown`);
  }
  const noTls = problemsOf(t, resolveConfig([], { QUORUMD_ID: 'a', QUORUMD_DATA_DIR: 'd', QUORUMD_MEMBERS: members('https') }, { cwd: dir }));
  t.match(noTls, /gives https urls to .*TLS is not configured/, 'https urls without TLS');
});

t.test('memberIdOfCert reads exactly one quorumd:member URI SAN', async (t) => {
  t.equal(memberIdOfCert('URI:quorumd:member:b'), 'b');
  t.equal(memberIdOfCert('DNS:b.example, URI:quorumd:member:b'), 'b');
  t.equal(memberIdOfCert('URI:quorumd:member:b, URI:quorumd:member:c'), null, 'two members: ambiguous');
  t.equal(memberIdOfCert('DNS:b'), null);
  t.equal(memberIdOfCert(undefined), null);
  t.equal(memberIdOfCert('URI:quorumd:member:b c'), null, 'not an id');
});
