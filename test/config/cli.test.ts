// The quorumd command as operators run it: `node bin/quorumd.js` (built by
// `npm run build`, which `npm test` runs first). A bad setting exits 2 with a
// message naming it; --help prints the usage; a state file that cannot be
// trusted stops start-up with exit 1, and so does a data folder another live
// quorumd holds; a good configuration serves HTTP and SIGTERM shuts it down
// cleanly with exit 0, releasing the folder.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/quorumd.js', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url)));

interface Ran {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function start(args: string[], env: Record<string, string>, cwd = root): { child: ChildProcess; done: Promise<Ran>; output: () => string } {
  const child = spawn(process.execPath, [bin, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Ran>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done, output: () => stdout };
}

async function run(args: string[], env: Record<string, string>, cwd?: string): Promise<Ran> {
  const { child, done } = start(args, env, cwd);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    return await done;
  } finally {
    clearTimeout(timer);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

t.test('the command is built (npm run build) before these tests run', async (t) => {
  t.ok(built, 'dist/src/cli.js exists: run `npm run build` (npm test does) before tap');
});

t.test('a bad setting exits with status 2 and a message on stderr naming it', async (t) => {
  const dir = t.testdir();
  const ran = await run(['--id', 'n1', '--data-dir', dir], { QUORUMD_HEARTBEAT_MS: 'often' });
  t.equal(ran.code, 2);
  t.equal(ran.stdout, '', 'nothing on stdout');
  t.match(ran.stderr, /^quorumd: the configuration is not valid:\n/);
  t.match(ran.stderr, '  - QUORUMD_HEARTBEAT_MS must be a whole number of milliseconds from 1 to 60000; got "often"\n');
  t.match(ran.stderr, 'Run quorumd --help');
});

t.test('several bad settings are all listed, and the exit status is still 2', async (t) => {
  const ran = await run(['--kind', 'leader', '--listen', 'nowhere'], {});
  t.equal(ran.code, 2);
  for (const setting of ['id is required', 'dataDir is required', '--kind must be', '--listen must be']) t.match(ran.stderr, setting);
});

t.test('--help prints the usage and exits 0, whatever else is given', async (t) => {
  const ran = await run(['--heartbeat-ms', 'nonsense', '--help'], {});
  t.equal(ran.code, 0);
  t.match(ran.stdout, /^Usage: quorumd \[options\]/);
  t.match(ran.stdout, 'QUORUMD_ELECTION_TIMEOUT_MS');
  t.equal(ran.stderr, '');
});

t.test('a state file that cannot be trusted stops start-up with status 1, and it is left as it was', async (t) => {
  const dir = t.testdir({ 'state.json': '{"format":1,"state":{"term":3' });
  const port = await freePort();
  const ran = await run([], { QUORUMD_ID: 'n1', QUORUMD_DATA_DIR: dir, QUORUMD_LISTEN: `127.0.0.1:${port}` });
  t.equal(ran.code, 1);
  t.match(ran.stdout, /"level":60/, 'logged as fatal');
  t.match(ran.stdout, 'state file');
  t.match(ran.stdout, `${dir}/state.json`);
});

t.test('an address in use stops start-up with status 1', async (t) => {
  const dir = t.testdir();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const ran = await run([], { QUORUMD_ID: 'n1', QUORUMD_DATA_DIR: dir, QUORUMD_LISTEN: `127.0.0.1:${address.port}` });
  t.equal(ran.code, 1);
  t.match(ran.stdout, 'EADDRINUSE');
});

t.test('a good configuration serves HTTP, and SIGTERM closes it with status 0', async (t) => {
  const dir = t.testdir();
  const port = await freePort();
  const token = 'a-cluster-token-for-tests';
  const node = start([], { QUORUMD_ID: 'n1', QUORUMD_DATA_DIR: dir, QUORUMD_LISTEN: `127.0.0.1:${port}`, QUORUMD_TOKEN: token });
  t.teardown(() => {
    if (node.child.exitCode === null) node.child.kill('SIGKILL');
  });
  await until('the node to serve', () => node.output().includes('"msg":"serving"'));
  t.notMatch(node.output(), token, 'the token is never logged');

  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  t.equal(health.status, 200);
  const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { id: string; kind: string };
  t.equal(status.id, 'n1');
  t.equal(status.kind, 'data');
  const refused = await fetch(`http://127.0.0.1:${port}/log`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"term":0,"lsn":0}' });
  t.equal(refused.status, 401, 'the configured token guards the routes');

  node.child.kill('SIGTERM');
  const ran = await node.done;
  t.equal(ran.code, 0);
  t.match(ran.stdout, '"msg":"closed"');
});

t.test('a second quorumd on a data folder in use exits 1 naming the folder and the pid, and the first is unaffected', async (t) => {
  const dir = t.testdir();
  const [port1, port2] = [await freePort(), await freePort()];
  const env = (port: number) => ({ QUORUMD_ID: 'n1', QUORUMD_DATA_DIR: dir, QUORUMD_LISTEN: `127.0.0.1:${port}` });
  const first = start([], env(port1));
  t.teardown(() => {
    if (first.child.exitCode === null) first.child.kill('SIGKILL');
  });
  await until('the first node to serve', () => first.output().includes('"msg":"serving"'));
  const state = readFileSync(join(dir, 'state.json'));

  const second = await run([], env(port2));
  t.equal(second.code, 1, 'the second exits with the start-up failure status');
  t.match(second.stdout, /"level":60/, 'logged as fatal');
  t.match(second.stdout, dir, 'naming the folder');
  t.match(second.stdout, `pid ${first.child.pid}`, 'and the pid that holds it');
  t.notMatch(second.stdout, '"msg":"node state loaded"', 'it never loaded the state');

  t.ok(readFileSync(join(dir, 'state.json')).equals(state), "the first node's state file is unchanged");
  t.equal((await fetch(`http://127.0.0.1:${port1}/healthz`)).status, 200, 'the first still answers /healthz');
  t.match(readFileSync(join(dir, 'quorumd.lock'), 'utf8'), `"pid":${first.child.pid}`, 'and still holds the lock');

  first.child.kill('SIGTERM');
  t.equal((await first.done).code, 0);
  t.notOk(existsSync(join(dir, 'quorumd.lock')), 'a clean close releases the lock');

  const third = start([], env(port2));
  t.teardown(() => {
    if (third.child.exitCode === null) third.child.kill('SIGKILL');
  });
  await until('the folder to be served again', () => third.output().includes('"msg":"serving"'));
  t.notMatch(third.output(), 'stale', 'with no stale lock to remove');
  third.child.kill('SIGKILL');
  await third.done;
  t.ok(existsSync(join(dir, 'quorumd.lock')), 'a killed node leaves its lock behind');

  const fourth = start([], env(port1));
  t.teardown(() => {
    if (fourth.child.exitCode === null) fourth.child.kill('SIGKILL');
  });
  await until('the node after the kill to serve', () => fourth.output().includes('"msg":"serving"'));
  t.match(fourth.output(), 'removing a stale data folder lock', 'it took over the stale lock, and said so');
  t.match(fourth.output(), `"pid":${third.child.pid}`, "naming the dead holder's pid");
  fourth.child.kill('SIGTERM');
  t.equal((await fourth.done).code, 0);
});
