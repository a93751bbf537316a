// Property-based tests of the core's pure functions against plain, separately
// written references: the vote rule, and the arithmetic of majorities,
// watermark holders, tallies, watermark candidates and position order. Where
// the domain is small the reference is brute force over every subset.

import t from 'tap';
import fc from 'fast-check';
import {
  comparePositions,
  decideVote,
  maxPosition,
  quorumSize,
  tally,
  watermarkCandidate,
  watermarkHolders,
  type LogPosition,
  type Member,
  type Refusal,
  type TallyResult,
  type VoteRequest,
  type VoterView,
} from '../../src/core/index.js';
import { checkProperty } from '../support/core-harness.js';

// ---- A reference vote rule ----------------------------------------------------------

/** below: position x is strictly older than y (log term first, then lsn). */
function below(x: LogPosition, y: LogPosition): boolean {
  return x.term < y.term || (x.term === y.term && x.lsn < y.lsn);
}

/**
 * referenceDecide is the rule as DESIGN.md and vote.ts state it in prose, as a
 * list of (broken?, reason) rows in the documented order; the first broken row
 * is the refusal.
 */
function referenceDecide(v: VoterView, r: VoteRequest): { granted: true } | { granted: false; reason: Refusal } {
  const candidatePosition = { term: r.lastLogTerm, lsn: r.lastLogLsn };
  let candidate: Member | undefined;
  let self: Member | undefined;
  for (const m of v.members) {
    if (candidate === undefined && m.id === r.candidateId) candidate = m;
    if (self === undefined && m.id === v.id) self = m;
  }
  const live = v.livePrimary;
  const handedOff = r.handoff === true && v.handoffCandidate === r.candidateId;
  const configBehind = v.config !== null && (r.config.term < v.config.term || (r.config.term === v.config.term && r.config.version < v.config.version));
  const later = v.config !== null && (r.config.term > v.config.term || (r.config.term === v.config.term && r.config.version > v.config.version));
  const rows: Array<[boolean, () => Refusal]> = [
    [v.clusterId !== r.clusterId, () => ({ code: 'wrong_cluster', clusterId: v.clusterId, candidateClusterId: r.clusterId })],
    [below(candidatePosition, v.commitWatermark), () => ({ code: 'watermark_not_covered', candidatePosition, commitWatermark: v.commitWatermark })],
    [!later && candidate === undefined, () => ({ code: 'not_a_member', candidateId: r.candidateId })],
    [
      !later && candidate !== undefined && (candidate.kind !== 'data' || candidate.state !== 'voting' || candidate.priority === 0),
      () => ({ code: 'not_electable', candidateId: r.candidateId }),
    ],
    [!later && self === undefined, () => ({ code: 'not_voting', voterId: v.id, why: 'not_a_member' })],
    [!later && self !== undefined && self.state !== 'voting', () => ({ code: 'not_voting', voterId: v.id, why: 'catching_up' })],
    [!later && self !== undefined && self.state === 'voting' && v.paused && !handedOff, () => ({ code: 'paused', voterId: v.id })],
    [v.kind === 'data' && v.position === null, () => ({ code: 'not_voting', voterId: v.id, why: 'position_unknown' })],
    [r.term < v.term, () => ({ code: 'stale_term', candidateTerm: r.term, voterTerm: v.term })],
    [
      v.kind === 'data' && v.position !== null && below(candidatePosition, v.position),
      () => ({ code: 'log_behind', candidatePosition, voterPosition: v.position as LogPosition }),
    ],
    [live !== null && !handedOff, () => ({ code: 'primary_alive', primaryId: live?.id ?? null, lastHeartbeatAgoMs: live?.agoMs ?? 0 })],
    [r.term === v.term && v.votedFor !== null && v.votedFor !== r.candidateId, () => ({ code: 'already_voted', term: v.term, votedFor: v.votedFor ?? '' })],
    [configBehind, () => ({ code: 'config_behind', candidateConfig: r.config, voterConfig: v.config! })],
  ];
  const broken = rows.find(([isBroken]) => isBroken);
  return broken ? { granted: false, reason: broken[1]() } : { granted: true };
}

const IDS = ['a', 'b', 'c', 'd'] as const;
const idArb = fc.constantFrom<string>(...IDS, 'z');
const smallPos = fc.record({ term: fc.integer({ min: 0, max: 3 }), lsn: fc.integer({ min: 0, max: 3 }) });
const memberArb = (id: string): fc.Arbitrary<Member> =>
  fc
    .record({
      id: fc.constant(id),
      url: fc.constant(`http://${id}`),
      kind: fc.constantFrom<Member['kind']>('data', 'data', 'data', 'witness'),
      state: fc.constantFrom<Member['state']>('voting', 'voting', 'voting', 'catching_up'),
      priority: fc.constantFrom<number | undefined>(undefined, undefined, undefined, 0, 2),
    })
    .map(({ priority, ...m }) => (priority === undefined ? m : { ...m, priority }));
const membersArb: fc.Arbitrary<Member[]> = fc
  .tuple(...IDS.map((id) => fc.option(memberArb(id), { nil: null, freq: 6 })))
  .map((ms) => ms.filter((m): m is Member => m !== null));
const configPositionArb = fc.record({ term: fc.integer({ min: 0, max: 2 }), version: fc.integer({ min: 1, max: 2 }) });
// Mostly the one cluster, sometimes another or none (a joining voter).
const clusterIdArb = fc.constantFrom<string | null>('q', 'q', 'q', 'q', 'q', 'q', 'other', null);
const viewArb: fc.Arbitrary<VoterView> = fc.record({
  id: idArb,
  term: fc.integer({ min: 0, max: 4 }),
  votedFor: fc.option(idArb, { nil: null, freq: 2 }),
  commitWatermark: fc.oneof({ arbitrary: fc.constant({ term: 0, lsn: 0 }), weight: 2 }, { arbitrary: smallPos, weight: 1 }),
  clusterId: clusterIdArb,
  config: fc.oneof({ arbitrary: fc.constant({ term: 0, version: 1 }), weight: 4 }, { arbitrary: configPositionArb, weight: 1 }),
  members: membersArb,
  kind: fc.constantFrom<Member['kind']>('data', 'data', 'witness'),
  position: fc.option(smallPos, { nil: null, freq: 8 }),
  paused: fc.constantFrom(false, false, false, true),
  livePrimary: fc.oneof(
    { arbitrary: fc.constant(null), weight: 4 },
    { arbitrary: fc.record({ id: fc.option(idArb, { nil: null }), agoMs: fc.integer({ min: 0, max: 200 }) }), weight: 1 },
  ),
  handoffCandidate: fc.option(idArb, { nil: null, freq: 3 }),
});
const requestArb: fc.Arbitrary<VoteRequest> = fc
  .record({
    round: fc.nat(10),
    clusterId: fc.constantFrom('q', 'q', 'q', 'q', 'q', 'q', 'q', 'other'),
    candidateId: idArb,
    config: fc.oneof({ arbitrary: fc.constant({ term: 0, version: 1 }), weight: 4 }, { arbitrary: configPositionArb, weight: 1 }),
    term: fc.integer({ min: 0, max: 5 }),
    lastLogTerm: fc.integer({ min: 0, max: 3 }),
    lastLogLsn: fc.integer({ min: 0, max: 3 }),
    dryRun: fc.boolean(),
    handoff: fc.boolean(),
  })
  .map((r) => ({ type: 'vote_request' as const, ...r }));

t.test('decideVote agrees with a plain reference of the rule, reason and details included (property)', async (t) => {
  // Proves the vote rule matches its specification on random voters and
  // requests, and that the run reached every outcome (else it proves little).
  const seen = new Map<string, number>();
  checkProperty(
    t,
    'decideVote and the reference decide alike',
    fc.property(viewArb, requestArb, (v, r) => {
      const actual = decideVote(v, r);
      const expected = referenceDecide(v, r);
      const key = actual.granted ? 'granted' : actual.reason.code === 'not_voting' ? `not_voting/${actual.reason.why}` : actual.reason.code;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      return JSON.stringify(actual) === JSON.stringify(expected);
    }),
    { numRuns: 20_000 },
  );
  const all = [
    'granted',
    'wrong_cluster',
    'config_behind',
    'watermark_not_covered',
    'not_a_member',
    'not_electable',
    'not_voting/not_a_member',
    'not_voting/catching_up',
    'not_voting/position_unknown',
    'stale_term',
    'log_behind',
    'primary_alive',
    'already_voted',
    'paused',
  ];
  t.same(
    all.filter((k) => !seen.has(k)),
    [],
    `every decision should occur in the run (${JSON.stringify(Object.fromEntries(seen))})`,
  );
});

// ---- Majorities and holders, brute force ------------------------------------------------

/** All k-element subsets of {0..n-1}, as bit masks. */
function masksOfSize(n: number, k: number): number[] {
  const out: number[] = [];
  for (let m = 0; m < 1 << n; m++) if (popcount(m) === k) out.push(m);
  return out;
}
function popcount(m: number): number {
  let c = 0;
  for (let x = m; x; x &= x - 1) c++;
  return c;
}
/** every set in xs meets every set in ys. */
function allMeet(xs: number[], ys: number[]): boolean {
  return xs.every((x) => ys.every((y) => (x & y) !== 0));
}

t.test('quorumSize is the smallest size whose sets all meet, by brute force over every subset (1 to 10 voters)', async (t) => {
  // Proves floor(n/2) + 1 is exactly the smallest group size such that any
  // two groups of that size share a voter: two quorums always intersect, and
  // one fewer does not.
  for (let n = 1; n <= 10; n++) {
    let smallest = -1;
    for (let k = 1; k <= n && smallest < 0; k++) if (allMeet(masksOfSize(n, k), masksOfSize(n, k))) smallest = k;
    t.equal(quorumSize(n), smallest, `${n} voters`);
  }
});

t.test('quorumSize is a strict majority for any number of voters (property)', async (t) => {
  // Proves the majority property beyond brute-force sizes: 2q > n and 2(q - 1) <= n.
  checkProperty(
    t,
    'q is the least integer above n / 2',
    fc.property(fc.integer({ min: 1, max: 1_000_000 }), (n) => {
      let q = 0;
      while (2 * q <= n) q++;
      return quorumSize(n) === q;
    }),
  );
});

/** Every majority of the voters in `voterMask`: its subsets of quorum size. */
function majoritiesOf(voterMask: number): number[] {
  const q = quorumSize(popcount(voterMask));
  const out: number[] = [];
  for (let m = voterMask; m; m = (m - 1) & voterMask) if (popcount(m) === q) out.push(m);
  return out;
}

/**
 * The configurations an election may be decided in while a single-voter change
 * spreads from voters 0..n-1: that one, the one with voter n added, and each
 * with one of its voters removed (none left empty). Each is named, with its
 * majorities as bit masks over voters 0..n.
 */
function configsWithinOneChange(n: number): Array<{ name: string; majorities: number[] }> {
  const all = (1 << n) - 1;
  const out = [
    { name: `the ${n} voters`, majorities: majoritiesOf(all) },
    { name: `${n + 1} voters (one added)`, majorities: majoritiesOf(all | (1 << n)) },
  ];
  if (n > 1) for (let r = 0; r < n; r++) out.push({ name: `${n - 1} voters (voter ${r} removed)`, majorities: majoritiesOf(all & ~(1 << r)) });
  return out;
}

/** holdersMeetAcrossOneChange: every majority of every nearby configuration meets every k holders of the n voters. */
function holdersMeetAcrossOneChange(n: number, k: number): boolean {
  const holderSets = masksOfSize(n, k);
  return configsWithinOneChange(n).every((c) => allMeet(c.majorities, holderSets));
}

t.test('watermarkHolders holders meet every majority of the configuration and of any one a single-voter change makes (1 to 10 voters)', async (t) => {
  // Proves watermarkHolders by brute force: take any watermarkHolders(n) of n
  // voters as the holders; every majority of those n voters, of the n plus one
  // new voter, and of the n less any one voter (a holder perhaps) contains a
  // holder. With one holder fewer some majority of one of those configurations
  // has none, so the rule asks for no more than it must.
  for (let n = 1; n <= 10; n++) {
    const h = watermarkHolders(n);
    t.equal(h, quorumSize(n), `${n} voters: the holders are a majority of the voters`);
    t.ok(holdersMeetAcrossOneChange(n, h), `${n} voters: every majority within one voter change meets every ${h} holders`);
    if (h > 1) t.notOk(holdersMeetAcrossOneChange(n, h - 1), `${n} voters: ${h - 1} holders must not be enough`);
  }
});

t.test('voters - quorum + 1 holders meet the majorities of the configuration but not of the next one when the voter count is even', async (t) => {
  // Proves why the old rule was replaced: voters - quorum + 1 holders meet
  // every majority of the current configuration for any count, and for an
  // even count some majority of a configuration one voter away avoids some
  // holder set (2 voters: 1 holder; a third voter makes the other two a
  // majority). For an odd count the two rules ask for the same number.
  for (let n = 1; n <= 10; n++) {
    const old = n - quorumSize(n) + 1;
    t.ok(allMeet(majoritiesOf((1 << n) - 1), masksOfSize(n, old)), `${n} voters: ${old} holders meet every majority of the ${n}`);
    if (n % 2 === 0) t.notOk(holdersMeetAcrossOneChange(n, old), `${n} voters: ${old} holders must miss some majority one voter change away`);
    else t.equal(old, watermarkHolders(n), `${n} voters: the old and new rules agree on an odd count`);
  }
});

t.test('the computed watermark is held inside every election majority within one voter change (brute force, property)', async (t) => {
  // Proves the watermark rule's premise on random clusters: take data voters'
  // positions and some witnesses; the watermarkCandidate for
  // watermarkHolders(voters) is covered by some data voter in every majority
  // of those voters, of those voters plus a new one holding nothing, and of
  // those voters less any one.
  checkProperty(
    t,
    'every majority within one voter change contains a data voter holding the watermark',
    fc.property(fc.array(smallPos, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 2 }), (positions, witnesses) => {
      const n = positions.length + witnesses;
      const w = watermarkCandidate(positions, watermarkHolders(n));
      if (w === null) return true;
      // Voters 0..positions.length-1 hold data; the rest are witnesses; voter n is the new one.
      const holdsW = (i: number) => i < positions.length && !below(positions[i]!, w);
      return configsWithinOneChange(n).every((c) => c.majorities.every((m) => [...Array(n).keys()].some((i) => (m >> i) & 1 && holdsW(i))));
    }),
    { numRuns: 2_000 },
  );
});

// ---- Tally, watermark candidate, position order ------------------------------------------

function naiveTally(granted: number, refused: number, voters: number, quorum: number): TallyResult {
  if (granted >= quorum) return 'won';
  const undecided = voters - granted - refused;
  for (let more = 0; more <= undecided; more++) if (granted + more >= quorum) return 'pending';
  return 'lost';
}

t.test('tally agrees with trying every way the undecided voters could still answer (property)', async (t) => {
  // Proves won as soon as a quorum granted, lost exactly when no way the
  // remaining voters answer reaches a quorum, pending otherwise.
  checkProperty(
    t,
    'tally matches the enumeration',
    fc.property(
      fc
        .integer({ min: 1, max: 15 })
        .chain((voters) =>
          fc
            .tuple(fc.constant(voters), fc.integer({ min: 0, max: voters }), fc.integer({ min: 1, max: voters }))
            .chain(([n, g, q]) =>
              fc.tuple(fc.constant(n), fc.constant(g), fc.integer({ min: 0, max: n - g }), fc.oneof(fc.constant(quorumSize(n)), fc.constant(q))),
            ),
        ),
      ([voters, granted, refused, quorum]) => tally(granted, refused, voters, quorum) === naiveTally(granted, refused, voters, quorum),
    ),
    { numRuns: 5_000 },
  );
  t.equal(tally(2, 0, 3, 2), 'won', 'two of three granted');
  t.equal(tally(1, 2, 3, 2), 'lost', 'two of three refused');
  t.equal(tally(1, 1, 3, 2), 'pending', 'one each, one undecided');
});

function naiveWatermark(positions: readonly LogPosition[], holders: number): LogPosition | null {
  if (holders < 1) return null;
  let best: LogPosition | null = null;
  for (const p of positions) {
    const heldBy = positions.filter((x) => !below(x, p)).length;
    if (heldBy >= holders && (best === null || below(best, p))) best = p;
  }
  return best;
}

t.test('watermarkCandidate is the highest position held by at least `holders` positions (property)', async (t) => {
  // Proves watermarkCandidate against a search over the positions themselves,
  // with duplicates, too few positions, and holders below one.
  checkProperty(
    t,
    'watermarkCandidate matches the search',
    fc.property(fc.array(smallPos, { maxLength: 8 }), fc.integer({ min: -1, max: 9 }), (positions, holders) => {
      const input = positions.map((p) => ({ ...p }));
      const actual = watermarkCandidate(input, holders);
      const unchanged = JSON.stringify(input) === JSON.stringify(positions);
      return unchanged && JSON.stringify(actual) === JSON.stringify(naiveWatermark(positions, holders));
    }),
    { numRuns: 5_000 },
  );
});

t.test('positions order by log term first, then lsn (property)', async (t) => {
  // Proves comparePositions is the lexicographic order on (term, lsn), so a
  // higher lsn of an older term sorts lower, and maxPosition picks the later.
  checkProperty(
    t,
    'comparePositions is lexicographic and maxPosition covers both',
    fc.property(smallPos, smallPos, (x, y) => {
      const expected = below(x, y) ? -1 : below(y, x) ? 1 : 0;
      const m = maxPosition(x, y);
      return Math.sign(comparePositions(x, y)) === expected && comparePositions(m, x) >= 0 && comparePositions(m, y) >= 0;
    }),
  );
  t.ok(comparePositions({ term: 1, lsn: 120 }, { term: 2, lsn: 100 }) < 0, '1/120 sorts below 2/100');
});
