// Bad input on every mutating route: each kind of bad body is refused with
// 400, 413 or 415 in the one error shape, with a message (and `field`) that
// names the field at fault, and the service is never reached: a rejected
// request changes nothing.

import t from 'tap';
import { DEFAULT_BODY_LIMIT } from '../../src/app.js';
import { findRoundedNumber, isExactInteger } from '../../src/http/json.js';
import { MAX_TERM } from '../../src/schemas.js';
import { auth, isErrorBody, mutatingRoutes, setup, validHeartbeat, type MutatingRoute } from './fixtures/helpers.js';

type Path = ReadonlyArray<string | number>;

/** withValue returns the JSON text of `body` with the value at `path` written as the literal given (or removed). */
function withValue(body: Record<string, unknown>, path: Path, literal: string | undefined): string {
  const copy = structuredClone(body) as Record<string | number, unknown>;
  let at: Record<string | number, unknown> = copy;
  for (const p of path.slice(0, -1)) at = at[p] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (literal === undefined) {
    delete at[last];
    return JSON.stringify(copy);
  }
  at[last] = '\u0000marker\u0000';
  return JSON.stringify(copy).replace('"\\u0000marker\\u0000"', literal);
}

function fieldName(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

interface BadCase {
  readonly why: string;
  readonly literal: string | undefined;
}

/** Values that are not whole numbers in [0, 2^53 - 1], as JSON literals. */
const notCounts: readonly BadCase[] = [
  { why: 'a fraction', literal: '1.5' },
  { why: 'a fraction JSON would round to a whole number', literal: '1.0000000000000001' },
  { why: 'a huge number', literal: '1e300' },
  { why: 'a number beyond the doubles', literal: '1e400' },
  { why: '2^53, one past the largest', literal: '9007199254740992' },
  { why: '2^53 + 1, which JSON reads as 2^53', literal: '9007199254740993' },
  { why: 'negative', literal: '-1' },
  { why: 'a string holding a number', literal: '"3"' },
  { why: 'true', literal: 'true' },
  { why: 'null', literal: 'null' },
  { why: 'an object', literal: '{"n":1}' },
  { why: 'missing', literal: undefined },
];

/** Values that are not terms: not counts, or counts above MAX_TERM (2^52). */
const notTerms: readonly BadCase[] = [
  ...notCounts,
  { why: 'MAX_TERM + 1', literal: String(MAX_TERM + 1) },
  { why: '2^53 - 1, a count but no term', literal: '9007199254740991' },
];

/** Values that are not ids (1-64 of [A-Za-z0-9._-]), as JSON literals. */
const notIds: readonly BadCase[] = [
  { why: 'empty', literal: '""' },
  { why: 'with a space', literal: '"n 1"' },
  { why: 'with a slash', literal: '"n/1"' },
  { why: 'outside ASCII', literal: '"n\u00e9"' },
  { why: 'with a newline', literal: '"n\\n1"' },
  { why: '65 characters', literal: JSON.stringify('x'.repeat(65)) },
  { why: 'a number', literal: '42' },
  { why: 'null', literal: 'null' },
];

const notBooleans: readonly BadCase[] = [
  { why: 'a string', literal: '"true"' },
  { why: 'a number', literal: '1' },
  { why: 'null', literal: 'null' },
];

interface FieldCases {
  readonly route: MutatingRoute;
  readonly path: Path;
  readonly cases: readonly BadCase[];
}

const route = (url: string): MutatingRoute => mutatingRoutes.find((r) => r.url === url)!;
const optional = (cases: readonly BadCase[]) => cases.filter((c) => c.literal !== undefined);

const fieldCases: readonly FieldCases[] = [
  { route: route('/vote'), path: ['term'], cases: notTerms },
  { route: route('/vote'), path: ['lastLogTerm'], cases: notTerms },
  { route: route('/vote'), path: ['lastLogLsn'], cases: notCounts },
  { route: route('/vote'), path: ['candidateId'], cases: notIds },
  { route: route('/vote'), path: ['clusterId'], cases: notIds },
  { route: route('/vote'), path: ['config', 'term'], cases: notTerms },
  { route: route('/vote'), path: ['config', 'version'], cases: notCounts },
  { route: route('/vote'), path: ['dryRun'], cases: [...notBooleans, { why: 'missing', literal: undefined }] },
  { route: route('/vote'), path: ['handoff'], cases: notBooleans },
  { route: route('/heartbeat'), path: ['term'], cases: notTerms },
  { route: route('/heartbeat'), path: ['commitWatermark', 'term'], cases: notTerms },
  { route: route('/heartbeat'), path: ['commitWatermark', 'lsn'], cases: notCounts },
  { route: route('/heartbeat'), path: ['config', 'version'], cases: notCounts },
  { route: route('/heartbeat'), path: ['primaryId'], cases: notIds },
  { route: route('/heartbeat'), path: ['config', 'clusterId'], cases: notIds },
  { route: route('/heartbeat'), path: ['config', 'term'], cases: notTerms },
  { route: route('/heartbeat'), path: ['config', 'members', 2, 'autoPromote'], cases: optional(notBooleans) },
  { route: route('/heartbeat'), path: ['handoffTo'], cases: optional(notIds) },
  { route: route('/heartbeat'), path: ['config', 'members', 1, 'id'], cases: notIds },
  {
    route: route('/heartbeat'),
    path: ['config', 'members', 2, 'url'],
    cases: [
      { why: 'not http', literal: '"ftp://w1:7400"' },
      { why: 'not a URL', literal: '"w1:7400"' },
      { why: 'with a space', literal: '"http://w 1:7400"' },
      { why: 'with a query', literal: '"http://w1:7400/?x=1"' },
      { why: 'longer than 256', literal: JSON.stringify(`http://w1/${'p'.repeat(250)}`) },
      { why: 'missing', literal: undefined },
    ],
  },
  {
    route: route('/heartbeat'),
    path: ['config', 'members', 0, 'kind'],
    cases: [
      { why: 'not a kind', literal: '"primary"' },
      { why: 'capitalised', literal: '"Data"' },
    ],
  },
  {
    route: route('/heartbeat'),
    path: ['config', 'members', 0, 'state'],
    cases: [
      { why: 'not a state', literal: '"learner"' },
      { why: 'missing', literal: undefined },
    ],
  },
  {
    route: route('/heartbeat'),
    path: ['config', 'members'],
    cases: [
      { why: 'empty', literal: '[]' },
      { why: 'an object', literal: '{}' },
      {
        why: 'more than 64 members',
        literal: JSON.stringify(Array.from({ length: 65 }, (_, i) => ({ id: `m${i}`, url: `http://m${i}`, kind: 'data', state: 'voting' }))),
      },
    ],
  },
  { route: route('/handoff'), path: ['term'], cases: notTerms },
  { route: route('/handoff'), path: ['primaryId'], cases: notIds },
  { route: route('/handoff'), path: ['clusterId'], cases: notIds },
  { route: route('/log'), path: ['term'], cases: notTerms },
  { route: route('/log'), path: ['lsn'], cases: notCounts },
  { route: route('/log'), path: ['agentClockMs'], cases: optional(notCounts) },
  { route: route('/switchover'), path: ['target'], cases: optional(notIds) },
  {
    route: route('/members/n4'),
    path: ['url'],
    cases: [
      { why: 'not http', literal: '"ftp://n4:7400"' },
      { why: 'not a URL', literal: '"n4:7400"' },
      { why: 'longer than 256', literal: JSON.stringify(`http://n4/${'p'.repeat(250)}`) },
      { why: 'null', literal: 'null' },
      { why: 'missing', literal: undefined },
    ],
  },
  {
    route: route('/members/n4'),
    path: ['kind'],
    cases: [
      { why: 'not a kind', literal: '"primary"' },
      { why: 'missing', literal: undefined },
    ],
  },
  { route: route('/members/n4'), path: ['state'], cases: [{ why: 'not a state', literal: '"learner"' }, ...notBooleans] },
  { route: route('/members/n4'), path: ['autoPromote'], cases: notBooleans },
];

for (const { route: r, path, cases } of fieldCases) {
  const field = fieldName(path);
  t.test(`${r.method} ${r.url} refuses ${field} when it is not valid`, async (t) => {
    const { app, service } = setup(t);
    for (const c of cases) {
      const res = await app.inject({
        method: r.method,
        url: r.url,
        headers: { ...auth, 'content-type': 'application/json' },
        payload: withValue(r.valid(), path, c.literal),
      });
      t.equal(res.statusCode, 400, `${field} ${c.why}: 400`);
      const body = res.json() as unknown;
      t.ok(isErrorBody(body), `${field} ${c.why}: the error shape`);
      if (!isErrorBody(body)) continue;
      t.equal(body.error.code, 'invalid_request', `${field} ${c.why}: code`);
      t.equal(body.error.field, field, `${field} ${c.why}: field`);
      t.match(body.error.message, field, `${field} ${c.why}: the message names the field: ${body.error.message}`);
    }
    t.strictSame(service.calls, [], 'the service was never reached');
  });
}

t.test('every mutating route refuses a body that is not what it accepts', async (t) => {
  for (const r of mutatingRoutes) {
    t.test(`${r.method} ${r.url}`, async (t) => {
      const { app, service } = setup(t);
      const send = (payload: string | Buffer, contentType?: string) =>
        app.inject({ method: r.method, url: r.url, headers: { ...auth, ...(contentType ? { 'content-type': contentType } : {}) }, payload });
      const json = JSON.stringify(r.valid());
      const cases: Array<[why: string, res: Awaited<ReturnType<typeof send>>, status: number, code: string, field?: string]> = [
        ['an unknown field', await send(JSON.stringify({ ...r.valid(), extra: 1 }), 'application/json'), 400, 'invalid_request', 'extra'],
        [
          'a field named __proto__',
          await send(JSON.stringify(r.valid()).replace('{', '{"__proto__":{"polluted":1},'), 'application/json'),
          400,
          'invalid_json',
        ],
        ['invalid JSON', await send(json.slice(0, -1), 'application/json'), 400, 'invalid_json'],
        ['an empty body', await send('', 'application/json'), 400, 'invalid_json'],
        ['a JSON array', await send('[]', 'application/json'), 400, 'invalid_request'],
        ['a JSON string', await send('"x"', 'application/json'), 400, 'invalid_request'],
        ['JSON null', await send('null', 'application/json'), 400, 'invalid_request'],
        ['text/plain', await send(json, 'text/plain'), 415, 'unsupported_media_type'],
        ['form data', await send('a=1', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type'],
        ['a JSON look-alike type', await send(json, 'application/jsonx'), 415, 'unsupported_media_type'],
        ['no content type', await send(Buffer.from(json)), 415, 'unsupported_media_type'],
        ['a body over the limit', await send(JSON.stringify({ ...r.valid(), pad: 'x'.repeat(DEFAULT_BODY_LIMIT) }), 'application/json'), 413, 'body_too_large'],
      ];
      for (const [why, res, status, code, field] of cases) {
        t.equal(res.statusCode, status, `${why}: ${status}`);
        const body = res.json() as unknown;
        t.ok(isErrorBody(body), `${why}: the error shape`);
        if (!isErrorBody(body)) continue;
        t.equal(body.error.code, code, `${why}: code`);
        t.equal(body.error.field, field, `${why}: field`);
        if (field) t.match(body.error.message, field, `${why}: the message names the field`);
      }
      const none = await app.inject({ method: r.method, url: r.url, headers: auth });
      t.equal(none.statusCode, 400, 'no body at all: 400');
      t.ok(isErrorBody(none.json()), 'no body at all: the error shape');
      t.strictSame(service.calls, [], 'the service was never reached');
    });
  }
});

/** Every term field a request carries, by route. */
const termFields: ReadonlyArray<{ route: MutatingRoute; path: Path }> = [
  { route: route('/vote'), path: ['term'] },
  { route: route('/vote'), path: ['lastLogTerm'] },
  { route: route('/heartbeat'), path: ['term'] },
  { route: route('/vote'), path: ['config', 'term'] },
  { route: route('/heartbeat'), path: ['commitWatermark', 'term'] },
  { route: route('/heartbeat'), path: ['config', 'term'] },
  { route: route('/handoff'), path: ['term'] },
  { route: route('/log'), path: ['term'] },
];

t.test('every term field above MAX_TERM is a 400 naming the field, and MAX_TERM itself is accepted', async (t) => {
  t.equal(MAX_TERM, 2 ** 52, 'the ceiling is 2^52');
  for (const { route: r, path } of termFields) {
    const field = fieldName(path);
    const { app, service } = setup(t);
    const over = await app.inject({
      method: r.method,
      url: r.url,
      headers: { ...auth, 'content-type': 'application/json' },
      payload: withValue(r.valid(), path, String(MAX_TERM + 1)),
    });
    t.equal(over.statusCode, 400, `${r.url} ${field} = MAX_TERM + 1: 400`);
    t.strictSame(
      over.json(),
      {
        error: {
          code: 'invalid_request',
          message: `${field} must be a whole number from 0 to ${MAX_TERM}; got ${MAX_TERM + 1}`,
          field,
        },
      },
      `${r.url} ${field}: the error names the field and the range`,
    );
    t.strictSame(service.calls, [], `${r.url} ${field}: the service was never reached, so nothing changed`);

    const at = await app.inject({
      method: r.method,
      url: r.url,
      headers: { ...auth, 'content-type': 'application/json' },
      payload: withValue(r.valid(), path, String(MAX_TERM)),
    });
    t.ok(at.statusCode >= 200 && at.statusCode < 300, `${r.url} ${field} = MAX_TERM is accepted (${at.statusCode})`);
    t.equal(service.calls.length, 1, `${r.url} ${field} = MAX_TERM reaches the service`);
    let value: unknown = service.calls[0]?.args[0];
    for (const p of path) value = (value as Record<string | number, unknown>)[p];
    t.equal(value, MAX_TERM, `${r.url} ${field}: the service gets exactly MAX_TERM`);
  }
});

t.test('an unknown field deep inside is refused and named by its path', async (t) => {
  const { app, service } = setup(t);
  const body = validHeartbeat() as { config: { members: Array<Record<string, unknown>> } };
  body.config.members[1]!.lsn = 5;
  const res = await app.inject({ method: 'POST', url: '/heartbeat', headers: auth, payload: body });
  t.equal(res.statusCode, 400);
  t.equal(res.json().error.field, 'config.members[1].lsn');
  t.match(res.json().error.message, /unknown field config\.members\[1\]\.lsn.*id, url, kind, state, autoPromote/);
  t.strictSame(service.calls, []);
});

t.test('the edges of the valid ranges are accepted, as written', async (t) => {
  const { app, service } = setup(t);
  const max = '9007199254740991';
  const cases: Array<[url: string, payload: string, expected: Record<string, unknown>]> = [
    ['/log', `{"term":0,"lsn":${max}}`, { term: 0, lsn: Number.MAX_SAFE_INTEGER }],
    ['/log', '{"term":1.0,"lsn":1e3}', { term: 1, lsn: 1000 }],
    ['/log', '{"term":2.50e1,"lsn":12300e-2}', { term: 25, lsn: 123 }],
  ];
  for (const [url, payload] of cases) {
    const res = await app.inject({ method: 'PUT', url, headers: { ...auth, 'content-type': 'application/json' }, payload });
    t.equal(res.statusCode, 200, `${payload} is whole numbers`);
  }
  const id64 = 'A-z.0_9'.repeat(10).slice(0, 64);
  const vote = await app.inject({
    method: 'POST',
    url: '/vote',
    headers: auth,
    payload: { clusterId: id64, candidateId: id64, config: { term: 0, version: 0 }, term: 0, lastLogTerm: 0, lastLogLsn: 0, dryRun: true },
  });
  t.equal(vote.statusCode, 200, 'a 64-character id of the whole alphabet');
  t.strictSame(
    service.calls.map((c) => c.args[0]),
    [...cases.map((c) => c[2]), { clusterId: id64, candidateId: id64, config: { term: 0, version: 0 }, term: 0, lastLogTerm: 0, lastLogLsn: 0, dryRun: true }],
    'the service gets the exact values',
  );
});

t.test('the body limit takes a heartbeat of 16 members with the longest ids and URLs', async (t) => {
  const { app, service } = setup(t);
  const members = Array.from({ length: 16 }, (_, i) => {
    const head = `https://${'h'.repeat(40)}${i}.example:65535/`;
    return {
      id: `${String(i).padStart(2, '0')}${'m'.repeat(62)}`,
      url: head + 'p'.repeat(256 - head.length),
      kind: 'witness',
      state: 'catching_up',
      autoPromote: false,
    };
  });
  t.ok(
    members.every((m) => m.id.length === 64 && m.url.length === 256),
    'every member has the longest id and URL allowed',
  );
  // The largest values each field takes: terms stop at MAX_TERM (2^52), which
  // has as many digits as 2^53 - 1, the other counts' limit.
  t.equal(String(MAX_TERM).length, String(Number.MAX_SAFE_INTEGER).length, 'MAX_TERM is as long as the largest count');
  const body = {
    term: MAX_TERM,
    primaryId: 'p'.repeat(64),
    commitWatermark: { term: MAX_TERM, lsn: Number.MAX_SAFE_INTEGER },
    config: {
      clusterId: 'c'.repeat(64),
      term: MAX_TERM,
      version: Number.MAX_SAFE_INTEGER,
      members,
      timings: { heartbeatMs: 3_600_000, leaseMs: 3_600_000, electionTimeoutMs: 3_600_000, electionJitterMs: 3_600_000, clockDriftBound: 0.49999999999999994 },
    },
    handoffTo: 'h'.repeat(64),
  };
  const size = Buffer.byteLength(JSON.stringify(body));
  t.ok(size < DEFAULT_BODY_LIMIT, `${size} bytes fit in ${DEFAULT_BODY_LIMIT}`);
  const res = await app.inject({ method: 'POST', url: '/heartbeat', headers: auth, payload: body });
  t.equal(res.statusCode, 200);
  t.equal(service.calls.length, 1);
});

t.test('a smaller body limit given to buildApp is the one enforced', async (t) => {
  const { app, service } = setup(t, { bodyLimit: 64 });
  const res = await app.inject({ method: 'POST', url: '/heartbeat', headers: auth, payload: validHeartbeat() });
  t.equal(res.statusCode, 413);
  t.strictSame(res.json(), { error: { code: 'body_too_large', message: 'the body must be at most 64 bytes' } });
  t.strictSame(service.calls, []);
});

t.test('isExactInteger tells whole-number literals from the rest', async (t) => {
  const whole = ['0', '-0', '7', '1.0', '1.000', '1e3', '1E+3', '2.5e1', '12300e-2', '0e-5', '0.0', '9007199254740993', '1e300'];
  const notWhole = ['1.5', '0.1', '1e-1', '1.0000000000000001', '4503599627370496.5', '12345e-2', '1.25e1', 'abc'];
  for (const l of whole) t.ok(isExactInteger(l), `${l} is whole`);
  for (const l of notWhole) t.notOk(isExactInteger(l), `${l} is not whole`);
});

t.test('findRoundedNumber finds the literal JSON.parse rounded, with its path, and nothing else', async (t) => {
  t.strictSame(findRoundedNumber('{"a":1.0000000000000001}'), { field: 'a', literal: '1.0000000000000001', value: 1 });
  t.strictSame(findRoundedNumber('{"a":{"b":[1,2,{"c":3,"d":4503599627370496.5}]}}'), {
    field: 'a.b[2].d',
    literal: '4503599627370496.5',
    value: 4503599627370496,
  });
  t.strictSame(findRoundedNumber('[0.99999999999999999]'), { field: '[0]', literal: '0.99999999999999999', value: 1 });
  t.strictSame(findRoundedNumber('{"x\\"1.0000000000000001":2,"y":"1.0000000000000001"}'), null, 'text inside strings is not a number');
  t.strictSame(findRoundedNumber('{"a":1.5,"b":1e3,"c":1.0,"d":-2.5e1}'), null, 'exact values, whole or not, are left to the schema');
  t.strictSame(findRoundedNumber('{"a":[],"b":{},"c":[{}],"d":1.00000000000000001}'), { field: 'd', literal: '1.00000000000000001', value: 1 });
});
