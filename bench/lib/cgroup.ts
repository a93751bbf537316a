// CPU cgroups for the flap benchmark: each node's process in a group of its
// own with a CFS quota, as a Kubernetes pod's CPU limit is enforced (100m is
// 10 ms of CPU per 100 ms period). cgroup v1's cpu controller, as mounted on
// these machines; it needs root. Every group made here is removed at the end,
// on an error and on Ctrl-C: its processes are moved back to the root group
// first, so removal never waits for them to exit.

import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onCleanup } from './cleanup.js';
import { readText } from './proc.js';

export const CPU_ROOT = '/sys/fs/cgroup/cpu';
const PERIOD_US = 100_000;

/**
 * cgroupProblem says why CPU groups cannot be made here (no cgroup v1 cpu
 * controller, or it is not writable), or null when they can: it makes and
 * removes a probe group.
 */
export function cgroupProblem(): string | null {
  if (readText(join(CPU_ROOT, 'cgroup.procs')) === null) {
    return `no cgroup v1 cpu controller at ${CPU_ROOT} (cgroup v2 only, or not mounted)`;
  }
  const probe = join(CPU_ROOT, `quorumd-bench-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    writeFileSync(join(probe, 'cpu.cfs_quota_us'), String(PERIOD_US / 10));
  } catch (err) {
    return `${CPU_ROOT} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): run as root on a host with cgroup v1`;
  } finally {
    try {
      rmdirSync(probe);
    } catch {
      // It was never made.
    }
  }
  return null;
}

/** One CPU group, limited to `millicores` of a CPU (1000 = one core). */
export class CpuGroup {
  readonly path: string;
  private removed = false;
  private readonly forget: () => void;

  constructor(
    name: string,
    readonly millicores: number,
  ) {
    this.path = join(CPU_ROOT, name);
    mkdirSync(this.path);
    this.forget = onCleanup(() => this.remove());
    writeFileSync(join(this.path, 'cpu.cfs_period_us'), String(PERIOD_US));
    writeFileSync(join(this.path, 'cpu.cfs_quota_us'), String(Math.round((PERIOD_US * millicores) / 1000)));
  }

  /** add moves a process (all of its threads) into the group. */
  add(pid: number): void {
    writeFileSync(join(this.path, 'cgroup.procs'), String(pid));
  }

  /** throttled is how many periods the group ran out of quota in, and for how long in all (cpu.stat). */
  throttled(): { periods: number; throttledPeriods: number; throttledMs: number } {
    const stat = readText(join(this.path, 'cpu.stat')) ?? '';
    const field = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(stat)?.[1] ?? 0);
    return { periods: field('nr_periods'), throttledPeriods: field('nr_throttled'), throttledMs: field('throttled_time') / 1e6 };
  }

  /** remove moves any process left back to the root group and removes the group; safe to call twice. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    this.forget();
    const left = (readText(join(this.path, 'cgroup.procs')) ?? '').split('\n').filter((l) => l.trim() !== '');
    for (const pid of left) {
      try {
        writeFileSync(join(CPU_ROOT, 'cgroup.procs'), pid);
      } catch {
        // It exited meanwhile.
      }
    }
    try {
      rmdirSync(this.path);
    } catch (err) {
      process.stderr.write(`could not remove the cgroup ${this.path}: ${(err as Error).message}\n`);
    }
  }
}
