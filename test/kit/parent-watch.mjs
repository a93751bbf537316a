// Loaded into every node process the test kit starts (node --import, through
// NODE_OPTIONS; see PARENT_WATCH in cluster.ts): the node ends itself once the
// process that started it is gone.
//
// Why: the kit kills its nodes when the test process exits or takes a SIGTERM
// or SIGINT (reapOnExit), but a process can die without running any handler.
// tap ends a test file that outlasts its timeout with SIGALRM, which its own
// signal handling turns into the signal's default action, and then SIGKILL;
// either way no exit hook runs, and nodes were left serving for as long as the
// machine ran (six chaos nodes, forty minutes). A process whose parent is gone
// is reparented, so its parent id changes: that is checked twice a second, on
// a timer that never keeps the node alive by itself.

const parent = process.ppid;
const timer = setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
}, 500);
timer.unref();
