// The baseline of `npm run bench:vote`: a bare fastify app with one POST route
// whose JSON body schema has the shape of quorumd's /vote body and which
// answers a small JSON object of the shape of its reply. It runs as its own
// process, as a quorumd node does, listens on 127.0.0.1 on a free port and
// prints `listening <port>` once it serves.

import Fastify from 'fastify';

const MAX = Number.MAX_SAFE_INTEGER;
const count = { type: 'integer', minimum: 0, maximum: MAX } as const;
const id = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } as const;

const app = Fastify({ logger: false, bodyLimit: 8 * 1024 });
app.post(
  '/vote',
  {
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['candidateId', 'term', 'lastLogTerm', 'lastLogLsn', 'dryRun'],
        properties: { candidateId: id, term: count, lastLogTerm: count, lastLogLsn: count, dryRun: { type: 'boolean' }, handoff: { type: 'boolean' } },
      },
      response: {
        200: {
          type: 'object',
          additionalProperties: false,
          required: ['granted', 'term', 'voterId'],
          properties: { granted: { type: 'boolean' }, term: count, voterId: id },
        },
      },
    },
  },
  async (request) => {
    const body = request.body as { term: number };
    return { granted: false, term: body.term - 1, voterId: 'bare' };
  },
);

await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : 0}\n`);
// The benchmark owns this process: it ends when the benchmark closes its stdin or goes away.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
