// The primitive schemas of the peer wire format, written once in TypeBox: a
// count, a term, a member id, a member URL, a string enum, and the helpers that let
// the core's message schemas refer to them by `$id`. The core derives its
// types from these schemas, src/schemas.ts serves them as named components of
// the OpenAPI document, and the peer client checks replies against them.
// TypeBox is a pure data library: building a schema does no I/O.

import { Kind, Type, TypeRegistry, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';

/**
 * Frozen is the read-only view the core takes of a wire value: every field
 * and every array of it, all the way down. Static<> types are mutable; the
 * protocol never changes a message it was given.
 */
export type Frozen<T> = T extends readonly (infer E)[] ? readonly Frozen<E>[] : T extends object ? { readonly [K in keyof T]: Frozen<T[K]> } : T;

/** ref points at a shared schema by its $id while keeping its static type. */
export function ref<T extends TSchema>(schema: T): TUnsafe<Static<T>> {
  if (schema.$id === undefined) throw new Error('ref() needs a schema with an $id');
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id));
}

// A StringEnum is a plain JSON Schema `enum` of strings, which Ajv reports in
// one clear error and the OpenAPI document shows as a list. TypeBox has no
// such type of its own, so it carries a kind of its own, and the checker
// registered here lets TypeBox's compiler and Value.Check judge it too.
const STRING_ENUM = 'StringEnum';
if (!TypeRegistry.Has(STRING_ENUM)) {
  TypeRegistry.Set(STRING_ENUM, (schema: { enum: readonly unknown[] }, value: unknown) => typeof value === 'string' && schema.enum.includes(value));
}

/** StringEnum is a schema for one of the given strings. */
export function StringEnum<const T extends readonly string[]>(values: T, options: { $id?: string; description?: string } = {}) {
  return Type.Unsafe<T[number]>({ [Kind]: STRING_ENUM, type: 'string', enum: [...values], ...options });
}

/** The largest integer the API accepts: 2^53 - 1, the last one a JSON number carries exactly. */
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;

// The `description` of each primitive schema below completes the sentence
// "<field> must be ...": the HTTP layer's validation messages use it as written.

export const Count = Type.Integer({
  $id: 'Count',
  minimum: 0,
  maximum: MAX_COUNT,
  description: `a whole number from 0 to ${MAX_COUNT}`,
});

/**
 * The highest term a node takes, stands for or accepts: 2^52. Every term
 * field on the wire is at most this, and a node at this term no longer stands.
 *
 * Why 2^52. A term is a JSON number, exact up to 2^53 - 1; a node that
 * accepted a term near that edge could not stand for the next one (term + 1
 * would no longer be exact, or would not fit the state file), and would exit
 * on every election attempt. Capping terms at 2^52 keeps term + 1 exact with a
 * margin of another 2^52 below the edge, so no arithmetic on a term, present
 * or future, gets near it. Nothing honest comes close either: 2^52 is about
 * 4.5e15 terms, over 140,000 years of elections at a thousand a second. A term
 * above it can only come from a broken or hostile sender.
 */
export const MAX_TERM = 2 ** 52;

export const Term = Type.Integer({
  $id: 'Term',
  minimum: 0,
  maximum: MAX_TERM,
  description: `a whole number from 0 to ${MAX_TERM}`,
});

export const ID_PATTERN = '^[A-Za-z0-9._-]{1,64}$';
export const ID_DESCRIPTION = '1 to 64 characters of A-Z, a-z, 0-9, ".", "_" and "-"';
export const Id = Type.String({ $id: 'Id', pattern: ID_PATTERN, description: ID_DESCRIPTION });

export const URL_PATTERN = '^https?://[^\\s/?#]+(/[^\\s?#]*)?$';
export const URL_MAX_LENGTH = 256;
export const URL_DESCRIPTION = `an http:// or https:// URL (no query or fragment) of at most ${URL_MAX_LENGTH} characters`;
export const MemberUrl = Type.String({ $id: 'MemberUrl', pattern: URL_PATTERN, maxLength: URL_MAX_LENGTH, description: URL_DESCRIPTION });

/** Objects on the wire are closed: a field the schema does not name is refused. */
export const closed = { additionalProperties: false } as const;
