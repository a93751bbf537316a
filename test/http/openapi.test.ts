// The API contract: openapi.yaml and openapi.json are exactly what the
// generator (scripts/openapi.ts) writes from the route schemas; the app
// serves openapi.json at /openapi.json without loading the generator;
// openapi.yaml has no YAML anchors or aliases and is a valid OpenAPI
// document; every route is in it; shared schemas appear once as components;
// the routes that need a credential say which and the others say they need
// none; the peer-only routes are tagged as such.
// (test/http/openapi-lint.test.ts lints it.)

import { readdirSync, readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import t from 'tap';
import { isAlias, parse, parseDocument, visit } from 'yaml';
import { sharedSchemas } from '../../src/schemas.js';
import { renderOpenApi } from '../../scripts/openapi.js';
import { setup } from './fixtures/helpers.js';

const yamlPath = new URL('../../openapi.yaml', import.meta.url);
const jsonPath = new URL('../../openapi.json', import.meta.url);

interface Operation {
  operationId?: string;
  tags?: string[];
  security?: unknown;
  requestBody?: unknown;
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
}
interface Doc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
  tags: Array<{ name: string; description?: string }>;
}

async function served(t: { teardown(fn: () => unknown): void; equal(found: unknown, wanted: unknown): boolean }): Promise<Doc> {
  const { app } = setup(t);
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(res.statusCode, 200);
  return res.json() as Doc;
}

t.test('openapi.yaml is the document the app serves (regenerate it with `npm run openapi`)', async (t) => {
  const file = parse(readFileSync(yamlPath, 'utf8')) as unknown;
  t.strictSame(file, await served(t), 'openapi.yaml differs from GET /openapi.json: run npm run openapi');
});

t.test('scripts/openapi.ts writes exactly the committed openapi.yaml and openapi.json', async (t) => {
  const rendered = await renderOpenApi();
  t.equal(rendered.yaml, readFileSync(yamlPath, 'utf8'), 'openapi.yaml is stale: run npm run openapi');
  t.equal(rendered.json, readFileSync(jsonPath, 'utf8'), 'openapi.json is stale: run npm run openapi');
});

t.test('a node serves the generated file and never loads the generator', async (t) => {
  const { app } = setup(t);
  t.notOk(app.hasDecorator('swagger'), 'the app a node builds has no @fastify/swagger');
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.strictSame(res.json(), JSON.parse(readFileSync(jsonPath, 'utf8')), 'GET /openapi.json answers openapi.json');
  // Nothing the node's process loads imports the generator: it is a build-time tool.
  const runtimeFiles = ['src', 'routes'].flatMap((dir) =>
    readdirSync(new URL(`../../${dir}/`, import.meta.url), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `${dir}/${f}`),
  );
  t.ok(runtimeFiles.length > 20, 'the run-time sources were found');
  for (const file of runtimeFiles) {
    const text = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
    // (A type-only import is erased from the JavaScript, so it loads nothing.)
    t.notMatch(text, /^import (?!type ).*from '(@fastify\/swagger|[./]*scripts\/openapi\.js)'/m, `${file} does not import the generator`);
  }
});

t.test('openapi.yaml has no YAML anchors or aliases: every object is written out', async (t) => {
  const doc = parseDocument(readFileSync(yamlPath, 'utf8'));
  let anchors = 0;
  let aliases = 0;
  visit(doc, (_key, node) => {
    if (isAlias(node)) aliases++;
    else if (node && typeof node === 'object' && 'anchor' in node && node.anchor) anchors++;
  });
  t.equal(anchors, 0, 'no anchors');
  t.equal(aliases, 0, 'no aliases');
});

t.test('openapi.yaml and the served document are valid OpenAPI', async (t) => {
  const file = parse(readFileSync(yamlPath, 'utf8')) as Doc;
  await t.resolves(SwaggerParser.validate(structuredClone(file) as never), 'openapi.yaml validates');
  await t.resolves(SwaggerParser.validate(structuredClone(await served(t)) as never), 'the served document validates');
  t.equal(file.openapi, '3.1.0');
});

const routes: ReadonlyArray<[method: string, path: string, protectedRoute: boolean]> = [
  ['post', '/vote', true],
  ['post', '/heartbeat', true],
  ['post', '/handoff', true],
  ['put', '/log', true],
  ['post', '/switchover', true],
  ['put', '/members/{id}', true],
  ['delete', '/members/{id}', true],
  ['post', '/pause', true],
  ['post', '/resume', true],
  ['get', '/why', true],
  ['get', '/members', false],
  ['get', '/cluster', false],
  ['get', '/status', false],
  ['get', '/history', false],
  ['get', '/healthz', false],
  ['head', '/healthz', false],
  ['get', '/readyz', false],
  ['head', '/readyz', false],
  ['get', '/primary', false],
  ['head', '/primary', false],
  ['get', '/replica', false],
  ['head', '/replica', false],
  ['get', '/metrics', false],
];

/** The scheme of the role each protected route takes. */
function roleScheme(path: string): string {
  if (path === '/log') return 'agentAuth';
  if (['/switchover', '/members/{id}', '/pause', '/resume', '/why'].includes(path)) return 'operatorAuth';
  return 'peerAuth';
}

t.test('every route is documented with an operationId, and only the protected ones need a credential', async (t) => {
  const doc = await served(t);
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
  t.strictSame(documented.sort(), routes.map(([m, p]) => `${m} ${p}`).sort(), 'exactly these operations');
  const ids = new Set<string>();
  for (const [method, path, protectedRoute] of routes) {
    const op = doc.paths[path]?.[method];
    if (!op) continue;
    t.type(op.operationId, 'string', `${method} ${path} has an operationId`);
    t.notOk(ids.has(op.operationId!), `${op.operationId} is unique`);
    ids.add(op.operationId!);
    if (protectedRoute)
      t.strictSame(op.security, [{ [roleScheme(path)]: [] }, { bearerAuth: [] }], `${method} ${path} takes its role's credential or the shared token`);
    else t.strictSame(op.security, [], `${method} ${path} says it takes no credential`);
    for (const [status, response] of Object.entries(op.responses)) {
      t.not(response.description, 'Default Response', `${method} ${path} ${status} is described`);
    }
  }
  t.strictSame(Object.keys(doc.components.securitySchemes).sort(), ['agentAuth', 'bearerAuth', 'operatorAuth', 'peerAuth']);
  for (const scheme of Object.values(doc.components.securitySchemes)) t.match(scheme, { type: 'http', scheme: 'bearer', description: String });
});

t.test('the peer-only routes, and only they, are tagged peer, a tag that says so', async (t) => {
  const doc = await served(t);
  const peerOnly = ['post /vote', 'post /heartbeat', 'post /handoff'];
  const tagged = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([, op]) => op.tags?.includes('peer'))
      .map(([m]) => `${m} ${path}`),
  );
  t.strictSame(tagged.sort(), [...peerOnly].sort(), 'vote, heartbeat and handoff are the peer operations');
  for (const name of peerOnly) {
    const [method, path] = name.split(' ') as [string, string];
    t.strictSame(doc.paths[path]?.[method]?.tags, ['peer'], `${name} has the peer tag alone`);
  }
  const peer = doc.tags.find((tag) => tag.name === 'peer');
  t.match(peer?.description, /^Peer-only: /, 'the tag says the routes are for peers only');
  for (const tag of doc.tags) t.type(tag.description, 'string', `the ${tag.name} tag is described`);
});

t.test('shared schemas appear once, as components, and routes refer to them', async (t) => {
  const doc = await served(t);
  const names = sharedSchemas.map((s) => s.$id);
  t.strictSame(Object.keys(doc.components.schemas).sort(), [...names].sort(), 'one component per shared schema, named by its $id');
  const text = JSON.stringify(doc);
  t.equal(text.split('^[A-Za-z0-9._-]{1,64}$').length - 1, 1, 'the id pattern is written once');
  t.equal(text.split('9007199254740991').length - 1, 2, 'the largest count is written once (and named once in the description)');
  t.equal(text.split('4503599627370496').length - 1, 2, 'the largest term, 2^52, is written once (and named once in the description)');
  for (const [schema, fields] of [
    ['VoteBody', ['term', 'lastLogTerm']],
    ['HeartbeatBody', ['term']],
    ['HandoffBody', ['term']],
    ['LogPosition', ['term']],
  ] as const) {
    for (const field of fields) {
      const component = doc.components.schemas[schema] as { properties?: Record<string, unknown> } | undefined;
      t.strictSame(component?.properties?.[field], { $ref: '#/components/schemas/Term' }, `${schema}.${field} is a Term`);
    }
  }
  t.strictSame(doc.paths['/vote']?.post?.requestBody, {
    required: true,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/VoteBody' } } },
  });
  for (const method of ['put', 'delete']) {
    t.strictSame(
      (doc.paths['/members/{id}']?.[method] as { parameters?: unknown } | undefined)?.parameters,
      [{ schema: { $ref: '#/components/schemas/Id' }, in: 'path', name: 'id', required: true }],
      `${method} /members/{id} takes the member id in the path, as an Id`,
    );
    t.strictSame(doc.paths['/members/{id}']?.[method]?.responses['200']?.content?.['application/json']?.schema, {
      $ref: '#/components/schemas/MembershipChangeReply',
    });
  }
  t.strictSame(doc.paths['/members/{id}']?.put?.requestBody, {
    required: true,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/PutMemberBody' } } },
  });
  t.strictSame(doc.paths['/heartbeat']?.post?.responses['200']?.content?.['application/json']?.schema, { $ref: '#/components/schemas/HeartbeatReply' });
  t.strictSame(doc.paths['/vote']?.post?.responses['400']?.content?.['application/json']?.schema, { $ref: '#/components/schemas/ErrorReply' });
});
