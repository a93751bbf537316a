// Throwaway certificates for the TLS tests, made with the openssl command
// line exactly as the README tells an operator to: a cluster CA, and one
// certificate per member naming it by the URI SAN quorumd:member:<id> (and
// by its CN). Everything is written into a folder the test owns.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const OPENSSL = '/usr/bin/openssl';

function openssl(args: string[], cwd: string): void {
  execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** makeCa writes `<name>.crt` and `<name>.key`, a self-signed CA, into dir and returns the certificate's path. */
export function makeCa(dir: string, name = 'ca'): string {
  mkdirSync(dir, { recursive: true });
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=quorumd test ${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return join(dir, `${name}.crt`);
}

/** The files of one member certificate. */
export interface MemberCert {
  readonly cert: string;
  readonly key: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * makeMemberCert writes `<file>.crt` and `<file>.key` into dir: a certificate
 * for member `id` (CN and URI SAN), signed by the CA `<ca>.crt`/`<ca>.key` there.
 */
export function makeMemberCert(dir: string, id: string, opts: { ca?: string; file?: string } = {}): MemberCert {
  const ca = opts.ca ?? 'ca';
  const file = opts.file ?? id;
  writeFileSync(
    join(dir, `${file}.ext`),
    `subjectAltName=URI:quorumd:member:${id}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n`,
  );
  openssl(
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${file}.key`, '-out', `${file}.csr`, '-subj', `/CN=${id}`],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${file}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${file}.crt`,
      '-days',
      '2',
      '-extfile',
      `${file}.ext`,
    ],
    dir,
  );
  const cert = join(dir, `${file}.crt`);
  const key = join(dir, `${file}.key`);
  return { cert, key, certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') };
}
