/**
 * Errors of field encryption. The split that matters to the consumer: a {@link FieldDecryptionError} is final
 * (the ciphertext can never be read as this record's value), a {@link KeyUnavailableError} is transient (the
 * key service failed or refused; the same record may decrypt later).
 */

/** A value of the record cannot be decrypted as that value: not a ciphertext, another key, another tenant, resource or field. */
export class FieldDecryptionError extends Error {
  override readonly name = 'FieldDecryptionError';
  readonly code = 'DECRYPTION_FAILED';
  constructor(
    /** Where the value sits, `data.{name}` or `filters.{name}`. */
    readonly field: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`field ${field} could not be decrypted: ${reason}`, options);
  }
}

/** The key service (KMS) failed, throttled or refused while wrapping or unwrapping a data key; retrying may succeed. */
export class KeyUnavailableError extends Error {
  override readonly name = 'KeyUnavailableError';
  readonly code = 'KEY_UNAVAILABLE';
}

// KMS answers that say the encrypted data key itself is wrong, not that KMS is unavailable.
const FINAL_KMS_ERRORS = /\b(InvalidCiphertextException|IncorrectKeyException)\b/;
// How the SDK's KMS keyring reports failed KMS calls on decrypt: one message with each call's stack.
const KMS_CALL_FAILED = 'KMS CMKs had an error';

/**
 * Whether a decrypt failure of the AWS Encryption SDK came from a KMS call that may succeed later
 * (throttling, network, AccessDenied, a disabled key), rather than from the message or its data key.
 */
export function isTransientKeyError(e: unknown): boolean {
  const message = e instanceof Error ? e.message : String(e);
  return message.includes(KMS_CALL_FAILED) && !FINAL_KMS_ERRORS.test(message);
}
