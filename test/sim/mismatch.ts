// Mismatched starts: some nodes of a simulated cluster bootstrap with another
// configuration than the rest — another member list (a member more, one
// fewer, one of another state) or other timings — and so, as
// runtime/bootstrap.ts's initialConfig gives, another cluster id. An operator
// who started a node with stale settings does exactly this.
//
// They are drawn so that no protocol could let them elect on their own: the
// nodes sharing a mismatched configuration are fewer than a majority of its
// voters, and the rest keep a majority of the cluster's voters with an
// electable member among them. A primary among them, or a second primary in a
// term, is then a bug the checkers report.

import { isElectable, isVoter, quorumSize, validateConfig, type ClusterConfig, type Member, type Timings } from '../../src/core/index.js';
import { initialConfig } from '../../src/runtime/bootstrap.js';
import type { SimRandom } from './random.js';

type Variant = 'timings' | 'extra_member' | 'missing_member' | 'demoted_member';
const VARIANTS: readonly Variant[] = ['timings', 'extra_member', 'missing_member', 'demoted_member'];

/** drawMismatch returns, by node id, the configuration each mismatched node starts with (at least one node). */
export function drawMismatch(rng: SimRandom, config: ClusterConfig, profiles: readonly Timings[]): Map<string, ClusterConfig> {
  const voterCount = config.members.filter(isVoter).length;
  // At most this many voters may speak another cluster id and leave a majority behind.
  let voterBudget = voterCount - quorumSize(voterCount);
  const chosen: Member[] = [];
  const want = 1 + rng.int(Math.max(1, voterBudget + 1));
  for (const m of rng.shuffle(config.members)) {
    if (chosen.length >= want) break;
    if (isVoter(m)) {
      if (voterBudget === 0) continue;
      // The rest must keep an electable member.
      const rest = config.members.filter((o) => o !== m && !chosen.includes(o));
      if (!rest.some(isElectable)) continue;
      voterBudget--;
    }
    chosen.push(m);
  }
  const out = new Map<string, ClusterConfig>();
  // Either they share one other configuration, or each has its own.
  const shared = rng.chance(0.5);
  let sharedConfig: ClusterConfig | null = null;
  for (const m of chosen) {
    const group = shared ? chosen : [m];
    const alt: ClusterConfig = shared && sharedConfig ? sharedConfig : otherConfig(rng, config, profiles, group);
    if (shared) sharedConfig = alt;
    out.set(m.id, alt);
  }
  return out;
}

/** otherConfig is a configuration that differs from `config` and that `group` alone can never elect in. */
function otherConfig(rng: SimRandom, config: ClusterConfig, profiles: readonly Timings[], group: readonly Member[]): ClusterConfig {
  const name = config.clusterId.slice(0, config.clusterId.lastIndexOf('-'));
  const variant = rng.pick(VARIANTS);
  let members: Member[] = [...config.members];
  let timings = config.timings;
  switch (variant) {
    case 'timings': {
      const others = profiles.filter((p) => p !== config.timings);
      timings = others.length > 0 ? rng.pick(others) : { ...timings, electionJitterMs: timings.electionJitterMs + 1 };
      break;
    }
    case 'extra_member':
      members.push({ id: 'ghost', url: 'http://ghost', kind: 'data', state: 'voting' });
      break;
    case 'missing_member': {
      const outside = members.filter((m) => !group.includes(m));
      if (outside.length > 0) {
        const gone = rng.pick(outside);
        members = members.filter((m) => m !== gone);
      }
      break;
    }
    case 'demoted_member': {
      const outside = members.filter((m) => !group.includes(m) && isVoter(m));
      if (outside.length > 0) {
        const demoted = rng.pick(outside);
        members = members.map((m) => (m === demoted ? { ...m, state: 'catching_up' as const } : m));
      }
      break;
    }
  }
  const alt = initialConfig(name, members, timings);
  const altVoters = alt.members.filter(isVoter).map((m) => m.id);
  const groupVoters = group.filter((m) => altVoters.includes(m.id)).length;
  const differs = alt.clusterId !== config.clusterId;
  if (!differs || validateConfig(alt).length > 0 || groupVoters >= quorumSize(altVoters.length)) {
    // That variant could elect on its own (or made nothing different): a member more never can.
    return initialConfig(name, [...config.members, { id: 'ghost', url: 'http://ghost', kind: 'data', state: 'voting' }], config.timings);
  }
  return alt;
}
