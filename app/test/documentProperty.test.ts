import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness';

/**
 * Requests generated from the OpenAPI document's own schemas, valid and invalid: every answer is one the
 * document describes (the harness' app checks status, headers and body against it on every request) and
 * none is a 5xx. A valid request, by the document, is accepted.
 */
interface Param {
  in: string;
  name: string;
  required?: boolean;
  schema: { type?: string; pattern?: string; minimum?: number; maximum?: number; format?: string; maxLength?: number };
}
interface Doc {
  paths: Record<string, Record<string, { parameters?: (Param | { $ref: string })[]; requestBody?: unknown }>>;
  components: { parameters: Record<string, Param> };
}

let h: Harness;
let app: ReturnType<Harness['app']>;
let token: string;
let doc: Doc;
beforeAll(async () => {
  h = await startHarness();
  app = h.app();
  token = await h.token(['*:*:*:*']);
  doc = (await (await app.request('/openapi.json')).json()) as Doc;
});
afterAll(() => h.close());

const params = (path: string, method: string): Param[] =>
  (doc.paths[path]![method]!.parameters ?? []).map((p) => ('$ref' in p ? doc.components.parameters[p.$ref.split('/').pop()!]! : p));
const param = (path: string, method: string, name: string) => params(path, method).find((p) => p.name === name)!;

/** A string its schema takes. URL dot segments (`.`, `..`) cannot be addressed in a path, as the document says. */
const valid = (p: Param) => {
  if (p.schema.format === 'uuid') return fc.uuid();
  return fc.stringMatching(new RegExp(p.schema.pattern!)).filter((s) => p.in !== 'path' || (s !== '.' && s !== '..'));
};
/** Any string, mostly outside the schema. */
const anyString = fc.oneof(fc.string({ maxLength: 70 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constantFrom('', ' ', '-', 'a'.repeat(200)));
const headerSafe = anyString.filter((s) => /^[\t\x20-\x7e]*$/.test(s) && s.trim() === s);
/** JSON the store holds: strings, safe integers, booleans, null, nested. */
const storable = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.string({ maxLength: 20 }), fc.maxSafeInteger(), fc.boolean(), fc.constant(null), fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)), tie('value'), { maxKeys: 3 })),
})).value;
const data = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)), storable, { maxKeys: 4 });

/** A valid scope: the three headers from their schemas and the `{bl}` they make. */
const scope = () =>
  fc
    .tuple(valid(doc.components.parameters.BusinessId!), valid(doc.components.parameters.LocationId!), valid(doc.components.parameters.ResourceType!))
    .map(([b, l, t]) => ({ bl: encodeURIComponent(`${b}-${l}`), headers: { 'X-Business-ID': b, 'X-Location-ID': l, 'X-Resource-Type': t } }));

const WRITES = [
  ['post', '/api/resources/{bl}'],
  ['put', '/api/resources/{bl}/{resourceId}'],
  ['patch', '/api/resources/{bl}/{resourceId}'],
  ['delete', '/api/resources/{bl}/{resourceId}'],
] as const;

async function send(method: string, url: string, headers: Record<string, string>, body?: unknown) {
  const init: RequestInit = { method: method.toUpperCase(), headers: { Authorization: `Bearer ${token}`, ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] ??= 'application/json';
  }
  return app.request(url, init);
}

describe('requests generated from the OpenAPI document', () => {
  it.each(WRITES)('a valid %s %s is accepted with 202', async (method, path) => {
    const request = fc.record({ scope: scope(), resourceId: valid(param(path, method, 'resourceId') ?? param('/api/resources/{bl}/{resourceId}', 'put', 'resourceId')), data, key: fc.option(valid(doc.components.parameters.IdempotencyKey!)) });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const url = path.replace('{bl}', r.scope.bl).replace('{resourceId}', encodeURIComponent(r.resourceId));
        const headers: Record<string, string> = { ...r.scope.headers, ...(r.key === null ? {} : { 'Idempotency-Key': `${r.key}` }) };
        const res = await send(method, url, headers, method === 'delete' ? undefined : { data: r.data });
        // A generated key may meet an earlier request's: then the answer is its replay (202) or 422.
        if (r.key !== null && res.status === 422) return;
        expect(res.status).toBe(202);
      }),
      { numRuns: 40, seed: 14 },
    );
  });

  it('a valid list is accepted with 202', async () => {
    const page = param('/api/resources/{bl}', 'get', 'page').schema;
    const limit = param('/api/resources/{bl}', 'get', 'limit').schema;
    const request = fc.record({ scope: scope(), page: fc.integer({ min: page.minimum!, max: page.maximum! }), limit: fc.integer({ min: limit.minimum!, max: limit.maximum! }) });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const res = await send('get', `/api/resources/${r.scope.bl}?page=${r.page}&limit=${r.limit}`, r.scope.headers);
        expect(res.status).toBe(202);
      }),
      { numRuns: 40, seed: 14 },
    );
  });

  it('a status read of a valid id, with or without Prefer, is 404 or 200', async () => {
    await fc.assert(
      fc.asyncProperty(valid(param('/api/requests/{requestId}', 'get', 'requestId')), fc.option(fc.constantFrom('wait=0', 'respond-async', 'wait=x')), async (id, prefer) => {
        const res = await send('get', `/api/requests/${id}`, prefer === null ? {} : { Prefer: prefer });
        expect([200, 404]).toContain(res.status);
      }),
      { numRuns: 30, seed: 14 },
    );
  });

  it('requests with any part outside its schema get a documented 4xx, never a 5xx', async () => {
    const part = fc.constantFrom('business', 'location', 'type', 'bl', 'resourceId', 'key', 'body', 'page', 'limit', 'contentType', 'method');
    const request = fc.record({ op: fc.constantFrom(...WRITES, ['get', '/api/resources/{bl}'] as const), scope: scope(), resourceId: fc.constant<string>('r-1'), broken: part, value: anyString, headerValue: headerSafe, body: fc.oneof(fc.json(), fc.jsonValue().map((v) => JSON.stringify({ data: v })), anyString) });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const [method, path] = r.op;
        const headers: Record<string, string> = { ...r.scope.headers };
        let bl = r.scope.bl;
        let resourceId = r.resourceId;
        let body: unknown = method === 'delete' || method === 'get' ? undefined : { data: { a: 1 } };
        let query = '';
        if (r.broken === 'business') headers['X-Business-ID'] = r.headerValue;
        if (r.broken === 'location') headers['X-Location-ID'] = r.headerValue;
        if (r.broken === 'type') headers['X-Resource-Type'] = r.headerValue;
        if (r.broken === 'key') headers['Idempotency-Key'] = r.headerValue;
        if (r.broken === 'contentType') headers['Content-Type'] = r.headerValue;
        if (r.broken === 'bl') bl = encodeURIComponent(r.value);
        if (r.broken === 'resourceId') resourceId = r.value;
        if (r.broken === 'body') body = r.body;
        if (r.broken === 'page') query = `?page=${encodeURIComponent(r.value)}`;
        if (r.broken === 'limit') query = `?limit=${encodeURIComponent(r.value)}`;
        const verb = r.broken === 'method' ? fc.sample(fc.constantFrom('OPTIONS', 'HEAD', 'TRACE', 'PURGE'), { numRuns: 1, seed: r.value.length })[0]! : method;
        const url = `${path.replace('{bl}', bl).replace('{resourceId}', encodeURIComponent(resourceId))}${query}`;
        // fetch's Request cannot carry a body on GET or HEAD (noBody covers a real client's).
        const res = await send(verb, url, headers, verb === 'HEAD' || verb === 'get' ? undefined : body);
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 300, seed: 14 },
    );
  });
});
