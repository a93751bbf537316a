// The CI machines run no Docker engine, so these tests read docker-compose.yml
// and the Dockerfile and check what a Docker engine would start: every node's
// environment passes the same configuration check the quorumd command runs.

import { readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { checkEnv } from '../../src/config.js';

interface Service {
  environment?: Record<string, string | number>;
  healthcheck?: { test: string[] };
  entrypoint?: string[];
  volumes?: string[];
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, Service> };

/** The token the tests set, as an operator must before `docker compose up`. */
const TEST_TOKEN = 'compose-test-token-0123456789';

/**
 * interpolate does what compose does with the variables it is given:
 * ${NAME:-default} takes the default when NAME is unset or empty, and
 * ${NAME:?message} is an error then (compose refuses to start).
 */
function interpolate(value: string, vars: Record<string, string> = { QUORUMD_TOKEN: TEST_TOKEN }): string {
  return value.replace(/\$\{([A-Z_]+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op: string | undefined, rest: string | undefined) => {
    const set = vars[name];
    if (set !== undefined && set !== '') return set;
    if (op === '-') return rest ?? '';
    if (op === '?') throw new Error(`required variable ${name} is missing a value: ${rest}`);
    return '';
  });
}

function envOf(service: Service, vars?: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), vars)]));
}

const nodes = Object.entries(compose.services).filter(([, s]) => s.environment?.QUORUMD_ID !== undefined);

t.test('the compose file runs two data nodes and a witness', async (t) => {
  const kinds = nodes.map(([, s]) => envOf(s).QUORUMD_KIND).sort();
  t.same(kinds, ['data', 'data', 'witness']);
});

for (const [name, service] of nodes) {
  t.test(`service ${name}: its environment passes the configuration check`, async (t) => {
    const env = envOf(service);
    const result = checkEnv(env);
    t.ok(result.ok, result.ok ? 'valid' : `problems: ${result.problems.join('; ')}`);
    if (!result.ok) return;
    t.equal(result.config.id, name, 'the node id is the service name');
    t.equal(result.config.url, `http://${name}:7400`, 'it advertises the URL its peers use');
    const self = result.config.members.find((m) => m.id === name);
    t.equal(self?.url, result.config.url, 'its own entry in the member list has that URL');
    t.ok(result.config.token, 'a cluster token is configured');
  });

  t.test(`service ${name}: the health check asks /healthz and the data folder is a volume`, async (t) => {
    t.match(service.healthcheck?.test.join(' '), /\/healthz/);
    t.ok(
      service.volumes?.some((v) => v.endsWith(':' + envOf(service).QUORUMD_DATA_DIR)),
      'the data folder is on a volume',
    );
  });
}

t.test('every node lists the same members and the same token', async (t) => {
  const envs = nodes.map(([, s]) => envOf(s));
  t.equal(new Set(envs.map((e) => e.QUORUMD_MEMBERS)).size, 1, 'one member list');
  t.equal(new Set(envs.map((e) => e.QUORUMD_TOKEN)).size, 1, 'one token');
  const members = JSON.parse(envs[0]!.QUORUMD_MEMBERS!) as Array<{ id: string }>;
  t.same(members.map((m) => m.id).sort(), nodes.map(([n]) => n).sort(), 'the member list names exactly the node services');
});

t.test('the demo store service plays the data nodes agent with the same members and token', async (t) => {
  const demo = compose.services['demo-store'];
  t.ok(demo, 'there is a demo-store service');
  t.same(demo?.entrypoint, ['node', 'dist/scripts/demo-store.js']);
  const env = envOf(demo!);
  t.equal(env.QUORUMD_MEMBERS, envOf(nodes[0]![1]).QUORUMD_MEMBERS);
  t.equal(env.QUORUMD_TOKEN, envOf(nodes[0]![1]).QUORUMD_TOKEN);
});

t.test('no service has a default token: compose refuses to start without QUORUMD_TOKEN', async (t) => {
  const withToken = Object.entries(compose.services).filter(([, s]) => s.environment?.QUORUMD_TOKEN !== undefined);
  t.ok(withToken.length >= 4, 'every node and the demo store take the token');
  for (const [name, service] of withToken) {
    const raw = String(service.environment!.QUORUMD_TOKEN);
    t.notMatch(raw, /\$\{QUORUMD_TOKEN:?-/, `${name}: no fallback token`);
    t.match(raw, /^\$\{QUORUMD_TOKEN:\?[^}]+\}$/, `${name}: the token is a required variable with a message`);
    t.throws(() => envOf(service, {}), /QUORUMD_TOKEN/, `${name}: without the variable, interpolation fails`);
    t.equal(envOf(service).QUORUMD_TOKEN, TEST_TOKEN, `${name}: with it, the service gets exactly that token`);
  }
  t.notMatch(readFileSync('docker-compose.yml', 'utf8'), /QUORUMD_TOKEN:?-/, 'no fallback for QUORUMD_TOKEN anywhere in the file');
});

t.test('the Dockerfile builds and runs the quorumd command and checks /healthz', async (t) => {
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  t.match(dockerfile, /ENTRYPOINT \["node", "--max-semi-space-size=2", "bin\/quorumd\.js"\]/);
  t.match(dockerfile, /HEALTHCHECK[\s\S]*\/healthz/);
  t.match(dockerfile, /COPY --from=build \/app\/dist\/openapi\.json dist\/openapi\.json/, 'the image holds the OpenAPI document a node serves');
  t.match(dockerfile, /FROM node:20/);
  t.match(dockerfile, /chown node:node \/var\/lib\/quorumd/, 'the data folder belongs to the user the node runs as');
});
