// What the kernel says a process has cost: CPU time from /proc/<pid>/stat
// (utime + stime, in clock ticks) and resident memory from /proc/<pid>/status,
// for the benchmarks that measure a process over a window of wall time.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { rssKiB } from './stats.js';

/** Clock ticks per second, as /proc counts CPU time (USER_HZ, nearly always 100). */
export const CLOCK_TICKS = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** cpuTicks is a process's user plus system CPU time in clock ticks, or null when it has gone. */
export function cpuTicks(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : null;
  } catch {
    return null;
  }
}

/** A window over one process: its CPU ticks and the wall clock at the start, and its resident memory sampled along the way. */
export class ProcessWindow {
  private readonly ticks0: number | null;
  private readonly t0 = performance.now();
  private readonly rss: number[] = [];
  private lastTicks: number | null;
  private lastAt = this.t0;

  constructor(readonly pid: number) {
    this.ticks0 = cpuTicks(pid);
    this.lastTicks = this.ticks0;
  }

  /** slice is the CPU ticks and wall seconds since the last slice (or the start), and samples the resident memory; null once the process has gone. */
  slice(): { ticks: number; seconds: number } | null {
    this.sample();
    const ticks = cpuTicks(this.pid);
    const at = performance.now();
    const out = ticks === null || this.lastTicks === null ? null : { ticks: ticks - this.lastTicks, seconds: (at - this.lastAt) / 1000 };
    this.lastTicks = ticks;
    this.lastAt = at;
    return out;
  }

  /** sample reads the resident memory once (call it every second or so). */
  sample(): void {
    const kib = rssKiB(this.pid);
    if (kib !== null) this.rss.push(kib);
  }

  /** end gives the CPU share over the window (100 = one core busy) and the resident memory, mean and last; null figures when the process went away. */
  end(): { cpuPercent: number | null; rssMeanKiB: number | null; rssLastKiB: number | null } {
    this.sample();
    const ticks1 = cpuTicks(this.pid);
    const seconds = (performance.now() - this.t0) / 1000;
    const cpuPercent = this.ticks0 === null || ticks1 === null || seconds <= 0 ? null : ((ticks1 - this.ticks0) / CLOCK_TICKS / seconds) * 100;
    const rssMeanKiB = this.rss.length ? this.rss.reduce((a, b) => a + b, 0) / this.rss.length : null;
    return { cpuPercent, rssMeanKiB, rssLastKiB: this.rss.at(-1) ?? null };
  }
}

/** readText is a small file's text, or null when it cannot be read. */
export function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
