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
  /**
   * Clock skew allowed between the issuer and this task, seconds: a token is taken up to this long before its
   * `nbf` and after its `exp`, and refused when its `iat` is further than this in the future.
   * @default 30
   */
  clockToleranceSeconds?: number;
  /** Clock for the claim checks and cache expiry, ms. @default Date.now */
  now?: () => number;
}

/** Default of {@link TokenVerifierOptions.clockToleranceSeconds}: clocks of hosts under NTP stay well within it. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;

/** How long the key set and a verified token are trusted before they are fetched or verified again. */
const VERIFIED_TOKEN_MAX_AGE_MS = 600_000;

/**
 * Builds the bearer-token verifier: jose's `jwtVerify` with pinned algorithms, a required `exp` and a clock
 * tolerance, in front of a bounded cache of verified tokens keyed by the whole token (as Envoy's jwt_authn
 * does) that never serves a token past its `exp`.
 * @throws Error at construction when neither a secret nor a JWKS URL is given.
 */
export function createTokenVerifier(o: TokenVerifierOptions): TokenVerifier {
  if (!o.secret === !o.jwksUrl) throw new Error('createTokenVerifier needs exactly one of secret or jwksUrl');
  if (o.secret && o.secret.byteLength < 32) throw new Error('createTokenVerifier: the HS256 secret must be at least 32 bytes');
  const key: Uint8Array | JWTVerifyGetKey =
    o.secret ?? createRemoteJWKSet(o.jwksUrl!, { cooldownDuration: 30_000, cacheMaxAge: VERIFIED_TOKEN_MAX_AGE_MS });
  const algorithms = o.secret ? ['HS256'] : ['RS256', 'ES256'];
  const toleranceSeconds = o.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const verifyOptions = { algorithms, issuer: o.issuer, audience: o.audience, requiredClaims: ['exp'], clockTolerance: toleranceSeconds };
  const maxLength = o.maxTokenLength ?? 8192;
  const cacheSize = o.cacheSize ?? 10_000;
  const now = o.now ?? Date.now;
  // Each entry until the token's exp, or until the key set is re-read (cacheMaxAge below), whichever is first:
  // a key withdrawn from the JWKS stops its tokens from the cache as soon as it stops them from jose.
  const cache = new Map<string, { principal: Principal; until: number }>();

  const toPrincipal = (payload: JWTPayload, nowSeconds: number): Principal => {
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new UnauthorizedError('invalid or expired token');
    // jose checks `iat` only against a maximum token age; a token issued in the future is refused here.
    if (typeof payload.iat === 'number' && payload.iat > nowSeconds + toleranceSeconds) throw new UnauthorizedError('invalid or expired token');
    return { sub: payload.sub, permissions: parsePermissions(payload.permissions), exp: payload.exp! };
  };

  return async (token) => {
    if (token.length > maxLength) throw new UnauthorizedError('invalid or expired token');
    const hit = cache.get(token);
    if (hit) {
      if (hit.until > now()) return hit.principal;
      cache.delete(token);
    }
    let principal: Principal;
    const currentDate = new Date(now());
    try {
      const { payload } = await jwtVerify(token, key as Uint8Array, { ...verifyOptions, currentDate });
      principal = toPrincipal(payload, Math.floor(currentDate.getTime() / 1000));
    } catch (e) {
      if (e instanceof UnauthorizedError) throw e;
      // One message for every failure: a caller learns nothing about why a token was refused.
      throw new UnauthorizedError('invalid or expired token', undefined, { cause: e });
    }
    if (cacheSize > 0) {
      if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
      // Past exp, jose decides again (within the tolerance).
      cache.set(token, { principal, until: Math.min(principal.exp * 1000, now() + VERIFIED_TOKEN_MAX_AGE_MS) });
    }
    return principal;
  };
}
