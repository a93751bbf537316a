// Replies must come from the member asked, checked with real in-process nodes
// over loopback HTTP: a member whose url answers as another member (a stale
// url, urls swapped in the configuration) is never counted as the member asked. Its
// votes and acknowledgements are stepped as undeliverable, each one is counted
// in a metric, the warning is logged once, and GET /members shows the id the
// url answered as.

import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import t from 'tap';
import type { NodeRuntime } from '../../src/runtime/node-runtime.js';
import { waitFor } from '../kit/cluster.js';
import { awaitPrimary, startLocalCluster } from './support.js';

/** The value of a counter of this runtime, summed over the labels that match. */
async function counter(runtime: NodeRuntime, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = runtime.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

/** A logger that keeps every line it writes, parsed. */
function recordingLogger(): { logger: Logger; lines: Array<{ level: number; msg: string; peer?: string; answeredAs?: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

t.test("a member whose url is another member's address is never counted; the election still takes a real majority", async (t) => {
  const log = recordingLogger();
  // c's url is another name for b's address (the configuration refuses two
  // members with one url string, not two names of one address): every
  // request meant for c reaches b, which answers as b. The cluster is past its
  // bootstrap: a new one would wait to hear c before its first election.
  const cluster = await startLocalCluster(
    t,
    [
      { id: 'a', kind: 'data' },
      { id: 'b', kind: 'data' },
      { id: 'c', kind: 'data', running: false },
    ],
    {
      shapeMembers: (members) =>
        members.map((m) => (m.id === 'c' ? { ...m, url: members.find((b) => b.id === 'b')!.url.replace('127.0.0.1', 'localhost') } : m)),
      logger: (id) => (id === 'a' ? log.logger : pino({ level: 'silent' })),
      pastBootstrap: true,
    },
  );
  const primary = await awaitPrimary(cluster);
  t.ok(['a', 'b'].includes(primary.id), 'a and b, a real majority, elect one of them');
  const a = cluster.nodes.get('a')!.runtime;
  await waitFor(async () => (await counter(a, 'quorumd_peer_identity_mismatch_total', { peer: 'c' })) >= 10, 5000, 'several replies meant for c');
  t.equal(await counter(a, 'quorumd_peer_identity_mismatch_total', { peer: 'b' }), 0, 'b itself is never a mismatch');
  t.match(
    a.members().members.find((m) => m.id === 'c'),
    { answersAs: 'b', lastContactAgoMs: null },
    "GET /members shows that c's url answers as b, and c was never heard",
  );
  t.equal(a.members().members.find((m) => m.id === 'b')?.answersAs, null, 'b answers as itself');
  const warnings = log.lines.filter((l) => l.level === 40 && l.peer === 'c');
  t.equal(warnings.length, 1, 'the mismatch is warned of once, not on every heartbeat');
  t.match(warnings[0], { answeredAs: 'b', msg: /member c answered as b/ });
});

t.test("a member's url that answers as another member cannot help elect a candidate", async (t) => {
  // The configuration has the urls of b and c swapped: b's url reaches
  // nobody, and c's reaches b, a witness that grants a's ballots. Counted as
  // c, b's grants would make a primary with b heard and c never asked,
  // although neither b nor c was reached where the configuration says.
  const cluster = await startLocalCluster(
    t,
    [
      { id: 'a', kind: 'data' },
      { id: 'b', kind: 'witness' },
      { id: 'c', kind: 'data', running: false },
    ],
    {
      shapeMembers: (members) => {
        const url = (who: string) => members.find((m) => m.id === who)!.url;
        return members.map((m) => (m.id === 'b' ? { ...m, url: url('c') } : m.id === 'c' ? { ...m, url: url('b') } : m));
      },
      // Past the bootstrap, so that only the identity check keeps a from winning.
      pastBootstrap: true,
    },
  );
  const a = cluster.nodes.get('a')!.runtime;
  let pastProbe = false;
  const watch = setInterval(() => {
    if (a.status().role === 'primary' || a.status().role === 'candidate') pastProbe = true;
  }, 5);
  t.teardown(() => clearInterval(watch));
  await waitFor(async () => (await counter(a, 'quorumd_elections_total')) >= 4, 10_000, 'a to stand in several elections');
  t.equal(await counter(a, 'quorumd_elections_total', { outcome: 'elected' }), 0, 'a never won');
  t.notOk(pastProbe, "and never got past the probe: b's grants were never counted as c's");
  t.ok((await counter(a, 'quorumd_peer_identity_mismatch_total', { peer: 'c' })) > 0, "the answers from c's url as b are counted as mismatches");
  t.equal(a.members().members.find((m) => m.id === 'c')?.answersAs, 'b', 'and GET /members names b');
});
