import { SignJWT } from 'jose';

/** The local stack's JWT secret when `JWT_SECRET` is unset: for development only, and said so at start. */
export const DEV_JWT_SECRET = 'local-development-secret-change-me-0123456789';

export interface TokenClaims {
  sub: string;
  permissions: string[];
  /** Lifetime, a jose time span such as `1h` or `15m`. @default '1h' */
  ttl?: string;
  issuer?: string;
  audience?: string;
}

/** Signs an HS256 token the gateway accepts when it runs with the same secret. */
export function signToken(secret: string, c: TokenClaims): Promise<string> {
  let jwt = new SignJWT({ permissions: c.permissions })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(c.sub)
    .setIssuedAt()
    .setExpirationTime(c.ttl ?? '1h');
  if (c.issuer) jwt = jwt.setIssuer(c.issuer);
  if (c.audience) jwt = jwt.setAudience(c.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
