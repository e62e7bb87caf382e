import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFieldDecryptor } from '../../../common/fieldEncryption/FieldDecryptor';
import { kmsKeyring, localKeyring } from '../../../common/fieldEncryption/keyrings';
import { fakeKms, kmsError } from '../../../common/test/fakeKms';
import { encodeOperation, type ResourceOperation } from '../../../contract/operation';
import { EncryptionUnavailableError } from './errors';
import { createFieldEncryptor } from './FieldEncryptor';

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const file = join(mkdtempSync(join(tmpdir(), 'field-encryptor-')), 'field.key');
writeFileSync(file, randomBytes(32));
const keyring = localKeyring(file);

const scope = (businessId = 'business-123') => ({ businessId, locationId: 'location-456', resourceType: 'appointment' });
const base = (businessId?: string) => ({ ...scope(businessId), requestId: randomUUID(), timestamp: new Date().toISOString(), sub: 'alice' });
const create = (data: Record<string, unknown>, businessId?: string): ResourceOperation => ({
  ...base(businessId),
  operation: 'create',
  resourceId: `appointment-${randomUUID()}`,
  data,
});

describe('createFieldEncryptor', () => {
  const prepare = createFieldEncryptor({ sensitiveFields: ['patientName', 'phone'], keyring });

  it('replaces each sensitive value with a ciphertext, names them in encryptedFields, keeps the rest', async () => {
    const op = create({ patientName: 'John Doe', service: 'consultation' });
    const record = (await prepare(op)) as Extract<ResourceOperation, { operation: 'create' }>;
    expect(record).toEqual({ ...op, data: { patientName: expect.stringMatching(/^[A-Za-z0-9+/]+={0,2}$/), service: 'consultation' }, encryptedFields: ['patientName'] });
    expect(Buffer.from(encodeOperation(record)).includes('John Doe')).toBe(false);
    expect(await createFieldDecryptor({ keyring })(record)).toEqual(op);
  });

  it('encrypts sensitive filters of a list', async () => {
    const op: ResourceOperation = { ...base(), operation: 'list', pagination: { page: 1, limit: 20 }, filters: { patientName: 'John Doe', service: 'x' } };
    const record = await prepare(op);
    expect(record).toMatchObject({ filters: { service: 'x' }, encryptedFields: ['patientName'] });
    expect(Buffer.from(encodeOperation(record)).includes('John Doe')).toBe(false);
  });

  it.each<[string, ResourceOperation]>([
    ['without sensitive fields', create({ service: 'consultation' })],
    ['a delete', { ...base(), operation: 'delete', resourceId: 'appointment-1' }],
    ['a list without filters', { ...base(), operation: 'list', pagination: { page: 1, limit: 20 } }],
  ])('returns an operation %s unchanged', async (_, op) => {
    expect(await prepare(op)).toBe(op);
  });

  it('with KMS, generates one data key per tenant scope, not per request', async () => {
    const kms = fakeKms(KEY_ARN);
    const prepareKms = createFieldEncryptor({ sensitiveFields: ['patientName'], keyring: kmsKeyring(KEY_ARN, { kms: kms.client }) });
    for (let i = 0; i < 50; i++) await prepareKms(create({ patientName: `P${i}` }));
    await prepareKms(create({ patientName: 'Q' }, 'business-999'));
    expect(kms.calls).toEqual(['GenerateDataKey', 'GenerateDataKey']);
  });

  it('reuses a data key for at most maxMessages values', async () => {
    const kms = fakeKms(KEY_ARN);
    const prepareKms = createFieldEncryptor({
      sensitiveFields: ['patientName'],
      keyring: kmsKeyring(KEY_ARN, { kms: kms.client }),
      cache: { maxAgeMs: 60_000, maxMessages: 10, capacity: 10 },
    });
    for (let i = 0; i < 25; i++) await prepareKms(create({ patientName: `P${i}` }));
    expect(kms.calls).toEqual(['GenerateDataKey', 'GenerateDataKey', 'GenerateDataKey']);
  });

  it('answers 503 ENCRYPTION_UNAVAILABLE when KMS fails', async () => {
    const kms = fakeKms(KEY_ARN);
    kms.fail = kmsError('ThrottlingException', 'Rate exceeded');
    const prepareKms = createFieldEncryptor({ sensitiveFields: ['patientName'], keyring: kmsKeyring(KEY_ARN, { kms: kms.client }) });
    const error = await prepareKms(create({ patientName: 'John Doe' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EncryptionUnavailableError);
    expect(error).toMatchObject({ status: 503, code: 'ENCRYPTION_UNAVAILABLE', headers: { 'Retry-After': '1' } });
  });
});
