// The JSON body check finds a number JSON.parse rounded to a whole number
// wherever it is, in bodies shaped like a heartbeat's: member urls
// (127.0.0.1), fractions (0.05) and number-like text in strings, which the
// check's quick pre-scan passes over, must never hide a rounded number.

import fc from 'fast-check';
import t from 'tap';
import { findRoundedNumber } from '../../src/http/json.js';

const ROUNDED = ['1.0000000000000001', '4503599627370496.5', '0.99999999999999999', '-1.00000000000000001e3'];
const HARMLESS = ['0.05', '127.0', '1.5', '1e3', '2.0', '-2.5e1', '30', '0'];

/** A heartbeat-like body with `literal` spliced in raw as the value of field `at`. */
function body(members: number, literal: string, at: number, noise: string): { text: string; field: string } {
  const fields = [
    '"term":2',
    '"primaryId":"d1"',
    `"members":[${Array.from({ length: members }, (_, i) => `{"id":"d${i}","url":"http://127.0.0.1:4${i}01/${noise}"}`).join(',')}]`,
    '"clockDriftBound":0.05',
    `"note":"${noise}"`,
  ];
  const name = `f${at}`;
  fields.splice(at % (fields.length + 1), 0, `"${name}":${literal}`);
  return { text: `{${fields.join(',')}}`, field: name };
}

t.test('a rounded number among urls, fractions and number-like strings is always found, with its field', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 9 }),
      fc.constantFrom(...ROUNDED),
      fc.nat(10),
      fc.constantFrom('', '1.0000000000000001', 'v1.0e5', '10.0.0.1', '4503599627370496.5x'),
      (members, literal, at, noise) => {
        const { text, field } = body(members, literal, at, noise);
        const found = findRoundedNumber(text);
        return found !== null && found.field === field && found.literal === literal;
      },
    ),
  );
  t.pass('every generated body checked');
});

t.test('a body whose only rounded-looking text is in strings, or whose numbers are exact, passes', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 9 }),
      fc.constantFrom(...HARMLESS),
      fc.nat(10),
      fc.constantFrom('', '1.0000000000000001', 'v1.0e5', '10.0.0.1'),
      (members, literal, at, noise) => findRoundedNumber(body(members, literal, at, noise).text) === null,
    ),
  );
  t.pass('every generated body checked');
});
