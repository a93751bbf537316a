// No two primaries in a term, exhaustively for small clusters: every shape of
// three to five voters (with and without a witness, with and without a
// catching-up member), two and three candidates standing in the same term,
// every split of the members into two sides, and every order in which ballots
// reach each voter, with replies arriving at once or only after every ballot.
//
// Data voters start alike (same term, same log), so which of them stand does
// not matter: the candidates are the first two or three, and the splits put
// them on every combination of sides. The witness and the catching-up member
// try to stand in every scenario too, and must send nothing.

import t from 'tap';
import { isElectable, isVoter, quorumSize, type Member } from '../../src/core/index.js';
import { AFTER_START_LOYALTY, Cluster, catchingUp, data, pos, sends, witness, type Envelope, type NodeSetup } from '../support/core-harness.js';

interface Shape {
  readonly voters: number;
  readonly witness: boolean;
  readonly catchingUp: boolean;
}

function membersOf(shape: Shape): Member[] {
  const dataVoters = shape.voters - (shape.witness ? 1 : 0);
  const members = Array.from({ length: dataVoters }, (_, i) => data(`d${i + 1}`));
  if (shape.witness) members.push(witness('w'));
  if (shape.catchingUp) members.push(catchingUp('x'));
  return members;
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((p) => [item, ...p]));
}

/** Every way to split ids into two sides; side 0 holds the first id, so mirror images appear once. */
function splits(ids: readonly string[]): Array<Map<string, 0 | 1>> {
  const out: Array<Map<string, 0 | 1>> = [];
  for (let mask = 0; mask < 1 << (ids.length - 1); mask++) {
    out.push(new Map(ids.map((id, i) => [id, i === 0 ? 0 : (((mask >> (i - 1)) & 1) as 0 | 1)])));
  }
  return out;
}

/** What reaches a voter, in order: a candidate's ballot, or (for a candidate) its own probe quorum. */
type Arrival = { readonly ballotFrom: string } | { readonly ownProbeReplies: true };

/**
 * When a voter's reply reaches the candidate: at once (a candidate may become
 * primary before the next ballot reaches it) or only after every ballot has
 * been delivered (every candidate meets every rival's ballot still standing).
 */
type Replies = 'at_once' | 'after_all_ballots';

/**
 * feasible says whether per-voter orders fit one global order: a ballot can
 * reach a voter only after its candidate's own probe quorum reached it.
 */
function feasible(arrivals: ReadonlyMap<string, readonly Arrival[]>): boolean {
  const stood = new Set<string>();
  const cursor = new Map<string, number>();
  for (let progress = true; progress; ) {
    progress = false;
    for (const [voter, seq] of arrivals) {
      let i = cursor.get(voter) ?? 0;
      for (; i < seq.length; i++) {
        const a = seq[i]!;
        if ('ballotFrom' in a && !stood.has(a.ballotFrom)) break;
        if ('ownProbeReplies' in a) stood.add(voter);
        progress = true;
      }
      cursor.set(voter, i);
    }
  }
  return [...arrivals].every(([voter, seq]) => cursor.get(voter) === seq.length);
}

const TERM = 1;
const NOW = AFTER_START_LOYALTY;

interface ScenarioResult {
  readonly primaries: string[];
}

function runScenario(
  members: readonly Member[],
  candidates: readonly string[],
  side: ReadonlyMap<string, 0 | 1>,
  arrivals: ReadonlyMap<string, readonly Arrival[]>,
  replies: Replies,
): ScenarioResult {
  const setups: Record<string, NodeSetup> = {};
  for (const m of members) setups[m.id] = { term: TERM, ...(m.kind === 'data' ? { position: pos(TERM, 10) } : {}) };
  const cluster = new Cluster(members, setups);
  // The witness and the catching-up member's timers run out too; neither may stand.
  for (const m of members) {
    if (isElectable(m)) continue;
    const effects = cluster.tick(m.id, NOW);
    if (sends(effects, 'vote_request').length > 0) throw new Error(`${m.id} (${m.kind}, ${m.state}) sent vote requests`);
  }
  for (const c of candidates) cluster.tick(c, NOW);
  // Probes go out while the whole network is up, so every candidate may reach
  // its ballot phase: the strongest contest the ballots can face.
  cluster.deliver((env) => env.message.type === 'vote_request' && env.message.dryRun);
  const probeReplies = new Map<string, Envelope[]>();
  for (const env of cluster.take((e) => e.message.type === 'vote_response')) {
    probeReplies.set(env.to, [...(probeReplies.get(env.to) ?? []), env]);
  }
  // Then the network splits. Each voter sees its arrivals in the given order;
  // voters do not affect one another, so any global interleaving is one of these.
  const promoted = new Set<string>();
  const cursor = new Map<string, number>([...arrivals.keys()].map((id) => [id, 0]));
  for (let progress = true; progress; ) {
    progress = false;
    for (const [voter, seq] of arrivals) {
      for (let i = cursor.get(voter) ?? 0; i < seq.length; i++) {
        const a = seq[i]!;
        if ('ownProbeReplies' in a) {
          for (const env of probeReplies.get(voter) ?? []) cluster.deliverEnvelope(env);
          promoted.add(voter);
        } else {
          if (!promoted.has(a.ballotFrom)) break;
          const ballots = cluster.take((e) => e.from === a.ballotFrom && e.to === voter && e.message.type === 'vote_request' && !e.message.dryRun);
          for (const env of ballots) {
            const effects = cluster.deliverEnvelope(env);
            if (replies === 'at_once' && side.get(voter) === side.get(a.ballotFrom)) {
              for (const reply of sends(effects, 'vote_response')) {
                cluster.take((e) => e.message === reply.message);
                cluster.deliverEnvelope({ from: voter, to: reply.to, message: reply.message, timeoutMs: reply.timeoutMs });
              }
            }
          }
        }
        cursor.set(voter, i + 1);
        progress = true;
      }
    }
  }
  for (const [voter, seq] of arrivals) {
    if ((cursor.get(voter) ?? 0) < seq.length) throw new Error(`arrivals at ${voter} were not all delivered`);
  }
  cluster.cut = (a, b) => side.get(a) !== side.get(b);
  cluster.deliver((e) => e.message.type === 'vote_response' || (e.message.type === 'vote_request' && cluster.cut(e.from, e.to)));
  return { primaries: cluster.primariesOf(TERM + 1) };
}

const shapes: Shape[] = [];
for (const voters of [3, 4, 5]) for (const w of [false, true]) for (const c of [false, true]) shapes.push({ voters, witness: w, catchingUp: c });

for (const shape of shapes) {
  const label = `${shape.voters} voters${shape.witness ? ' (one a witness)' : ''}${shape.catchingUp ? ' plus a catching-up member' : ''}`;
  t.test(`at most one primary per term with ${label}, every split and ballot order`, async (t) => {
    // Proves: whatever the split and the order ballots arrive in, at most one
    // of two or three candidates standing in the same term becomes primary, and
    // a winner's side always holds a quorum of voters.
    const members = membersOf(shape);
    const ids = members.map((m) => m.id);
    const voterIds = members.filter(isVoter).map((m) => m.id);
    const quorum = quorumSize(voterIds.length);
    const electable = members.filter(isElectable).map((m) => m.id);
    const failures: string[] = [];
    let scenarios = 0;
    let withWinner = 0;
    for (const k of [2, 3]) {
      if (electable.length < k) continue;
      const candidates = electable.slice(0, k);
      for (const side of splits(ids)) {
        const orders = voterIds.map((v) => {
          const seq: Arrival[] = candidates.filter((c) => c !== v && side.get(c) === side.get(v)).map((c) => ({ ballotFrom: c }));
          if (candidates.includes(v)) seq.push({ ownProbeReplies: true });
          return permutations(seq);
        });
        const index = orders.map(() => 0);
        for (;;) {
          const arrivals = new Map(voterIds.map((v, i) => [v, orders[i]![index[i]!]!]));
          if (feasible(arrivals)) {
            for (const replies of ['at_once', 'after_all_ballots'] as const) {
              const result = runScenario(members, candidates, side, arrivals, replies);
              scenarios++;
              if (result.primaries.length > 0) withWinner++;
              const winnerSide = result.primaries.map((p) => voterIds.filter((v) => side.get(v) === side.get(p)).length);
              if (result.primaries.length > 1 || winnerSide.some((n) => n < quorum)) {
                failures.push(
                  `candidates ${candidates.join(',')}, sides ${JSON.stringify([...side])}, arrivals ${JSON.stringify([...arrivals])}, replies ${replies}: primaries ${result.primaries.join(',')}`,
                );
              }
            }
          }
          let d = 0;
          while (d < index.length && ++index[d]! >= orders[d]!.length) index[d++] = 0;
          if (d === index.length) break;
        }
      }
    }
    t.same(failures.slice(0, 5), [], `no scenario may end with two primaries in a term, or a primary without a quorum on its side (${failures.length} did)`);
    t.ok(withWinner > 0 && withWinner < scenarios, `the search both elects and fails to elect (winner in ${withWinner} of ${scenarios} scenarios)`);
    t.comment(`${scenarios} scenarios, a primary in ${withWinner}`);
  });
}
