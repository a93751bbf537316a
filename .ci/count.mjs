// Reads a TAP stream on stdin (tap's `--reporter=tap` output), echoes it, and
// ends with one line "N passed, N failed": the named tests that ran, counted
// at the leaves. A test with subtests counts through its subtests, plus one
// failure of its own when it failed although none of them did (a crash, a
// timeout, a failed assertion outside any subtest).
import { Parser } from 'tap-parser';

let passed = 0;
let failed = 0;
let skipped = 0;

function watch(parser, parent) {
  const node = { children: 0, fails: 0, parent };
  parser.on('child', (child) => {
    node.children++;
    watch(child, node);
  });
  parser.on('complete', (results) => {
    let own = 0;
    if (node.children === 0 && parser.level > 0) {
      if (results.plan?.skipAll) skipped++;
      else if (results.ok) passed++;
      else own = 1;
    } else if (!results.ok && node.fails === 0) {
      own = 1;
    }
    failed += own;
    for (let p = parent; p; p = p.parent) p.fails += own;
  });
}

const root = new Parser();
watch(root, null);
process.stdin.on('data', (d) => process.stdout.write(d));
process.stdin.pipe(root);
root.on('complete', () => {
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
});
