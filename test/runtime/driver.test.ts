// The driver performs a node's effects in order through its ports: the
// persist first, then the rest; a failed persist or a misordered step is
// fatal and nothing after it is performed; the answer to a request is handed
// back only once the whole step is performed.

import t from 'tap';
import { Node, type Effect, type Event, type HardState } from '../../src/core/index.js';
import { Driver, EffectOrderViolation, type Ports } from '../../src/runtime/driver.js';
import { data, makeNode, clusterConfig, pos, voteRequest } from '../support/core-harness.js';

const MS = clusterConfig([data('a'), data('b'), data('c')]);
/** Past a fresh node's start-up loyalty, so it grants a ballot. */
const LATER = 10_000;

interface Recorder {
  readonly ports: Ports;
  readonly log: string[];
  readonly fatal: Array<{ err: Error; cause: string }>;
}

function recorder(failSave = false): Recorder {
  const log: string[] = [];
  const fatal: Array<{ err: Error; cause: string }> = [];
  const ports: Ports = {
    clock: { now: () => LATER },
    timer: { arm: (at) => void log.push(`timer ${at}`) },
    store: {
      save: (state: HardState) => {
        if (failSave) throw new Error('disk full');
        log.push(`persist t${state.term} ${state.votedFor ?? '-'}`);
      },
    },
    transport: {
      send: (to, message) => void log.push(`send ${message.type} to ${to}`),
      abort: (round) => void log.push(`abort ${round}`),
    },
    notify: {
      role: (c) => void log.push(`role ${c.role} t${c.term}`),
      serving: (term) => void log.push(`serving t${term}`),
      election: (o) => void log.push(`election ${o.kind}`),
      switchoverAbandoned: (target) => void log.push(`abandoned ${target}`),
      configCommitted: (config) => void log.push(`committed ${config.version}`),
      configChangeFailed: (version, why) => void log.push(`change ${version} failed: ${why}`),
      fatal: (err, cause) => void fatal.push({ err, cause }),
    },
  };
  return { ports, log, fatal };
}

function voter(): Node {
  return makeNode('b', MS, { term: 3, position: pos(3, 10) });
}

t.test('a granted ballot is persisted before anything else, and the reply comes back after the whole step', async (t) => {
  const r = recorder();
  const driver = new Driver(voter(), r.ports);
  const result = driver.handle({ type: 'message', message: voteRequest({ candidateId: 'a', term: 4, position: pos(3, 10) }) });
  t.equal(r.log[0], 'persist t4 a', 'the vote is saved first');
  t.match(result.reply, { to: 'a', message: { type: 'vote_response', granted: true, term: 4 } }, 'the reply grants the ballot to a');
  t.notOk(
    r.log.some((l) => l.startsWith('send vote_response')),
    'the reply is never sent as a request',
  );
  t.same(r.fatal, [], 'nothing is fatal');
});

t.test('a failed persist is fatal: nothing after it is performed and no reply leaves', async (t) => {
  const r = recorder(true);
  const driver = new Driver(voter(), r.ports);
  const result = driver.handle({ type: 'message', message: voteRequest({ candidateId: 'a', term: 4, position: pos(3, 10) }) });
  t.equal(result.reply, null, 'no reply');
  t.same(r.log, [], 'no effect after the failed persist was performed');
  t.equal(r.fatal.length, 1, 'the fault is reported once');
  t.equal(r.fatal[0]?.cause, 'persist', 'as a failed persist');
  t.equal(driver.failed?.message, 'disk full', 'the driver keeps the cause');
  const again = driver.handle({ type: 'tick' });
  t.same(again.effects, [], 'a failed driver steps nothing more');
});

t.test('a node that returns its persist after other effects is stopped before any of them is performed', async (t) => {
  class SendsFirst extends Node {
    override step(ev: Event): Effect[] {
      const effects = super.step(ev);
      return [...effects.filter((e) => e.type !== 'persist'), ...effects.filter((e) => e.type === 'persist')];
    }
  }
  const r = recorder();
  const node = new SendsFirst({ id: 'b', hardState: voter().hardState, timings: voter().timings, random: { nextInt: () => 0 }, now: 0 });
  const driver = new Driver(node, r.ports);
  driver.step({ type: 'position', now: 0, position: pos(3, 10) });
  r.log.length = 0;
  const result = driver.step({ type: 'message', now: LATER, message: voteRequest({ candidateId: 'a', term: 4, position: pos(3, 10) }) });
  t.equal(result.reply, null, 'no reply');
  t.same(r.log, [], 'nothing was performed');
  t.ok(r.fatal[0]?.err instanceof EffectOrderViolation, 'the misordered step is fatal');
});

t.test('a switchover answer is handed back to the caller, not sent', async (t) => {
  const r = recorder();
  const driver = new Driver(voter(), r.ports);
  const result = driver.handle({ type: 'switchover', target: null });
  t.same(result.switchover, { status: 'refused', reason: 'this node is not the primary' }, 'a follower refuses');
});
