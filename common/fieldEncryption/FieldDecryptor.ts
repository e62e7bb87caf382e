import type { KeyringNode } from '@aws-crypto/client-node';
import { encryptableValues, fieldBinding, fieldEncryptionContext } from '../../contract/encryptedField';
import type { ResourceOperation } from '../../contract/operation';
import { cachingMaterialsManager, DEFAULT_DATA_KEY_CACHE, type DataKeyCacheBounds } from './dataKeyCache';
import { FieldDecryptionError } from './errors';
import { decryptField } from './fieldCipher';

export interface FieldDecryptorOptions {
  keyring: KeyringNode;
  /** Unwrapped data keys kept, so values sharing a data key cost one KMS call. @default DEFAULT_DATA_KEY_CACHE */
  cache?: DataKeyCacheBounds;
}

/** Turns a record with `encryptedFields` into the operation as the caller sent it. */
export type FieldDecryptor = (op: ResourceOperation) => Promise<ResourceOperation>;

/**
 * The consumer side of field encryption: decrypts every value the record's `encryptedFields` names (in
 * `data`, or in `filters` for a list) and drops `encryptedFields`. A record without it is returned as is.
 * @throws FieldDecryptionError (final) or KeyUnavailableError (transient); see `fieldCipher.decryptField`.
 *
 * @example
 * const decrypt = createFieldDecryptor({ keyring: keyringFor(config.fieldEncryption) });
 * const op = await decrypt(decodeOperation(bytes));
 */
export function createFieldDecryptor(o: FieldDecryptorOptions): FieldDecryptor {
  const materials = cachingMaterialsManager(o.keyring, o.cache ?? DEFAULT_DATA_KEY_CACHE);
  return async (op) => {
    const names = op.encryptedFields;
    if (!names) return op;
    const { encryptedFields: _, ...rest } = op;
    const plain = rest as ResourceOperation;
    if (names.length === 0) return plain;
    const values = encryptableValues(op);
    if (!values) throw new FieldDecryptionError('encryptedFields', `a ${op.operation} carries no values to decrypt`);
    const context = fieldEncryptionContext(op);
    const decrypted: Record<string, unknown> = { ...values };
    for (const name of new Set(names)) {
      const binding = fieldBinding(op, name);
      if (!Object.hasOwn(values, name)) throw new FieldDecryptionError(binding.field, 'the record names it encrypted but does not carry it');
      const value = await decryptField(materials, context, binding, values[name]);
      if (op.operation === 'list' && typeof value !== 'string') throw new FieldDecryptionError(binding.field, 'a filter value must be a string');
      // Defined, not assigned: a name from the record must not reach a setter such as __proto__.
      Object.defineProperty(decrypted, name, { value, enumerable: true, writable: true, configurable: true });
    }
    if (plain.operation === 'list') return { ...plain, filters: decrypted as Record<string, string> };
    if (plain.operation === 'delete') return plain;
    return { ...plain, data: decrypted };
  };
}
