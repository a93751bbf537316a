// The role-change hook runs as a real child process: it sees its role, term,
// node and primary but none of the node's configuration and no copy of the
// cluster token, and when it outlives its time its whole process group ends,
// children it started in the background included.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { hookEnvironment, RoleHook, type RoleHookEvent } from '../../src/runtime/role-hook.js';

const logger = pino({ level: 'silent' });
const TOKEN = 'hook-test-token-0123456789';
const EVENT: RoleHookEvent = { nodeId: 'data-1', role: 'primary', term: 7, primaryId: 'data-1', primaryUrl: 'http://10.0.0.1:7400' };

/** envFile reads a file `env` wrote into a map of name to value. */
function envFile(path: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) vars.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return vars;
}

/**
 * liveInGroup lists the processes of a process group that still run. A killed
 * process stays a zombie until its parent reaps it, and a hook's orphans are
 * reaped by init, which may take a while; a zombie runs nothing, so it does not
 * count. Linux's /proc tells the state; elsewhere only ESRCH from a signal 0 can.
 * A process that started after `before` (seconds since boot) cannot be the
 * hook's: its pid and group id were reused by another test running beside.
 */
function liveInGroup(pgid: number, before = Number.POSITIVE_INFINITY): number[] {
  if (!existsSync('/proc/self/stat')) return alive(-pgid) ? [pgid] : [];
  const live: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = processStat(Number(entry));
    if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.startedAt <= before) live.push(Number(entry));
  }
  return live;
}

/** uptime is the time since boot in seconds, the clock /proc's start times count on. */
function uptime(): number {
  return existsSync('/proc/uptime') ? Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) : Number.POSITIVE_INFINITY;
}

/**
 * goneSoon waits, bounded, until no process of the group runs. SIGKILL is
 * delivered at once but a process takes a moment to exit, longer on a loaded
 * machine; what matters is that nothing of the group is left running.
 */
async function goneSoon(pgid: number, within = 5000): Promise<number[]> {
  const endedBy = uptime();
  const deadline = Date.now() + within;
  let live = liveInGroup(pgid, endedBy);
  while (live.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    live = liveInGroup(pgid, endedBy);
  }
  return live;
}

/** running says whether a process exists and is not a zombie. */
function running(pid: number): boolean {
  if (!existsSync('/proc/self/stat')) return alive(pid);
  const stat = processStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** processStat reads a process's state, process group and start (seconds since boot) from /proc, if it still exists. */
function processStat(pid: number): { state: string; pgrp: number; startedAt: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces; the fields follow the last one.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Field 22 of the line, the start time, counts clock ticks: 100 a second on Linux.
  return { state: fields[0]!, pgrp: Number(fields[2]), startedAt: Number(fields[19]) / 100 };
}

/** alive says whether a process or, with a negative id, a process group exists, zombies included. */
function alive(id: number): boolean {
  try {
    process.kill(id, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** readPid reads a pid a hook wrote, or undefined if it has not written it. */
function readPid(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const pid = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** reapOnTeardown ends whatever a failed test might leave of a hook's group. */
function reapOnTeardown(t: Test, pgidFile: string): void {
  t.teardown(() => {
    const pgid = readPid(pgidFile);
    if (pgid !== undefined && alive(-pgid)) process.kill(-pgid, 'SIGKILL');
  });
}

t.test('the hook sees its role, term, node and primary, and neither QUORUMD_TOKEN nor any copy of it', async (t) => {
  const dir = t.testdir();
  const saved = { QUORUMD_TOKEN: process.env.QUORUMD_TOKEN, HOOK_TEST_COPY: process.env.HOOK_TEST_COPY, HOOK_TEST_PLAIN: process.env.HOOK_TEST_PLAIN };
  process.env.QUORUMD_TOKEN = TOKEN;
  process.env.HOOK_TEST_COPY = `bearer ${TOKEN}`;
  process.env.HOOK_TEST_PLAIN = 'kept';
  t.teardown(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  const out = join(dir, 'env.txt');
  const hook = new RoleHook(`env > '${out}'`, 5000, logger);
  await hook.run(EVENT);
  const env = envFile(out);
  t.notOk(env.has('QUORUMD_TOKEN'), 'no QUORUMD_TOKEN');
  t.notOk(env.has('HOOK_TEST_COPY'), 'no other variable holding the token');
  t.notMatch(readFileSync(out, 'utf8'), TOKEN, 'the token appears nowhere in the environment');
  t.equal(env.get('QUORUMD_ROLE'), 'primary');
  t.equal(env.get('QUORUMD_TERM'), '7');
  t.equal(env.get('QUORUMD_NODE_ID'), 'data-1');
  t.equal(env.get('QUORUMD_PRIMARY_ID'), 'data-1');
  t.equal(env.get('QUORUMD_PRIMARY_URL'), 'http://10.0.0.1:7400');
  t.equal(env.get('HOOK_TEST_PLAIN'), 'kept', 'the operator’s own variables pass');
  t.ok(env.has('PATH'), 'PATH passes');
});

t.test('the hook environment drops every QUORUMD_ variable and any named secret, and keeps the rest', async (t) => {
  const env = hookEnvironment(
    {
      QUORUMD_TOKEN: TOKEN,
      QUORUMD_CONFIG: '/etc/quorumd.json',
      QUORUMD_MEMBERS: '[]',
      quorumd_token: 'lower-case-copy-of-a-token',
      DB_URL: 'postgres://u:flag-token-abcdefgh@db/x',
      QUORUMD_ROLE: 'stale-from-the-parent',
      PATH: '/usr/bin',
    },
    { nodeId: 'witness-1', role: 'follower', term: 12, primaryId: null, primaryUrl: null },
    ['flag-token-abcdefgh'],
  );
  t.same(env, {
    PATH: '/usr/bin',
    QUORUMD_NODE_ID: 'witness-1',
    QUORUMD_ROLE: 'follower',
    QUORUMD_TERM: '12',
    QUORUMD_PRIMARY_ID: '',
    QUORUMD_PRIMARY_URL: '',
  });
});

t.test('a hook that times out ends with its whole process group, its background child included', async (t) => {
  const dir = t.testdir();
  const pgidFile = join(dir, 'pgid');
  const childFile = join(dir, 'child');
  reapOnTeardown(t, pgidFile);
  const hook = new RoleHook(`echo $$ > '${pgidFile}'; sleep 30 & echo $! > '${childFile}'; sleep 30`, 300, logger, { killGraceMs: 500 });
  const started = Date.now();
  await hook.run(EVENT);
  t.ok(Date.now() - started < 10_000, 'the run ended long before the sleeps would have');
  const pgid = readPid(pgidFile);
  const child = readPid(childFile);
  t.ok(pgid, 'the hook wrote its process group id');
  t.ok(child, 'the hook wrote its background child pid');
  t.same(await goneSoon(pgid!), [], 'no process of the hook’s group is alive');
  t.notOk(running(child!), 'the background child is gone');
});

t.test('a hook that ignores SIGTERM is killed after the grace, children and all', async (t) => {
  const dir = t.testdir();
  const pgidFile = join(dir, 'pgid');
  const childFile = join(dir, 'child');
  reapOnTeardown(t, pgidFile);
  const hook = new RoleHook(`trap '' TERM; echo $$ > '${pgidFile}'; sleep 30 & echo $! > '${childFile}'; sleep 30`, 300, logger, { killGraceMs: 300 });
  await hook.run(EVENT);
  const pgid = readPid(pgidFile);
  t.ok(pgid, 'the hook wrote its process group id');
  t.same(await goneSoon(pgid!), [], 'no process of the hook’s group is alive');
  t.notOk(running(readPid(childFile)!), 'the background child is gone');
});

t.test('hooks run one at a time, in order, and a timed-out one does not hold up the next', async (t) => {
  const dir = t.testdir();
  const out = join(dir, 'order.txt');
  const hook = new RoleHook(`[ "$QUORUMD_TERM" = 1 ] && sleep 30; echo "$QUORUMD_TERM" >> '${out}'`, 300, logger, { killGraceMs: 300 });
  const runs = [1, 2, 3].map((term) => hook.run({ ...EVENT, term }));
  await Promise.all(runs);
  await hook.idle();
  t.same(readFileSync(out, 'utf8').trim().split('\n'), ['2', '3'], 'the timed-out first run wrote nothing; the others ran in order');
});

t.test('each run resolves with how it ended, and reports it with its duration', async (t) => {
  const seen: Array<[string, number]> = [];
  const onDone = (result: string, seconds: number) => void seen.push([result, seconds]);
  t.equal(await new RoleHook('exit 0', 5000, logger, { onDone }).run(EVENT), 'ok');
  t.equal(await new RoleHook('exit 3', 5000, logger, { onDone }).run(EVENT), 'failed', 'a non-zero exit fails');
  t.equal(await new RoleHook('sleep 30', 200, logger, { onDone, killGraceMs: 200 }).run(EVENT), 'timed_out');
  t.same(
    seen.map(([r]) => r),
    ['ok', 'failed', 'timed_out'],
    'each end was reported',
  );
  t.ok(
    seen.every(([, s]) => s >= 0 && s < 10),
    'with a duration in seconds',
  );
  t.ok(seen[2]![1] >= 0.2, 'the timed-out run lasted at least its timeout');
});
