// buildApp() is the HTTP face of one quorumd node: a fastify instance with the
// shared schemas, the JSON body parser, bearer-token checks, one error shape
// for every failure, the OpenAPI document and the route plugins of routes/.
// It performs no protocol work itself: every route calls the QuorumService.
// The command (src/cli.ts) only listens and closes it.

import { createHash, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import fastifySwagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchemaValidationError,
  type RawServerDefault,
} from 'fastify';
import { ApiError, type ErrorBody } from './errors.js';
import type { QuorumService } from './runtime/service.js';
import { BEARER, MAX_COUNT, describedPrimitives, sharedSchemas } from './schemas.js';
import handoffRoutes from '../routes/handoff.js';
import heartbeatRoutes from '../routes/heartbeat.js';
import historyRoutes from '../routes/history.js';
import logRoutes from '../routes/log.js';
import membersRoutes from '../routes/members.js';
import metricsRoutes from '../routes/metrics.js';
import openapiRoutes from '../routes/openapi.js';
import probeRoutes from '../routes/probes.js';
import statusRoutes from '../routes/status.js';
import switchoverRoutes from '../routes/switchover.js';
import voteRoutes from '../routes/vote.js';

/** Bodies are small: a heartbeat with 16 members of the longest ids and URLs is about 6.3 KiB. */
export const DEFAULT_BODY_LIMIT = 8 * 1024;

/** The version of the API contract, as written in openapi.yaml. */
export const API_VERSION = '0.1.0';

export interface BuildAppOptions {
  readonly service: QuorumService;
  /** The cluster token protected routes require; null for none. */
  readonly token: string | null;
  /** A pino logger to log through; none (silent) when absent. */
  readonly logger?: FastifyBaseLogger;
  /** The largest request body accepted, in bytes. */
  readonly bodyLimit?: number;
}

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/** What every route plugin of routes/ is registered with. */
export interface RouteOptions {
  readonly service: QuorumService;
}

export function buildApp(opts: BuildAppOptions): App {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit,
    // A heartbeat arrives every few tens of milliseconds from the primary:
    // one log line per request would drown everything else.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: {
      customOptions: {
        // Unknown fields are refused, never dropped; types are never coerced;
        // nothing is filled in. `verbose` puts the value and its schema on each
        // error, for messages that say what was wrong.
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: false,
        allErrors: false,
        verbose: true,
      },
    },
    // HEAD is answered where a probe may use it (health, /primary, /replica),
    // each declared by its route, so the document lists exactly what is served.
    exposeHeadRoutes: false,
    // Peers keep their keep-alive connections busy (the new primary heartbeats
    // every few tens of milliseconds), so closing must not wait for them.
    forceCloseConnections: true,
    schemaErrorFormatter: validationError,
    frameworkErrors: (err, _request, reply) => {
      void sendError(reply, new ApiError(400, 'bad_request', err.message));
    },
    clientErrorHandler: answerClientError,
  }).withTypeProvider<TypeBoxTypeProvider>();

  for (const schema of sharedSchemas) app.addSchema(schema);
  installJsonParser(app, bodyLimit);
  installTokenCheck(app, opts.token);

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const answer = toApiError(err, bodyLimit);
    if (answer.statusCode >= 500) request.log.error({ err }, 'request failed');
    else request.log.debug({ err: answer }, 'request refused');
    return sendError(reply, answer);
  });
  app.setNotFoundHandler((request, reply) => {
    return sendError(reply, new ApiError(404, 'not_found', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`));
  });

  app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'quorumd',
        version: API_VERSION,
        description:
          'Term-based, quorum-gated primary election for replicated data stores. ' +
          'Every error has the shape { error: { code, message, field? } }. ' +
          'Integers are whole numbers in [0, 2^53 - 1]; anything else is a 400, never rounded.',
      },
      tags: [
        { name: 'peer', description: 'Messages between quorumd nodes.' },
        { name: 'operator', description: 'What operators and the local data store\'s agent ask of a node.' },
        { name: 'health', description: 'Probes for orchestrators and load balancers; never need a token.' },
      ],
      components: {
        securitySchemes: { [BEARER]: { type: 'http', scheme: 'bearer', description: 'The cluster token, when one is configured.' } },
      },
    },
    refResolver: {
      // Shared schemas keep their $id as their name under components/schemas.
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });

  const routeOptions: RouteOptions = { service: opts.service };
  for (const routes of [
    voteRoutes,
    heartbeatRoutes,
    handoffRoutes,
    membersRoutes,
    statusRoutes,
    logRoutes,
    switchoverRoutes,
    historyRoutes,
    probeRoutes,
    metricsRoutes,
    openapiRoutes,
  ]) {
    app.register(routes, routeOptions);
  }
  return app;
}

function sendError(reply: FastifyReply, err: ApiError): FastifyReply {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  if (err.field !== undefined) body.error.field = err.field;
  if (err.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="quorumd"');
  return reply.code(err.statusCode).type('application/json; charset=utf-8').send(body);
}

/** toApiError turns whatever was thrown into the answer the client gets. */
function toApiError(err: FastifyError, bodyLimit: number): ApiError {
  if (err instanceof ApiError) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'unsupported_media_type', 'the body must be JSON, sent with Content-Type: application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'body_too_large', `the body must be at most ${bodyLimit} bytes`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'invalid_json', 'the body is empty but Content-Type says JSON');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, 'invalid_json', 'the body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError(400, 'bad_request', 'the body size does not match Content-Length');
  }
  const status = err.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 600) {
    // Any other error with a status (fastify's own) keeps that status under
    // a generic code; only a client error keeps its message.
    return new ApiError(status, genericCode(status), status >= 500 ? 'internal error' : err.message);
  }
  return new ApiError(500, 'internal_error', 'internal error');
}

function genericCode(status: number): string {
  return (STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z0-9]+/g, '_');
}

// ---- tokens ----

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * installTokenCheck refuses, before the body is even read, a request to a
 * route whose schema declares `security` unless it carries the cluster token.
 * Both sides are hashed first, so timingSafeEqual compares equal lengths and
 * the time taken says nothing about the token.
 */
function installTokenCheck(app: App, token: string | null): void {
  if (token === null) return;
  const expected = digest(token);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const security = request.routeOptions.schema?.security;
    if (!security || security.length === 0) return;
    const header = request.headers.authorization;
    if (header === undefined) throw new ApiError(401, 'unauthorized', 'this route needs Authorization: Bearer <cluster token>');
    const match = /^Bearer +(\S+) *$/i.exec(header);
    const presented = match?.[1];
    if (presented === undefined) throw new ApiError(401, 'unauthorized', 'the Authorization header must be "Bearer <cluster token>"');
    if (!timingSafeEqual(digest(presented), expected)) throw new ApiError(401, 'unauthorized', 'the bearer token is not the cluster token');
  });
}

// ---- JSON bodies ----

/**
 * installJsonParser makes application/json the only body type (415 for any
 * other) and parses it with fastify's own parser, which refuses __proto__ and
 * constructor.prototype keys. It then refuses any number JSON.parse had to
 * round to a whole number (1.0000000000000001, 4503599627370496.5): such a
 * value is not the whole number the schema would then see.
 */
function installJsonParser(app: App, bodyLimit: number): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, raw, done) => {
    const body = typeof raw === 'string' ? raw : raw.toString('utf8');
    parseJson(request, body, (err, value) => {
      if (err) return done(err, undefined);
      const rounded = findRoundedNumber(body);
      if (rounded) {
        return done(
          new ApiError(
            400,
            'invalid_request',
            `${rounded.field || 'the body'} must be a whole number; got ${rounded.literal}, which is not one (JSON would round it to ${rounded.value})`,
            rounded.field || undefined,
          ),
          undefined,
        );
      }
      done(null, value);
    });
  });
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** isExactInteger says whether a JSON number literal denotes a whole number exactly. */
export function isExactInteger(literal: string): boolean {
  const m = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!m) return false;
  const fraction = m[2] ?? '';
  const digits = (m[1] ?? '') + fraction;
  const exponent = Number(m[3] ?? '0') - fraction.length;
  if (exponent >= 0) return true;
  const dropped = digits.length > -exponent ? digits.slice(digits.length + exponent) : digits;
  return /^0*$/.test(dropped);
}

/**
 * findRoundedNumber walks valid JSON text and returns the first number
 * literal that is not a whole number although JSON.parse reads it as one,
 * with the path of its field.
 */
export function findRoundedNumber(text: string): { field: string; literal: string; value: number } | null {
  if (!/\d[.eE]/.test(text)) return null;
  const path: Array<string | number> = [];
  const kinds: Array<'object' | 'array'> = [];
  let expectKey = false;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      kinds.push('object');
      path.push('');
      expectKey = true;
      i++;
    } else if (c === 0x5b /* [ */) {
      kinds.push('array');
      path.push(0);
      expectKey = false;
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      kinds.pop();
      path.pop();
      expectKey = false;
      i++;
    } else if (c === 0x2c /* , */) {
      const last = path.length - 1;
      if (kinds[last] === 'array') path[last] = (path[last] as number) + 1;
      else expectKey = true;
      i++;
    } else if (c === 0x22 /* " */) {
      const end = endOfString(text, i);
      if (expectKey) {
        path[path.length - 1] = JSON.parse(text.slice(i, end)) as string;
        expectKey = false;
      }
      i = end;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = i;
      const literal = NUMBER.exec(text)?.[0] ?? text[i]!;
      const value = Number(literal);
      if (Number.isInteger(value) && !isExactInteger(literal)) return { field: formatPath(path), literal, value };
      i += literal.length;
    } else {
      i++;
    }
  }
  return null;
}

function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x5c /* \ */) i += 2;
    else if (c === 0x22) return i + 1;
    else i++;
  }
  return i;
}

/** formatPath writes a field path as people read it: membership.members[0].id. */
export function formatPath(parts: ReadonlyArray<string | number>): string {
  let out = '';
  for (const p of parts) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

// ---- validation messages ----

/** The parts of an Ajv error that `verbose` adds. */
interface VerboseError extends FastifySchemaValidationError {
  data?: unknown;
  parentSchema?: { $id?: string; description?: string; properties?: Record<string, unknown> };
}

/**
 * validationError turns Ajv's first error into one sentence that names the
 * field and says what it must be and what it was.
 */
export function validationError(errors: FastifySchemaValidationError[], dataVar: string): ApiError {
  const e = (errors[0] ?? { keyword: 'unknown', instancePath: '', schemaPath: '', params: {} }) as VerboseError;
  const at = pointerParts(e.instancePath);
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required' && typeof params.missingProperty === 'string') {
    const field = formatPath([...at, params.missingProperty]);
    return new ApiError(400, 'invalid_request', `${field} is required`, field);
  }
  if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    const field = formatPath([...at, params.additionalProperty]);
    const known = Object.keys(e.parentSchema?.properties ?? {});
    const where = at.length ? ` in ${formatPath(at)}` : '';
    return new ApiError(400, 'invalid_request', `unknown field ${field}: the fields${where} are ${known.join(', ')}`, field);
  }
  const field = formatPath(at);
  const name = field || (dataVar === 'body' ? 'the body' : dataVar);
  const got = `; got ${show(e.data)}`;
  const primitive = e.parentSchema?.$id;
  const description = primitive !== undefined && describedPrimitives.has(primitive) ? e.parentSchema?.description : undefined;
  let message: string;
  if (e.keyword === 'minItems' || e.keyword === 'maxItems') {
    message = `${name} must have ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${String(params.limit)} items`;
  } else if (description !== undefined && ['type', 'minimum', 'maximum', 'pattern', 'maxLength', 'minLength', 'enum'].includes(e.keyword)) {
    message = `${name} must be ${description}${got}`;
  } else if (e.keyword === 'type') {
    message = `${name} must be ${typeName(String(params.type))}${got}`;
  } else {
    message = `${name} ${e.message ?? 'is not valid'}${got}`;
  }
  return new ApiError(400, 'invalid_request', message, field || undefined);
}

function pointerParts(pointer: string): Array<string | number> {
  if (pointer === '') return [];
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^(0|[1-9]\d*)$/.test(p) ? Number(p) : p));
}

function typeName(type: string): string {
  switch (type) {
    case 'object':
      return 'a JSON object';
    case 'array':
      return 'an array';
    case 'boolean':
      return 'true or false';
    case 'integer':
      return `a whole number from 0 to ${MAX_COUNT}`;
    case 'null':
      return 'null';
    default:
      return `a ${type.replace(/,/g, ' or ')}`;
  }
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 72 ? `${text.slice(0, 69)}...` : text;
}

// ---- malformed HTTP ----

/** answerClientError answers a request Node's HTTP parser refused, in the same error shape. */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers_too_large', 'the request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'the request took too long to arrive']
        : [400, 'bad_request', 'the request is not valid HTTP'];
  const body = JSON.stringify({ error: { code, message } } satisfies ErrorBody);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
