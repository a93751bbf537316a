// EventQueue is the simulator's virtual clock: a binary min-heap of events
// ordered by true time, ties broken by the order they were scheduled, so two
// runs of one seed pop the same events in the same order.

export interface Scheduled {
  /** True time, in milliseconds since the run began. */
  at: number;
  /** Set by the queue: the tie-breaker among events at the same time. */
  seq: number;
}

export class EventQueue<T extends Scheduled> {
  private readonly heap: T[] = [];
  private nextSeq = 0;

  push(item: T): void {
    item.seq = this.nextSeq++;
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as T;
      if (!before(item, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = item;
  }

  pop(): T | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && before(h[r] as T, h[l] as T)) c = r;
      const child = h[c] as T;
      if (!before(child, last)) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
    return top;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
