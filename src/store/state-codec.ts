// The state file's format: how a HardState becomes bytes on disk and back,
// and the checks that make a torn, truncated or hand-edited file refuse to
// load instead of quietly resetting a node's vote or term.
//
// The file is pretty-printed JSON, so an operator can read it:
//   { "format": 3, "state": { term, votedFor, commitWatermark, config },
//     "checksum": "sha256:<hex>" }
// config is the cluster configuration { clusterId, term, version, members,
// timings }, or null on a node that joins and has not heard it yet. Format 1
// (before the configuration was replicated) held a bare member list instead;
// format 2's timings had no lease of their own.
// The checksum covers the canonical compact JSON of the state (fixed key
// order), so re-indenting the file keeps it valid while any changed value is
// detected.

import { createHash } from 'node:crypto';
import type { ClusterConfig, HardState, Member } from '../core/index.js';

/** The format version this code writes and the only one it reads. */
export const STATE_FORMAT_VERSION = 3;

const CHECKSUM_PREFIX = 'sha256:';
const CHECKSUM_PATTERN = /^sha256:[0-9a-f]{64}$/;

const FILE_KEYS = ['format', 'state', 'checksum'] as const;
const STATE_KEYS = ['term', 'votedFor', 'commitWatermark', 'config'] as const;
const POSITION_KEYS = ['term', 'lsn'] as const;
const CONFIG_KEYS = ['clusterId', 'term', 'version', 'members', 'timings'] as const;
const TIMING_KEYS = ['heartbeatMs', 'leaseMs', 'electionTimeoutMs', 'electionJitterMs', 'clockDriftBound'] as const;
const MEMBER_KEYS = ['id', 'url', 'kind', 'state'] as const;
const MEMBER_OPTIONAL_KEYS = ['autoPromote', 'priority'] as const;
const CONFIG_OPTIONAL_KEYS = ['paused'] as const;
const MEMBER_KINDS: readonly string[] = ['data', 'witness'];
const MEMBER_STATES: readonly string[] = ['voting', 'catching_up'];

/**
 * copyHardState returns a fresh, deep copy holding only the HardState fields,
 * in a fixed key order: the canonical form that is hashed and stored.
 */
export function copyHardState(s: HardState): HardState {
  return {
    term: s.term,
    votedFor: s.votedFor,
    commitWatermark: { term: s.commitWatermark.term, lsn: s.commitWatermark.lsn },
    config: s.config === null ? null : copyConfig(s.config),
  };
}

function copyConfig(c: ClusterConfig): ClusterConfig {
  const t = c.timings;
  return {
    clusterId: c.clusterId,
    term: c.term,
    version: c.version,
    members: c.members.map(
      (m): Member => ({
        id: m.id,
        url: m.url,
        kind: m.kind,
        state: m.state,
        ...(m.autoPromote === false ? { autoPromote: false } : {}),
        ...(m.priority === undefined ? {} : { priority: m.priority }),
      }),
    ),
    timings: {
      heartbeatMs: t.heartbeatMs,
      leaseMs: t.leaseMs,
      electionTimeoutMs: t.electionTimeoutMs,
      electionJitterMs: t.electionJitterMs,
      clockDriftBound: t.clockDriftBound,
    },
    ...(c.paused ? { paused: true } : {}),
  };
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (v === undefined || v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** checkFields says what is wrong with v as an object of exactly `keys`, or null. */
function checkFields(v: unknown, at: string, keys: readonly string[], exact: boolean, optional: readonly string[] = []): string | null {
  if (!isRecord(v)) return `${at} must be an object, got ${describe(v)}`;
  for (const k of keys) if (!Object.hasOwn(v, k)) return `${at}.${k} is missing`;
  if (exact) for (const k of Object.keys(v)) if (!keys.includes(k) && !optional.includes(k)) return `${at}.${k} is not a known field`;
  return null;
}

function checkNumber(v: unknown, at: string): string | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? null : `${at} must be a non-negative number, got ${describe(v)}`;
}

function checkCount(v: unknown, at: string): string | null {
  return Number.isSafeInteger(v) && (v as number) >= 0 ? null : `${at} must be a non-negative safe integer, got ${describe(v)}`;
}

function checkString(v: unknown, at: string): string | null {
  return typeof v === 'string' ? null : `${at} must be a string, got ${describe(v)}`;
}

function checkOneOf(v: unknown, at: string, allowed: readonly string[]): string | null {
  return typeof v === 'string' && allowed.includes(v) ? null : `${at} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(v)}`;
}

function checkMember(v: unknown, at: string, exact: boolean): string | null {
  const m = v as Record<string, unknown>;
  return (
    checkFields(v, at, MEMBER_KEYS, exact, MEMBER_OPTIONAL_KEYS) ??
    checkString(m.id, `${at}.id`) ??
    checkString(m.url, `${at}.url`) ??
    checkOneOf(m.kind, `${at}.kind`, MEMBER_KINDS) ??
    checkOneOf(m.state, `${at}.state`, MEMBER_STATES) ??
    (m.autoPromote === undefined || typeof m.autoPromote === 'boolean' ? null : `${at}.autoPromote must be a boolean, got ${describe(m.autoPromote)}`) ??
    (m.priority === undefined ? null : checkCount(m.priority, `${at}.priority`))
  );
}

function checkConfig(v: unknown, at: string, exact: boolean): string | null {
  if (v === null) return null;
  const c = v as Record<string, unknown>;
  const t = c?.timings as Record<string, unknown>;
  const found =
    checkFields(v, at, CONFIG_KEYS, exact, CONFIG_OPTIONAL_KEYS) ??
    (c.paused === undefined || typeof c.paused === 'boolean' ? null : `${at}.paused must be a boolean, got ${describe(c.paused)}`) ??
    checkString(c.clusterId, `${at}.clusterId`) ??
    checkCount(c.term, `${at}.term`) ??
    checkCount(c.version, `${at}.version`) ??
    checkFields(t, `${at}.timings`, TIMING_KEYS, exact) ??
    checkCount(t.heartbeatMs, `${at}.timings.heartbeatMs`) ??
    checkCount(t.leaseMs, `${at}.timings.leaseMs`) ??
    checkCount(t.electionTimeoutMs, `${at}.timings.electionTimeoutMs`) ??
    checkCount(t.electionJitterMs, `${at}.timings.electionJitterMs`) ??
    checkNumber(t.clockDriftBound, `${at}.timings.clockDriftBound`);
  if (found) return found;
  if (!Array.isArray(c.members)) return `${at}.members must be an array, got ${describe(c.members)}`;
  for (const [i, m] of c.members.entries()) {
    const bad = checkMember(m, `${at}.members[${i}]`, exact);
    if (bad) return bad;
  }
  return null;
}

/**
 * checkHardState says what is wrong with v as a HardState, naming the first
 * bad field, or returns null when every field is well formed. With `exact`,
 * unknown fields are refused too: a file with fields this version does not
 * know was not written by it.
 */
export function checkHardState(v: unknown, at = 'state', exact = false): string | null {
  const problem = checkFields(v, at, STATE_KEYS, exact);
  if (problem) return problem;
  const s = v as Record<string, unknown>;
  const wm = s.commitWatermark as Record<string, unknown>;
  return (
    checkCount(s.term, `${at}.term`) ??
    (s.votedFor === null ? null : checkString(s.votedFor, `${at}.votedFor`)) ??
    checkFields(wm, `${at}.commitWatermark`, POSITION_KEYS, exact) ??
    checkCount(wm.term, `${at}.commitWatermark.term`) ??
    checkCount(wm.lsn, `${at}.commitWatermark.lsn`) ??
    checkConfig(s.config, `${at}.config`, exact)
  );
}

function checksumOf(canonical: HardState): string {
  return CHECKSUM_PREFIX + createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/** encodeStateFile renders a state as file bytes; the state must pass checkHardState. */
export function encodeStateFile(state: HardState): Uint8Array {
  const problem = checkHardState(state);
  if (problem) throw new TypeError(`refusing to write a malformed state: ${problem}`);
  const canonical = copyHardState(state);
  const file = { format: STATE_FORMAT_VERSION, state: canonical, checksum: checksumOf(canonical) };
  return Buffer.from(`${JSON.stringify(file, null, 2)}\n`, 'utf8');
}

export type Decoded = { readonly ok: true; readonly state: HardState } | { readonly ok: false; readonly why: string };

/** decodeStateFile reads file bytes back into a state, or says why they cannot be trusted. */
export function decodeStateFile(bytes: Uint8Array): Decoded {
  const fail = (why: string): Decoded => ({ ok: false, why });
  if (bytes.length === 0) return fail('it is empty (a torn write?)');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('it is not UTF-8 text');
  }
  let file: unknown;
  try {
    file = JSON.parse(text);
  } catch (err) {
    return fail(`it is not valid JSON (${(err as Error).message}); it may be truncated`);
  }
  const shape = checkFields(file, 'the file', FILE_KEYS, true);
  if (shape) return fail(shape);
  const f = file as Record<string, unknown>;
  if (f.format !== STATE_FORMAT_VERSION) {
    return fail(`its format version ${describe(f.format)} is not supported (this quorumd reads version ${STATE_FORMAT_VERSION})`);
  }
  if (typeof f.checksum !== 'string' || !CHECKSUM_PATTERN.test(f.checksum)) {
    return fail(`its checksum must be "sha256:" and 64 hex digits, got ${describe(f.checksum)}`);
  }
  const bad = checkHardState(f.state, 'state', true);
  if (bad) return fail(bad);
  const state = copyHardState(f.state as HardState);
  if (checksumOf(state) !== f.checksum) return fail('its checksum does not match its contents (edited or corrupted)');
  return { ok: true, state };
}
