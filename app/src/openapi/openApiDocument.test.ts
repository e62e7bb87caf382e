import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../test/harness';

interface Operation {
  operationId?: string;
  security?: unknown[];
  parameters?: ({ $ref: string } | { in: string; name: string })[];
  responses: Record<string, { $ref?: string }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { parameters: Record<string, { in: string; name: string }>; responses: Record<string, { description: string; headers?: Record<string, unknown> }> };
}

let h: Harness;
let app: ReturnType<Harness['app']>;
let doc: Document;
beforeAll(async () => {
  h = await startHarness();
  app = h.app();
  const res = await app.request('/openapi.json');
  expect(res.status).toBe(200);
  doc = (await res.json()) as Document;
});
afterAll(() => h.close());

const WRITES = ['post /api/resources/{bl}', 'put /api/resources/{bl}/{resourceId}', 'patch /api/resources/{bl}/{resourceId}', 'delete /api/resources/{bl}/{resourceId}'];

/** Every operation of the document as `method path`. */
const documented = () => Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`));
const operation = (id: string) => {
  const [method, path] = id.split(' ') as [string, string];
  return doc.paths[path]![method]!;
};
/** Names of an operation's parameters, `$ref`s resolved. */
const parameterNames = (op: Operation) =>
  (op.parameters ?? []).map((p) => ('$ref' in p ? doc.components.parameters[p.$ref.split('/').pop()!]! : p)).map((p) => `${p.in} ${p.name}`);

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document, served without a token', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(structuredClone(doc) as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it('documents exactly the routes the app serves', () => {
    // A route added without a description fails here.
    const served = app.routes
      .filter((r) => r.method !== 'ALL' && !r.path.includes('*'))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    expect(new Set(served).size).toBeGreaterThanOrEqual(9);
    expect(documented().sort()).toEqual([...new Set(served)].sort());
  });

  it('declares the bearer JWT scheme, required on /api routes and not on the probes or the document', () => {
    const d = doc as unknown as { security: unknown; components: { securitySchemes: unknown } };
    expect(d.components.securitySchemes).toEqual({ bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }) });
    expect(d.security).toEqual([{ bearerAuth: [] }]);
    for (const id of documented()) {
      const op = operation(id);
      if (id.includes(' /api/')) {
        expect(op.security, id).toBeUndefined();
        expect(op.responses['401'], id).toEqual({ $ref: '#/components/responses/Unauthorized' });
      } else expect(op.security, id).toEqual([]);
    }
  });

  it.each(WRITES)('%s documents the scope headers, Idempotency-Key, X-Request-ID, its path and every error it can answer', (id) => {
    const op = operation(id);
    expect(parameterNames(op)).toEqual(
      expect.arrayContaining(['header X-Business-ID', 'header X-Location-ID', 'header X-Resource-Type', 'header Idempotency-Key', 'header X-Request-ID', 'path bl']),
    );
    const codes = Object.keys(op.responses).sort();
    const withBody = !id.startsWith('delete');
    expect(codes).toEqual(['202', '400', '401', '403', '408', '409', ...(withBody ? ['413'] : []), '414', ...(withBody ? ['415'] : []), '417', '422', '431', '500', '503']);
    expect(op.responses['503']).toEqual({ $ref: '#/components/responses/WriteUnavailable' });
  });

  it('lists where the API is served, the local stack first', () => {
    const servers = (doc as unknown as { servers: { url: string; variables?: Record<string, { default: string }> }[] }).servers;
    expect(servers.map((s) => s.url)).toEqual(['http://localhost:{port}', '{scheme}://{host}']);
    expect(servers[0]!.variables!.port!.default).toBe('3000');
  });

  it('types page and limit as integers with their bounds', () => {
    const params = (operation('get /api/resources/{bl}').parameters ?? []) as unknown as { name: string; schema: unknown }[];
    expect(params.find((p) => p.name === 'page')!.schema).toEqual({ type: 'integer', minimum: 1, maximum: 1_000_000, default: 1 });
    expect(params.find((p) => p.name === 'limit')!.schema).toEqual({ type: 'integer', minimum: 1, maximum: 100, default: 20 });
  });

  it('describes a write\'s 202 with a required id, and a list\'s without one', () => {
    const schemas = (doc as unknown as { components: { schemas: Record<string, { properties: { data: { required: string[]; properties: object } } }> } }).components.schemas;
    expect(operation('post /api/resources/{bl}').responses['202']).toMatchObject({ content: { 'application/json': { schema: { $ref: '#/components/schemas/AcceptedWriteBody' } } } });
    expect(operation('get /api/resources/{bl}').responses['202']).toMatchObject({ content: { 'application/json': { schema: { $ref: '#/components/schemas/AcceptedListBody' } } } });
    expect(schemas.AcceptedWriteBody!.properties.data.required).toContain('id');
    expect(Object.keys(schemas.AcceptedListBody!.properties.data.properties)).not.toContain('id');
  });

  it('takes any X-Request-ID (one outside the kept alphabet is replaced, not refused) and answers one of the kept alphabet', () => {
    const d = doc as unknown as { components: { parameters: Record<string, { schema: unknown }>; headers: Record<string, { schema: unknown; required: boolean }> } };
    expect(d.components.parameters.RequestId!.schema).toEqual({ type: 'string' });
    expect(d.components.headers['X-Request-ID']).toMatchObject({ required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' } });
  });

  it('documents 405 with Allow for a method a documented path does not take', () => {
    const r = doc.components.responses.MethodNotAllowed!;
    expect(r.description).toContain('METHOD_NOT_ALLOWED');
    expect(Object.keys(r.headers ?? {}).sort()).toEqual(['Allow', 'X-Request-ID']);
  });

  it('list documents its query and no Idempotency-Key', () => {
    const names = parameterNames(operation('get /api/resources/{bl}'));
    expect(names).toEqual(expect.arrayContaining(['query page', 'query limit', 'query filters', 'header X-Business-ID']));
    expect(names).not.toContain('header Idempotency-Key');
  });

  it('the status route documents its 200 body with Retry-After and Preference-Applied, Prefer, 404 and 503', () => {
    const op = operation('get /api/requests/{requestId}');
    expect(parameterNames(op)).toEqual(expect.arrayContaining(['path requestId', 'header Prefer']));
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '404', '408', '414', '417', '431', '500', '503']);
    expect(op.responses['503']).toEqual({ $ref: '#/components/responses/StatusUnavailable' });
    expect(Object.keys((op.responses['200'] as { headers: object }).headers).sort()).toEqual(['Preference-Applied', 'Retry-After', 'X-Request-ID']);
  });

  it.each(['get /health', 'get /ready', 'get /openapi.json'])('%s documents what the HTTP server can answer on any route', (id) => {
    expect(Object.keys(operation(id).responses)).toEqual(expect.arrayContaining(['400', '408', '414', '417', '431', '500', '503']));
  });

  /** The codes a response's body schema allows in `error.code`, `$ref`s resolved. */
  const codesOf = (response: { $ref?: string }): string[] => {
    const r = response.$ref ? doc.components.responses[response.$ref.split('/').pop()!]! : response;
    const text = JSON.stringify((r as { content: unknown }).content);
    return [...new Set([...text.matchAll(/"([A-Z]+(?:_[A-Z]+)+)"/g)].map((m) => m[1]!))].sort();
  };

  const ALL_503 = ['ENCRYPTION_UNAVAILABLE', 'GATEWAY_BUSY', 'STORE_UNAVAILABLE', 'STREAM_UNAVAILABLE'];
  it.each<[string, string[]]>([
    ['get /health', ['GATEWAY_BUSY']],
    ['get /ready', ['GATEWAY_BUSY']],
    ['get /openapi.json', ['GATEWAY_BUSY']],
    ['get /api/requests/{requestId}', ['GATEWAY_BUSY', 'STORE_UNAVAILABLE']],
    ['get /api/resources/{bl}', ['ENCRYPTION_UNAVAILABLE', 'GATEWAY_BUSY', 'STREAM_UNAVAILABLE']],
    ...WRITES.map((id): [string, string[]] => [id, ALL_503]),
  ])('%s documents a 503 with exactly the codes it can answer: %j', (id, codes) => {
    expect(codesOf(operation(id).responses['503']!)).toEqual(codes);
  });

  it.each([
    ['BadRequest', 'VALIDATION_ERROR', []],
    ['Unauthorized', 'UNAUTHORIZED', ['WWW-Authenticate']],
    ['IdempotencyKeyInUse', 'IDEMPOTENCY_KEY_IN_USE', ['Retry-After']],
    ['IdempotencyKeyReused', 'IDEMPOTENCY_KEY_REUSED', []],
    ['WriteUnavailable', 'STREAM_UNAVAILABLE', ['Retry-After']],
    ['WriteUnavailable', 'ENCRYPTION_UNAVAILABLE', ['Retry-After']],
    ['WriteUnavailable', 'STORE_UNAVAILABLE', ['Retry-After']],
    ['WriteUnavailable', 'GATEWAY_BUSY', ['Retry-After']],
    ['ListUnavailable', 'STREAM_UNAVAILABLE', ['Retry-After']],
    ['StatusUnavailable', 'STORE_UNAVAILABLE', ['Retry-After']],
    ['GatewayBusy', 'GATEWAY_BUSY', ['Retry-After']],
    ['ExpectationFailed', 'EXPECTATION_FAILED', []],
    ['HeadersTooLarge', 'HEADERS_TOO_LARGE', []],
    ['UriTooLong', 'URI_TOO_LONG', []],
    ['RequestTimeout', 'REQUEST_TIMEOUT', []],
  ])('the %s response names %s and its headers', (name, code, headers) => {
    const r = doc.components.responses[name]!;
    expect(r.description).toContain(code);
    expect(Object.keys(r.headers ?? {}).sort()).toEqual(['X-Request-ID', ...headers].sort());
  });

  it('answers the same document every time', async () => {
    expect(await (await app.request('/openapi.json')).json()).toEqual(doc);
  });
});
