import * as v from 'valibot';
import type { ResourceOperation } from './operation';

/**
 * Field encryption in the stream message. The gateway replaces the value of each sensitive field
 * with a ciphertext and lists the field's name in the record's `encryptedFields`; the consumer decrypts
 * exactly those, with no configuration of its own but the key.
 *
 * Which values: for create, update and patch, `encryptedFields` names fields of `data`; for list (which has
 * no data), it names `filters` whose values are ciphertexts, so a filter on a sensitive field does not put
 * the value on the stream either. Delete carries no values.
 *
 * A ciphertext is a string: the standard base64 (with padding) of one AWS Encryption SDK message, made with
 * the committing, unsigned suite `ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY` (0x0478).
 * - Its encryption context, authenticated by the SDK and sent to KMS with the data key, is the record's
 *   tenant scope, {@link fieldEncryptionContext}: `{businessId, locationId, resourceType}`.
 * - Its plaintext is the UTF-8 JSON of a {@link FieldEnvelope}: `{v: 2, subject, field, request, value}`,
 *   where `value` is the field's original JSON value and `subject`/`field`/`request` are the
 *   {@link fieldBinding} of its place in the record.
 *
 * A reader decrypts, then checks that the message's encryption context equals the record's scope and that
 * the envelope's subject, field and request equal the value's place; otherwise the value is refused. So a
 * ciphertext moved into another tenant's record, another resource, another field or another request fails.
 *
 * Why the resource is bound inside the plaintext rather than in the encryption context: the data-key cache
 * of the SDK is keyed by the encryption context, so a per-resource context would need a new data key (a KMS
 * call) for every record. Scope in the context keeps one data key per tenant scope within the cache bounds;
 * the envelope, inside the authenticated ciphertext, binds the rest just as firmly.
 */

/** The encryption context of every field ciphertext of a record: its tenant scope. */
export interface FieldEncryptionContext {
  businessId: string;
  locationId: string;
  resourceType: string;
  [key: string]: string;
}

/** `{businessId, locationId, resourceType}` of the record: the AWS Encryption SDK encryption context of its ciphertexts. */
export function fieldEncryptionContext(op: Pick<ResourceOperation, 'businessId' | 'locationId' | 'resourceType'>): FieldEncryptionContext {
  return { businessId: op.businessId, locationId: op.locationId, resourceType: op.resourceType };
}

/** Where in a record one encrypted value sits, as bound inside its ciphertext. */
export interface FieldBinding {
  /** The resource (`resourceId`) for data fields; the request (`requestId`) for list filters. */
  subject: string;
  /** `data.{name}` or `filters.{name}`. */
  field: string;
  /** The record's `requestId`, so a ciphertext copied into a later request for the same resource is refused too. */
  request: string;
}

/** The object whose values `encryptedFields` names: `data` (create/update/patch), `filters` (list), none (delete). */
export function encryptableValues(op: ResourceOperation): Record<string, unknown> | undefined {
  if (op.operation === 'list') return op.filters;
  if (op.operation === 'delete') return undefined;
  return op.data;
}

/** The binding of field `name` of `op`. */
export function fieldBinding(op: ResourceOperation, name: string): FieldBinding {
  if (op.operation === 'list') return { subject: op.requestId, field: `filters.${name}`, request: op.requestId };
  return { subject: op.resourceId, field: `data.${name}`, request: op.requestId };
}

/** The envelope version a gateway writes. */
export const FIELD_ENVELOPE_VERSION = 2;

/**
 * Version 1 carries no `v`, and `request` is optional: a reader still accepts it so that records a version-1
 * gateway put on the stream or in a spool decrypt during a rolling deployment. A `request` it does carry must
 * match like version 2's.
 */
const FieldEnvelopeV1Schema = v.strictObject({
  subject: v.string(),
  field: v.string(),
  request: v.optional(v.string()),
  value: v.unknown(),
});

/** Version 2 always binds the request. */
const FieldEnvelopeV2Schema = v.strictObject({
  v: v.literal(FIELD_ENVELOPE_VERSION),
  subject: v.string(),
  field: v.string(),
  request: v.string(),
  value: v.unknown(),
});

/** The plaintext of a field ciphertext (as UTF-8 JSON), of either version. */
export const FieldEnvelopeSchema = v.union([FieldEnvelopeV2Schema, FieldEnvelopeV1Schema]);
export type FieldEnvelope = v.InferOutput<typeof FieldEnvelopeSchema>;

/** The envelope's version: its `v`, or 1 when it has none. */
export function fieldEnvelopeVersion(envelope: FieldEnvelope): 1 | typeof FIELD_ENVELOPE_VERSION {
  return 'v' in envelope ? envelope.v : 1;
}
