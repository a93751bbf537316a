// openapi.yaml passes a maintained OpenAPI linter, Redocly CLI, under the rule
// set in redocly.yaml (Redocly's recommended-strict, two rules off for what
// the API is). The linter runs as a child process, as `npx redocly lint`
// would, with telemetry and update checks off: nothing leaves the machine.

import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = createRequire(import.meta.url).resolve('@redocly/cli/bin/cli.js');

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: Array<{ ruleId: string; severity: string; message: string }>;
}

/** lint runs the linter on one file with the project's rules; its exit code and JSON report. */
function lint(file: string): Promise<{ code: number; report: LintReport }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [cli, 'lint', file, '--config', join(root, 'redocly.yaml'), '--format', 'json'],
      {
        cwd: root,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        try {
          resolve({ code, report: JSON.parse(stdout) as LintReport });
        } catch {
          reject(new Error(`the linter printed no JSON report (exit ${code}): ${String(err ?? stdout)}`));
        }
      },
    );
  });
}

t.test('openapi.yaml passes the linter with no error and no warning', async (t) => {
  const { code, report } = await lint(join(root, 'openapi.yaml'));
  t.strictSame(report.problems, [], 'no problems');
  t.strictSame(report.totals, { errors: 0, warnings: 0, ignored: 0 });
  t.equal(code, 0, 'the linter exits 0');
});

t.test('the rule set bites: a document with a flaw fails it', async (t) => {
  // The same document without its license and with an operation that has no
  // operationId: two findings of the recommended rules, made errors.
  const text = readFileSync(join(root, 'openapi.yaml'), 'utf8')
    .replace(/^ {2}license:\n(?: {4}.*\n)+/m, '')
    .replace(/^ {6}operationId: vote\n/m, '');
  const file = join(t.testdir(), 'flawed.yaml');
  writeFileSync(file, text);
  const { code, report } = await lint(file);
  t.not(code, 0, 'the linter exits non-zero');
  const found = report.problems.map((p) => `${p.ruleId} ${p.severity}`).sort();
  t.strictSame(found, ['info-license error', 'operation-operationId error'], 'both flaws are errors');
});
