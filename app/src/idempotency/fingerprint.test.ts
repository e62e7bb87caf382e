import { describe, expect, it } from 'vitest';
import { canonicalJson, requestFingerprint, type FingerprintInput } from './fingerprint';

const base: FingerprintInput = {
  method: 'POST',
  path: '/api/resources/b-l',
  scope: { businessId: 'b', locationId: 'l', resourceType: 'appointment' },
  body: { data: { a: 1, b: [1, { c: 2, d: 3 }] } },
};

describe('canonicalJson', () => {
  it('sorts every object key, at every depth, and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"e":2,"f":1}]},"b":1}');
  });

  it('drops undefined members, as JSON does', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });
});

describe('requestFingerprint', () => {
  it('is a SHA-256 hex digest', () => {
    expect(requestFingerprint(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is the same for the same body in another key order, and for a lower-case method', () => {
    const reordered = { ...base, method: 'post', body: { data: { b: [1, { d: 3, c: 2 }], a: 1 } } };
    expect(requestFingerprint(reordered)).toBe(requestFingerprint(base));
  });

  it.each([
    ['method', { method: 'PUT' }],
    ['path', { path: '/api/resources/b-l2' }],
    ['business', { scope: { ...base.scope, businessId: 'b2' } }],
    ['location', { scope: { ...base.scope, locationId: 'l2' } }],
    ['resource type', { scope: { ...base.scope, resourceType: 'other' } }],
    ['body', { body: { data: { a: 2, b: [1, { c: 2, d: 3 }] } } }],
    ['array order', { body: { data: { a: 1, b: [{ c: 2, d: 3 }, 1] } } }],
    ['no body', { body: undefined }],
  ])('differs when the %s differs', (_name, change) => {
    expect(requestFingerprint({ ...base, ...change })).not.toBe(requestFingerprint(base));
  });

  it('keeps the parts apart: moving a character from one part to the next changes it', () => {
    const a = { ...base, scope: { businessId: 'ab', locationId: 'c', resourceType: 't' } };
    const b = { ...base, scope: { businessId: 'a', locationId: 'bc', resourceType: 't' } };
    expect(requestFingerprint(a)).not.toBe(requestFingerprint(b));
  });
});
