// The OpenAPI generator, a build- and test-time tool: it builds the app over a
// stand-in service (the document needs no node behind it) with
// @fastify/swagger watching the routes being added, and writes the document
// twice at the top of the repository: openapi.yaml, the contract people read
// and the linter checks, and openapi.json, the same document that a node
// serves at GET /openapi.json (routes/openapi.ts) without loading this
// generator. Run it with `npm run openapi` after changing a route or a
// schema; test/http/openapi.test.ts fails while either file is out of date.

import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifySwagger from '@fastify/swagger';
import { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { buildApp, type App } from '../src/app.js';
import type { QuorumService } from '../src/runtime/service.js';
import { securitySchemes } from '../src/schemas.js';

/** The version of the API contract, as written in the document. */
export const API_VERSION = '0.1.0';

const HEADER = '# The quorumd HTTP API. Generated from the route schemas by scripts/openapi.ts\n# (npm run openapi): do not edit by hand.\n';

/** describeRoutes registers @fastify/swagger with the document's header, tags and security schemes. */
export function describeRoutes(app: App): void {
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
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      tags: [
        {
          name: 'peer',
          description:
            "Peer-only: the messages quorumd nodes send each other (vote, heartbeat, handoff), taking a member's peer credential. " +
            'Operators, agents and clients never call these.',
        },
        { name: 'operator', description: "What operators and the local data store's agent ask of a node." },
        { name: 'health', description: 'Probes for orchestrators and load balancers; never need a token.' },
      ],
      components: {
        securitySchemes,
      },
    },
    // A route that takes no credential says so (security: []), rather than
    // leaving a reader to guess whether its requirement was forgotten.
    transform: ({ schema, url }) => ({ schema: schema && schema.security === undefined ? { ...schema, security: [] } : schema, url }),
    refResolver: {
      // Shared schemas keep their $id as their name under components/schemas.
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
}

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

/** generateOpenApi is the document, as @fastify/swagger builds it from the route schemas. */
export async function generateOpenApi(): Promise<unknown> {
  const app = buildApp({ service: standInService(), token: null, describe: describeRoutes });
  try {
    await app.ready();
    return app.swagger();
  } finally {
    await app.close();
  }
}

/** The text of openapi.yaml and of openapi.json. */
export async function renderOpenApi(): Promise<{ yaml: string; json: string }> {
  const doc = await generateOpenApi();
  return {
    // Every object written out in full: a YAML anchor and alias for a repeated
    // object (a security list, a tag list) would be valid YAML, but hard to read
    // and unknown to some OpenAPI tools.
    yaml: HEADER + stringify(doc, { lineWidth: 100, aliasDuplicateObjects: false }),
    json: `${JSON.stringify(doc, null, 2)}\n`,
  };
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
  const rendered = await renderOpenApi();
  for (const [name, text] of [
    ['openapi.yaml', rendered.yaml],
    ['openapi.json', rendered.json],
  ] as const) {
    const target = join(packageRoot(), name);
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
  }
}
