import type { ResourceOperation } from '../../contract/operation';
import type { Limiter } from './createLimiter';
import { OperationFailedError } from './errors';
import type { Entry, EntryResult } from './types';

/** Turns a record's encrypted fields into plaintext; throws an `OperationFailedError` when it cannot. */
export type DecryptFields = (op: ResourceOperation) => Promise<ResourceOperation>;

/**
 * Passes every entry through the decryption step, concurrently, in place (the step returns an operation
 * without encrypted fields as it is). Returns what is decided already:
 * `failed` when a field can never be decrypted as this record's (final), `held` on a transient failure (KMS),
 * which stops the entry's resource chain like any transient failure.
 */
export async function decryptEntries(entries: readonly Entry[], decrypt: DecryptFields, limit: Limiter): Promise<Map<Entry, EntryResult>> {
  const decided = new Map<Entry, EntryResult>();
  await Promise.all(
    entries.map(async (e) => {
      try {
        e.op = e.op.encryptedFields?.length ? await limit(() => decrypt(e.op)) : await decrypt(e.op);
      } catch (error) {
        decided.set(e, error instanceof OperationFailedError ? { kind: 'failed', error: { code: error.code, message: error.message } } : { kind: 'held', error });
      }
    }),
  );
  return decided;
}
