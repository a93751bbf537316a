// The HTTP API of real quorumd processes under hostile input: property-based
// requests (fast-check) against a running 3-node cluster (two data nodes and a
// witness, with a cluster token) that has a primary and roles to keep. Every
// request goes to a real process over loopback. After each request (or each
// concurrent batch) the test reads every node's state.json bytes and /status
// and compares them with the snapshot taken before: a refused request must
// change nothing, no answer may be a 5xx, and every process must stay up in
// its role (the primary stays primary, in the same term).
//
// Three kinds of input:
//   - refused input: every route and method, wrong types, huge, negative and
//     fractional integers, unknown and duplicated fields, long strings, deep
//     nesting, invalid JSON, wrong content types, oversized bodies, missing
//     and wrong tokens, odd paths and query strings;
//   - malformed HTTP on a raw socket;
//   - authorized, well-formed messages that must be refused: floods of probes
//     and ballots with terms up to 2^53 - 1 and random candidate ids (member
//     ids among them), stale heartbeats, handoffs of another term. A term
//     above MAX_TERM (2^52) is refused by the HTTP layer with a 400 naming the
//     field; the rest reach the node and are refused by it.
// Requests that carry the token and are well formed yet would legitimately
// change a node (a heartbeat of the current term, a position report, a
// switchover) are protocol traffic, not hostile input: they are left out.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Value } from '@sinclair/typebox/value';
import { TypeRegistry, type TSchema } from '@sinclair/typebox';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { ProcessCluster, waitFor } from '../kit/cluster.js';
import { HandoffBody, HeartbeatBody, LogPosition, MAX_TERM, SwitchoverBody, VoteBody, sharedSchemas } from '../../src/schemas.js';
import type { StatusView } from '../../src/runtime/service.js';

const TOKEN = `hostile-${randomBytes(16).toString('hex')}`;
/** QUORUMD_HOSTILE_SEED replays the generated requests of a failed run (it is printed on failure). */
const SEED = process.env.QUORUMD_HOSTILE_SEED ? Number(process.env.QUORUMD_HOSTILE_SEED) : undefined;
const MAX = Number.MAX_SAFE_INTEGER;
/** Slow timings: the cluster must keep its primary through the load on two cores; timing is not under test here. */
const TIMINGS = { heartbeatMs: 100, electionTimeoutMs: 1500, electionJitterMs: 500 };
const SPECS = [
  { id: 'd1', kind: 'data' as const },
  { id: 'd2', kind: 'data' as const },
  { id: 'w1', kind: 'witness' as const },
];
const IDS = SPECS.map((s) => s.id);

// ---- the cluster and what must not change ----

interface NodeView {
  readonly state: string;
  readonly term: number;
  readonly votedFor: string | null;
  readonly role: string;
  readonly primaryId: string | null;
}

type Snapshot = Map<string, NodeView>;

interface Fixture {
  readonly cluster: ProcessCluster;
  readonly primaryId: string;
  readonly term: number;
  readonly baseline: Snapshot;
}

async function startCluster(t: Test): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'quorumd-hostile-'));
  let started: ProcessCluster | null = null;
  t.teardown(async () => {
    await started?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const cluster = await ProcessCluster.start({ specs: SPECS, dir, timings: TIMINGS, token: TOKEN });
  started = cluster;
  for (const id of IDS) await cluster.waitUp(id);
  for (const s of SPECS) if (s.kind === 'data') await waitFor(() => cluster.reportPosition(s.id, { term: 0, lsn: 0 }), 10_000, `${s.id} to take its position`);
  const agreed = await cluster.waitAgreedPrimary(IDS, 20_000);
  // Let every follower persist the term it learned from the first heartbeats.
  await new Promise((r) => setTimeout(r, 3 * TIMINGS.heartbeatMs));
  const baseline = await snapshot(cluster);
  const a = agreed;
  return { cluster, primaryId: a.primaryId, term: a.term, baseline };
}

async function view(cluster: ProcessCluster, id: string): Promise<NodeView> {
  const state = readFileSync(join(cluster.node(id).dataDir, 'state.json'), 'utf8');
  const s: StatusView | null = await cluster.status(id, 3_000);
  if (!s) return { state, term: -1, votedFor: null, role: 'no answer', primaryId: null };
  return { state, term: s.term, votedFor: s.votedFor, role: s.role, primaryId: s.primaryId };
}

async function snapshot(cluster: ProcessCluster, ids: readonly string[] = IDS): Promise<Snapshot> {
  const out: Snapshot = new Map();
  for (const id of ids) out.set(id, await view(cluster, id));
  return out;
}

/** changes lists how the nodes differ from the baseline, and any node that is not running. */
async function changes(f: Fixture, ids: readonly string[] = IDS): Promise<string[]> {
  const found: string[] = [];
  for (const id of ids) {
    if (!f.cluster.isRunning(id)) {
      found.push(`${id} is not running; its last output: ${f.cluster.node(id).output.slice(-5).join(' | ')}`);
      continue;
    }
    const before = f.baseline.get(id)!;
    const after = await view(f.cluster, id);
    if (after.state !== before.state) found.push(`${id}'s state.json changed: ${compact(before.state)} -> ${compact(after.state)}`);
    for (const k of ['term', 'votedFor', 'role', 'primaryId'] as const) {
      if (after[k] !== before[k]) found.push(`${id}'s ${k} changed: ${String(before[k])} -> ${String(after[k])}`);
    }
  }
  return found;
}

function compact(stateJson: string): string {
  try {
    const s = (JSON.parse(stateJson) as { state: { term: number; votedFor: string | null; commitWatermark: unknown } }).state;
    return JSON.stringify({ term: s.term, votedFor: s.votedFor, commitWatermark: s.commitWatermark });
  } catch {
    return `${stateJson.length} unreadable bytes`;
  }
}

// ---- requests ----

interface HostileRequest {
  readonly target: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | null;
}

interface Answer {
  readonly code: number;
  readonly text: string;
}

/** send sends one request; null when the client itself refused to send it (an invalid header, say). */
async function send(cluster: ProcessCluster, r: HostileRequest): Promise<Answer | null> {
  try {
    const res = await request(cluster.node(r.target).url + r.path, {
      method: r.method as 'GET',
      headers: r.headers,
      ...(r.body === null ? {} : { body: r.body }),
      signal: AbortSignal.timeout(10_000),
    });
    return { code: res.statusCode, text: await res.body.text() };
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    // undici refuses some inputs before sending; a reset after an oversized request is the server's answer.
    if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED' || (err as Error).name === 'InvalidArgumentError') return null;
    if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE') return { code: 0, text: `connection closed: ${code}` };
    throw err;
  }
}

function describeRequest(r: HostileRequest): string {
  const body = r.body === null ? '' : ` body(${r.body.length}) ${r.body.length > 300 ? `${r.body.slice(0, 300)}...` : r.body}`;
  return `${r.method} ${r.target}${r.path.length > 200 ? `${r.path.slice(0, 200)}...` : r.path} headers ${JSON.stringify(r.headers).slice(0, 300)}${body}`;
}

/** The designed "no" of the probes: 503 from these, when the node is not what is asked, is not a fault. */
function isProbeNo(r: HostileRequest, a: Answer): boolean {
  const path = r.path.split('?')[0];
  return a.code === 503 && (r.method === 'GET' || r.method === 'HEAD') && (path === '/primary' || path === '/replica' || path === '/readyz');
}

const PROTECTED: ReadonlyArray<{ method: string; path: string; schema: TSchema }> = [
  { method: 'POST', path: '/vote', schema: VoteBody },
  { method: 'POST', path: '/heartbeat', schema: HeartbeatBody },
  { method: 'POST', path: '/handoff', schema: HandoffBody },
  { method: 'PUT', path: '/log', schema: LogPosition },
  { method: 'POST', path: '/switchover', schema: SwitchoverBody },
];
const READ_ONLY = ['/status', '/members', '/history', '/healthz', '/readyz', '/primary', '/replica', '/metrics', '/openapi.json'];

/**
 * mayBeAccepted says whether a request could get past the token check, the
 * body parser and the schema of a protected route: the token appears in its
 * Authorization header, its content type mentions JSON and its body parses to
 * a value the route's schema accepts. It errs towards yes; the refused-input
 * property leaves such requests out (the third property covers the well-formed
 * messages that must be refused).
 */
// The schemas' string enums are Type.Unsafe, which Value.Check needs to be told how to check.
if (!TypeRegistry.Has('Unsafe')) {
  TypeRegistry.Set('Unsafe', (schema: { enum?: unknown[]; type?: string }, value: unknown) => {
    return (schema.type !== 'string' || typeof value === 'string') && (!schema.enum || schema.enum.includes(value));
  });
}

function mayBeAccepted(r: HostileRequest): boolean {
  let path = r.path.split('?')[0]!.split('#')[0]!;
  try {
    // The router decodes percent-escapes: /vot%65 is /vote.
    path = decodeURIComponent(path);
  } catch {
    // Not a valid escape: the router will not match it either.
  }
  const route = PROTECTED.find((p) => p.method === r.method.toUpperCase() && p.path === path);
  if (!route) return false;
  const auth = Object.entries(r.headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1] ?? '';
  if (!auth.includes(TOKEN)) return false;
  const type = Object.entries(r.headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  if (!/json/i.test(type)) return false;
  if (r.body === null) return route.path === '/switchover';
  let value: unknown;
  try {
    value = JSON.parse(r.body.replace(/^\uFEFF/, ''));
  } catch {
    return false;
  }
  return Value.Check(route.schema, [...sharedSchemas], value);
}

// ---- arbitraries ----

/** JSON text of an object from [key, raw JSON value text] pairs, keys in the order given (duplicates kept). */
function objectText(fields: ReadonlyArray<readonly [string, string]>): string {
  return `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

const member = fc.constantFrom(...IDS);
const validId = fc.oneof(member, fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/));
const anyId = fc.oneof(
  validId,
  fc.string({ maxLength: 80 }),
  fc.constantFrom('', 'x'.repeat(65), 'a'.repeat(5_000), '../../etc/passwd', 'd1\u0000', 'd\u00e9', '<script>', 'd1 ', ' d1', '__proto__'),
);
const count = fc.oneof(fc.nat({ max: 12 }), fc.constantFrom(MAX, MAX - 1, 2 ** 52, 2 ** 31, 2 ** 32), fc.maxSafeNat());
/** Literals that are not a whole number in [0, 2^53 - 1], or not a number, or not JSON at all. */
const badNumber = fc.constantFrom(
  '-1',
  '-0',
  '1.5',
  '0.1',
  '1e3',
  '1.0',
  '1E400',
  '-1e400',
  '9007199254740992',
  '9007199254740993',
  '18446744073709551616',
  '1e16',
  '1.0000000000000001',
  '4503599627370496.5',
  '123456789012345678901234567890',
  '-9007199254740991',
  'NaN',
  'Infinity',
  '0x10',
  '"5"',
  '"9007199254740991"',
  'null',
  'true',
  '[]',
  '[1]',
  '{}',
  '{"term":1}',
);
const numberText = fc.oneof({ weight: 2, arbitrary: count.map(String) }, { weight: 3, arbitrary: badNumber });
const boolText = fc.oneof(fc.constantFrom('true', 'false'), fc.constantFrom('"true"', '0', '1', 'null', '[]'));
const idText = anyId.map((s) => JSON.stringify(s));
const deep = fc
  .integer({ min: 1, max: 6_000 })
  .chain((depth) => fc.constantFrom('['.repeat(depth) + ']'.repeat(depth), '{"a":'.repeat(depth) + '1' + '}'.repeat(depth), '['.repeat(depth)));
const longString = fc.integer({ min: 100, max: 20_000 }).map((n) => JSON.stringify('\u00e9x'.repeat(n)));
/** Any value of the wrong kind for a field. */
const wrongValue = fc.oneof(
  badNumber,
  idText,
  deep,
  longString,
  fc.json({ maxDepth: 3 }),
  fc.constantFrom('{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}'),
);

const memberText = fc
  .tuple(
    anyId,
    fc.constantFrom('http://127.0.0.1:1', 'https://example.invalid:8443/x', 'ftp://x', 'javascript:alert(1)', 'http://' + 'a'.repeat(300)),
    fc.constantFrom('data', 'witness', 'arbiter'),
    fc.constantFrom('voting', 'catching_up', 'dead'),
  )
  .map(([id, url, kind, state]) =>
    objectText([
      ['id', JSON.stringify(id)],
      ['url', JSON.stringify(url)],
      ['kind', JSON.stringify(kind)],
      ['state', JSON.stringify(state)],
    ]),
  );
const positionText = fc.tuple(numberText, numberText).map(([term, lsn]) =>
  objectText([
    ['term', term],
    ['lsn', lsn],
  ]),
);

/** The fields of each protected route's body, each with values of the right shape and of many wrong ones. */
const routeFields: Record<string, fc.Arbitrary<Array<readonly [string, string]>>> = {
  '/vote': fc
    .tuple(idText, numberText, numberText, numberText, boolText, fc.option(boolText, { nil: undefined }))
    .map(([c, term, lt, ll, dry, h]) => [
      ['candidateId', c] as const,
      ['term', term] as const,
      ['lastLogTerm', lt] as const,
      ['lastLogLsn', ll] as const,
      ['dryRun', dry] as const,
      ...(h === undefined ? [] : [['handoff', h] as const]),
    ]),
  '/heartbeat': fc
    .tuple(numberText, idText, positionText, numberText, fc.array(memberText, { maxLength: 70 }), numberText, fc.option(idText, { nil: undefined }))
    .map(([term, p, wm, version, members, lease, to]) => [
      ['term', term] as const,
      ['primaryId', p] as const,
      ['commitWatermark', wm] as const,
      [
        'membership',
        objectText([
          ['version', version],
          ['members', `[${members.join(',')}]`],
        ]),
      ] as const,
      ['leaseMs', lease] as const,
      ...(to === undefined ? [] : [['handoffTo', to] as const]),
    ]),
  '/handoff': fc.tuple(numberText, idText).map(([term, p]) => [['term', term] as const, ['primaryId', p] as const]),
  '/log': fc.tuple(numberText, numberText).map(([term, lsn]) => [['term', term] as const, ['lsn', lsn] as const]),
  '/switchover': fc.option(idText, { nil: undefined }).map((target) => (target === undefined ? [] : [['target', target] as const])),
};

type Mutation =
  | { kind: 'drop'; at: number }
  | { kind: 'replace'; at: number; value: string }
  | { kind: 'unknown'; key: string; value: string }
  | { kind: 'duplicate'; at: number; value: string }
  | { kind: 'rename'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: wrongValue }),
  fc.record({
    kind: fc.constant('unknown' as const),
    key: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('__proto__', 'constructor', 'extra', 'Term')),
    value: wrongValue,
  }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), value: numberText }),
  fc.record({ kind: fc.constant('rename' as const), at: fc.nat() }),
);

function mutate(fields: Array<readonly [string, string]>, m: Mutation): Array<readonly [string, string]> {
  const out = [...fields];
  if (m.kind === 'unknown') return [...out, [m.key, m.value]];
  if (out.length === 0) return out;
  const i = m.at % out.length;
  const [key, value] = out[i]!;
  switch (m.kind) {
    case 'drop':
      out.splice(i, 1);
      break;
    case 'replace':
      out[i] = [key, m.value];
      break;
    case 'duplicate':
      out.push([key, m.value]);
      break;
    case 'rename':
      out[i] = [key.toUpperCase() === key ? key.toLowerCase() : key.toUpperCase(), value];
      break;
  }
  return out;
}

const routeBody: fc.Arbitrary<{ path: string; body: string }> = fc
  .constantFrom(...PROTECTED.map((p) => p.path))
  .chain((path) => fc.tuple(fc.constant(path), routeFields[path]!, fc.array(mutation, { maxLength: 3 })))
  .map(([path, fields, ms]) => ({ path, body: objectText(ms.reduce(mutate, fields)) }));

/** Bodies that are not the route's shape at all. */
const strayBody = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.string({ maxLength: 200 }),
  deep,
  fc.integer({ min: 8_000, max: 40_000 }).map((n) => `{"candidateId":"${'a'.repeat(n)}"}`),
  fc.constantFrom('', ' ', 'null', '[]', '{}', '{"term":1,}', '{"term":1} trailing', '\uFEFF{}', '{"term"', '/* x */ {}', "{'term':1}", '{"term":1}{"term":2}'),
);

const authHeader = fc.oneof(
  { weight: 6, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `bearer ${TOKEN}`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.toUpperCase()}`,
      `Bearer ${TOKEN} ${TOKEN}`,
      TOKEN,
      `Basic ${Buffer.from(`quorumd:${TOKEN}`).toString('base64')}`,
      'Bearer not-the-cluster-token-at-all',
      `Bearer ${'a'.repeat(20_000)}`,
      'Bearer \u00e9\u00e9',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`) },
);
const contentType = fc.oneof(
  { weight: 3, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      undefined,
      'application/json',
      'application/json',
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json; charset=utf-16',
      'application/json-patch+json',
      'application/vnd.api+json',
      'text/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      '',
      'json',
      'application/json, text/plain',
    ),
  },
);
const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS');
const oddPath = fc.oneof(
  fc.constantFrom(
    '/',
    '//status',
    '/vote/',
    '/VOTE',
    '/vote%00',
    '/%2e%2e/status',
    '/status/../vote',
    '/members/d1',
    '/members/../../etc/passwd',
    '/switchover?target=d2',
    '/vote?term=9007199254740991',
    '/status?' + 'q'.repeat(9_000),
    '/' + 'a'.repeat(20_000),
    '/primary?x=1',
    '/history?limit=-1',
    '/metrics?name[]=1',
    '/openapi.json#x',
  ),
  fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
);

/** A request of any shape; for the refused-input property, those that might be accepted are filtered out. */
const hostileRequest: fc.Arbitrary<HostileRequest> = fc
  .record({
    target: member,
    auth: authHeader,
    type: contentType,
    shape: fc.oneof(
      { weight: 6, arbitrary: routeBody.map((b) => ({ ...b, method: PROTECTED.find((p) => p.path === b.path)!.method })) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.constantFrom(...PROTECTED.map((p) => p.path)), strayBody)
          .map(([path, body]) => ({ path, body, method: PROTECTED.find((p) => p.path === path)!.method })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom(...PROTECTED.map((p) => p.path), ...READ_ONLY), method, strayBody)
          .map(([path, m, body]) => ({ path, body, method: m })),
      },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...READ_ONLY), fc.constantFrom('GET', 'HEAD')).map(([path, m]) => ({ path, body: null, method: m })) },
      { weight: 1, arbitrary: fc.tuple(oddPath, method, fc.option(strayBody, { nil: null })).map(([path, m, body]) => ({ path, body, method: m })) },
    ),
    extra: fc.option(fc.dictionary(fc.stringMatching(/^x-[a-z]{1,10}$/), fc.string({ maxLength: 40 }), { maxKeys: 3 }), { nil: undefined }),
  })
  .map(({ target, auth, type, shape, extra }) => {
    const headers: Record<string, string> = { ...extra };
    if (auth !== undefined) headers.authorization = auth;
    if (type !== undefined) headers['content-type'] = type;
    const body = shape.method === 'GET' || shape.method === 'HEAD' ? null : shape.body;
    return { target, method: shape.method, path: shape.path, headers, body };
  });

// ---- the properties ----

/** holds runs a property and turns its outcome into one assertion that names the failing input and the seed to replay it. */
async function holds<Ts extends [unknown, ...unknown[]]>(t: Test, what: string, property: fc.IAsyncProperty<Ts>, numRuns: number): Promise<void> {
  const out = await fc.check(property, { numRuns, endOnFailure: true, ...(SEED === undefined ? {} : { seed: SEED }) });
  if (out.failed) {
    const why = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
    t.fail(`${what}:\n${why}`, { seed: out.seed, replay: `QUORUMD_HOSTILE_SEED=${out.seed}`, run: out.numRuns });
  } else {
    t.pass(`${what} (${out.numRuns} runs)`);
  }
}

const REFUSED_RUNS = 3_000;
const RAW_RUNS = 200;
const FLOOD_BATCHES = 40;
const FLOOD_BATCH = { min: 20, max: 60 };
const SELF_BATCHES = 10;

t.test(
  'hostile requests to every route (wrong types, huge and negative integers, unknown fields, long strings, deep nesting, invalid JSON, wrong content types, missing and wrong tokens) never get a 5xx and change nothing: state.json bytes, term, vote, role and primary stay as they were',
  async (t) => {
    const f = await startCluster(t);
    const startedAt = performance.now();
    const codes = new Map<number, number>();
    let unsent = 0;
    let sent = 0;
    await holds(
      t,
      'no hostile request gets a 5xx or changes its node',
      fc.asyncProperty(
        hostileRequest.filter((r) => !mayBeAccepted(r)),
        async (r) => {
          const a = await send(f.cluster, r);
          if (a === null) {
            unsent++;
            return;
          }
          sent++;
          codes.set(a.code, (codes.get(a.code) ?? 0) + 1);
          if (a.code >= 500 && !isProbeNo(r, a)) throw new Error(`answered ${a.code} ${a.text.slice(0, 300)} to ${describeRequest(r)}`);
          const found = await changes(f, [r.target]);
          if (found.length > 0) throw new Error(`${describeRequest(r)} (answered ${a.code} ${a.text.slice(0, 200)}) changed the node: ${found.join('; ')}`);
        },
      ),
      REFUSED_RUNS,
    );
    const tookS = (performance.now() - startedAt) / 1000;
    t.comment(
      `${sent} requests in ${tookS.toFixed(1)} s (${unsent} more refused by the client before sending); answers: ${[...codes.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([c, n]) => `${c} x${n}`)
        .join(', ')}`,
    );
    t.ok(sent >= REFUSED_RUNS * 0.9, `at least 90% of the ${REFUSED_RUNS} requests reached the node (${sent})`);
    t.notOk(
      [...codes.keys()].some((c) => c >= 500 && c !== 503),
      "no 5xx but the probes' designed 503",
    );
    t.ok(
      [...codes.keys()].some((c) => c === 400) && codes.has(401) && codes.has(415),
      'the input was refused for its shape (400), its token (401) and its content type (415)',
    );
    t.strictSame(await changes(f), [], 'every node keeps its state, term, vote, role and primary');
    t.equal((await f.cluster.agreedPrimary(IDS))?.primaryId, f.primaryId, `the cluster keeps its primary ${f.primaryId}`);

    t.test('malformed HTTP on a raw socket gets a 4xx or a closed connection, never a 5xx, and changes nothing', async (t) => {
      const fixed = [
        'GARBAGE\r\n\r\n',
        'GET\r\n\r\n',
        'GET / HTTP/9.9\r\n\r\n',
        'GET /status HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
        `GET /status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`,
        'POST /vote HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"term":1}',
        'POST /vote HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        `POST /vote HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
        `POST /vote HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n`,
        `POST /heartbeat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999\r\n\r\n`,
        'GET http://evil.example/status HTTP/1.1\r\nHost: evil.example\r\n\r\n',
        'GET /status HTTP/1.0\r\n\r\n',
        'GET /status?\u0000 HTTP/1.1\r\nHost: x\r\n\r\n',
        '\r\n\r\n\r\n',
      ];
      const raw = fc.oneof(
        fc.constantFrom(...fixed).map((s) => Buffer.from(s, 'latin1')),
        fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b)),
        fc
          .tuple(
            fc.stringMatching(/^[A-Z]{1,10}$/),
            fc.string({ maxLength: 100 }),
            fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2', 'HTTP/1.1 x', ''),
            fc.uint8Array({ maxLength: 500 }),
          )
          .map(([m, p, v, tail]) => Buffer.concat([Buffer.from(`${m} /${p} ${v}\r\nHost: x\r\n`, 'utf8'), Buffer.from(tail), Buffer.from('\r\n\r\n')])),
      );
      const statuses = new Map<string, number>();
      await holds(
        t,
        'no malformed HTTP gets a 5xx or changes its node',
        fc.asyncProperty(raw, member, async (bytes, target) => {
          const line = await rawExchange(f.cluster.node(target).port, bytes);
          const code = /^HTTP\/1\.[01] (\d{3})/.exec(line)?.[1];
          const key = code ?? (line === '' ? 'closed' : 'other');
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
          if (code && Number(code) >= 500) throw new Error(`answered "${line}" to ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`);
          const found = await changes(f, [target]);
          if (found.length > 0) throw new Error(`${JSON.stringify(bytes.toString('latin1').slice(0, 200))} changed ${target}: ${found.join('; ')}`);
        }),
        RAW_RUNS,
      );
      t.comment(`raw answers: ${[...statuses.entries()].map(([k, n]) => `${k} x${n}`).join(', ')}`);
      t.notOk(
        [...statuses.keys()].some((k) => /^5/.test(k)),
        'no raw request got a 5xx',
      );
      t.strictSame(await changes(f), [], 'every node keeps its state, term, vote, role and primary');
    });
  },
);

/** rawExchange writes bytes to a fresh connection and returns the first line of the answer ('' if the connection closed without one). */
function rawExchange(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let got = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got.split('\r\n')[0] ?? '');
    };
    // A request the server waits on (an incomplete body, say) gets no answer in time: that is no fault.
    const timer = setTimeout(done, 1_500);
    socket.on('error', done);
    socket.on('close', done);
    socket.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) done();
    });
    socket.write(bytes, () => socket.end());
  });
}

/**
 * flood sends batches of authorized, well-formed messages that a healthy
 * cluster must refuse, all of a batch at once, and checks every reply and
 * then every node after each batch; a message with a term above MAX_TERM must
 * be a 400 naming that field. `candidates` are the ids the probes and
 * ballots name; `mix` says whether stale heartbeats and handoffs of another
 * term go along.
 */
async function flood(t: Test, f: Fixture, candidates: fc.Arbitrary<string>, mix: boolean, batches: number): Promise<void> {
  const T = f.term;
  const P = f.primaryId;
  const votedFor = new Map([...f.baseline].map(([id, v]) => [id, v.votedFor]));

  const term = fc.oneof(fc.integer({ min: 0, max: T + 3 }), fc.integer({ min: T + 1, max: MAX }), fc.constantFrom(MAX, MAX - 1, T + 1));
  const ballot = fc
    .record({
      candidateId: candidates,
      term,
      lastLogTerm: fc.oneof(fc.nat({ max: T + 3 }), fc.maxSafeNat(), fc.constant(MAX)),
      lastLogLsn: fc.oneof(fc.nat({ max: 10 }), fc.maxSafeNat(), fc.constant(MAX)),
      dryRun: fc.boolean(),
      handoff: fc.option(fc.boolean(), { nil: undefined }),
    })
    // JSON.stringify leaves out a handoff that is undefined.
    .map((b) => ({ kind: 'vote' as const, path: '/vote', body: b }));
  const someId = fc.oneof(member, fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/));
  const staleHeartbeat = fc
    .record({
      term: fc.integer({ min: 0, max: Math.max(0, T - 1) }),
      primaryId: someId,
      commitWatermark: fc.record({ term: fc.maxSafeNat(), lsn: fc.maxSafeNat() }),
      membership: fc.record({
        version: fc.maxSafeNat(),
        members: fc.constant(SPECS.map((s) => ({ id: s.id, url: 'http://127.0.0.1:9', kind: s.kind, state: 'voting' }))),
      }),
      leaseMs: fc.maxSafeNat(),
    })
    .map((b) => ({ kind: 'heartbeat' as const, path: '/heartbeat', body: b }));
  const otherHandoff = fc
    .record({ term: fc.oneof(fc.integer({ min: 0, max: T + 3 }), fc.maxSafeNat()).filter((x) => x !== T), primaryId: someId })
    .map((b) => ({ kind: 'handoff' as const, path: '/handoff', body: b }));
  const message = fc.record({
    target: member,
    msg: mix && T >= 1 ? fc.oneof({ weight: 8, arbitrary: ballot }, { weight: 1, arbitrary: staleHeartbeat }, { weight: 1, arbitrary: otherHandoff }) : ballot,
  });

  /** The term fields of a message above MAX_TERM: the HTTP layer refuses those with a 400 naming one of them. */
  const overCeiling = (msg: { kind: string; body: object }): string[] => {
    const b = msg.body as { term?: number; lastLogTerm?: number; commitWatermark?: { term: number } };
    const over: string[] = [];
    if ((b.term ?? 0) > MAX_TERM) over.push('term');
    if ((b.lastLogTerm ?? 0) > MAX_TERM) over.push('lastLogTerm');
    if ((b.commitWatermark?.term ?? 0) > MAX_TERM) over.push('commitWatermark.term');
    return over;
  };

  let sent = 0;
  let overTerms = 0;
  let grantedProbes = 0;
  const refusals = new Map<string, number>();
  const startedAt = performance.now();
  await holds(
    t,
    'every batch of authorized messages is refused and changes nothing',
    fc.asyncProperty(fc.array(message, { minLength: FLOOD_BATCH.min, maxLength: FLOOD_BATCH.max }), async (batch) => {
      const replies = await Promise.all(
        batch.map(async ({ target, msg }) => {
          const body = JSON.stringify(msg.body);
          const res = await request(f.cluster.node(target).url + msg.path, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
            body,
            signal: AbortSignal.timeout(10_000),
          });
          const text = await res.body.text();
          return { target, msg, body, code: res.statusCode, text };
        }),
      );
      sent += replies.length;
      const wrong: string[] = [];
      for (const r of replies) {
        const what = `POST ${r.target}${r.msg.path} ${r.body}`;
        if (r.code >= 500) wrong.push(`${what} answered ${r.code} ${r.text.slice(0, 200)}`);
        const over = overCeiling(r.msg);
        if (over.length > 0) {
          // A term above MAX_TERM never reaches the node: a 400 that names the field.
          overTerms++;
          const field = r.code === 400 ? (JSON.parse(r.text) as { error?: { field?: string } }).error?.field : undefined;
          if (r.code !== 400 || field === undefined || !over.includes(field)) {
            wrong.push(`${what} answered ${r.code} ${r.text.slice(0, 200)}, not a 400 naming ${over.join(' or ')}`);
          }
          continue;
        }
        if (r.msg.kind === 'handoff') {
          if (r.code !== 204) wrong.push(`${what} answered ${r.code} ${r.text.slice(0, 200)}, not 204`);
          continue;
        }
        if (r.code !== 200) {
          wrong.push(`${what} answered ${r.code} ${r.text.slice(0, 200)}`);
          continue;
        }
        const reply = JSON.parse(r.text) as { granted?: boolean; success?: boolean; reason?: { code: string } };
        if (r.msg.kind === 'heartbeat') {
          if (reply.success !== false) wrong.push(`${what}: a stale heartbeat was taken: ${r.text}`);
          continue;
        }
        const b = r.msg.body as { candidateId: string; term: number; dryRun: boolean };
        if (!reply.granted) {
          const code = reply.reason?.code ?? 'none';
          refusals.set(code, (refusals.get(code) ?? 0) + 1);
        } else if (b.dryRun) {
          grantedProbes++;
        } else if (!(b.term === T && votedFor.get(r.target) === b.candidateId)) {
          // Only a ballot that repeats the vote the voter already cast in this term may be granted: anything else changes it.
          wrong.push(`${what}: a ballot was granted (${r.text}) though ${r.target} hears the live primary ${P} in term ${T}`);
        }
      }
      const found = await changes(f);
      if (wrong.length > 0 || found.length > 0) {
        throw new Error([...wrong.slice(0, 5), ...found].join('\n'));
      }
    }),
    batches,
  );
  const tookS = (performance.now() - startedAt) / 1000;
  t.comment(
    `${sent} authorized messages in ${tookS.toFixed(1)} s; refusals: ${[...refusals.entries()]
      .sort()
      .map(([c, n]) => `${c} x${n}`)
      .join(', ')}; probes granted (nothing persisted): ${grantedProbes}; terms above MAX_TERM refused with a 400: ${overTerms}`,
  );
  t.strictSame(await changes(f), [], 'every node keeps its state, term, vote, role and primary');
  const status = await f.cluster.status(P);
  t.equal(status?.role, 'primary', `${P} is still the primary`);
  t.equal(status?.term, T, `in the same term ${T}`);
}

t.test(
  'floods of authorized probes and ballots with terms up to 2^53-1 and random candidate ids (the other members among them), stale heartbeats and handoffs of another term are refused and change nothing; the primary keeps its role and term',
  async (t) => {
    const f = await startCluster(t);
    t.ok(f.term >= 1, `the cluster elected a primary (${f.primaryId}) in term ${f.term}`);
    const others = IDS.filter((id) => id !== f.primaryId);
    await flood(
      t,
      f,
      fc.oneof(
        fc.constantFrom(...others),
        fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/).filter((id) => id !== f.primaryId),
      ),
      true,
      FLOOD_BATCHES,
    );
  },
);

t.test(
  'ballots and probes that name the live primary itself as the candidate, in any term up to 2^53-1, are refused like any other: no voter, the primary included, changes its term or vote, and the primary keeps its role',
  async (t) => {
    const f = await startCluster(t);
    t.ok(f.term >= 1, `the cluster elected a primary (${f.primaryId}) in term ${f.term}`);
    await flood(t, f, fc.constant(f.primaryId), false, SELF_BATCHES);
  },
);
