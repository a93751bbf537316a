// The chaos suite's acked_writes_kept checker, on hand-built histories: it
// judges a later primary by the term in which a write was acknowledged, not
// the term in which it was written, and it still catches a real loss.

import t from 'tap';
import { ChaosCheckers } from './fixtures/checkers.js';
import { DataLog } from '../kit/data-log.js';

/** Primary x writes in term 30 and is deposed with its writes uncovered; y leads term 31 without them; x wins term 32. */
function deposedThenReelected(): { checkers: ChaosCheckers; x: DataLog; written: number } {
  const checkers = new ChaosCheckers(() => 0);
  const x = new DataLog('x');
  checkers.primaryFirstWrite(30, 'x', [...x.entries]);
  x.append(30, 0);
  for (let id = 1; id <= 8; id++) x.append(30, id);
  const y = new DataLog('y');
  checkers.primaryFirstWrite(31, 'y', [...y.entries]);
  y.append(31, 0);
  checkers.primaryFirstWrite(32, 'x', [...x.entries]);
  const noop = x.append(32, 0);
  // The watermark of term 32 covers the no-op: the whole prefix, term 30's writes included, is acknowledged now.
  checkers.acknowledge(noop, 'x', 32);
  return { checkers, x, written: 8 };
}

t.test('writes of term 30 acknowledged only in term 32 are not "lost" by the primary of term 31', async (t) => {
  const { checkers, written } = deposedThenReelected();
  t.same(checkers.violations, [], 'no violation: term 31 began before the acknowledgement');
  t.equal(checkers.ackedWrites, written, 'the covered prefix counts as acknowledged');
});

t.test('a primary of a term after the acknowledging one that lacks the writes is flagged, naming the acknowledging term', async (t) => {
  const { checkers } = deposedThenReelected();
  checkers.primaryFirstWrite(33, 'z', []);
  t.equal(checkers.count('acked_writes_kept'), 1, 'one violation');
  t.match(checkers.violations[0]?.message, /z, primary of term 33, lacks .* \(acknowledged by x in term 32\) when it first writes/);
});

t.test('a primary that first wrote before a late-observed acknowledgement is still judged by the acknowledging term', async (t) => {
  const checkers = new ChaosCheckers(() => 0);
  const x = new DataLog('x');
  checkers.primaryFirstWrite(5, 'x', []);
  const w = x.append(5, 1);
  // z leads term 6 without the write; only then does the test see x's watermark of term 5 cover it.
  checkers.primaryFirstWrite(6, 'z', []);
  checkers.acknowledge(w, 'x', 5);
  t.equal(checkers.count('acked_writes_kept'), 1, 'the primary of term 6 is flagged');
  t.match(checkers.violations[0]?.message, /z, primary of term 6, did not hold write #1 .*acknowledged by x in term 5/);
});

t.test('a later acknowledgement that replaces an acknowledged write is flagged', async (t) => {
  const checkers = new ChaosCheckers(() => 0);
  const a = new DataLog('a');
  checkers.primaryFirstWrite(1, 'a', []);
  checkers.acknowledge(a.append(1, 1), 'a', 1);
  const b = new DataLog('b');
  checkers.primaryFirstWrite(2, 'b', []);
  checkers.acknowledge(b.append(2, 2), 'b', 2);
  t.ok(checkers.count('acked_writes_kept') >= 1, 'the replacement is flagged');
  t.match(checkers.violations.map((v) => v.message).join('\n'), /acknowledges write #2 .* where write #1 .* was acknowledged by a \(term 1\)/);
});
