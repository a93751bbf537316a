// The core stays pure: no file in src/core may import anything but its sibling
// core modules and '@sinclair/typebox' (a pure data library, in which the core
// writes its wire schemas), nor touch the clock, randomness, timers or the
// process. The scan parses each file with the TypeScript compiler, so comments
// and strings that merely mention a word (the node's comments speak of a
// "process" gone) do not count, and code cannot hide in them either.

import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import ts from 'typescript';

const CORE = fileURLToPath(new URL('../../src/core/', import.meta.url));

/** The one package the core may import: TypeBox's root module, which only builds schemas. */
const ALLOWED_PACKAGES = new Set(['@sinclair/typebox']);

/** Globals that do I/O, read time, schedule work or draw entropy. */
const FORBIDDEN_GLOBALS = new Set([
  'Date',
  'performance',
  'process',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'clearInterval',
  'clearImmediate',
  'queueMicrotask',
  'require',
  'fetch',
  'globalThis',
  'global',
  'crypto',
  'console',
  'Buffer',
  'XMLHttpRequest',
  'WebSocket',
]);

/** scanSource lists every impurity in one module's source, with its line. */
function scanSource(fileName: string, text: string, siblings: ReadonlySet<string>): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const at = (node: ts.Node) => `${fileName}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
  const checkSpecifier = (spec: ts.Expression | undefined, node: ts.Node) => {
    if (!spec || !ts.isStringLiteral(spec) || ALLOWED_PACKAGES.has(spec.text)) return;
    const m = /^\.\/([\w-]+)\.js$/.exec(spec.text);
    if (!m || !siblings.has(`${m[1]}.ts`)) {
      found.push(`${at(node)} imports '${spec.text}' (only sibling core modules './x.js' and ${[...ALLOWED_PACKAGES].join(', ')})`);
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) checkSpecifier(node.moduleSpecifier, node);
    else if (ts.isImportEqualsDeclaration(node)) found.push(`${at(node)} uses import = require`);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) found.push(`${at(node)} uses a dynamic import()`);
    else if (ts.isMetaProperty(node)) found.push(`${at(node)} uses import.meta`);
    else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Math' && node.name.text === 'random') {
      found.push(`${at(node)} uses Math.random`);
    } else if (ts.isIdentifier(node) && FORBIDDEN_GLOBALS.has(node.text)) {
      found.push(`${at(node)} uses ${node.text}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

t.test('the scanner finds each kind of impurity it looks for', async (t) => {
  // Proves the scan can fail: a sample module with every forbidden thing, once
  // each, yields one finding per line, and a clean module none.
  const siblings = new Set(['position.ts']);
  const bad = [
    "import { readFileSync } from 'node:fs';",
    "import { covers } from '../core/position.js';",
    "export * from 'undici';",
    "import { Value } from '@sinclair/typebox/value';",
    "import { Type } from '@sinclair/typebox-extra';",
    'const t0 = Date.now();',
    'const r = Math.random();',
    'setTimeout(() => {}, 1);',
    'setInterval(() => {}, 1);',
    'const p = performance.now();',
    'const env = process.env;',
    "const m = await import('./position.js');",
    'const u = import.meta.url;',
    "console.log('x');",
    "import x = require('fs');",
  ];
  const found = scanSource('sample.ts', bad.join('\n'), siblings);
  const lines = found.map((f) => Number(/:(\d+) /.exec(f)?.[1]));
  const expected = bad.map((_, i) => i + 1);
  t.same(lines, expected, lines.join() === expected.join() ? 'one finding per forbidden line' : `not one finding per forbidden line:\n${found.join('\n')}`);
  const clean = [
    "import { covers, type LogPosition } from './position.js';",
    "export * from './position.js';",
    "import { Type, type Static } from '@sinclair/typebox';",
    '// A comment may speak of a process, of Date and of setTimeout.',
    "const s = 'a string may say Math.random() and process.exit()';",
    'export const max = Math.max(1, Math.floor(2.5));',
  ];
  t.same(scanSource('clean.ts', clean.join('\n'), siblings), [], 'a clean module has no findings');
});

t.test('no module of src/core does I/O, reads time or draws randomness of its own', async (t) => {
  // Proves the core is pure: every import is a sibling core module or
  // TypeBox's root module, and no code touches Date, Math.random, timers,
  // performance, process or other I/O globals.
  const files = readdirSync(CORE).filter((f) => f.endsWith('.ts'));
  const siblings = new Set(files);
  for (const expected of ['node.ts', 'vote.ts', 'membership.ts', 'random.ts', 'timings.ts', 'index.ts']) {
    t.ok(siblings.has(expected), `the scan covers ${expected}`);
  }
  const found = files.flatMap((f) => scanSource(f, readFileSync(join(CORE, f), 'utf8'), siblings));
  t.same(found, [], 'impure code in src/core');
});
