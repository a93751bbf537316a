// JSON bodies: application/json is the only body type the app reads (any
// other is a 415), parsed by fastify's own parser, and a number JSON.parse
// had to round to a whole number is refused with a 400 instead of reaching
// the schema as a whole number the client never sent.

import { ApiError } from '../errors.js';
import type { App } from './types.js';
import { formatPath } from './validation.js';

/**
 * installJsonParser makes application/json the only body type (415 for any
 * other) and parses it with fastify's own parser, which refuses __proto__ and
 * constructor.prototype keys. It then refuses any number JSON.parse had to
 * round to a whole number (1.0000000000000001, 4503599627370496.5): such a
 * value is not the whole number the schema would then see.
 */
export function installJsonParser(app: App, opts: { readonly bodyLimit: number }): void {
  const { bodyLimit } = opts;
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
  if (!mayHoldRoundedNumber(text)) return null;
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

/**
 * A number literal anywhere in the text, strings included. Every number of
 * the JSON is matched whole, as the walk below reads it: the character
 * before one (`:`, `,`, `[` or white space) is never part of a match.
 */
const ANY_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * mayHoldRoundedNumber says whether some number-like run of the text, in a
 * string or not, is a rounded whole number: only then is the text walked
 * (to find whether it is a number, and its field). A heartbeat holds member
 * urls (127.0.0.1) and the drift bound (0.05), so a cheaper test that looks
 * for a digit before a dot would walk every heartbeat.
 */
function mayHoldRoundedNumber(text: string): boolean {
  if (!/\d[.eE]/.test(text)) return false;
  ANY_NUMBER.lastIndex = 0;
  for (let m = ANY_NUMBER.exec(text); m !== null; m = ANY_NUMBER.exec(text)) {
    const literal = m[0];
    if (literal.length > 1 && /[.eE]/.test(literal) && Number.isInteger(Number(literal)) && !isExactInteger(literal)) return true;
  }
  return false;
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
