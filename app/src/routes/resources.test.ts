import * as v from 'valibot';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FAST_RETRY, startHarness, type Harness } from '../../test/harness';
import { decodeOperation } from '../../../contract/operation';
import { StreamUnavailableError } from '../errors';
import { IdempotencyStore } from '../idempotency/IdempotencyStore';
import { BatchPublisher } from '../publish/BatchPublisher';
import { streamReadiness } from '../publish/streamReadiness';
import { MAX_DATA_BYTES } from '../../../contract/storeLimits';
import type { Publisher } from '../publish/Publisher';
import { AcceptedBodySchema, AcceptedWriteBodySchema, ErrorBodySchema } from './schemas';

const BL = 'business-123-location-456';
const SCOPE = { 'X-Business-ID': 'business-123', 'X-Location-ID': 'location-456', 'X-Resource-Type': 'appointment' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let h: Harness;
let app: ReturnType<Harness['app']>;
let token: string;
let before: number;

beforeAll(async () => {
  h = await startHarness();
  // Wired as server.ts wires it.
  app = h.app({ idempotency: new IdempotencyStore({ dynamo: h.dynamo, tableName: h.idempotencyTable }) });
  token = await h.token(['business-123:*:appointment:*']);
});
afterAll(() => h.close());
beforeEach(async () => {
  before = (await h.records()).length;
});

/** Records written since the test began. */
async function written() {
  return (await h.records()).slice(before);
}

function call(method: string, path: string, o: { body?: unknown; headers?: Record<string, string>; auth?: string | null; raw?: string } = {}) {
  const headers: Record<string, string> = { ...SCOPE, ...o.headers };
  if (o.auth !== null) headers.Authorization = `Bearer ${o.auth ?? token}`;
  let body: string | undefined;
  if (o.raw !== undefined) body = o.raw;
  else if (o.body !== undefined) {
    body = JSON.stringify(o.body);
    headers['Content-Type'] ??= 'application/json';
  }
  return app.request(path, { method, headers, body });
}

describe('accepted operations', () => {
  it('create answers 202 with the request data, the new id and a Location, after its record is on the stream', async () => {
    const res = await call('POST', `/api/resources/${BL}`, { body: { data: { patientName: 'John Doe', service: 'consultation' } } });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { data: Record<string, string>; meta: Record<string, string>; success: boolean };
    expect(body.success).toBe(true);
    expect(body.data.id).toMatch(/^appointment-[0-9a-f-]{36}$/);
    expect(body.data).toMatchObject({ patientName: 'John Doe', status: 'processing' });
    expect(body.data.requestId).toMatch(UUID);
    expect(body.meta).toMatchObject({ businessId: 'business-123', locationId: 'location-456', resourceType: 'appointment', operation: 'create' });
    expect(new Date(body.meta.timestamp!).toISOString()).toBe(body.meta.timestamp);
    expect(res.headers.get('Location')).toBe(`/api/requests/${body.data.requestId}`);

    const [rec, ...rest] = await written();
    expect(rest).toHaveLength(0);
    expect(rec!.partitionKey).toBe('business-123-location-456-appointment');
    expect(rec!.json).toEqual({
      operation: 'create',
      businessId: 'business-123',
      locationId: 'location-456',
      resourceType: 'appointment',
      resourceId: body.data.id,
      data: { patientName: 'John Doe', service: 'consultation', id: body.data.id },
      timestamp: body.meta.timestamp,
      requestId: body.data.requestId,
      sub: 'alice',
      correlationId: res.headers.get('X-Request-ID'),
    });
    expect(() => decodeOperation(rec!.bytes)).not.toThrow();
  });

  it('create generates distinct resource ids under concurrency', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => call('POST', `/api/resources/${BL}`, { body: { data: { n: 1 } } })),
    );
    const ids = await Promise.all(responses.map(async (r) => ((await r.json()) as { data: { id: string } }).data.id));
    expect(new Set(ids).size).toBe(20);
    expect(await written()).toHaveLength(20);
  });

  it.each([
    ['PUT', 'update'],
    ['PATCH', 'patch'],
  ])('%s answers 202 and writes an %s record with the data and resourceId', async (method, operation) => {
    const res = await call(method, `/api/resources/${BL}/appointment-123`, { body: { data: { status: 'confirmed' } } });
    expect(res.status).toBe(202);
    const [rec] = await written();
    expect(rec!.json).toMatchObject({ operation, resourceId: 'appointment-123', data: { status: 'confirmed' } });
    expect(((await res.json()) as { data: { id: string } }).data.id).toBe('appointment-123');
  });

  it('DELETE answers 202 and writes a delete record without data', async () => {
    const res = await call('DELETE', `/api/resources/${BL}/appointment-123`);
    expect(res.status).toBe(202);
    const [rec] = await written();
    expect(rec!.json).toMatchObject({ operation: 'delete', resourceId: 'appointment-123' });
    expect(rec!.json).not.toHaveProperty('data');
  });

  it('GET list writes a list record with pagination and filters', async () => {
    const res = await call('GET', `/api/resources/${BL}?page=2&limit=5&status=confirmed&date=2024-01-01`);
    expect(res.status).toBe(202);
    const [rec] = await written();
    expect(rec!.json).toMatchObject({ operation: 'list', pagination: { page: 2, limit: 5 }, filters: { status: 'confirmed', date: '2024-01-01' } });
  });

  it('GET list defaults to page 1 of 20 without filters', async () => {
    await call('GET', `/api/resources/${BL}`);
    const [rec] = await written();
    expect(rec!.json.pagination).toEqual({ page: 1, limit: 20 });
    expect(rec!.json).not.toHaveProperty('filters');
  });

  it('keeps a valid X-Request-ID and returns it', async () => {
    const res = await call('DELETE', `/api/resources/${BL}/a-1`, { headers: { 'X-Request-ID': 'trace-42' } });
    expect(res.headers.get('X-Request-ID')).toBe('trace-42');
    const [rec] = await written();
    expect(rec!.json.correlationId).toBe('trace-42');
  });

  it('logs each sent record with its partition key, shard and sequence number at debug', async () => {
    const res = await call('DELETE', `/api/resources/${BL}/a-2`);
    const { requestId } = ((await res.json()) as { data: { requestId: string } }).data;
    const [rec] = await written();
    const line = h.logs.map((l) => JSON.parse(l)).find((l) => l.message === 'record sent' && l.requestId === requestId);
    expect(line).toMatchObject({ partitionKey: rec!.partitionKey, shardId: rec!.shardId, sequenceNumber: rec!.sequenceNumber });
  });
});

describe('refused requests write nothing', () => {
  const big = 'x'.repeat(1024 * 1024);
  it.each([
    ['no token', 401, 'UNAUTHORIZED', 'POST', `/api/resources/${BL}`, { body: { data: {} }, auth: null }],
    ['a garbage token', 401, 'UNAUTHORIZED', 'POST', `/api/resources/${BL}`, { body: { data: {} }, auth: 'abc.def.ghi' }],
    ['a token of another tenant', 403, 'FORBIDDEN', 'POST', '/api/resources/business-999-location-456', { body: { data: {} }, headers: { 'X-Business-ID': 'business-999' } }],
    ['a missing scope header', 400, 'VALIDATION_ERROR', 'DELETE', `/api/resources/${BL}/a-1`, { headers: { 'X-Resource-Type': '' } }],
    ['a path that does not match the headers', 400, 'VALIDATION_ERROR', 'DELETE', '/api/resources/business-123-location-999/a-1', {}],
    ['a bad business id', 400, 'VALIDATION_ERROR', 'DELETE', '/api/resources/bad!id-location-456/a-1', { headers: { 'X-Business-ID': 'bad!id' } }],
    ['a resource type starting with a digit', 400, 'VALIDATION_ERROR', 'DELETE', `/api/resources/${BL}/a-1`, { headers: { 'X-Resource-Type': '9lives' } }],
    ['a bad resource id', 400, 'VALIDATION_ERROR', 'DELETE', `/api/resources/${BL}/a%20b`, {}],
    ['a body that is not JSON', 400, 'VALIDATION_ERROR', 'POST', `/api/resources/${BL}`, { raw: '{nope', headers: { 'Content-Type': 'application/json' } }],
    ['a body without data', 400, 'VALIDATION_ERROR', 'POST', `/api/resources/${BL}`, { body: { other: 1 } }],
    ['data that is an array', 400, 'VALIDATION_ERROR', 'PUT', `/api/resources/${BL}/a-1`, { body: { data: [1, 2] } }],
    ['a text body', 415, 'UNSUPPORTED_MEDIA_TYPE', 'PATCH', `/api/resources/${BL}/a-1`, { raw: 'data', headers: { 'Content-Type': 'text/plain' } }],
    ['a UTF-16 charset', 415, 'UNSUPPORTED_MEDIA_TYPE', 'POST', `/api/resources/${BL}`, { raw: '{"data":{}}', headers: { 'Content-Type': 'application/json; charset=utf-16' } }],
    ['a gzip Content-Encoding', 415, 'UNSUPPORTED_MEDIA_TYPE', 'PUT', `/api/resources/${BL}/a-1`, { raw: '{"data":{}}', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' } }],
    ['a body on DELETE', 400, 'VALIDATION_ERROR', 'DELETE', `/api/resources/${BL}/a-1`, { raw: '{"data":{}}', headers: { 'Content-Type': 'application/json', 'Content-Length': '11' } }],
    ['data over what one store item holds', 413, 'PAYLOAD_TOO_LARGE', 'POST', `/api/resources/${BL}`, { body: { data: { s: 'x'.repeat(500 * 1024) } } }],
    ['a number below DynamoDB\'s smallest magnitude', 400, 'VALIDATION_ERROR', 'PATCH', `/api/resources/${BL}/a-1`, { raw: '{"data":{"n":5e-324}}', headers: { 'Content-Type': 'application/json' } }],
    ['a body over the record limit', 413, 'PAYLOAD_TOO_LARGE', 'POST', `/api/resources/${BL}`, { body: { data: { big } } }],
    ['a page of 0', 400, 'VALIDATION_ERROR', 'GET', `/api/resources/${BL}?page=0`, {}],
    ['a limit of 101', 400, 'VALIDATION_ERROR', 'GET', `/api/resources/${BL}?limit=101`, {}],
    ['a repeated filter', 400, 'VALIDATION_ERROR', 'GET', `/api/resources/${BL}?status=a&status=b`, {}],
    ['a filter with a bad name', 400, 'VALIDATION_ERROR', 'GET', `/api/resources/${BL}?${encodeURIComponent('a b')}=1`, {}],
    ['21 filters', 400, 'VALIDATION_ERROR', 'GET', `/api/resources/${BL}?${Array.from({ length: 21 }, (_, i) => `f${i}=1`).join('&')}`, {}],
    ['a __proto__ key in data', 400, 'VALIDATION_ERROR', 'POST', `/api/resources/${BL}`, { raw: '{"data":{"a":{"__proto__":{"x":1}}}}', headers: { 'Content-Type': 'application/json' } }],
    ['a number beyond 2^53 in data', 400, 'VALIDATION_ERROR', 'POST', `/api/resources/${BL}`, { raw: '{"data":{"card":{"n":12345678901234567890}}}', headers: { 'Content-Type': 'application/json' } }],
    ['an escaped lone surrogate in data', 400, 'VALIDATION_ERROR', 'POST', `/api/resources/${BL}`, { raw: '{"data":{"a":"x\\ud800"}}', headers: { 'Content-Type': 'application/json' } }],
    ['an unknown route', 404, 'NOT_FOUND', 'GET', '/api/nothing', {}],
  ] as const)('%s: %i %s', async (_name, status, code, method, path, opts) => {
    const res = await call(method, path, opts as Parameters<typeof call>[2]);
    expect(res.status).toBe(status);
    const body = (await res.json()) as { success: boolean; error: { code: string; message: string } };
    expect(body.success).toBe(false);
    expect(body.error.code).toBe(code);
    expect(body.error.message).toEqual(expect.any(String));
    expect(await written()).toHaveLength(0);
  });

  it('takes data of the largest size the store holds, and a create adds its id within it', async () => {
    const res = await call('POST', `/api/resources/${BL}`, { body: { data: { s: 'x'.repeat(MAX_DATA_BYTES - 5) } } });
    expect(res.status).toBe(202);
    expect(await written()).toHaveLength(1);
  });

  it('names the field of a number that JSON would round, and takes the largest exact one', async () => {
    const res = await call('POST', `/api/resources/${BL}`, { raw: '{"data":{"card":{"n":-1e300}}}', headers: { 'Content-Type': 'application/json' } });
    expect(((await res.json()) as { error: { details: { field: string }[] } }).error.details.map((d) => d.field)).toEqual(['json.data.card.n']);
    expect((await call('POST', `/api/resources/${BL}`, { body: { data: { n: Number.MAX_SAFE_INTEGER, x: 1.5 } } })).status).toBe(202);
  });

  it('answers HEAD on resources with 405 and Allow, and writes nothing (Hono would run the GET handler: a list)', async () => {
    const res = await call('HEAD', `/api/resources/${BL}`, {});
    expect(res.status).toBe(405);
    expect(res.headers.get('Allow')).toBe('GET, POST');
    expect(await written()).toHaveLength(0);
  });

  it.each([
    ['PUT', `/api/resources/${BL}`, 'GET, POST'],
    ['DELETE', `/api/resources/${BL}`, 'GET, POST'],
    ['POST', `/api/resources/${BL}/a-1`, 'DELETE, PATCH, PUT'],
    ['GET', `/api/resources/${BL}/a-1`, 'DELETE, PATCH, PUT'],
    ['DELETE', '/api/requests/00000000-0000-4000-8000-000000000000', 'GET'],
    ['POST', '/health', 'GET'],
  ])('answers %s %s with 405 METHOD_NOT_ALLOWED and Allow: %s, before authentication', async (method, path, allow) => {
    const res = await call(method, path, { auth: null });
    expect(res.status).toBe(405);
    expect(res.headers.get('Allow')).toBe(allow);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('METHOD_NOT_ALLOWED');
    expect(await written()).toHaveLength(0);
  });

  it('names each bad field in error.details', async () => {
    const res = await call('DELETE', '/api/resources/x-y/a%20b', { headers: { 'X-Business-ID': 'b!', 'X-Location-ID': '' } });
    const body = (await res.json()) as { error: { details: { field: string }[] } };
    expect(body.error.details.map((d) => d.field).sort()).toEqual(['header.x-business-id', 'header.x-location-id']);
  });

  it('answers 401 with WWW-Authenticate: Bearer', async () => {
    const res = await call('DELETE', `/api/resources/${BL}/a-1`, { auth: null });
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer');
  });

  it('checks permission per operation: list-only may not delete', async () => {
    const listOnly = await h.token(['business-123:location-456:appointment:list']);
    expect((await call('GET', `/api/resources/${BL}`, { auth: listOnly })).status).toBe(202);
    const before2 = (await h.records()).length;
    expect((await call('DELETE', `/api/resources/${BL}/a-1`, { auth: listOnly })).status).toBe(403);
    expect(await h.records()).toHaveLength(before2);
  });

  it('refuses a record whose serialized size exceeds 1 MiB although the body fits', async () => {
    // The body limit is the record limit; the record adds envelope fields, so a body just under it overflows.
    const data = { big: 'x'.repeat(1024 * 1024 - 40) };
    const res = await call('POST', `/api/resources/${BL}`, { body: { data } });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await written()).toHaveLength(0);
  });
});

describe('health', () => {
  it('GET /health answers 200 without a token', async () => {
    const res = await app.request('/health');
    expect(res.status).toBe(200);
  });

  it('GET /ready answers 503 when the stream does not exist, and 200 when it is active', async () => {
    const missing = await h.app({ ready: streamReadiness(h.kinesis, 'no-such-stream') }).request('/ready');
    expect(missing.status).toBe(503);
    expect(await missing.json()).toMatchObject({ ready: false, status: 'not ready', stream: 'no-such-stream' });
    const active = await h.app({ ready: streamReadiness(h.kinesis, h.streamName) }).request('/ready');
    expect(active.status).toBe(200);
    expect(await active.json()).toMatchObject({ ready: true, status: 'ready', streamStatus: 'ACTIVE' });
  });
});

describe('Idempotency-Key', () => {
  let n = 0;
  /** A fresh key per call site, so tests do not meet. */
  const newKey = () => `key-${Date.now()}-${++n}`;
  const post = (key: string, data: unknown = { patientName: 'John Doe' }, o: { auth?: string } = {}) =>
    call('POST', `/api/resources/${BL}`, { body: { data }, headers: { 'Idempotency-Key': key }, ...o });
  type Answer = v.InferOutput<typeof AcceptedBodySchema>;
  const accepted = async (res: Response) => v.parse(AcceptedBodySchema, await res.json());

  it('a repeated create answers the first 202 again (status, body, requestId, Location) and writes one record', async () => {
    const key = newKey();
    const first = await post(key);
    const again = await post(key);
    expect([first.status, again.status]).toEqual([202, 202]);
    const [a, b] = [await accepted(first), await accepted(again)];
    expect(b).toEqual(a);
    expect(again.headers.get('Location')).toBe(`/api/requests/${a.data.requestId}`);
    expect(again.headers.get('Location')).toBe(first.headers.get('Location'));
    const records = await written();
    expect(records).toHaveLength(1);
    expect(records[0]!.json).toMatchObject({ requestId: a.data.requestId, resourceId: v.parse(AcceptedWriteBodySchema, a).data.id });
  });

  it('treats a body with the same JSON in another key order as the same request', async () => {
    const key = newKey();
    const a = await accepted(await post(key, { a: 1, b: { c: 2, d: 3 } }));
    const b = await accepted(await post(key, { b: { d: 3, c: 2 }, a: 1 }));
    expect(b.data.requestId).toBe(a.data.requestId);
    expect(await written()).toHaveLength(1);
  });

  it.each([
    ['PUT', { body: { data: { status: 'confirmed' } } }],
    ['PATCH', { body: { data: { status: 'confirmed' } } }],
    ['DELETE', {}],
  ] as const)('a repeated %s replays its answer and writes one record', async (method, o) => {
    const key = newKey();
    const send = () => call(method, `/api/resources/${BL}/appointment-1`, { ...o, headers: { 'Idempotency-Key': key } });
    const [a, b] = [await accepted(await send()), await accepted(await send())];
    expect(b).toEqual(a);
    expect(await written()).toHaveLength(1);
  });

  it.each([
    ['another body', 'POST', `/api/resources/${BL}`, { data: { patientName: 'Jane Roe' } }],
    ['another method and path', 'PUT', `/api/resources/${BL}/appointment-1`, { data: { patientName: 'John Doe' } }],
  ] as const)('the key with %s is 422 IDEMPOTENCY_KEY_REUSED and writes nothing', async (_name, method, path, body) => {
    const key = newKey();
    expect((await post(key)).status).toBe(202);
    before = (await h.records()).length;
    const res = await call(method, path, { body, headers: { 'Idempotency-Key': key } });
    expect(res.status).toBe(422);
    expect(v.parse(ErrorBodySchema, await res.json()).error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await written()).toHaveLength(0);
  });

  it('10 concurrent identical requests: all 202 with one requestId, one record', async () => {
    const key = newKey();
    const responses = await Promise.all(Array.from({ length: 10 }, () => post(key)));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(202));
    const answers: Answer[] = await Promise.all(responses.map(accepted));
    expect(new Set(answers.map((a) => a.data.requestId)).size).toBe(1);
    expect(await written()).toHaveLength(1);
  });

  it('different callers with the same key are independent', async () => {
    const key = newKey();
    const bob = await h.token(['business-123:*:appointment:*'], 'bob');
    const a = await accepted(await post(key));
    const b = await accepted(await post(key, { patientName: 'Other' }, { auth: bob }));
    expect(b.data.requestId).not.toBe(a.data.requestId);
    expect(await written()).toHaveLength(2);
  });

  it.each([
    ['empty', ''],
    ['129 characters', 'k'.repeat(129)],
    ['a space', 'my key'],
    ['a non-ASCII character', 'clé'],
  ])('a key that is %s is 400 VALIDATION_ERROR naming the header, and writes nothing', async (_name, key) => {
    const res = await post(key);
    expect(res.status).toBe(400);
    const body = v.parse(ErrorBodySchema, await res.json());
    expect(body.error.code).toBe('VALIDATION_ERROR');
    expect(body.error.details?.map((d) => d.field)).toEqual(['header.idempotency-key']);
    expect(await written()).toHaveLength(0);
  });

  it('accepts a key of 128 visible characters', async () => {
    expect((await post(`${'!~'.repeat(63)}${newKey().slice(-2)}`)).status).toBe(202);
  });

  it('a key whose first attempt failed with 503 can be retried: 202, one record, with the first attempt\'s requestId', async () => {
    // Fails the first publish as an outage would, then delegates to a real publisher; records the requestIds it saw.
    const seen: string[] = [];
    let failures = 1;
    const kinesis = new BatchPublisher({ kinesis: h.kinesis, streamName: h.streamName, logger: h.logger, retry: FAST_RETRY });
    const flaky: Publisher = {
      publish: async (record) => {
        seen.push(JSON.parse(Buffer.from(record.data).toString('utf8')).requestId);
        if (failures-- > 0) throw new StreamUnavailableError('down', 2);
        return kinesis.publish(record);
      },
      close: () => kinesis.close(),
    };
    const flakyApp = h.app({ publisher: flaky, idempotency: new IdempotencyStore({ dynamo: h.dynamo, tableName: h.idempotencyTable }) });
    const key = newKey();
    const send = () =>
      flakyApp.request(`/api/resources/${BL}`, {
        method: 'POST',
        headers: { ...SCOPE, Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Idempotency-Key': key },
        body: JSON.stringify({ data: { n: 1 } }),
      });
    const failed = await send();
    expect(failed.status).toBe(503);
    expect(failed.headers.get('Retry-After')).toBe('2');
    const retried = await send();
    expect(retried.status).toBe(202);
    const answer = await accepted(retried);
    expect(answer.data.requestId).toBe(seen[0]);
    expect(seen).toEqual([seen[0], seen[0]]);
    const records = await written();
    expect(records.map((r) => r.json.requestId)).toEqual([seen[0]]);
  });

  it('a key whose store table does not exist is 503 STORE_UNAVAILABLE with Retry-After, logged at error, and writes nothing', async () => {
    const missing = h.app({ idempotency: new IdempotencyStore({ dynamo: h.dynamo, tableName: 'no-such-table' }) });
    const res = await missing.request(`/api/resources/${BL}`, {
      method: 'POST',
      headers: { ...SCOPE, Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Idempotency-Key': newKey() },
      body: JSON.stringify({ data: { n: 1 } }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('1');
    expect(await res.json()).toEqual({ success: false, error: { code: 'STORE_UNAVAILABLE', message: 'the idempotency store is unavailable' } });
    const correlationId = res.headers.get('X-Request-ID');
    const line = h.logs.map((l) => JSON.parse(l)).find((l) => l.correlationId === correlationId && l.code === 'STORE_UNAVAILABLE');
    expect(line).toMatchObject({ level: 'error', err: { name: 'ResourceNotFoundException' } });
    expect(await written()).toHaveLength(0);
  });

  it('a record too large for Kinesis (413) claims no key and writes nothing', async () => {
    const key = newKey();
    const claim = vi.spyOn(IdempotencyStore.prototype, 'claim');
    const tooLarge = await post(key, { big: 'x'.repeat(1024 * 1024 - 40) });
    expect(tooLarge.status).toBe(413);
    expect(claim).not.toHaveBeenCalled();
    claim.mockRestore();
    expect((await post(key, { small: true })).status).toBe(202);
    expect(await written()).toHaveLength(1);
  });

  it('list takes no key: the header is ignored and each list is its own operation', async () => {
    const key = newKey();
    const send = () => call('GET', `/api/resources/${BL}`, { headers: { 'Idempotency-Key': key } });
    const [a, b] = [await accepted(await send()), await accepted(await send())];
    expect(b.data.requestId).not.toBe(a.data.requestId);
    expect(await written()).toHaveLength(2);
  });
});
