// The data-folder lock on a real folder: a free folder is taken, a lock held
// by a live process is refused with the folder and the pid named, a lock left
// by a process that is gone (or by an earlier process that had our pid) is
// taken over, and release frees the folder for the next holder.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DataDirLock, DataDirLockedError, LOCK_FILE_NAME, processIsAlive, type LockHolder } from '../../src/store/index.js';

function lockFile(dir: string): { pid: number; nodeId: string } {
  return JSON.parse(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8')) as { pid: number; nodeId: string };
}

/** A pid that no process has: a child that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise((resolve) => child.on('exit', resolve));
  return pid;
}

t.test('a free folder is locked with our pid and node id, and release removes the lock', async (t) => {
  const dir = join(t.testdir(), 'not-yet-made');
  const lock = DataDirLock.acquire(dir, { nodeId: 'n1' });
  t.equal(lock.path, join(dir, LOCK_FILE_NAME), 'the lock lives in the data folder, which is made if missing');
  t.match(lockFile(dir), { pid: process.pid, nodeId: 'n1' });
  lock.release();
  t.notOk(existsSync(lock.path), 'the lock file is gone after release');
  lock.release();
  t.pass('a second release does nothing');
  const again = DataDirLock.acquire(dir, { nodeId: 'n1' });
  t.teardown(() => again.release());
  t.pass('the folder can be locked again');
});

t.test('a lock held by another live process is refused, naming the folder and the pid, and is left in place', async (t) => {
  const dir = t.testdir();
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const held = `${JSON.stringify({ pid: child.pid, nodeId: 'other' })}\n`;
  writeFileSync(join(dir, LOCK_FILE_NAME), held);
  const err = t.throws(() => DataDirLock.acquire(dir, { nodeId: 'n1' })) as DataDirLockedError;
  t.type(err, DataDirLockedError);
  t.match(err.message, dir, 'the message names the folder');
  t.match(err.message, `pid ${child.pid}`, 'and the pid');
  t.strictSame(err.holder, { pid: child.pid, nodeId: 'other', boot: null }, 'a lock that names no boot counts as this boot');
  t.equal(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8'), held, "the holder's lock file is untouched");
});

t.test('a process that exists under another user counts as alive (EPERM)', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid: 4242, nodeId: 'other' }));
  t.throws(() => DataDirLock.acquire(dir, { nodeId: 'n1', isAlive: () => true }), DataDirLockedError);
  t.ok(processIsAlive(process.pid), 'this process is alive');
  t.notOk(processIsAlive(await deadPid()), 'an exited process is not');
});

t.test('a lock whose process is gone is stale: it is reported and taken over', async (t) => {
  const dir = t.testdir();
  const pid = await deadPid();
  writeFileSync(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid, nodeId: 'n1' }));
  const stale: Array<LockHolder | null> = [];
  const lock = DataDirLock.acquire(dir, { nodeId: 'n1', onStale: (s) => stale.push(s) });
  t.teardown(() => lock.release());
  t.strictSame(stale, [{ pid, nodeId: 'n1', boot: null }], 'the stale holder was reported once');
  t.equal(lockFile(dir).pid, process.pid, 'the lock is ours now');
});

t.test('a lock that names our own pid but is not held here was left by an earlier process: it is taken over', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid: process.pid, nodeId: 'n1', token: 'an earlier life' }));
  const stale: Array<LockHolder | null> = [];
  const lock = DataDirLock.acquire(dir, { nodeId: 'n1', onStale: (s) => stale.push(s) });
  t.teardown(() => lock.release());
  t.equal(stale.length, 1, 'it was reported as stale');
  t.notMatch(readFileSync(lock.path, 'utf8'), 'an earlier life', 'and replaced by our own');
});

t.test('a lock taken in an earlier boot of the machine is stale even if its pid is alive now', async (t) => {
  // After a reboot the pid in the file may belong to an unrelated process.
  const dir = t.testdir();
  writeFileSync(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid: 4242, nodeId: 'n1', boot: 'an earlier boot' }));
  const stale: unknown[] = [];
  const lock = DataDirLock.acquire(dir, { nodeId: 'n1', isAlive: () => true, boot: 'this boot', onStale: (holder) => stale.push(holder) });
  t.teardown(() => lock.release());
  t.same(stale, [{ pid: 4242, nodeId: 'n1', boot: 'an earlier boot' }], 'the stale lock is reported');
  t.match(JSON.parse(readFileSync(lock.path, 'utf8')), { nodeId: 'n1', boot: 'this boot' }, 'and the lock is ours now');
  // The same live pid in the same boot is still refused.
  const other = t.testdir();
  writeFileSync(join(other, LOCK_FILE_NAME), JSON.stringify({ pid: 4242, nodeId: 'n2', boot: 'this boot' }));
  t.throws(() => DataDirLock.acquire(other, { nodeId: 'n1', isAlive: () => true, boot: 'this boot' }), DataDirLockedError);
});

t.test('a lock file with no readable pid is stale', async (t) => {
  for (const content of ['', '{"pid":', '{"pid":0}', '{"pid":-1}', '{"pid":"7"}']) {
    const dir = t.testdir();
    writeFileSync(join(dir, LOCK_FILE_NAME), content);
    const lock = DataDirLock.acquire(dir, { nodeId: 'n1' });
    t.equal(lockFile(dir).pid, process.pid, `taken over from ${JSON.stringify(content)}`);
    lock.release();
  }
});

t.test('this process cannot lock one folder twice, and release frees it', async (t) => {
  const dir = t.testdir();
  const first = DataDirLock.acquire(dir, { nodeId: 'n1' });
  t.throws(() => DataDirLock.acquire(dir, { nodeId: 'n1' }), DataDirLockedError, 'a second lock from this process is refused');
  t.equal(lockFile(dir).pid, process.pid, 'the first lock is still in place');
  first.release();
  const second = DataDirLock.acquire(dir, { nodeId: 'n1' });
  second.release();
  t.pass('after release the folder is free');
});

t.test('release leaves a lock file that is no longer ours', async (t) => {
  const dir = t.testdir();
  const lock = DataDirLock.acquire(dir, { nodeId: 'n1' });
  const theirs = JSON.stringify({ pid: 4242, nodeId: 'other' });
  writeFileSync(lock.path, theirs);
  lock.release();
  t.equal(readFileSync(lock.path, 'utf8'), theirs, 'the other lock file stays');
});
