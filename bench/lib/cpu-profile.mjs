// Loaded into each quorumd node by `npm run bench:idle -- --cpu-prof DIR`
// (node --import, through NODE_OPTIONS, which does not take --cpu-prof): the
// first SIGWINCH starts V8's CPU profiler, the next one stops it and writes
// <DIR>/<node id>.cpuprofile (open it in Chrome's DevTools or speedscope), so
// the profile covers the bench's measured window and nothing of the start-up.

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  let running = false;
  process.on('SIGWINCH', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.start'));
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (err) return process.stderr.write(`cpu profile: ${err.message}\n`);
      writeFileSync(join(dir, `${process.env.QUORUMD_ID ?? process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
