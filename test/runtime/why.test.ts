// "Why" and the cluster view over core nodes, with no network: the dry-run
// probe reaches each voter as the peer client would deliver it, and the
// answers come back as they are. The probe changes nothing on the voters or
// the candidate; a witness is answered without probing; a replica behind the
// watermark is refused by the voters with the reason; a voter that cannot be
// reached is listed with why. The cluster view on a primary shows each
// member's role, lag and electability, with the core's reasons.

import t from 'tap';
import type { Message, Node } from '../../src/core/index.js';
import { clusterView, lagBehind, whyNotElectable } from '../../src/runtime/views.js';
import { why, type Deliver } from '../../src/runtime/why.js';
import { AFTER_START_LOYALTY, Cluster, data, deliver, pos, voteReply, witness } from '../support/core-harness.js';

/** through delivers each probe to the voter's node at `now` and returns its reply; ids in `down` refuse the connection. */
function through(c: Cluster, now: number, down: readonly string[] = []): { deliver: Deliver; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    deliver: async (_url, message: Message, _signal, memberId) => {
      asked.push(memberId);
      if (down.includes(memberId)) return { ok: false, refused: true, error: 'ECONNREFUSED' };
      return { ok: true, reply: voteReply(deliver(c.node(memberId), now, message)) };
    },
  };
}

function snapshot(n: Node): unknown {
  return { hard: n.hardState, role: n.currentRole, primary: n.knownPrimary };
}

t.test('a data member is probed by every other voter; nothing changes anywhere', async (t) => {
  const c = new Cluster([data('a'), data('b'), data('c'), witness('w')], {
    a: { term: 1, position: pos(1, 10) },
    b: { term: 1, position: pos(1, 10) },
    c: { term: 1, position: pos(1, 10) },
    w: { term: 1 },
  });
  c.elect('a');
  const now = AFTER_START_LOYALTY + 10;
  const before = ['a', 'b', 'c', 'w'].map((id) => snapshot(c.node(id)));
  const { deliver: d, asked } = through(c, now);
  const reply = await why(c.node('b'), d, 100);
  t.same(asked.sort(), ['a', 'c', 'w'], 'every other voter was asked');
  t.match(reply, { candidateId: 'b', kind: 'data', term: c.node('b').term + 1, probed: true, electable: true, needed: 3, wouldWin: false });
  t.same(
    Object.fromEntries(reply.voters.map((v) => [v.voterId, v.reason?.code ?? (v.granted ? 'granted' : null)])),
    { a: 'primary_alive', c: 'primary_alive', w: 'primary_alive' },
    'each voter hears the primary a, and says so',
  );
  t.equal(reply.votes, 1, 'only its own vote');
  t.same(
    ['a', 'b', 'c', 'w'].map((id) => snapshot(c.node(id))),
    before,
    'no term, vote, role or primary changed on any node',
  );
});

t.test('a witness cannot stand: answered at once, nobody probed', async (t) => {
  const c = new Cluster([data('a'), data('b'), witness('w')], { a: { term: 1, position: pos(1, 10) }, b: { term: 1, position: pos(1, 10) } });
  const { deliver: d, asked } = through(c, 0);
  const reply = await why(c.node('w'), d, 100);
  t.match(reply, {
    candidateId: 'w',
    kind: 'witness',
    probed: false,
    electable: false,
    notElectableBecause: 'a witness never stands',
    wouldWin: false,
    voters: [],
  });
  t.same(asked, [], 'no voter was asked');
});

t.test('a replica behind the watermark is refused with watermark_not_covered; an unreachable voter is listed with why', async (t) => {
  const c = new Cluster([data('a'), data('b'), data('c')], {
    a: { term: 2, position: pos(2, 50), commitWatermark: pos(2, 40) },
    b: { term: 2, position: pos(2, 50), commitWatermark: pos(2, 40) },
    c: { term: 2, position: pos(2, 5) },
  });
  const now = AFTER_START_LOYALTY + 10;
  const { deliver: d } = through(c, now, ['b']);
  const reply = await why(c.node('c'), d, 100);
  t.equal(reply.probed, true, 'it can ask, so it does');
  t.match(
    reply.voters.find((v) => v.voterId === 'a'),
    {
      granted: false,
      reason: { code: 'watermark_not_covered', candidatePosition: { term: 2, lsn: 5 }, commitWatermark: { term: 2, lsn: 40 } },
      error: null,
    },
  );
  t.match(
    reply.voters.find((v) => v.voterId === 'b'),
    { granted: false, reason: null, error: 'connection refused' },
  );
  t.equal(reply.wouldWin, false);
});

t.test('the primary view: roles, lag behind the watermark, last contact and why not electable', async (t) => {
  const c = new Cluster([data('a'), data('b'), data('c'), witness('w')], {
    a: { term: 1, position: pos(1, 10) },
    b: { term: 1, position: pos(1, 10) },
    c: { term: 1, position: pos(1, 10) },
    w: { term: 1 },
  });
  c.elect('a');
  const a = c.node('a');
  const view = clusterView(a, c.now, new Map(), null);
  t.match(view, { view: 'primary', viewedBy: 'a', partialBecause: null, primaryId: 'a', quorum: 3, voters: 4 });
  const byId = Object.fromEntries(view.members.map((m) => [m.id, m]));
  t.match(byId.a, { role: 'primary', electable: true, lastContactAgoMs: 0, term: a.term });
  t.match(byId.w, { role: 'follower', electable: false, notElectableBecause: 'a witness never stands', position: null, lag: null });
  t.match(byId.b, { role: 'follower' });
  const partial = clusterView(c.node('b'), c.now, new Map(), 'this node knows of no primary');
  t.match(partial, { view: 'partial', viewedBy: 'b', partialBecause: 'this node knows of no primary' });
  t.equal(partial.members.find((m) => m.id === 'c')?.role, 'unknown', 'a follower cannot tell of the other followers');
});

t.test('electability and lag of another member, as the view judges them', async (t) => {
  const wm = pos(3, 100);
  t.equal(whyNotElectable(witness('w'), null, wm, true), 'a witness never stands');
  t.equal(whyNotElectable({ ...data('x'), state: 'catching_up' }, pos(3, 100), wm, true), 'a catching-up member never stands');
  t.equal(whyNotElectable({ ...data('dr'), priority: 0 }, pos(3, 100), wm, true), 'its priority is 0: it never stands');
  t.equal(whyNotElectable(data('b'), pos(3, 100), wm, false), 'it has not been heard lately');
  t.equal(whyNotElectable(data('b'), null, wm, true), 'its log position is not known');
  t.equal(whyNotElectable(data('b'), pos(3, 99), wm, true), 'its log does not cover the commit watermark');
  t.equal(whyNotElectable(data('b'), pos(3, 100), wm, true), null);
  t.equal(lagBehind(pos(3, 90), wm), 10, 'lsns of one term subtract');
  t.equal(lagBehind(pos(3, 120), wm), 0, 'ahead of the watermark is no lag');
  t.equal(lagBehind(pos(2, 500), wm), null, 'lsns of different terms do not compare');
  t.equal(lagBehind(null, wm), null);
});
