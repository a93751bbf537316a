// `quorumd ctl` against real quorumd processes on loopback, run as an
// operator runs it (node bin/quorumd.js ctl ...), with per-member credentials
// and the operator token read from the node's own variable: list shows every
// member and the primary; why for a witness says it never stands without
// probing, and for a replica behind the commit watermark shows the voters
// refusing it with the reason; members add (auto-promotion off), promote and
// remove; switchover --to; history; --json output parses; and failures exit
// 1 with a one-line reason; pause and resume, also with the primary dead.

import { execFile } from 'node:child_process';
import t, { type Test } from 'tap';
import type { ClusterView, HistoryEntry, WhyReply } from '../../src/runtime/service.js';
import { QUORUMD_BIN, type ProcessCluster, waitFor } from '../kit/cluster.js';
import { CALM_TIMINGS, ELECTION_BOUND_MS, awaitAgreedView, shape, startCluster, waitReady } from './harness.js';

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** ctl runs `quorumd ctl <args>` as a process, reaching the cluster at `via` with the operator's token (unless env says otherwise). */
function ctl(cluster: ProcessCluster, via: string, args: readonly string[], env: Record<string, string> = {}): Promise<Ran> {
  const token = cluster.credentials?.operatorToken ?? '';
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [QUORUMD_BIN, 'ctl', ...args],
      { env: { PATH: process.env.PATH ?? '', QUORUMD_URL: cluster.node(via).url, QUORUMD_OPERATOR_TOKENS: token, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** json runs a command with --json, expects success, and parses what it printed. */
async function json<T>(t: Test, cluster: ProcessCluster, via: string, args: readonly string[]): Promise<T> {
  const r = await ctl(cluster, via, [...args, '--json']);
  t.equal(r.code, 0, `ctl ${args.join(' ')} --json exits 0 (${r.stderr.trim()})`);
  return JSON.parse(r.stdout) as T;
}

/**
 * The agents: every running data node reports (its term, `level`), except
 * the laggard, whose position stays where it was: a replica that stopped
 * replaying. A primary makes membership changes only once a write of its term
 * is acknowledged, so positions follow each node's term.
 */
function agents(t: Test, cluster: ProcessCluster): { level: number; laggard: string | null } {
  const state = { level: 1, laggard: null as string | null };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const statuses = await cluster.statuses();
      await Promise.all(
        [...statuses.values()]
          .filter((s) => s.kind === 'data' && s.id !== state.laggard)
          .map((s) => cluster.reportPosition(s.id, { term: s.term, lsn: state.level })),
      );
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  t.teardown(async () => {
    stopped = true;
    await loop;
  });
  return state;
}

t.test('quorumd ctl against a running cluster', async (t) => {
  const cluster = await startCluster(t, shape(3, 1), { perMemberCredentials: true, spares: [{ id: 'd4', kind: 'data' }], timings: CALM_TIMINGS });
  const play = agents(t, cluster);
  // Changes wait for the primary to settle: its configuration and a write of its term.
  const first = await waitReady(cluster, ['d1', 'd2', 'd3', 'w1']);
  const follower = ['d1', 'd2', 'd3'].find((id) => id !== first.primaryId)!;

  // list, through a follower: the primary's view, every member and the primary.
  // (A busy machine may still move the primary: the list is read until it shows one.)
  let list: Ran = { code: -1, stdout: '', stderr: '' };
  await waitFor(
    async () => {
      list = await ctl(cluster, follower, ['list']);
      return /^cluster \S+: primary \S+ in term \d+/.test(list.stdout);
    },
    ELECTION_BOUND_MS,
    "list to show the primary's view",
    100,
  );
  t.equal(list.code, 0, `list exits 0 (${list.stderr.trim()})`);
  const rows = list.stdout.split('\n');
  const shown = /^cluster \S+: primary (\S+) in term \d+/.exec(rows[0] ?? '')?.[1] ?? '';
  t.ok(['d1', 'd2', 'd3'].includes(shown), `the first line names the primary (${rows[0]})`);
  t.match(rows[1], /^MEMBER\s+KIND\s+STATE\s+ROLE\s+TERM\s+POSITION\s+LAG\s+LAST CONTACT\s+ELECTABLE$/, 'the header');
  for (const id of ['d1', 'd2', 'd3', 'w1'])
    t.ok(
      rows.some((r) => r.startsWith(`${id} `)),
      `${id} has a row`,
    );
  t.match(
    rows.find((r) => r.startsWith(`${shown} `)),
    /\sprimary\s/,
    'the primary is marked in its row',
  );
  t.match(
    rows.find((r) => r.startsWith('w1 ')),
    /no: a witness never stands$/,
    'the witness is not electable, and why',
  );
  const view = await json<ClusterView>(t, cluster, follower, ['list']);
  t.equal(view.view, 'primary', "--json: the primary's view, fetched through a follower");
  t.same(view.members.map((m) => m.id).sort(), ['d1', 'd2', 'd3', 'w1']);

  // why for a witness: said without probing anyone.
  const whyWitness = await ctl(cluster, follower, ['why', 'w1']);
  t.equal(whyWitness.code, 0);
  t.equal(whyWitness.stdout, 'w1 cannot be elected: a witness never stands; no voter was asked\n');

  // pause and resume, through a follower: the list says so while paused.
  const pause = await ctl(cluster, follower, ['pause']);
  t.equal(pause.code, 0, `pause exits 0 (${pause.stderr.trim()})`);
  t.match(pause.stdout, /^automatic failover paused \(maintenance mode\); configuration version \d+ in force \(committed\): .*, automatic failover paused\n/);
  t.match((await ctl(cluster, follower, ['list'])).stdout.split('\n')[1], /^automatic failover is PAUSED \(maintenance mode\)/, 'list shows the pause');
  const resume = await ctl(cluster, follower, ['resume']);
  t.equal(resume.code, 0, `resume exits 0 (${resume.stderr.trim()})`);
  t.match(resume.stdout, /^automatic failover resumed; /);
  t.match((await ctl(cluster, follower, ['list'])).stdout.split('\n')[1], /^MEMBER\s/, 'and no longer once resumed');

  // members add with auto-promotion off, through a follower; then promote.
  await waitReady(cluster, ['d1', 'd2', 'd3', 'w1']);
  const add = await ctl(cluster, follower, ['members', 'add', 'd4', '--url', cluster.node('d4').url, '--kind', 'data', '--auto-promote', 'off']);
  t.equal(add.code, 0, `members add exits 0 (${add.stderr.trim()})`);
  t.match(add.stdout, /^d4 added as a data member; configuration version \d+ in force \(committed\)/);
  t.match(add.stdout, /d4 \(data, catching_up\)/, 'd4 joined catching up');
  await cluster.join('d4');
  await waitFor(
    async () => {
      const v = (await cluster.get<ClusterView>(first.primaryId, '/cluster', 2_000))?.body;
      return v?.members.find((m) => m.id === 'd4')?.lag === 0;
    },
    10_000,
    'd4 to catch up',
    40,
  );
  const promote = await ctl(cluster, follower, ['members', 'promote', 'd4']);
  t.equal(promote.code, 0, `members promote exits 0 (${promote.stderr.trim()})`);
  t.match(promote.stdout, /^d4 promoted to a voter; configuration version \d+ in force \(committed\): 5 voters, quorum 3/);

  // d4 stops replaying while the others move on: behind the watermark, the voters refuse it.
  play.laggard = 'd4';
  play.level = 5;
  await waitFor(
    async () => {
      const v = (await cluster.get<ClusterView>(first.primaryId, '/cluster', 2_000))?.body;
      return (v?.members.find((m) => m.id === 'd4')?.lag ?? 0) > 0;
    },
    10_000,
    'd4 to fall behind the watermark',
    40,
  );
  const whyLagging = await json<WhyReply>(t, cluster, follower, ['why', 'd4']);
  t.equal(whyLagging.probed, true, 'd4 was asked, and probed the voters');
  t.equal(whyLagging.wouldWin, false);
  const answered = whyLagging.voters.filter((v) => v.reason !== null);
  t.equal(answered.length, 4, `every other voter answered (${JSON.stringify(whyLagging.voters)})`);
  t.ok(
    answered.every((v) => v.reason?.code === 'watermark_not_covered' || v.reason?.code === 'log_behind'),
    'each refused it for its log: watermark_not_covered or log_behind',
  );
  const whyText = await ctl(cluster, follower, ['why', 'd4']);
  t.match(whyText.stdout, /^d4 would not be elected now/);
  t.match(whyText.stdout, /\nVOTER\s+ANSWER\s+REASON\n/);

  // switchover --to another data member, asked through a follower: the tool finds the primary.
  const before = await waitReady(cluster, ['d1', 'd2', 'd3', 'd4', 'w1']);
  const target = ['d1', 'd2', 'd3'].find((id) => id !== before.primaryId && id !== follower)!;
  const over = await ctl(cluster, follower, ['switchover', '--to', target]);
  t.equal(over.code, 0, `switchover exits 0 (${over.stderr.trim()})`);
  t.match(over.stdout, new RegExp(`^switchover completed: ${target} is the primary of term \\d+ \\(was ${before.primaryId}\\)`));
  // The switchover's term is the one the tool names; /status is judged on the round of reads in which all agree
  // on the target, since a busy machine may hold another election at any moment after it.
  const targetTerm = Number(/of term (\d+)/.exec(over.stdout)?.[1]);
  const switched = await awaitAgreedView(cluster, ['d1', 'd2', 'd3', 'd4', 'w1'], (a) => a.primaryId === target);
  t.match(switched.statuses.get(target)?.lastElection, { kind: 'elected', term: switched.term }, "/status shows the target's election");

  // history: the terms and their primaries, merged from every member; the winner's entry says why.
  const history = await json<HistoryEntry[]>(t, cluster, follower, ['history']);
  t.match(
    history.find((h) => h.term === targetTerm),
    { primaryId: target, reason: 'elected', election: { cause: 'handoff', durationMs: Number, votes: Number, needed: Number } },
    'the switchover term is in the history, as its winner recorded it: begun by a handoff',
  );
  t.same(
    history.map((h) => h.term),
    [...new Set(history.map((h) => h.term))].sort((a, b) => a - b),
    'one entry per term, oldest first',
  );
  const historyText = await ctl(cluster, target, ['history']);
  t.match(historyText.stdout, /^TERM\s+PRIMARY\s+SINCE\s+LEARNT BY\s+WHY\s+TOOK\s+AT POSITION\n/);

  // members remove d4 (behind, but the other three data members hold every acknowledged write).
  await waitReady(cluster, ['d1', 'd2', 'd3', 'd4', 'w1']);
  const remove = await ctl(cluster, follower, ['members', 'remove', 'd4']);
  t.equal(remove.code, 0, `members remove exits 0 (${remove.stderr.trim()})`);
  t.match(remove.stdout, /^d4 removed; configuration version \d+ in force \(committed\): 4 voters, quorum 3/);

  // Failures: one line on stderr, exit 1, and nothing on stdout.
  const unknown = await ctl(cluster, follower, ['members', 'remove', 'nobody']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /^quorumd ctl: DELETE http:\/\/127\.0\.0\.1:\d+\/members\/nobody: HTTP 404 unknown_member: .+\n$/);
  const wrongToken = await ctl(cluster, follower, ['switchover'], { QUORUMD_OPERATOR_TOKENS: 'not-the-operator-token-0123' });
  t.equal(wrongToken.code, 1);
  t.match(wrongToken.stderr, /^quorumd ctl: POST \S+\/switchover: HTTP 401 unauthorized: .+\n$/, 'a wrong token: the 401 and its message');
  const unreachable = await ctl(cluster, follower, ['list'], { QUORUMD_URL: 'http://127.0.0.1:1' });
  t.equal(unreachable.code, 1);
  t.equal(unreachable.stderr, 'quorumd ctl: GET http://127.0.0.1:1/cluster: cannot reach it: ECONNREFUSED\n');
  t.equal(unreachable.stdout, '');
  const { primaryId: last } = await waitReady(cluster, ['d1', 'd2', 'd3', 'w1']);
  const selfSwitch = await ctl(cluster, last, ['switchover', '--to', last]);
  t.equal(selfSwitch.code, 1, 'a refused switchover exits 1');
  t.match(selfSwitch.stderr, new RegExp(`^quorumd ctl: POST \\S+/switchover: HTTP 409 switchover_refused: ${last} is already the primary\\n$`));
});

t.test('ctl resume after the primary died in maintenance: a survivor stands, and ctl says failover resumed', async (t) => {
  const cluster = await startCluster(t, shape(3), { perMemberCredentials: true, timings: CALM_TIMINGS });
  agents(t, cluster);
  const first = await waitReady(cluster, ['d1', 'd2', 'd3']);
  const survivor = ['d1', 'd2', 'd3'].find((id) => id !== first.primaryId)!;
  const pause = await ctl(cluster, survivor, ['pause']);
  t.equal(pause.code, 0, `pause exits 0 (${pause.stderr.trim()})`);
  await cluster.kill(first.primaryId, 'SIGKILL');
  // Nobody stands while paused; the resume makes the survivor stand, and the winner's stamp clears the pause.
  const resume = await ctl(cluster, survivor, ['resume']);
  t.equal(resume.code, 0, `resume exits 0 (${resume.stderr.trim()})`);
  t.match(resume.stdout, /^automatic failover resumed; configuration version \d+ in force/, 'it says failover resumed, not that nothing changed');
  const view = await awaitAgreedView(
    cluster,
    ['d1', 'd2', 'd3'].filter((id) => id !== first.primaryId),
  );
  t.ok(view.term > first.term, `a survivor leads term ${view.term}`);
  t.notOk(view.statuses.get(view.primaryId)?.paused, 'and failover is no longer paused');
});
