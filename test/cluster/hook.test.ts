// The role-change hook runs on promotion and demotion with the role, the term
// (the fencing token) and the primary in its environment.

import { readFileSync, existsSync } from 'node:fs';
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
  await waitFor(() => existsSync(file), 5000, 'the promotion hook to write');
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  t.same(lines.at(-1)?.split(' '), [first.primaryId, 'primary', String(first.term), first.primaryId], 'the hook saw the role, the term and the primary');

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
  await waitFor(() => existsSync(newFile), 5000, 'the new primary hook to write');
  t.match(readFileSync(newFile, 'utf8'), new RegExp(`${next.primaryId} primary ${next.term} ${next.primaryId}`), 'the new primary ran its hook with its term');
});
