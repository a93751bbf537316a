// Validation messages: fastify's `schemaErrorFormatter`, which turns the
// first error Ajv found in a request into one sentence naming the field, what
// it must be and what it was, as a 400 ApiError with the field's path.

import type { FastifySchemaValidationError } from 'fastify';
import { ApiError } from '../errors.js';
import { MAX_COUNT, describedPrimitives } from '../schemas.js';

/** formatPath writes a field path as people read it: membership.members[0].id. */
export function formatPath(parts: ReadonlyArray<string | number>): string {
  let out = '';
  for (const p of parts) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

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
