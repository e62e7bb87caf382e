import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FieldBinding } from '../../contract/encryptedField';
import { envelopeCiphertext } from '../test/envelopeCiphertext';
import { fakeKms, kmsError } from '../test/fakeKms';
import { FieldDecryptionError, KeyUnavailableError } from './errors';
import { buildClient, CommitmentPolicy } from '@aws-crypto/client-node';
import { cachingMaterialsManager } from './dataKeyCache';
import { decryptField, encryptField, FIELD_SUITE } from './fieldCipher';
import { kmsKeyring, localKeyring } from './keyrings';

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const dir = mkdtempSync(join(tmpdir(), 'field-cipher-'));
function keyFile(): string {
  const file = join(dir, `${randomBytes(4).toString('hex')}.key`);
  writeFileSync(file, randomBytes(32));
  return file;
}
const keyring = localKeyring(keyFile());
const scope = { businessId: 'business-123', locationId: 'location-456', resourceType: 'appointment' };
const binding: FieldBinding = { subject: 'appointment-1', field: 'data.patientName', request: 'request-1' };

describe('encryptField and decryptField', () => {
  it('round-trips any JSON value', async () => {
    for (const value of ['John Doe', 42, null, { street: 'Main St 1' }, ['a', 'b']]) {
      const ciphertext = await encryptField(keyring, scope, binding, value);
      expect(await decryptField(keyring, scope, binding, ciphertext)).toEqual(value);
    }
  });

  it('makes messages the SDK itself reads, with the caching materials manager too, and values longer than a frame', async () => {
    const { decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    const cached = cachingMaterialsManager(keyring);
    for (const value of ['John Doe', 'x'.repeat(5000)]) {
      const ciphertext = await encryptField(cached, scope, binding, value);
      const { plaintext, messageHeader } = await decrypt(keyring, Buffer.from(ciphertext, 'base64'));
      expect(JSON.parse(plaintext.toString())).toEqual({ v: 2, subject: binding.subject, field: binding.field, request: binding.request, value });
      expect({ ...messageHeader.encryptionContext }).toEqual(scope);
      expect(messageHeader.suiteId).toBe(FIELD_SUITE);
    }
  });

  it('makes a base64 ciphertext in which the plaintext appears in no encoding', async () => {
    const ciphertext = await encryptField(keyring, scope, binding, 'John Doe');
    expect(ciphertext).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    const bytes = Buffer.from(ciphertext, 'base64');
    expect(bytes.includes('John Doe')).toBe(false);
    expect(ciphertext.includes(Buffer.from('John Doe').toString('base64').slice(0, 8))).toBe(false);
  });

  it('refuses a ciphertext of one request in another request on the same resource', async () => {
    const ciphertext = await encryptField(keyring, scope, binding, 'John Doe');
    expect(await decryptField(keyring, scope, binding, ciphertext)).toBe('John Doe');
    const error = await decryptField(keyring, scope, { ...binding, request: 'request-2' }, ciphertext).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FieldDecryptionError);
    expect((error as Error).message).toContain('another resource or field');
  });

  describe('a version-1 envelope (no v), as a version-1 gateway wrote it, for a rolling deployment', () => {
    it('decrypts when it names no request, in any request on its resource', async () => {
      const v1 = await envelopeCiphertext(keyring, scope, { subject: binding.subject, field: binding.field, value: 'John Doe' });
      expect(await decryptField(keyring, scope, { ...binding, request: 'request-9' }, v1)).toBe('John Doe');
    });

    it('decrypts in the request it names and is refused in another', async () => {
      const v1 = await envelopeCiphertext(keyring, scope, { subject: binding.subject, field: binding.field, request: 'request-1', value: 'John Doe' });
      expect(await decryptField(keyring, scope, binding, v1)).toBe('John Doe');
      await expect(decryptField(keyring, scope, { ...binding, request: 'request-2' }, v1)).rejects.toThrow('another resource or field');
    });

    it('is refused on another resource or field like version 2', async () => {
      const v1 = await envelopeCiphertext(keyring, scope, { subject: binding.subject, field: binding.field, value: 'John Doe' });
      await expect(decryptField(keyring, scope, { ...binding, subject: 'appointment-2' }, v1)).rejects.toThrow('another resource or field');
      await expect(decryptField(keyring, scope, { ...binding, field: 'data.notes' }, v1)).rejects.toThrow('another resource or field');
    });
  });

  it.each([
    ['a version-2 envelope without its request', { v: 2, subject: binding.subject, field: binding.field, value: 'John Doe' }],
    ['an envelope of an unknown version', { v: 3, subject: binding.subject, field: binding.field, request: binding.request, value: 'John Doe' }],
    ['an envelope with an unknown member', { v: 2, subject: binding.subject, field: binding.field, request: binding.request, value: 'John Doe', extra: 1 }],
  ])('refuses %s as not a field envelope', async (_, envelope) => {
    const ciphertext = await envelopeCiphertext(keyring, scope, envelope);
    const error = await decryptField(keyring, scope, binding, ciphertext).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FieldDecryptionError);
    expect((error as Error).message).toContain('not a field envelope');
  });

  it.each([
    ['business', { ...scope, businessId: 'business-999' }, binding, 'another business, location or resource type'],
    ['location', { ...scope, locationId: 'location-999' }, binding, 'another business, location or resource type'],
    ['resource type', { ...scope, resourceType: 'invoice' }, binding, 'another business, location or resource type'],
    ['resource', scope, { ...binding, subject: 'appointment-2' }, 'another resource or field'],
    ['field', scope, { ...binding, field: 'data.notes' }, 'another resource or field'],
  ])('refuses a ciphertext moved into another %s', async (_, otherScope, otherBinding, reason) => {
    const ciphertext = await encryptField(keyring, scope, binding, 'John Doe');
    const error = await decryptField(keyring, otherScope, otherBinding, ciphertext).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FieldDecryptionError);
    expect((error as Error).message).toContain(reason);
    expect((error as Error).message).not.toContain('John Doe');
  });

  it.each([
    ['not a string', 42],
    ['not base64', 'John Doe'],
    ['base64 of something else', Buffer.from('{"patientName":"x"}').toString('base64')],
  ])('refuses a value that is %s', async (_, value) => {
    await expect(decryptField(keyring, scope, binding, value)).rejects.toBeInstanceOf(FieldDecryptionError);
  });

  it('refuses a ciphertext with one byte changed', async () => {
    const bytes = Buffer.from(await encryptField(keyring, scope, binding, 'John Doe'), 'base64');
    bytes[bytes.length - 20]! ^= 1;
    await expect(decryptField(keyring, scope, binding, bytes.toString('base64'))).rejects.toBeInstanceOf(FieldDecryptionError);
  });

  it('refuses a ciphertext of another local key', async () => {
    const ciphertext = await encryptField(localKeyring(keyFile()), scope, binding, 'John Doe');
    await expect(decryptField(keyring, scope, binding, ciphertext)).rejects.toBeInstanceOf(FieldDecryptionError);
  });

  it('with KMS, encrypting only generates a data key and decrypting only decrypts it', async () => {
    const kms = fakeKms(KEY_ARN);
    const ring = kmsKeyring(KEY_ARN, { kms: kms.client });
    const ciphertext = await encryptField(ring, scope, binding, 'John Doe');
    expect(kms.calls).toEqual(['GenerateDataKey']);
    expect(await decryptField(ring, scope, binding, ciphertext)).toBe('John Doe');
    expect(kms.calls).toEqual(['GenerateDataKey', 'Decrypt']);
  });

  it('with KMS, a refused data key is final and a throttled or denied call is transient', async () => {
    const kms = fakeKms(KEY_ARN);
    const ring = kmsKeyring(KEY_ARN, { kms: kms.client });
    const ciphertext = await encryptField(ring, scope, binding, 'John Doe');
    const otherKms = fakeKms(KEY_ARN); // same ARN, other key material: KMS answers InvalidCiphertextException
    await expect(decryptField(kmsKeyring(KEY_ARN, { kms: otherKms.client }), scope, binding, ciphertext)).rejects.toBeInstanceOf(FieldDecryptionError);
    for (const fault of [kmsError('ThrottlingException', 'Rate exceeded'), kmsError('AccessDeniedException', 'not authorized'), kmsError('KMSInternalException', 'internal')]) {
      kms.fail = fault;
      await expect(decryptField(ring, scope, binding, ciphertext)).rejects.toBeInstanceOf(KeyUnavailableError);
    }
  });
});
