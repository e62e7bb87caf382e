import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../consumer-stub/src/config';
import { createHandlerFromConfig } from '../consumer-stub/src/createHandlerFromConfig';
import { startHarness, type Harness } from '../app/test/harness';
import { EventSourceMapping } from '../local/eventSourceMapping';

/**
 * The whole path, on real emulators: HTTP -> gateway -> Kinesis -> emulated event source mapping ->
 * consumer handler -> DynamoDB -> status endpoint.
 */
let h: Harness;
let app: ReturnType<Harness['app']>;
let mapping: EventSourceMapping;
let dir: string;
let token: string;

const BL = 'business-123-location-456';
const HEADERS = { 'X-Business-ID': 'business-123', 'X-Location-ID': 'location-456', 'X-Resource-Type': 'appointment' };

beforeAll(async () => {
  h = await startHarness();
  app = h.app();
  token = await h.token(['business-123:*:appointment:*']);
  dir = mkdtempSync(join(tmpdir(), 'pipeline-'));
  const config = readConfig({ STATUS_TABLE_NAME: h.statusTable, RESOURCES_TABLE_NAME: h.resourcesTable, LOG_LEVEL: 'ERROR' });
  mapping = new EventSourceMapping({
    kinesis: h.kinesis,
    streamName: h.streamName,
    handler: createHandlerFromConfig(config, { dynamo: h.dynamo }),
    checkpointDir: join(dir, 'checkpoints'),
    deadLetterFile: join(dir, 'dead-letter.jsonl'),
  });
});
afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

async function send(method: string, path: string, body?: unknown) {
  const res = await app.request(path, {
    method,
    headers: { ...HEADERS, Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { data: { requestId: string; id?: string } }).data;
}

/** Lets the consumer take everything on the stream, then reads the operation's status. */
async function statusOf(requestId: string) {
  while ((await mapping.pollOnce()) > 0);
  const res = await app.request(`/api/requests/${requestId}`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Record<string, unknown> }).data;
}

describe('the pipeline', () => {
  it('creates, lists, patches, updates and deletes a resource, each completed by the consumer', async () => {
    const created = await send('POST', `/api/resources/${BL}`, { data: { patientName: 'John Doe', status: 'booked' } });
    const id = created.id!;
    expect(await statusOf(created.requestId)).toMatchObject({
      status: 'completed',
      operation: 'create',
      resourceId: id,
      result: { id, patientName: 'John Doe', status: 'booked' },
    });

    const listed = await send('GET', `/api/resources/${BL}?status=booked`);
    expect(await statusOf(listed.requestId)).toMatchObject({
      status: 'completed',
      result: { items: [{ id, patientName: 'John Doe', status: 'booked' }], page: 1, limit: 20 },
    });

    const patched = await send('PATCH', `/api/resources/${BL}/${id}`, { data: { status: 'confirmed' } });
    expect(await statusOf(patched.requestId)).toMatchObject({ status: 'completed', result: { id, patientName: 'John Doe', status: 'confirmed' } });

    const updated = await send('PUT', `/api/resources/${BL}/${id}`, { data: { patientName: 'Jane Doe' } });
    expect(await statusOf(updated.requestId)).toMatchObject({ status: 'completed', result: { id, patientName: 'Jane Doe' } });

    const deleted = await send('DELETE', `/api/resources/${BL}/${id}`);
    expect(await statusOf(deleted.requestId)).toMatchObject({ status: 'completed', operation: 'delete' });

    const after = await send('GET', `/api/resources/${BL}`);
    expect(await statusOf(after.requestId)).toMatchObject({ result: { items: [] } });
  });

  it('records a patch of a resource that does not exist as failed', async () => {
    const patched = await send('PATCH', `/api/resources/${BL}/appointment-missing`, { data: { status: 'x' } });
    expect(await statusOf(patched.requestId)).toMatchObject({ status: 'failed', error: { code: 'NOT_FOUND' } });
  });
});
