import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UnauthorizedError } from '../errors';
import { createTokenVerifier } from './verifyToken';

const SECRET = new TextEncoder().encode('0123456789abcdef0123456789abcdef');
const now = () => Math.floor(Date.now() / 1000);

function hs256(claims: Record<string, unknown> = {}, o: { exp?: number | null; secret?: Uint8Array; alg?: string } = {}) {
  let jwt = new SignJWT({ permissions: ['b:l:t:*'], ...claims }).setProtectedHeader({ alg: o.alg ?? 'HS256' }).setSubject('alice');
  if (o.exp !== null) jwt = jwt.setExpirationTime(o.exp ?? now() + 600);
  return jwt.sign(o.secret ?? SECRET);
}

async function refusal(p: Promise<unknown>): Promise<UnauthorizedError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UnauthorizedError);
    return e as UnauthorizedError;
  }
  throw new Error('expected a refusal');
}

describe('createTokenVerifier with a secret (HS256)', () => {
  const verify = createTokenVerifier({ secret: SECRET, issuer: 'https://issuer.example', audience: 'gateway' });
  const claims = { iss: 'https://issuer.example', aud: 'gateway' };

  it('returns the principal with parsed permissions', async () => {
    const p = await verify(await hs256(claims));
    expect(p.sub).toBe('alice');
    expect(p.permissions).toEqual([['b', 'l', 't', '*']]);
  });

  it.each([
    ['expired beyond the clock tolerance', () => hs256(claims, { exp: now() - 60 })],
    ['without exp', () => hs256(claims, { exp: null })],
    ['not yet valid', () => hs256({ ...claims, nbf: now() + 600 })],
    ['of the wrong issuer', () => hs256({ ...claims, iss: 'https://evil.example' })],
    ['for the wrong audience', () => hs256({ ...claims, aud: 'other' })],
    ['signed with another secret', () => hs256(claims, { secret: new TextEncoder().encode('another-secret-another-secret-000') })],
    ['with a tampered payload', async () => {
      const [h, , s] = (await hs256(claims)).split('.');
      const payload = Buffer.from(JSON.stringify({ ...claims, sub: 'alice', permissions: ['*:*:*:*'], exp: now() + 600 })).toString('base64url');
      return `${h}.${payload}.${s}`;
    }],
    ['with alg none', async () => {
      const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
      const payload = Buffer.from(JSON.stringify({ ...claims, sub: 'alice', exp: now() + 600 })).toString('base64url');
      return `${header}.${payload}.`;
    }],
    ['signed HS512', () => hs256(claims, { alg: 'HS512' })],
    ['oversized', () => hs256({ ...claims, pad: 'x'.repeat(10_000) })],
    ['without sub', () => new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(now() + 60).sign(SECRET)],
  ])('refuses a token %s with one uninformative message', async (_name, make) => {
    const e = await refusal(verify(await make()));
    expect(e.message).toBe('invalid or expired token');
  });

  it('never serves a cached token past its exp plus the clock tolerance', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
      const v = createTokenVerifier({ secret: SECRET, clockToleranceSeconds: 30 });
      const token = await hs256({}, { exp: now() + 2 });
      await v(token);
      vi.setSystemTime(new Date('2030-01-01T00:00:31Z'));
      expect((await v(token)).sub).toBe('alice'); // exp + 29 s: within the tolerance
      vi.setSystemTime(new Date('2030-01-01T00:00:33Z'));
      await refusal(v(token));
    } finally {
      vi.useRealTimers();
    }
  });

  it('verifies a long-lived token again after 10 minutes, as often as the key set is re-read', async () => {
    let t = Date.parse('2030-01-01T00:00:00Z');
    const v = createTokenVerifier({ secret: SECRET, now: () => t });
    const token = await hs256({}, { exp: Math.floor(t / 1000) + 3600 });
    const verified = await v(token);
    t += 9 * 60_000;
    expect(await v(token)).toBe(verified); // from the cache
    t += 2 * 60_000;
    expect(await v(token)).not.toBe(verified); // verified again: a new principal
  });

  it('refuses to be built without a secret or JWKS URL', () => {
    expect(() => createTokenVerifier({})).toThrow(/exactly one/);
  });

  it('refuses to be built with a short secret', () => {
    expect(() => createTokenVerifier({ secret: new Uint8Array(16) })).toThrow(/32 bytes/);
  });
});

describe('createTokenVerifier clock tolerance', () => {
  // The verifier's clock, fixed; tokens carry claims relative to it.
  const T = Date.parse('2030-06-01T12:00:00Z') / 1000;
  const at = (tolerance?: number) => createTokenVerifier({ secret: SECRET, now: () => T * 1000, cacheSize: 0, clockToleranceSeconds: tolerance });
  const token = (claims: { nbf?: number; iat?: number; exp?: number }) =>
    hs256({ ...(claims.nbf !== undefined ? { nbf: claims.nbf } : {}), ...(claims.iat !== undefined ? { iat: claims.iat } : {}) }, { exp: claims.exp ?? T + 600 });

  it.each([
    ['an nbf 1 s ahead', { nbf: T + 1 }],
    ['an nbf 30 s ahead', { nbf: T + 30 }],
    ['an exp 30 s ago', { exp: T - 29 }],
    ['an iat 30 s ahead', { iat: T + 30 }],
    ['an iat in the past', { iat: T - 3600 }],
  ])('accepts a token with %s by default (30 s)', async (_name, claims) => {
    expect((await at()(await token(claims))).sub).toBe('alice');
  });

  it.each([
    ['an nbf 31 s ahead', { nbf: T + 31 }],
    ['an exp 31 s ago', { exp: T - 31 }],
    ['an iat 31 s ahead', { iat: T + 31 }],
    ['an iat an hour ahead', { iat: T + 3600 }],
  ])('refuses a token with %s by default (30 s)', async (_name, claims) => {
    await refusal(at()(await token(claims)));
  });

  it('applies the configured tolerance: none refuses an nbf 1 s ahead and an iat 1 s ahead', async () => {
    await refusal(at(0)(await token({ nbf: T + 1 })));
    await refusal(at(0)(await token({ iat: T + 1 })));
    expect((await at(0)(await token({ nbf: T, iat: T }))).sub).toBe('alice');
  });

  it('applies the configured tolerance: 300 s accepts an iat 299 s ahead', async () => {
    expect((await at(300)(await token({ iat: T + 299 }))).sub).toBe('alice');
    await refusal(at(300)(await token({ iat: T + 301 })));
  });
});

describe('createTokenVerifier with a JWKS URL (RS256/ES256)', () => {
  let server: Server;
  let url: URL;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let rsaPublicJwk: JWK;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    const ec = await generateKeyPair('ES256', { extractable: true });
    rsaPublicJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256', use: 'sig' };
    const keys = [rsaPublicJwk, { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256', use: 'sig' }];
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`);
    (globalThis as Record<string, unknown>).__ec = ec;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('accepts RS256 and ES256 tokens signed by keys of the set', async () => {
    const verify = createTokenVerifier({ jwksUrl: url });
    const ec = (globalThis as Record<string, unknown>).__ec as typeof rsa;
    const r = await new SignJWT({ permissions: [] }).setProtectedHeader({ alg: 'RS256', kid: 'rsa' }).setSubject('a').setExpirationTime('5m').sign(rsa.privateKey);
    const e = await new SignJWT({ permissions: [] }).setProtectedHeader({ alg: 'ES256', kid: 'ec' }).setSubject('b').setExpirationTime('5m').sign(ec.privateKey);
    expect((await verify(r)).sub).toBe('a');
    expect((await verify(e)).sub).toBe('b');
  });

  it('refuses an HS256 token signed with the RSA public key (algorithm confusion)', async () => {
    const verify = createTokenVerifier({ jwksUrl: url });
    const pem = new TextEncoder().encode(JSON.stringify(rsaPublicJwk));
    const forged = await new SignJWT({ permissions: ['*:*:*:*'] }).setProtectedHeader({ alg: 'HS256', kid: 'rsa' }).setSubject('mallory').setExpirationTime('5m').sign(pem);
    await refusal(verify(forged));
  });
});
