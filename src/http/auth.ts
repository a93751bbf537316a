// Bearer tokens: with a cluster token configured, every route whose schema
// declares `security` (the peer routes and the mutating operator routes)
// needs Authorization: Bearer <cluster token>, compared in constant time.
// Health probes, status and metrics declare none and stay open.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { App } from './types.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * installTokenCheck refuses, before the body is even read, a request to a
 * route whose schema declares `security` unless it carries the cluster token.
 * Both sides are hashed first, so timingSafeEqual compares equal lengths and
 * the time taken says nothing about the token. Without a token it does nothing.
 */
export function installTokenCheck(app: App, opts: { readonly token: string | null }): void {
  const { token } = opts;
  if (token === null) return;
  const expected = digest(token);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const security = request.routeOptions.schema?.security;
    if (!security || security.length === 0) return;
    const header = request.headers.authorization;
    if (header === undefined) throw new ApiError(401, 'unauthorized', 'this route needs Authorization: Bearer <cluster token>');
    const match = /^Bearer +(\S+) *$/i.exec(header);
    const presented = match?.[1];
    if (presented === undefined) throw new ApiError(401, 'unauthorized', 'the Authorization header must be "Bearer <cluster token>"');
    if (!timingSafeEqual(digest(presented), expected)) throw new ApiError(401, 'unauthorized', 'the bearer token is not the cluster token');
  });
}
