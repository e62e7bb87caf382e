import type { KMS } from '@aws-crypto/client-node';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** A KMS double for what no emulator provides: the two calls the SDK's KMS keyring makes, and their faults. */
export interface FakeKms {
  client: Pick<KMS, 'generateDataKey' | 'decrypt'>;
  /** Every call made, by KMS action name. */
  calls: string[];
  /** When set, the next calls reject with it (e.g. a throttling error). */
  fail?: Error;
}

/**
 * Wraps data keys with its own AES-256-GCM master key and binds them to the encryption context, as KMS does:
 * `Decrypt` with another context or another blob fails with `InvalidCiphertextException`.
 */
export function fakeKms(keyArn: string): FakeKms {
  const master = randomBytes(32);
  const aad = (ctx: Record<string, string> = {}) => Buffer.from(JSON.stringify(Object.entries(ctx).sort(([a], [b]) => a.localeCompare(b))));
  const fake: FakeKms = {
    calls: [],
    client: {
      generateDataKey: (async (input: { KeyId?: string; NumberOfBytes?: number; EncryptionContext?: Record<string, string> }) => {
        fake.calls.push('GenerateDataKey');
        if (fake.fail) throw fake.fail;
        const plaintext = randomBytes(input.NumberOfBytes ?? 32);
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', master, iv).setAAD(aad(input.EncryptionContext));
        const blob = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
        return { KeyId: keyArn, Plaintext: new Uint8Array(plaintext), CiphertextBlob: new Uint8Array(blob) };
      }) as unknown as KMS['generateDataKey'],
      decrypt: (async (input: { KeyId?: string; CiphertextBlob?: Uint8Array; EncryptionContext?: Record<string, string> }) => {
        fake.calls.push('Decrypt');
        if (fake.fail) throw fake.fail;
        const blob = Buffer.from(input.CiphertextBlob ?? []);
        try {
          const decipher = createDecipheriv('aes-256-gcm', master, blob.subarray(0, 12)).setAAD(aad(input.EncryptionContext));
          decipher.setAuthTag(blob.subarray(blob.length - 16));
          const plaintext = Buffer.concat([decipher.update(blob.subarray(12, blob.length - 16)), decipher.final()]);
          return { KeyId: keyArn, Plaintext: new Uint8Array(plaintext) };
        } catch {
          throw kmsError('InvalidCiphertextException', 'The ciphertext is invalid');
        }
      }) as unknown as KMS['decrypt'],
    },
  };
  return fake;
}

/** An error shaped like the AWS SDK's service exceptions. */
export function kmsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client' });
}
