// What `quorumd ctl` prints for a person: plain text tables with aligned
// columns, and one or two lines above them that say what the table is.
// Pure functions of the API's answers (the --json output is those answers
// as they came), so they are tested without a cluster.

import { formatPosition, type LogPosition } from '../core/index.js';
import type { ClusterView, HistoryEntry, WhyReply } from '../runtime/service.js';

/** table aligns rows under their headers, two spaces between columns, trailing spaces trimmed. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[headers, ...rows].map(line).join('\n')}\n`;
}

/** ago says how long ago, in ms below a second and in seconds with one decimal above. */
export function ago(ms: number | null): string {
  if (ms === null) return 'never';
  return ms < 1000 ? `${ms} ms ago` : `${(ms / 1000).toFixed(1)} s ago`;
}

function position(p: LogPosition | null): string {
  return p === null ? '-' : formatPosition(p);
}

/** formatCluster is `ctl list`: a line about the view, then one row per member. */
export function formatCluster(view: ClusterView): string {
  const head =
    view.view === 'primary'
      ? `cluster ${view.clusterId ?? '-'}: primary ${view.primaryId ?? '-'} in term ${view.term}, commit watermark ${formatPosition(view.commitWatermark)}, ` +
        `${view.voters} voters (quorum ${view.quorum})`
      : `cluster ${view.clusterId ?? '-'}: PARTIAL view of ${view.viewedBy} (${view.partialBecause ?? 'not the primary'}); ` +
        `primary ${view.primaryId ?? 'unknown'}, term ${view.term}, commit watermark ${formatPosition(view.commitWatermark)}`;
  const paused = view.paused ? '\nautomatic failover is PAUSED (maintenance mode): nobody stands by itself; a switchover still works' : '';
  const rows = view.members.map((m) => [
    m.id,
    m.kind,
    m.state,
    m.role,
    m.term === null ? '-' : String(m.term),
    position(m.position),
    m.lag === null ? '-' : String(m.lag),
    m.id === view.viewedBy ? '-' : ago(m.lastContactAgoMs),
    m.electable ? 'yes' : `no: ${m.notElectableBecause ?? 'unknown'}`,
  ]);
  return `${head}${paused}\n${table(['MEMBER', 'KIND', 'STATE', 'ROLE', 'TERM', 'POSITION', 'LAG', 'LAST CONTACT', 'ELECTABLE'], rows)}`;
}

/** formatHistory is `ctl history`: one row per term, oldest first. */
export function formatHistory(entries: readonly HistoryEntry[]): string {
  if (entries.length === 0) return 'no term with a known primary yet\n';
  return table(
    ['TERM', 'PRIMARY', 'SINCE', 'LEARNT BY', 'WHY', 'TOOK', 'AT POSITION'],
    entries.map((e) => [
      String(e.term),
      e.primaryId,
      e.at,
      e.reason === 'elected' ? 'elected here' : 'heartbeat',
      e.election?.cause ?? '',
      e.election ? `${e.election.durationMs} ms` : '',
      e.election?.position ? `${e.election.position.term}/${e.election.position.lsn}` : '',
    ]),
  );
}

/** details writes a refusal's fields after its code: positions as term/lsn, configurations as term.version. */
export function details(reason: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(reason)) {
    if (key === 'code') continue;
    parts.push(`${key} ${show(value)}`);
  }
  return parts.length === 0 ? String(reason.code) : `${String(reason.code)} (${parts.join(', ')})`;
}

function show(value: unknown): string {
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.term === 'number' && typeof o.lsn === 'number') return `${o.term}/${o.lsn}`;
    if (typeof o.term === 'number' && typeof o.version === 'number') return `${o.term}.${o.version}`;
    return JSON.stringify(value);
  }
  if (typeof value === 'number' && !Number.isInteger(value)) return String(Math.round(value));
  return value === null ? 'none' : String(value);
}

/** formatWhy is `ctl why ID`: the verdict, the probe's tally, and each voter's answer. */
export function formatWhy(r: WhyReply): string {
  if (!r.probed) {
    return `${r.candidateId} cannot be elected: ${r.notElectableBecause ?? 'it cannot stand'}; no voter was asked\n`;
  }
  const verdict = r.wouldWin
    ? `${r.candidateId} would be elected now`
    : `${r.candidateId} would not be elected now${r.electable ? '' : `: ${r.notElectableBecause ?? 'it cannot stand'}`}`;
  const tally = `its dry-run probe for term ${r.term}, from position ${position(r.position)}, got ${r.votes} of the ${r.needed} votes needed`;
  const rows = r.voters.map((v) => [
    v.voterId,
    v.granted ? 'granted' : v.reason ? 'refused' : 'no answer',
    v.granted ? '' : v.reason ? details(v.reason) : (v.error ?? ''),
  ]);
  return `${verdict}\n${tally}\n${table(['VOTER', 'ANSWER', 'REASON'], rows)}`;
}
