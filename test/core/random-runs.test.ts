// Random runs of whole clusters of real nodes (fast-check chooses the shape
// and a schedule of time passing, network splits, crashes, restarts and
// switchovers, and membership changes: a member removed, or put back as
// catching_up for the primary to promote), checking the invariants after
// every single step.

import t from 'tap';
import fc from 'fast-check';
import { isElectable, type Member } from '../../src/core/index.js';
import { AFTER_START_LOYALTY, Cluster, catchingUp, checkProperty, data, pos, witness } from '../support/core-harness.js';

type Action =
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'split'; readonly mask: number }
  | { readonly kind: 'heal' }
  | { readonly kind: 'crash'; readonly who: number }
  | { readonly kind: 'restart'; readonly who: number }
  | { readonly kind: 'switchover'; readonly target: number | null }
  | { readonly kind: 'member'; readonly who: number; readonly remove: boolean };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 600 }) }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('split' as const), mask: fc.nat(63) }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'heal' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('crash' as const), who: fc.nat(5) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('restart' as const), who: fc.nat(5) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('switchover' as const), target: fc.option(fc.nat(5), { nil: null }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('member' as const), who: fc.nat(5), remove: fc.boolean() }), weight: 2 },
);

const shapeArb = fc.record({
  dataVoters: fc.integer({ min: 2, max: 4 }),
  witness: fc.boolean(),
  catchingUp: fc.boolean(),
});

t.test('random runs keep the invariants at every step', async (t) => {
  // Proves, on random schedules, what the protocol promises at every moment:
  // at most one primary per term, no node's term ever goes back, at most one
  // node holds a lease at any instant, and every step's persist comes first
  // (checked by the harness). It also counts elections won and switchovers
  // completed, so runs that never elect or switch over cannot pass for a proof.
  let elected = 0;
  let handoffs = 0;
  let steps = 0;
  let committed = 0;
  checkProperty(
    t,
    'no invariant broken',
    fc.property(shapeArb, fc.array(actionArb, { minLength: 5, maxLength: 40 }), (shape, actions) => {
      const members: Member[] = Array.from({ length: shape.dataVoters }, (_, i) => data(`d${i + 1}`));
      if (shape.witness) members.push(witness('w'));
      if (shape.catchingUp) members.push(catchingUp('x'));
      const ids = members.map((m) => m.id);
      const setups = Object.fromEntries(members.map((m) => [m.id, { term: 1, ...(m.kind === 'data' ? { position: pos(1, 10) } : {}) }]));
      const cluster = new Cluster(members, setups);
      const crashed = new Set<string>();
      const lastTerm = new Map(ids.map((id) => [id, 1]));
      const violations: string[] = [];
      cluster.onStep = (id, ev, effects) => {
        steps++;
        const term = cluster.node(id).term;
        if (term < (lastTerm.get(id) ?? 0)) violations.push(`${id}'s term went back from ${lastTerm.get(id)} to ${term}`);
        lastTerm.set(id, term);
        // A member may be promoted while the run goes on: whether it may lead
        // is judged by the configuration it holds when it leads.
        const self = cluster.node(id).self;
        if (cluster.node(id).currentRole === 'primary' && !(self && isElectable(self))) violations.push(`${id}, not electable, is primary`);
        if (effects.some((e) => e.type === 'config_committed')) committed++;
        const holders = ids.filter((n) => !crashed.has(n) && cluster.node(n).holdsLease(ev.now));
        if (holders.length > 1) violations.push(`at ${ev.now} ${holders.join(' and ')} both hold a lease`);
      };
      cluster.run(AFTER_START_LOYALTY);
      for (const a of actions) {
        const who = ids[('who' in a ? a.who : 0) % ids.length]!;
        switch (a.kind) {
          case 'advance':
            cluster.run(cluster.now + a.ms, crashed);
            break;
          case 'split':
            cluster.cut = (from, to) => ((a.mask >> ids.indexOf(from)) & 1) !== ((a.mask >> ids.indexOf(to)) & 1);
            break;
          case 'heal':
            cluster.cut = () => false;
            break;
          case 'crash':
            if (crashed.has(who)) break;
            crashed.add(who);
            // Nodes that can reach the crashed primary's host see its port refuse them.
            for (const id of ids) {
              if (!crashed.has(id) && !cluster.cut(id, who) && cluster.node(id).knownPrimary === who) {
                cluster.step(id, { type: 'primary_unreachable', now: cluster.now, primaryId: who });
              }
            }
            break;
          case 'restart':
            if (!crashed.has(who)) break;
            crashed.delete(who);
            cluster.restart(who, cluster.now, members.find((m) => m.id === who)?.kind === 'data' ? pos(1, 10) : undefined);
            break;
          case 'member': {
            // The primary is asked to remove a member, or to put it back as
            // catching_up; it refuses what it may not do (a change under way,
            // itself, a shape that cannot work).
            const primary = ids.find((id) => !crashed.has(id) && cluster.node(id).currentRole === 'primary');
            const m = members.find((x) => x.id === who)!;
            const change = a.remove ? { op: 'remove' as const, id: who } : { op: 'put' as const, member: { ...m, state: 'catching_up' as const } };
            if (primary) cluster.step(primary, { type: 'config_change', now: cluster.now, change });
            break;
          }
          case 'switchover': {
            const primary = ids.find((id) => !crashed.has(id) && cluster.node(id).currentRole === 'primary');
            const target = a.target === null ? null : ids[a.target % ids.length]!;
            if (primary) cluster.step(primary, { type: 'switchover', now: cluster.now, target });
            cluster.deliver((env) => !crashed.has(env.to) && !crashed.has(env.from));
            break;
          }
        }
      }
      cluster.run(cluster.now + 2_000, crashed);
      for (const [term, primaries] of cluster.primaries) {
        if (primaries.size > 1) violations.push(`term ${term} had primaries ${[...primaries].join(', ')}`);
      }
      handoffs += cluster.roleLog.filter((r) => r.change.reason === 'handoff').length;
      elected += [...cluster.primaries.values()].reduce((n, s) => n + s.size, 0);
      if (violations.length > 0) throw new Error(violations.slice(0, 5).join('\n'));
      return true;
    }),
    { numRuns: 300 },
  );
  t.ok(elected > 300, `the runs should elect primaries (${elected} in ${steps} steps)`);
  t.ok(handoffs > 0, `the runs should include completed switchovers (${handoffs})`);
  t.ok(committed > 300, `the runs should commit configurations, each new primary's and the changes (${committed})`);
});
