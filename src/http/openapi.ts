// The OpenAPI document: @fastify/swagger builds it from the route schemas,
// with the shared schemas under components/schemas by their $id. It is
// served by routes/openapi.ts and written to openapi.yaml by scripts/openapi.ts.

import fastifySwagger from '@fastify/swagger';
import { securitySchemes } from '../schemas.js';
import type { App } from './types.js';

/** The version of the API contract, as written in openapi.yaml. */
export const API_VERSION = '0.1.0';

/** registerOpenApi registers @fastify/swagger with the document's header, tags and security schemes. */
export function registerOpenApi(app: App): void {
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
