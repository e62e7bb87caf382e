import { createMiddleware } from 'hono/factory';
import { UnauthorizedError } from '../errors';
import type { Principal, TokenVerifier } from './verifyToken';

export interface AuthVariables {
  principal: Principal;
}

/** `Authorization: Bearer <token>`, syntactically; the HTTP server admits a body only with one. */
export const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** Middleware: verifies `Authorization: Bearer <JWT>` and sets the context's `principal`; 401 otherwise. */
export function authenticate(verify: TokenVerifier) {
  return createMiddleware<{ Variables: AuthVariables }>(async (c, next) => {
    const header = c.req.header('Authorization');
    if (!header) throw new UnauthorizedError('missing bearer token');
    const m = BEARER.exec(header);
    if (!m) throw new UnauthorizedError('invalid authorization header');
    c.set('principal', await verify(m[1]!));
    await next();
  });
}
