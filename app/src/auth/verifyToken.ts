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
/** How long the key set and a verified token are trusted before they are fetched or verified again. */
const VERIFIED_TOKEN_MAX_AGE_MS = 600_000;

export function createTokenVerifier(o: TokenVerifierOptions): TokenVerifier {
  if (!o.secret === !o.jwksUrl) throw new Error('createTokenVerifier needs exactly one of secret or jwksUrl');
  if (o.secret && o.secret.byteLength < 32) throw new Error('createTokenVerifier: the HS256 secret must be at least 32 bytes');
  const key: Uint8Array | JWTVerifyGetKey =
    o.secret ?? createRemoteJWKSet(o.jwksUrl!, { cooldownDuration: 30_000, cacheMaxAge: VERIFIED_TOKEN_MAX_AGE_MS });
  const algorithms = o.secret ? ['HS256'] : ['RS256', 'ES256'];
  const verifyOptions = { algorithms, issuer: o.issuer, audience: o.audience, requiredClaims: ['exp'] };
  const maxLength = o.maxTokenLength ?? 8192;
  const cacheSize = o.cacheSize ?? 10_000;
  const now = o.now ?? Date.now;
  // Each entry until the token's exp, or until the key set is re-read (cacheMaxAge below), whichever is first:
  // a key withdrawn from the JWKS stops its tokens from the cache as soon as it stops them from jose.
  const cache = new Map<string, { principal: Principal; until: number }>();

  const toPrincipal = (payload: JWTPayload): Principal => {
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new UnauthorizedError('invalid or expired token');
    return { sub: payload.sub, permissions: parsePermissions(payload.permissions), exp: payload.exp! };
  };

  return async (token) => {
    if (token.length > maxLength) throw new UnauthorizedError('invalid or expired token');
    const hit = cache.get(token);
    if (hit) {
      // A cached token is only as good as its exp; the jose check also allows no clock tolerance.
      if (hit.until > now()) return hit.principal;
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
      cache.set(token, { principal, until: Math.min(principal.exp * 1000, now() + VERIFIED_TOKEN_MAX_AGE_MS) });
    }
    return principal;
  };
}
