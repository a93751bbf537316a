// quorumd ctl's requests, against apps over fake services on loopback (no
// cluster). Over https: with the cluster CA it reads the view and asks a
// member's /why with the operator token; an https url without a CA is
// refused before anything is sent (exit 2); a server whose certificate
// another CA signed is not trusted (exit 1, one line). Over http: why for a
// member that cannot be asked says so, with what the cluster view knows of it.

import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { runCtl } from '../../src/ctl/index.js';
import { makeCa, makeMemberCert } from '../kit/certs.js';
import { RecordingService } from '../http/fixtures/helpers.js';

const OPERATOR = 'operator-token-0123456789';

function capture(): { io: Parameters<typeof runCtl>[2]; out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

t.test('quorumd ctl over TLS', async (t) => {
  const dir = t.testdir();
  const caPath = makeCa(dir);
  const otherCaPath = makeCa(dir, 'other');
  const n1 = makeMemberCert(dir, 'n1');
  const service = new RecordingService();
  const app = buildApp({
    service,
    token: null,
    credentials: { peers: {}, agentTokens: [], operatorTokens: [OPERATOR] },
    tls: { cert: n1.certPem, key: n1.keyPem, ca: readFileSync(caPath, 'utf8'), isMember: (id) => id === 'n1' },
  });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  service.clusterReply = { ...service.clusterReply, members: service.clusterReply.members.map((m) => ({ ...m, url })) };

  const list = capture();
  t.equal(await runCtl(['list', '--url', url, '--tls-ca', caPath, '--json'], {}, list.io), 0, list.err());
  t.equal(JSON.parse(list.out()).viewedBy, 'n1', 'the view, over TLS');

  const why = capture();
  t.equal(await runCtl(['why', 'n1', '--token', OPERATOR], { QUORUMD_URL: url, QUORUMD_TLS_CA: caPath }, why.io), 0, why.err());
  t.match(why.out(), /^n1 would be elected now\n/, "the member's /why, with the operator token");
  t.ok(
    service.calls.some((c) => c.method === 'why'),
    'the member was asked',
  );

  const noCa = capture();
  t.equal(await runCtl(['list', '--url', url], {}, noCa.io), 2);
  t.equal(noCa.err(), `quorumd ctl: ${url} is an https url: give the cluster CA with --tls-ca (or QUORUMD_TLS_CA)\n`);

  const stranger = capture();
  const before = service.calls.length;
  t.equal(await runCtl(['list', '--url', url, '--tls-ca', otherCaPath], {}, stranger.io), 1);
  t.match(stranger.err(), new RegExp(`^quorumd ctl: GET ${url}/cluster: cannot reach it: \\S+.*\\n$`), 'one line: the certificate is not trusted');
  t.equal(service.calls.length, before, 'nothing reached the service');
});

t.test('why for a member that cannot be asked: the network error and what the view says of it', async (t) => {
  const service = new RecordingService();
  const app = buildApp({ service, token: null });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const [first] = service.clusterReply.members;
  service.clusterReply = {
    ...service.clusterReply,
    members: [{ ...first!, id: 'n3', url: 'http://127.0.0.1:1', role: 'unknown', electable: false, notElectableBecause: 'it has not been heard lately' }],
  };
  const why = capture();
  t.equal(await runCtl(['why', 'n3', '--url', url], {}, why.io), 1);
  t.equal(
    why.err(),
    'quorumd ctl: GET http://127.0.0.1:1/why: cannot reach it: ECONNREFUSED; the partial view of n1 says n3 is not electable: it has not been heard lately\n',
  );
  t.equal(why.out(), '', 'nothing on stdout');
  const unknown = capture();
  t.equal(await runCtl(['why', 'n9', '--url', url], {}, unknown.io), 1);
  t.equal(unknown.err(), 'quorumd ctl: n9 is not a member of the cluster (n3)\n');
});
