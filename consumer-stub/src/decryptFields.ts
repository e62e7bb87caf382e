import { FieldDecryptionError } from '../../common/fieldEncryption/errors';
import type { FieldDecryptor } from '../../common/fieldEncryption/FieldDecryptor';
import type { DecryptFields } from './decryptEntries';
import { OperationFailedError } from './errors';

/**
 * The handler's `decryptFields` step over a field decryptor. A ciphertext that can never be read as this
 * record's value (another key, tenant, resource or field; not a ciphertext) is the operation's final
 * outcome: `failed` `DECRYPTION_FAILED`, not retried, so it cannot block the shard. A KMS failure
 * (`KeyUnavailableError`) propagates and the record is retried, like any transient error.
 *
 * Without a decryptor (no key configured), a record that names encrypted fields fails the same way rather
 * than storing ciphertexts as if they were values.
 */
export function createDecryptFields(decryptor?: FieldDecryptor): DecryptFields {
  return async (op) => {
    if (!op.encryptedFields?.length) return op;
    if (!decryptor) {
      throw new OperationFailedError(
        'DECRYPTION_FAILED',
        'the record has encrypted fields and this consumer has no field encryption key (FIELD_ENCRYPTION_KEY_ARN or FIELD_ENCRYPTION_KEY_FILE)',
      );
    }
    try {
      return await decryptor(op);
    } catch (e) {
      if (e instanceof FieldDecryptionError) throw new OperationFailedError(e.code, e.message, { cause: e });
      throw e;
    }
  };
}
