import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { UnauthorizedError } from '../errors';
import { parsePermissions, type Permission } from './permissions';

/** The authenticated caller. */
export interface Principal {
  sub: string;
  permissions: readonly Permission[];
  /** Expiry, epoch seconds. */
  exp: number;
}

export type TokenVerifier = (token: string) => Promise<Principal>;

export interface TokenVerifierOptions {
  /** HS256 shared secret, or */
  secret?: Uint8Array;
  /** JWKS URL serving RS256/ES256 keys (fetched and cached by jose). */
  jwksUrl?: URL;
  issuer?: string;
  audience?: string;
  /** Verified tokens to keep; 0 disables. @default 10000 */
  cacheSize?: number;
  /** Tokens longer than this are refused unread. @default 8192 */
  maxTokenLength?: number;
  /** Clock for cache expiry, ms. @default Date.now */
  now?: () => number;
}

/**
 * Builds the bearer-token verifier: jose's `jwtVerify` with pinned algorithms and a required `exp`, in front
 * of a bounded cache of verified tokens keyed by the whole token (as Envoy's jwt_authn does) that never
 * serves a token past its `exp`.
 * @throws Error at construction when neither a secret nor a JWKS URL is given.
 */
export function createTokenVerifier(o: TokenVerifierOptions): TokenVerifier {
  if (!o.secret === !o.jwksUrl) throw new Error('createTokenVerifier needs exactly one of secret or jwksUrl');
  if (o.secret && o.secret.byteLength < 32) throw new Error('createTokenVerifier: the HS256 secret must be at least 32 bytes');
  const key: Uint8Array | JWTVerifyGetKey = o.secret ?? createRemoteJWKSet(o.jwksUrl!, { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
  const algorithms = o.secret ? ['HS256'] : ['RS256', 'ES256'];
  const verifyOptions = { algorithms, issuer: o.issuer, audience: o.audience, requiredClaims: ['exp'] };
  const maxLength = o.maxTokenLength ?? 8192;
  const cacheSize = o.cacheSize ?? 10_000;
  const now = o.now ?? Date.now;
  const cache = new Map<string, Principal>();

  const toPrincipal = (payload: JWTPayload): Principal => {
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new UnauthorizedError('invalid or expired token');
    return { sub: payload.sub, permissions: parsePermissions(payload.permissions), exp: payload.exp! };
  };

  return async (token) => {
    if (token.length > maxLength) throw new UnauthorizedError('invalid or expired token');
    const hit = cache.get(token);
    if (hit) {
      // A cached token is only as good as its exp; the jose check also allows no clock tolerance.
      if (hit.exp * 1000 > now()) return hit;
      cache.delete(token);
    }
    let principal: Principal;
    try {
      const { payload } = await jwtVerify(token, key as Uint8Array, verifyOptions);
      principal = toPrincipal(payload);
    } catch (e) {
      if (e instanceof UnauthorizedError) throw e;
      // One message for every failure: a caller learns nothing about why a token was refused.
      throw new UnauthorizedError('invalid or expired token', undefined, { cause: e });
    }
    if (cacheSize > 0) {
      if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
      cache.set(token, principal);
    }
    return principal;
  };
}
