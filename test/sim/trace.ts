// Trace keeps the last lines of a run, one per thing that happened: true time,
// node, what. It is a ring buffer and formats lazily, so that keeping it on
// for every one of thousands of seeds costs little; a run with an unbounded
// limit keeps every line (the replay test compares two such traces).

import { formatPosition, type Message, type Refusal } from '../../src/core/index.js';

export type TraceDetail = string | (() => string);

interface Line {
  at: number;
  node: string;
  detail: TraceDetail;
}

export class Trace {
  readonly limit: number;
  private readonly ring: Line[] = [];
  private next = 0;

  constructor(limit: number) {
    this.limit = Math.max(1, limit);
  }

  add(at: number, node: string, detail: TraceDetail): void {
    if (this.ring.length < this.limit) {
      this.ring.push({ at, node, detail });
      return;
    }
    const line = this.ring[this.next] as Line;
    line.at = at;
    line.node = node;
    line.detail = detail;
    this.next = (this.next + 1) % this.limit;
  }

  /** lines returns the kept lines, oldest first, formatted. */
  lines(last = Infinity): string[] {
    const ordered = [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    const from = Math.max(0, ordered.length - last);
    return ordered.slice(from).map(formatLine);
  }
}

export function formatLine(l: { at: number; node: string; detail: TraceDetail }): string {
  const text = typeof l.detail === 'string' ? l.detail : l.detail();
  return `${l.at.toFixed(3).padStart(10)}  ${l.node.padEnd(3)}  ${text}`;
}

export function describeMessage(m: Message): string {
  switch (m.type) {
    case 'vote_request':
      return `${m.dryRun ? 'probe' : 'ballot'} r${m.round} for ${m.candidateId} t${m.term} at ${m.lastLogTerm}/${m.lastLogLsn}${m.handoff ? ' handoff' : ''}`;
    case 'vote_response':
      return `${m.dryRun ? 'probe' : 'ballot'} reply r${m.round} from ${m.voterId} t${m.term} ${m.granted ? 'granted' : `refused ${describeRefusal(m.reason)}`}`;
    case 'heartbeat':
      return `heartbeat r${m.round} t${m.term} from ${m.primaryId} wm ${formatPosition(m.commitWatermark)}${m.handoffTo ? ` handoff to ${m.handoffTo}` : ''}`;
    case 'heartbeat_response':
      return `heartbeat reply r${m.round} from ${m.memberId} t${m.term} ${m.success ? 'ok' : 'rejected'}${m.position ? ` at ${formatPosition(m.position)}` : ''}`;
    case 'handoff':
      return `handoff t${m.term} from ${m.primaryId}`;
  }
}

function describeRefusal(r: Refusal | undefined): string {
  if (!r) return '(no reason)';
  switch (r.code) {
    case 'watermark_not_covered':
      return `watermark_not_covered ${formatPosition(r.candidatePosition)} < ${formatPosition(r.commitWatermark)}`;
    case 'log_behind':
      return `log_behind ${formatPosition(r.candidatePosition)} < ${formatPosition(r.voterPosition)}`;
    case 'stale_term':
      return `stale_term ${r.candidateTerm} < ${r.voterTerm}`;
    case 'already_voted':
      return `already_voted t${r.term} for ${r.votedFor}`;
    case 'primary_alive':
      return `primary_alive ${r.primaryId ?? '?'} ${r.lastHeartbeatAgoMs.toFixed(1)}ms ago`;
    default:
      return r.code;
  }
}
