import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fieldBinding, fieldEncryptionContext } from '../../contract/encryptedField';
import type { ResourceOperation } from '../../contract/operation';
import { fakeKms } from '../test/fakeKms';
import { cachingMaterialsManager } from './dataKeyCache';
import { FieldDecryptionError } from './errors';
import { encryptField } from './fieldCipher';
import { createFieldDecryptor } from './FieldDecryptor';
import { kmsKeyring } from './keyrings';

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const scope = { businessId: 'business-123', locationId: 'location-456', resourceType: 'appointment' };
const base = () => ({ ...scope, requestId: randomUUID(), timestamp: new Date().toISOString() });

function setup() {
  const kms = fakeKms(KEY_ARN);
  const keyring = kmsKeyring(KEY_ARN, { kms: kms.client });
  const producer = cachingMaterialsManager(keyring);
  /** What the gateway would put on the stream: `fields` of data (or filters) encrypted. */
  async function encrypted(op: ResourceOperation, fields: string[]): Promise<ResourceOperation> {
    const values = { ...(op.operation === 'list' ? op.filters : 'data' in op ? op.data : {}) } as Record<string, unknown>;
    for (const f of fields) values[f] = await encryptField(producer, fieldEncryptionContext(op), fieldBinding(op, f), values[f]);
    return (op.operation === 'list' ? { ...op, filters: values, encryptedFields: fields } : { ...op, data: values, encryptedFields: fields }) as ResourceOperation;
  }
  return { kms, keyring, encrypted, decrypt: createFieldDecryptor({ keyring }) };
}

describe('createFieldDecryptor', () => {
  it('restores the data fields the record names and drops encryptedFields', async () => {
    const { encrypted, decrypt } = setup();
    const op: ResourceOperation = { ...base(), operation: 'create', resourceId: 'appointment-1', data: { id: 'appointment-1', patientName: 'John Doe', phone: '555', service: 'x' } };
    expect(await decrypt(await encrypted(op, ['patientName', 'phone']))).toEqual(op);
  });

  it('restores encrypted list filters', async () => {
    const { encrypted, decrypt } = setup();
    const op: ResourceOperation = { ...base(), operation: 'list', pagination: { page: 1, limit: 20 }, filters: { patientName: 'John Doe', service: 'x' } };
    expect(await decrypt(await encrypted(op, ['patientName']))).toEqual(op);
  });

  it('returns a record without encryptedFields as it is', async () => {
    const { decrypt } = setup();
    const op: ResourceOperation = { ...base(), operation: 'patch', resourceId: 'appointment-1', data: { patientName: 'plain' } };
    expect(await decrypt(op)).toBe(op);
  });

  it('refuses a record naming a field it does not carry', async () => {
    const { decrypt } = setup();
    const op: ResourceOperation = { ...base(), operation: 'patch', resourceId: 'appointment-1', data: {}, encryptedFields: ['patientName'] };
    await expect(decrypt(op)).rejects.toThrow(FieldDecryptionError);
  });

  it('refuses a ciphertext swapped between two fields of the same record', async () => {
    const { encrypted, decrypt } = setup();
    const op = await encrypted({ ...base(), operation: 'update', resourceId: 'appointment-1', data: { patientName: 'John Doe', phone: '555' } }, ['patientName', 'phone']);
    const data = (op as { data: Record<string, unknown> }).data;
    await expect(decrypt({ ...op, data: { patientName: data.phone, phone: data.patientName } } as ResourceOperation)).rejects.toThrow('another resource or field');
  });

  it('unwraps a data key shared by many values once (one KMS Decrypt)', async () => {
    const { kms, encrypted, decrypt } = setup();
    const ops = [];
    for (let i = 0; i < 20; i++) ops.push(await encrypted({ ...base(), operation: 'create', resourceId: `appointment-${i}`, data: { patientName: `P${i}` } }, ['patientName']));
    for (const op of ops) await decrypt(op);
    expect(kms.calls.filter((c) => c === 'GenerateDataKey')).toHaveLength(1);
    expect(kms.calls.filter((c) => c === 'Decrypt')).toHaveLength(1);
  });
});
