// Small figures for the benchmarks: nearest-rank percentiles, ratios and the
// resident memory of a process as the kernel reports it.

import { readFileSync } from 'node:fs';

export interface Summary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** percentile is the nearest-rank percentile of sorted values (p in (0, 100]). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
  };
}

/** ratio is a / b rounded to two places, or null when either is missing. */
export function ratio(a: number, b: number): number | null {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return Math.round((a / b) * 100) / 100;
}

export function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return '-';
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

export function fmtRatio(v: number | null): string {
  return v === null ? '-' : `${v.toFixed(2)}x`;
}

/** rssKiB reads VmRSS of a process from /proc/<pid>/status; null when it cannot. */
export function rssKiB(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function fmtMiB(kib: number | null): string {
  return kib === null ? '-' : `${(kib / 1024).toFixed(1)} MiB`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** row writes cells in fixed columns: the first `left` left-aligned (labels), the rest right-aligned (figures). */
export function row(cells: readonly string[], widths: readonly number[], left = 1): string {
  return cells
    .map((c, i) => (i < left ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
    .join(' ')
    .trimEnd();
}
