import type { KeyringNode } from '@aws-crypto/client-node';
import { DEFAULT_DATA_KEY_CACHE, type DataKeyCacheBounds } from '../../../common/fieldEncryption/dataKeyCache';
import { DEFAULT_MATERIALS_REUSE, MaterialsReuse, type MaterialsReuseBounds } from '../../../common/fieldEncryption/MaterialsReuse';
import { encryptField } from '../../../common/fieldEncryption/fieldCipher';
import { encryptableValues, fieldBinding, fieldEncryptionContext } from '../../../contract/encryptedField';
import type { ResourceOperation } from '../../../contract/operation';
import { EncryptionUnavailableError } from './errors';

export interface FieldEncryptorOptions {
  /** Top-level field names whose values never reach the stream in plaintext (`SENSITIVE_FIELDS`). */
  sensitiveFields: readonly string[];
  /** `kmsKeyring(arn)` in AWS, `localKeyring(file)` locally (common/fieldEncryption/keyrings.ts). */
  keyring: KeyringNode;
  /** Data-key reuse bounds. @default DEFAULT_DATA_KEY_CACHE (5 min, 10,000 values, 1,000 scopes) */
  cache?: DataKeyCacheBounds;
  /** How long one cache lookup's materials serve. @default DEFAULT_MATERIALS_REUSE (100 values, 1 s) */
  reuse?: MaterialsReuseBounds;
}

/**
 * The gateway's `prepareRecord` for field encryption: replaces each sensitive value of `data` (create,
 * update, patch) or of `filters` (list) with an AWS Encryption SDK ciphertext and lists the names in
 * `encryptedFields`; an operation without sensitive values is returned unchanged. The format and what each
 * ciphertext is bound to are in `contract/encryptedField.ts`.
 *
 * Data keys come from a caching materials manager keyed by the tenant scope (the encryption context), so KMS
 * is called about once per scope per `cache.maxAgeMs`, not per request; one lookup's materials serve up to
 * `reuse` values (see MaterialsReuse), within the data key's bounds.
 * @throws EncryptionUnavailableError (503) when the key cannot be used; nothing is written then.
 *
 * @example
 * const prepareRecord = createFieldEncryptor({ sensitiveFields: ['patientName'], keyring: kmsKeyring(arn) });
 * createApp({ ...deps, prepareRecord });
 */
export function createFieldEncryptor(o: FieldEncryptorOptions): (op: ResourceOperation) => Promise<ResourceOperation> {
  if (o.sensitiveFields.length === 0) throw new Error('createFieldEncryptor needs at least one sensitive field');
  const sensitive = [...new Set(o.sensitiveFields)];
  const materials = MaterialsReuse.over(o.keyring, o.cache ?? DEFAULT_DATA_KEY_CACHE, o.reuse ?? DEFAULT_MATERIALS_REUSE);

  return async (op) => {
    const values = encryptableValues(op);
    if (!values) return op;
    const present = sensitive.filter((name) => Object.hasOwn(values, name) && values[name] !== undefined);
    if (present.length === 0) return op;
    const context = fieldEncryptionContext(op);
    const encrypted: Record<string, unknown> = { ...values };
    try {
      for (const name of present) encrypted[name] = await encryptField(materials, context, fieldBinding(op, name), values[name]);
    } catch (cause) {
      throw new EncryptionUnavailableError('sensitive fields could not be encrypted; try again later', 1, { cause });
    }
    if (op.operation === 'list') return { ...op, filters: encrypted as Record<string, string>, encryptedFields: present };
    return { ...op, data: encrypted, encryptedFields: present } as ResourceOperation;
  };
}
