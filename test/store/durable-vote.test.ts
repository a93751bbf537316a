// The point of the store: a voter that granted a candidate a term, then
// restarted from disk, never grants a second candidate that term. Driven
// through the real protocol Node and the runtime's own effect driver
// (persist, then send), on the real filesystem and across crashes at
// every step of the save on the disk model.

import t from 'tap';
import {
  DEFAULT_TIMINGS,
  Node,
  seededRandom,
  type Effect,
  type HardState,
  type LogPosition,
  type Member,
  type Refusal,
  type VoteRequest,
  type VoteResponse,
} from '../../src/core/index.js';
import { FileStore, StateWriteError, type StateStore } from '../../src/store/index.js';
import { DiskModel, causedByCrash, type OpKind } from '../support/disk-model.js';
import { caught, driveStep, type Sent } from './fixtures/index.js';

const VOTER = 'v';
const CLUSTER = 'durable-vote';
const member = (id: string): Member => ({ id, url: `http://${id}.test:7400`, kind: 'data', state: 'voting' });

/** The voter's state before the election: term 1, no vote. */
const INITIAL: HardState = {
  term: 1,
  votedFor: null,
  commitWatermark: { term: 1, lsn: 5 },
  config: { clusterId: CLUSTER, term: 1, version: 1, members: ['A', 'B', VOTER].map(member), timings: DEFAULT_TIMINGS },
};
const VOTER_POSITION: LogPosition = { term: 1, lsn: 8 };
const ELECTION_TERM = 2;

function ballot(candidateId: string, round = 1): VoteRequest {
  return {
    type: 'vote_request',
    round,
    clusterId: CLUSTER,
    candidateId,
    config: { term: 1, version: 1 },
    term: ELECTION_TERM,
    lastLogTerm: 1,
    lastLogLsn: 9,
    dryRun: false,
  };
}

/**
 * startVoter builds a Node from a state as a restarted process would, then
 * lets it learn its log position and waits out the start-up loyalty window,
 * so that neither 'not_voting' nor 'primary_alive' can mask the vote rule.
 * Returns the node and the time it is ready at.
 */
function startVoter(hardState: HardState, startMs: number, seed: number): { node: Node; nowMs: number } {
  const node = new Node({ id: VOTER, hardState, timings: DEFAULT_TIMINGS, random: seededRandom(seed), now: startMs });
  node.step({ type: 'position', now: startMs, position: VOTER_POSITION });
  return { node, nowMs: startMs + DEFAULT_TIMINGS.electionTimeoutMs + 1 };
}

function replyIn(effects: readonly Effect[]): VoteResponse {
  const reply = effects.find((e) => e.type === 'reply' && e.message.type === 'vote_response');
  if (reply?.type !== 'reply' || reply.message.type !== 'vote_response') throw new Error('the voter sent no vote response');
  return reply.message;
}

function grantsSent(sent: readonly Sent[]): string[] {
  return sent.filter((s) => s.message.type === 'vote_response' && s.message.granted).map((s) => s.to);
}

/** The voter grants A in term 2, performing the effects against `store`; returns what was sent. */
function grantA(store: StateStore, sent: Sent[]): readonly Effect[] {
  const { node, nowMs } = startVoter(INITIAL, 0, 1);
  return driveStep(node, { type: 'message', now: nowMs, message: ballot('A') }, store, sent);
}

t.test('a voter restarted from its state file never grants a second candidate in the term it voted in', async (t) => {
  const store = FileStore.inDataDir(t.testdir());
  store.save(INITIAL);
  const sent: Sent[] = [];
  const effects = grantA(store, sent);
  t.equal(effects[0]?.type, 'persist', 'the vote is persisted first');
  t.same(grantsSent(sent), ['A'], 'the grant went to A');

  // The first process is gone; a new one starts from the file.
  const loaded = new FileStore(store.location).load();
  t.match(loaded, { term: ELECTION_TERM, votedFor: 'A' }, 'the vote is on disk');
  const startMs = 60_000;
  const node = new Node({ id: VOTER, hardState: loaded!, timings: DEFAULT_TIMINGS, random: seededRandom(2), now: startMs });
  const early = replyIn(node.step({ type: 'message', now: startMs + 1, message: ballot('B', 1) }));
  t.match(early.reason, { code: 'not_voting', why: 'position_unknown' }, 'before its position is known the voter abstains');
  node.step({ type: 'position', now: startMs + 2, position: VOTER_POSITION });
  const loyal = replyIn(node.step({ type: 'message', now: startMs + 3, message: ballot('B', 2) }));
  t.match(loyal.reason, { code: 'primary_alive' }, 'just after start-up it stays loyal to an unknown primary');

  const readyMs = startMs + DEFAULT_TIMINGS.electionTimeoutMs + 1;
  const toB = node.step({ type: 'message', now: readyMs, message: ballot('B', 3) });
  const refusal = replyIn(toB);
  t.equal(refusal.granted, false, 'B is refused');
  t.same(refusal.reason, { code: 'already_voted', term: ELECTION_TERM, votedFor: 'A' } satisfies Refusal);
  t.notOk(
    toB.some((e) => e.type === 'persist'),
    'a refusal changes nothing on the voter',
  );
  const toA = node.step({ type: 'message', now: readyMs + 1, message: ballot('A', 4) });
  t.equal(replyIn(toA).granted, true, 'A asking again in the term is granted again');
  t.notOk(
    toA.some((e) => e.type === 'persist'),
    'with nothing new to persist',
  );

  // The refusal comes from the stored vote: a voter that had lost it would grant B.
  const { node: amnesiac, nowMs } = startVoter(INITIAL, startMs, 3);
  t.equal(
    replyIn(amnesiac.step({ type: 'message', now: nowMs, message: ballot('B') })).granted,
    true,
    'control: without the stored vote B would win this voter',
  );
});

t.test('a voter that crashes at any step of saving its vote never sent the grant, and after restart refuses a second candidate whenever it did', async (t) => {
  const path = '/data/v/state.json';
  const steps: OpKind[] = ['writeFile', 'fsyncFile', 'rename', 'fsyncDir'];
  const outcomes: string[] = [];
  // Each case: crash after step k of the vote's save (or no crash at all),
  // once with a disk that loses all unsynced changes and then with seeded
  // torn crashes that keep some.
  for (const seed of [undefined, 1, 2, 3, 4, 5, 6, 7, 8]) {
    for (let k = 1; k <= steps.length + 1; k++) {
      const disk = new DiskModel();
      new FileStore(path, disk).save(INITIAL);
      disk.crashAfter(k, { kind: steps });
      const sent: Sent[] = [];
      const err = caught(() => grantA(new FileStore(path, disk), sent));
      const crashed = err !== undefined;
      if (crashed && !(err instanceof StateWriteError && causedByCrash(err))) throw err;
      if (crashed) t.same(sent, [], `seed ${seed}, crash after ${steps[k - 1]}: nothing was sent`);
      else t.same(grantsSent(sent), ['A'], `seed ${seed}, no crash: the grant was sent`);

      disk.crash(seed === undefined ? {} : { random: seededRandom(seed) });
      const loaded = new FileStore(path, disk).load();
      t.ok(loaded, 'the restarted voter loads a state');
      const { node, nowMs } = startVoter(loaded!, 60_000, 9);
      const toB = replyIn(node.step({ type: 'message', now: nowMs, message: ballot('B') }));
      if (grantsSent(sent).includes('A')) {
        t.equal(toB.granted, false, `seed ${seed}: A held a grant, so B is refused`);
        t.match(toB.reason, { code: 'already_voted', votedFor: 'A' });
      }
      if (steps[k - 1] === 'fsyncDir') t.match(loaded, { votedFor: 'A' }, 'a vote whose save reached the directory fsync is durable');
      outcomes.push(`${crashed ? 'crash' : 'ok'}:${loaded!.votedFor}:${toB.granted ? 'B granted' : 'B refused'}`);
    }
  }
  t.ok(outcomes.includes('crash:null:B granted'), 'some crashes lost the unsent vote, and B could then win: safe, as A never heard a grant');
  t.ok(outcomes.includes('ok:A:B refused'), 'every completed vote kept B out');
});

t.test('a voter whose vote cannot be fsynced sends no grant', async (t) => {
  const disk = new DiskModel();
  const path = '/data/v/state.json';
  new FileStore(path, disk).save(INITIAL);
  disk.failNext({ kind: 'fsyncFile' }, { code: 'EIO' });
  const sent: Sent[] = [];
  const err = caught(() => grantA(new FileStore(path, disk), sent));
  t.type(err, StateWriteError);
  t.equal((err as StateWriteError).step, 'fsync temp file');
  t.same(sent, [], 'the grant never left');
  t.same(new FileStore(path, disk).load(), INITIAL, 'and the old state stands');
});
