// Writes openapi.yaml, the API contract, from the route schemas: it builds
// the app over a stand-in service (the document needs no node behind it),
// asks @fastify/swagger for the document and writes it as YAML at the top of
// the repository. Run it with `npm run openapi` after changing a route or a
// schema; test/http/openapi.test.ts fails while the file is out of date.

import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { buildApp } from '../src/app.js';
import type { QuorumService } from '../src/runtime/service.js';

const HEADER = '# The quorumd HTTP API. Generated from the route schemas by scripts/openapi.ts\n# (npm run openapi): do not edit by hand.\n';

/** standInService answers nothing: it exists so that the app can be built. */
export function standInService(): QuorumService {
  const none = (): never => {
    throw new Error('the stand-in service only lets the app build its OpenAPI document');
  };
  return {
    id: 'stand-in',
    registry: new Registry(),
    vote: none,
    heartbeat: none,
    handoff: none,
    reportPosition: none,
    switchover: none,
    changeMembers: none,
    primaryUrl: none,
    status: none,
    members: none,
    cluster: none,
    why: none,
    history: none,
    health: none,
    readiness: none,
    isPrimary: none,
    isReplica: none,
  };
}

/** renderOpenApi is the text of openapi.yaml. */
export async function renderOpenApi(): Promise<string> {
  const app = buildApp({ service: standInService(), token: null });
  try {
    await app.ready();
    return HEADER + stringify(app.swagger(), { lineWidth: 100 });
  } finally {
    await app.close();
  }
}

/** packageRoot is the nearest folder above this file that holds package.json. */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = join(packageRoot(), 'openapi.yaml');
  writeFileSync(target, await renderOpenApi());
  console.log(`wrote ${target}`);
}
