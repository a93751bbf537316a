// Cleanup for the benchmarks: every process a benchmark starts and every temp
// folder it makes is registered here, and all of them are ended and removed
// on a normal end, on an error, and on Ctrl-C (SIGINT) or SIGTERM. A paused
// (SIGSTOP) child is continued before it is killed, so nothing is left behind.

import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const children = new Set<ChildProcess>();
const folders = new Set<string>();
const hooks = new Set<() => void>();
let installed = false;

/** track registers a child process; it is forgotten once it exits. */
export function track(child: ChildProcess): ChildProcess {
  installCleanup();
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** trackFolder registers a temp folder to remove at the end. */
export function trackFolder(dir: string): string {
  installCleanup();
  folders.add(dir);
  return dir;
}

/** onCleanup registers a synchronous action for the end (such as killing children a helper owns). */
export function onCleanup(hook: () => void): () => void {
  installCleanup();
  hooks.add(hook);
  return () => hooks.delete(hook);
}

/** cleanupNow ends every tracked child at once (SIGCONT, then SIGKILL) and removes every tracked folder. */
export function cleanupNow(): void {
  for (const hook of [...hooks]) {
    try {
      hook();
    } catch {
      // Cleanup goes on whatever one hook does.
    }
  }
  hooks.clear();
  for (const child of [...children]) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGCONT');
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  children.clear();
  for (const dir of [...folders]) rmSync(dir, { recursive: true, force: true });
  folders.clear();
}

/** installCleanup hooks the process's exit and the interrupt signals, once. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping every benchmark process and removing temp folders\n`);
      cleanupNow();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`uncaught: ${err.stack ?? String(err)}\n`);
    cleanupNow();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}\n`);
    cleanupNow();
    process.exit(1);
  });
}
