import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../app/test/harness';

/**
 * Property-based: random malformed requests never get a 5xx, always get the JSON error shape when refused,
 * and write nothing. Only requests answered 202 may put a record on the stream, one each. Every answer is
 * also checked against the OpenAPI document by the harness' app.
 */
let h: Harness;
let app: ReturnType<Harness['app']>;
let token: string;
beforeAll(async () => {
  h = await startHarness();
  app = h.app();
  token = await h.token(['*:*:*:*']);
});
afterAll(() => h.close());

const anyText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', '..', '%00', '%2e%2e', '__proto__', 'constructor', 'a'.repeat(300), 'b-1', 'appointment', '\u0000', '\uFFFF', '😀'),
);
const segment = anyText.map((s) => encodeURIComponent(s));
const headerValue = fc.oneof(anyText.filter((s) => /^[\t\x20-\x7e]*$/.test(s)), fc.constantFrom('b', 'l', 'appointment', 'x'.repeat(100)));

const deepNest = fc.integer({ min: 30, max: 40 }).map((n) => '{"data":' + '{"a":'.repeat(n) + '1' + '}'.repeat(n) + '}');
const protoKeys = fc.constantFrom('__proto__', 'constructor', 'prototype').map((k) => `{"data":{"x":{"${k}":{"polluted":true}}}}`);
const bodyText = fc.oneof(
  fc.json(),
  fc.string(),
  fc.jsonValue().map((v) => JSON.stringify({ data: v })),
  deepNest,
  protoKeys,
  fc.constantFrom('{"data":', '{"data":[]}', '{"data":null}', '\u0000', '{"data":{"a":"\\ud800"}}'),
);
const bodyBytes = fc.oneof(
  bodyText.map((t) => new TextEncoder().encode(t)),
  fc.uint8Array({ maxLength: 64 }),
  fc.constant(new Uint8Array([0x7b, 0x22, 0x64, 0x61, 0x74, 0x61, 0x22, 0x3a, 0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x7d])),
);

const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
  path: fc.oneof(
    fc.tuple(segment, fc.option(segment)).map(([bl, id]) => `/api/resources/${bl}${id === null ? '' : `/${id}`}`),
    fc.constant('/api/resources/b-l'),
    fc.constant('/api/resources/b-l/r-1'),
    segment.map((s) => `/api/requests/${s}`),
    fc.tuple(fc.array(fc.tuple(anyText, anyText), { maxLength: 25 })).map(
      ([q]) => `/api/resources/b-l?${q.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`,
    ),
    segment.map((s) => `/${s}`),
  ),
  business: fc.option(fc.oneof(fc.constant('b'), headerValue)),
  location: fc.option(fc.oneof(fc.constant('l'), headerValue)),
  type: fc.option(fc.oneof(fc.constant('appointment'), headerValue)),
  contentType: fc.option(
    fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'application/json; charset="', 'application/x-www-form-urlencoded', 'application/vnd.api+json'),
  ),
  contentEncoding: fc.option(fc.constantFrom('gzip', 'identity', 'br, gzip', '')),
  prefer: fc.option(fc.constantFrom('wait=0', 'wait=1', 'wait=abc', 'wait=99999999999', 'respond-async')),
  auth: fc.constantFrom('valid', 'none', 'garbage'),
  body: fc.option(bodyBytes),
});

describe('hostile input', () => {
  it('never answers 5xx, always answers refusals as JSON errors, and writes only what it accepted', async () => {
    const before = (await h.records()).length;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        if (r.business !== null) headers['X-Business-ID'] = r.business;
        if (r.location !== null) headers['X-Location-ID'] = r.location;
        if (r.type !== null) headers['X-Resource-Type'] = r.type;
        if (r.contentType !== null) headers['Content-Type'] = r.contentType;
        if (r.contentEncoding !== null) headers['Content-Encoding'] = r.contentEncoding;
        if (r.prefer !== null) headers.Prefer = r.prefer;
        if (r.auth === 'valid') headers.Authorization = `Bearer ${token}`;
        if (r.auth === 'garbage') headers.Authorization = 'Bearer a.b.c';
        const withBody = r.body !== null && !['GET', 'HEAD'].includes(r.method);
        const res = await app.request(r.path, { method: r.method, headers, body: withBody ? r.body : undefined });
        expect(res.status).toBeLessThan(500);
        if (res.status === 202) accepted++;
        else if (res.status >= 400 && r.method !== 'HEAD') {
          const body = (await res.json()) as { success: boolean; error: { code: string; message: string } };
          expect(body.success).toBe(false);
          expect(body.error.code).toMatch(/^[A-Z_]+$/);
          expect(typeof body.error.message).toBe('string');
        }
      }),
      { numRuns: 400, seed: 20261127 },
    );
    expect((await h.records()).length - before).toBe(accepted);
  });

  it('refuses prototype keys and deep nesting in data, writing nothing', async () => {
    const before = (await h.records()).length;
    for (const body of ['{"data":{"a":{"constructor":{"x":1}}}}', '{"data":' + '{"a":'.repeat(40) + '1' + '}'.repeat(40) + '}']) {
      const res = await app.request('/api/resources/b-l', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'X-Business-ID': 'b', 'X-Location-ID': 'l', 'X-Resource-Type': 'appointment' },
        body,
      });
      expect(res.status).toBe(400);
    }
    expect(await h.records()).toHaveLength(before);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses a list filter named %s with 400, writing nothing', async (name) => {
    const before = (await h.records()).length;
    const res = await app.request(`/api/resources/b-l?${name}=x`, {
      headers: { Authorization: `Bearer ${token}`, 'X-Business-ID': 'b', 'X-Location-ID': 'l', 'X-Resource-Type': 'appointment' },
    });
    expect(res.status).toBe(400);
    expect(await h.records()).toHaveLength(before);
  });

  it('refuses a body that is not valid UTF-8 with 400', async () => {
    const res = await app.request('/api/resources/b-l', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'X-Business-ID': 'b', 'X-Location-ID': 'l', 'X-Resource-Type': 'appointment' },
      body: new Uint8Array([0x7b, 0x22, 0x64, 0x61, 0x74, 0x61, 0x22, 0x3a, 0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d, 0x7d]),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_ERROR');
  });

  it('refuses a URL over 8 KiB with 414', async () => {
    const res = await app.request(`/api/resources/b-l?f=${'x'.repeat(9000)}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(414);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('URI_TOO_LONG');
  });
});
