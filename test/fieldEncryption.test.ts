import { Logger } from '@aws-lambda-powertools/logger';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { kmsKeyring, localKeyring } from '../common/fieldEncryption/keyrings';
import { envelopeCiphertext } from '../common/test/envelopeCiphertext';
import { fakeKms, kmsError } from '../common/test/fakeKms';
import { fieldEncryptionContext } from '../contract/encryptedField';
import { createFieldEncryptor } from '../app/src/crypto/FieldEncryptor';
import { startHarness, type Harness, type StreamRecord } from '../app/test/harness';
import type { ResourceOperation } from '../contract/operation';
import { readConfig } from '../consumer-stub/src/config';
import { createHandlerFromConfig } from '../consumer-stub/src/createHandlerFromConfig';
import { EventSourceMapping } from '../local/eventSourceMapping';
import { ensureLocalFieldKey } from '../local/fieldKey';

/**
 * Field encryption end to end, on real emulators and the local key file: HTTP -> gateway (SENSITIVE_FIELDS=
 * patientName) -> Kinesis -> emulated event source mapping -> consumer (DEBUG) -> DynamoDB -> status endpoint.
 */
const NAME = 'John Doe';
const OTHER_NAME = 'Jane Roe';
const A = { businessId: 'business-123', locationId: 'location-456', resourceType: 'appointment' };
const B = { businessId: 'business-999', locationId: 'location-456', resourceType: 'appointment' };
type Scope = typeof A;
const headers = (s: Scope) => ({ 'X-Business-ID': s.businessId, 'X-Location-ID': s.locationId, 'X-Resource-Type': s.resourceType });
const path = (s: Scope) => `/api/resources/${s.businessId}-${s.locationId}`;

let h: Harness;
let dir: string;
let mapping: EventSourceMapping;
let encrypting: ReturnType<Harness['app']>;
let tokens: { a: string; b: string };
const consumerLines: string[] = [];

beforeAll(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'field-encryption-'));
  const keyFile = ensureLocalFieldKey(dir);
  encrypting = h.app({ prepareRecord: createFieldEncryptor({ sensitiveFields: ['patientName'], keyring: localKeyring(keyFile) }) });
  tokens = { a: await h.token(['business-123:*:appointment:*']), b: await h.token(['business-999:*:appointment:*'], 'bob') };
  // The consumer's Powertools loggers write JSON lines to stdout and stderr; keep them to search for plaintext.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      consumerLines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    });
  }
  const config = readConfig({ STATUS_TABLE_NAME: h.statusTable, RESOURCES_TABLE_NAME: h.resourcesTable, LOG_LEVEL: 'DEBUG', FIELD_ENCRYPTION_KEY_FILE: keyFile });
  mapping = new EventSourceMapping({
    kinesis: h.kinesis,
    streamName: h.streamName,
    handler: createHandlerFromConfig(config, { dynamo: h.dynamo }),
    checkpointDir: join(dir, 'checkpoints'),
    deadLetterFile: join(dir, 'dead-letter.jsonl'),
    logger: new Logger({ serviceName: 'event-source-mapping', logLevel: 'DEBUG' }),
    maxRetries: 0,
  });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

async function send(app: ReturnType<Harness['app']>, s: Scope, token: string, method: string, url: string, body?: unknown) {
  const res = await app.request(url, {
    method,
    headers: { ...headers(s), Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { data: { requestId: string; id?: string } }).data;
}

/** Lets the consumer take everything on the stream, then reads the operation's status as `token`'s owner. */
async function statusOf(requestId: string, token: string) {
  while ((await mapping.pollOnce()) > 0);
  const res = await encrypting.request(`/api/requests/${requestId}`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Record<string, unknown> }).data;
}

async function recordOf(requestId: string): Promise<StreamRecord> {
  const record = (await h.records()).find((r) => r.json.requestId === requestId);
  expect(record).toBeDefined();
  return record!;
}

describe('field encryption', () => {
  it('puts a create on the stream without the plaintext anywhere in its bytes', async () => {
    const created = await send(encrypting, A, tokens.a, 'POST', path(A), { data: { patientName: NAME, service: 'consultation' } });
    const record = await recordOf(created.requestId);
    expect(record.bytes.includes(NAME)).toBe(false);
    expect(record.json).toMatchObject({ encryptedFields: ['patientName'], data: { service: 'consultation', id: created.id } });
  });

  it('returns the plaintext to the owner in the status and list results, through the consumer', async () => {
    const created = await send(encrypting, A, tokens.a, 'POST', path(A), { data: { patientName: OTHER_NAME, service: 'surgery' } });
    expect(await statusOf(created.requestId, tokens.a)).toMatchObject({
      status: 'completed',
      result: { id: created.id, patientName: OTHER_NAME, service: 'surgery' },
    });
    const listed = await send(encrypting, A, tokens.a, 'GET', `${path(A)}?service=surgery`);
    expect(await statusOf(listed.requestId, tokens.a)).toMatchObject({ status: 'completed', result: { items: [{ id: created.id, patientName: OTHER_NAME }] } });
  });

  it('filters a list by a sensitive field without putting the value on the stream', async () => {
    const listed = await send(encrypting, A, tokens.a, 'GET', `${path(A)}?patientName=${encodeURIComponent(OTHER_NAME)}`);
    expect((await recordOf(listed.requestId)).bytes.includes(OTHER_NAME)).toBe(false);
    const status = await statusOf(listed.requestId, tokens.a);
    expect(status).toMatchObject({ status: 'completed', result: { items: [{ patientName: OTHER_NAME, service: 'surgery' }] } });
    expect((status.result as { items: unknown[] }).items).toHaveLength(1);
  });

  it('marks failed a record carrying a ciphertext copied from another tenant, and the shard moves on', async () => {
    const created = await send(encrypting, A, tokens.a, 'POST', path(A), { data: { patientName: NAME } });
    const stolen = ((await recordOf(created.requestId)).json.data as Record<string, unknown>).patientName;
    const encrypt = createFieldEncryptor({ sensitiveFields: ['patientName'], keyring: localKeyring(join(dir, 'field-encryption.key')) });
    // A writer that can put records but not encrypt for tenant B: B's record, A's ciphertext.
    const forger = h.app({
      prepareRecord: async (op) => {
        const record = (await encrypt(op)) as Extract<ResourceOperation, { operation: 'create' }>;
        return { ...record, data: { ...record.data, patientName: stolen } };
      },
    });
    const forged = await send(forger, B, tokens.b, 'POST', path(B), { data: { patientName: 'placeholder' } });
    const after = await send(encrypting, B, tokens.b, 'POST', path(B), { data: { patientName: OTHER_NAME } });

    expect(await statusOf(forged.requestId, tokens.b)).toMatchObject({
      status: 'failed',
      error: { code: 'DECRYPTION_FAILED', message: 'field data.patientName could not be decrypted: the ciphertext belongs to another business, location or resource type' },
    });
    expect(await statusOf(after.requestId, tokens.b)).toMatchObject({ status: 'completed', result: { patientName: OTHER_NAME } });
    // Not retried into the dead-letter file: the failure is the operation's outcome.
    expect(existsSync(join(dir, 'dead-letter.jsonl'))).toBe(false);
  });

  it('marks failed a later request on the same resource that replays an earlier request\'s ciphertext', async () => {
    const created = await send(encrypting, A, tokens.a, 'POST', path(A), { data: { patientName: NAME } });
    const old = ((await recordOf(created.requestId)).json.data as Record<string, unknown>).patientName;
    const encrypt = createFieldEncryptor({ sensitiveFields: ['patientName'], keyring: localKeyring(join(dir, 'field-encryption.key')) });
    // A writer that can put records: a patch of the same resource and tenant carrying the create's ciphertext.
    const replayer = h.app({
      prepareRecord: async (op) => {
        const record = (await encrypt(op)) as Extract<ResourceOperation, { operation: 'patch' }>;
        return { ...record, data: { ...record.data, patientName: old } };
      },
    });
    const replayed = await send(replayer, A, tokens.a, 'PATCH', `${path(A)}/${created.id}`, { data: { patientName: 'placeholder' } });
    expect(await statusOf(replayed.requestId, tokens.a)).toMatchObject({
      status: 'failed',
      error: { code: 'DECRYPTION_FAILED', message: 'field data.patientName could not be decrypted: the ciphertext belongs to another resource or field' },
    });
  });

  it('completes a record whose field carries a version-1 envelope, as a gateway writing version 1 does, during a rolling deployment', async () => {
    const keyring = localKeyring(join(dir, 'field-encryption.key'));
    // A version-1 gateway: the same record, its field's envelope without `v` and without `request`.
    const v1Gateway = h.app({
      prepareRecord: async (op) => {
        const record = op as Extract<ResourceOperation, { operation: 'create' }>;
        const envelope = { subject: record.resourceId, field: 'data.patientName', value: record.data.patientName };
        const ciphertext = await envelopeCiphertext(keyring, fieldEncryptionContext(record), envelope);
        return { ...record, data: { ...record.data, patientName: ciphertext }, encryptedFields: ['patientName'] };
      },
    });
    const created = await send(v1Gateway, A, tokens.a, 'POST', path(A), { data: { patientName: NAME, service: 'rolling' } });
    expect((await recordOf(created.requestId)).bytes.includes(NAME)).toBe(false);
    expect(await statusOf(created.requestId, tokens.a)).toMatchObject({ status: 'completed', result: { id: created.id, patientName: NAME, service: 'rolling' } });
  });

  it('answers 503 ENCRYPTION_UNAVAILABLE and writes nothing when the key cannot be used', async () => {
    const arn = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const kms = fakeKms(arn);
    kms.fail = kmsError('ThrottlingException', 'Rate exceeded');
    const app = h.app({ prepareRecord: createFieldEncryptor({ sensitiveFields: ['patientName'], keyring: kmsKeyring(arn, { kms: kms.client }) }) });
    const before = (await h.records()).length;
    const res = await app.request(path(A), {
      method: 'POST',
      headers: { ...headers(A), Authorization: `Bearer ${tokens.a}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ data: { patientName: NAME } }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('1');
    expect(await res.json()).toMatchObject({ success: false, error: { code: 'ENCRYPTION_UNAVAILABLE' } });
    expect(await h.records()).toHaveLength(before);
  });

  it('leaves records exactly as they were when it is off', async () => {
    const plain = h.app();
    const res = await plain.request(path(A), {
      method: 'POST',
      headers: { ...headers(A), Authorization: `Bearer ${tokens.a}`, 'Content-Type': 'application/json', 'X-Request-ID': 'plain-1' },
      body: JSON.stringify({ data: { patientName: NAME, service: 'consultation' } }),
    });
    expect(res.status).toBe(202);
    const { data, meta } = (await res.json()) as { data: { requestId: string; id: string }; meta: { timestamp: string } };
    const record = await recordOf(data.requestId);
    const expected = {
      ...A,
      timestamp: meta.timestamp,
      requestId: data.requestId,
      sub: 'alice',
      correlationId: 'plain-1',
      operation: 'create',
      resourceId: data.id,
      data: { patientName: NAME, service: 'consultation', id: data.id },
    };
    expect(record.bytes.toString('utf8')).toBe(JSON.stringify(expected));
  });

  it('leaves no sensitive value in any log line of the gateway (debug) or the consumer (DEBUG)', () => {
    expect(h.logs.some((l) => l.includes('"level":"debug"'))).toBe(true);
    expect(consumerLines.some((l) => l.includes('operation completed'))).toBe(true);
    expect(consumerLines.some((l) => l.includes('DECRYPTION_FAILED'))).toBe(true);
    const sensitive = [NAME, OTHER_NAME];
    // Including the encryption-off request: the gateway logs no bodies, the consumer no values.
    expect([...h.logs, ...consumerLines].filter((l) => sensitive.some((s) => l.includes(s)))).toEqual([]);
  });
});
