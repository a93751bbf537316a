// The role-change hook runs on promotion and demotion, and on a follower for
// each new primary, with the role, the term (the fencing token), the primary
// and its url in its environment; the webhook gets the same events; a
// pre-promote command ends before a new primary answers as such.

import { readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { waitFor } from '../kit/cluster.js';
import { awaitAgreement, running, shape, startCluster } from './harness.js';

t.test('the promotion hook runs with the new term, and the demotion hook when a primary steps down', async (t) => {
  const dir = t.testdir();
  const cluster = await startCluster(t, shape(3), {
    envFor: (id) => ({
      QUORUMD_ON_ROLE_CHANGE: `echo "$QUORUMD_NODE_ID $QUORUMD_ROLE $QUORUMD_TERM $QUORUMD_PRIMARY_ID" >> ${join(dir, id)}.log`,
    }),
  });
  const first = await awaitAgreement(cluster, running(cluster));
  const file = join(dir, `${first.primaryId}.log`);
  // The line of the agreed term, not the last line: a busy machine may hold another election before the file is read.
  const promotion = `${first.primaryId} primary ${first.term} `;
  await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes(promotion), 5000, 'the promotion hook to write');
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  t.same(
    lines.find((l) => l.startsWith(promotion))?.split(' '),
    [first.primaryId, 'primary', String(first.term), first.primaryId],
    'the hook saw the role, the term and the primary',
  );

  // Pause the primary; once resumed it is deposed and the hook reports the demotion.
  await cluster.kill(first.primaryId, 'SIGSTOP');
  const others = running(cluster).filter((id) => id !== first.primaryId);
  const next = await awaitAgreement(cluster, others, (a) => a.primaryId !== first.primaryId);
  await cluster.kill(first.primaryId, 'SIGCONT');
  await waitFor(() => readFileSync(file, 'utf8').includes(' follower '), 10_000, 'the demotion hook to write');
  const demotion = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .find((l) => l.includes(' follower '));
  t.match(demotion, new RegExp(`^${first.primaryId} follower \\d+`), 'the demotion names the old primary and its new role');
  const newFile = join(dir, `${next.primaryId}.log`);
  // Its file may hold lines of earlier terms already (it may have led one before): wait for the line of this term.
  const line = new RegExp(`${next.primaryId} primary ${next.term} ${next.primaryId}`);
  await waitFor(() => existsSync(newFile) && line.test(readFileSync(newFile, 'utf8')), 5000, 'the new primary hook to write');
  t.match(readFileSync(newFile, 'utf8'), line, 'the new primary ran its hook with its term');
});

t.test(
  'followers run the hook on each new primary with its url; a pre-promote command ends before the primary answers; the webhook gets every event',
  async (t) => {
    const dir = t.testdir();
    const events: Array<{ nodeId: string; role: string; term: number; primaryId: string | null; primaryUrl: string | null }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        events.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise((r) => server.close(() => r(undefined))));
    const hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
    const cluster = await startCluster(t, shape(3), {
      envFor: (id) => ({
        QUORUMD_ON_ROLE_CHANGE: `echo "$QUORUMD_ROLE $QUORUMD_TERM $QUORUMD_PRIMARY_ID $QUORUMD_PRIMARY_URL" >> ${join(dir, id)}.log`,
        QUORUMD_ON_ROLE_CHANGE_URL: hookUrl,
        // The store's preparation takes 400 ms; it appends when it ends, in ms since the epoch.
        QUORUMD_PRE_PROMOTE: `sleep 0.4; node -e 'process.stdout.write(Date.now() + "\\n")' >> ${join(dir, id)}.prepared`,
      }),
    });
    // Watch /primary on every node from the start: the first 200 must come after the preparation ended.
    let firstPrimary: { id: string; at: number } | null = null;
    const watching = (async () => {
      while (firstPrimary === null) {
        for (const id of running(cluster)) {
          const res = await cluster.get(id, '/primary', 200);
          if (res?.status === 200 && firstPrimary === null) firstPrimary = { id, at: Date.now() };
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const first = await awaitAgreement(cluster, running(cluster));
    await watching;
    // The first node to answer 200 (the agreed primary, or one a busy start elected before it) had prepared by then.
    const file = join(dir, `${firstPrimary!.id}.prepared`);
    const prepared = existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : Number.POSITIVE_INFINITY;
    t.ok(firstPrimary!.at >= prepared, `GET /primary answered 200 at ${firstPrimary!.at}, after the pre-promote command ended at ${prepared}`);

    const primaryUrl = cluster.node(first.primaryId).url;
    for (const id of running(cluster).filter((x) => x !== first.primaryId)) {
      const file = join(dir, `${id}.log`);
      await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes(`follower ${first.term} ${first.primaryId}`), 5000, `${id}'s hook to run`);
      t.match(readFileSync(file, 'utf8'), `follower ${first.term} ${first.primaryId} ${primaryUrl}`, `${id}'s hook got the new primary and its url`);
    }
    // A start on a busy machine may hold an election or two before this one: the events of the agreed term are judged.
    const ofTerm = (e: (typeof events)[number]) => e.term === first.term && e.primaryId === first.primaryId;
    await waitFor(() => events.filter(ofTerm).length >= 3, 5000, 'the webhook to get an event from each node');
    t.same(
      events.filter((e) => ofTerm(e) && e.role === 'primary').map((e) => e.nodeId),
      [first.primaryId],
      'the webhook got the promotion',
    );
    t.same(
      events
        .filter((e) => ofTerm(e) && e.role === 'follower')
        .map((e) => [e.nodeId, e.primaryUrl])
        .sort(),
      running(cluster)
        .filter((id) => id !== first.primaryId)
        .map((id) => [id, primaryUrl])
        .sort(),
      'and each follower told of the new primary, with its url, once',
    );
    const metrics = await (await fetch(`${primaryUrl}/metrics`)).text();
    const runs = Number(/quorumd_hook_runs_total\{hook="pre-promote",result="ok"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    t.ok(runs >= 1, `the pre-promote runs are counted (${runs})`);
  },
);
