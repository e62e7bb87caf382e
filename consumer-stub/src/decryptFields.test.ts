import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FieldDecryptionError, KeyUnavailableError } from '../../common/fieldEncryption/errors';
import type { ResourceOperation } from '../../contract/operation';
import { createDecryptFields } from './decryptFields';
import { OperationFailedError } from './errors';

const op = (extra: Partial<{ encryptedFields: string[] }> = {}): ResourceOperation => ({
  businessId: 'b',
  locationId: 'l',
  resourceType: 'appointment',
  requestId: randomUUID(),
  timestamp: new Date().toISOString(),
  operation: 'patch',
  resourceId: 'appointment-1',
  data: { patientName: 'AQIDBA==' },
  ...extra,
});

describe('createDecryptFields', () => {
  it('turns a final decryption error into OperationFailedError DECRYPTION_FAILED', async () => {
    const decrypt = createDecryptFields(async () => {
      throw new FieldDecryptionError('data.patientName', 'the ciphertext belongs to another business, location or resource type');
    });
    const error = await decrypt(op({ encryptedFields: ['patientName'] })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationFailedError);
    expect(error).toMatchObject({ code: 'DECRYPTION_FAILED', message: 'field data.patientName could not be decrypted: the ciphertext belongs to another business, location or resource type' });
  });

  it('lets a KMS failure through, so the record is retried', async () => {
    const decrypt = createDecryptFields(async () => {
      throw new KeyUnavailableError('throttled');
    });
    await expect(decrypt(op({ encryptedFields: ['patientName'] }))).rejects.toBeInstanceOf(KeyUnavailableError);
  });

  it('without a key, fails a record with encrypted fields rather than store ciphertexts', async () => {
    const error = await createDecryptFields()(op({ encryptedFields: ['patientName'] })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DECRYPTION_FAILED', message: expect.stringContaining('no field encryption key') });
  });

  it('without a key, passes a record without encrypted fields through', async () => {
    const plain = op();
    expect(await createDecryptFields()(plain)).toBe(plain);
  });
});
