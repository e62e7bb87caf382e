import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  KeyringNode,
  NodeAlgorithmSuite,
  NodeDefaultCryptographicMaterialsManager,
  type NodeMaterialsManager,
} from '@aws-crypto/client-node';
// Internal modules of the SDK's encrypt package (pinned in package.json); types in encryptNodeInternals.d.ts.
import { getEncryptionInfo } from '@aws-crypto/encrypt-node/build/main/src/encrypt_stream';
import { getEncryptFrame } from '@aws-crypto/encrypt-node/build/main/src/framed_encrypt_stream';
import * as v from 'valibot';
import {
  FIELD_ENVELOPE_VERSION,
  FieldEnvelopeSchema,
  fieldEnvelopeVersion,
  type FieldBinding,
  type FieldEncryptionContext,
  type FieldEnvelope,
} from '../../contract/encryptedField';
import { FieldDecryptionError, isTransientKeyError, KeyUnavailableError } from './errors';
import { MaterialsReuse } from './MaterialsReuse';

/** Where encryption materials come from: a materials manager, a keyring, or a reuse of a caching manager's. */
export type EncryptionMaterialsSource = NodeMaterialsManager | KeyringNode | MaterialsReuse;

/**
 * One field value in, one AWS Encryption SDK message out, in the format `contract/encryptedField.ts` defines.
 * Both the gateway (encrypt) and the consumer (decrypt) use this module.
 */

// Key commitment on both sides; at most one encrypted data key per message (we write one), which also bounds
// the work a forged message can cause.
const { encrypt, decrypt } = buildClient({ commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT, maxEncryptedDataKeys: 1 });

/**
 * Committing and unsigned. The default suite adds an ECDSA P-384 signature, which costs about 1 ms of CPU
 * and 200 bytes per value; a signature only matters when those who can decrypt must not be able to forge,
 * and here the only decrypting principal is the consumer.
 */
export const FIELD_SUITE = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
// Field values are small: a 1 KiB frame encrypts most in one frame and costs half the CPU of the 4 KiB default.
const FRAME_LENGTH = 1024;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const SUITE = new NodeAlgorithmSuite(FIELD_SUITE);

/**
 * A value is encrypted with the SDK's own message builders, as its encrypt stream uses them: the header (with
 * key commitment and header authentication) and one final frame. `encrypt()` runs them through a
 * readable-stream pipeline that waits an event-loop turn per chunk; for one small value that pipeline is two thirds of the cost (measured: 297 µs of
 * CPU per value through `encrypt()`, 90 µs here). Same format, same library, pinned to the version checked:
 * every ciphertext is read back by the SDK's own `decrypt()` in the tests.
 */
async function encryptMessage(materials: EncryptionMaterialsSource, context: FieldEncryptionContext, plaintext: Buffer): Promise<Buffer> {
  // A value longer than one frame takes the SDK's general path (several frames).
  if (plaintext.length > FRAME_LENGTH) {
    const cmm = materials instanceof MaterialsReuse ? materials.perMessage : materials;
    return (await encrypt(cmm, plaintext, { encryptionContext: context, suiteId: FIELD_SUITE, frameLength: FRAME_LENGTH })).result;
  }
  const reused = materials instanceof MaterialsReuse;
  const material = reused
    ? await materials.get(SUITE, context, plaintext.length)
    : await (materials instanceof KeyringNode ? new NodeDefaultCryptographicMaterialsManager(materials) : materials).getEncryptionMaterials({
        suite: SUITE,
        encryptionContext: context,
        plaintextLength: plaintext.length,
        commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
      });
  // The checks `encrypt()` makes before it writes: our committing suite, and one encrypted data key.
  // Reused materials carry the context of the lookup that made them: it must be this value's (fail closed).
  if (material.suite.id !== FIELD_SUITE || material.encryptedDataKeys.length !== 1 || (reused && !sameContext(material.encryptionContext, context))) {
    throw new Error('unexpected encryption materials');
  }
  const { getCipher, messageHeader, rawHeader, dispose } = getEncryptionInfo(material, FRAME_LENGTH);
  try {
    const frame = getEncryptFrame({
      pendingFrame: { content: [plaintext], contentLength: plaintext.length, sequenceNumber: 1 },
      messageHeader,
      getCipher,
      isFinalFrame: true,
      suite: material.suite,
    });
    return Buffer.concat([...rawHeader, frame.bodyHeader, frame.cipher.update(plaintext), frame.cipher.final(), frame.cipher.getAuthTag()]);
  } finally {
    // Reused materials are zeroed when they retire (MaterialsReuse), these after their one message.
    if (!reused) dispose();
  }
}

/** Encrypts `value` (any JSON value) bound to `context` and `binding`; resolves to the base64 ciphertext. */
export async function encryptField(
  materials: EncryptionMaterialsSource,
  context: FieldEncryptionContext,
  binding: FieldBinding,
  value: unknown,
): Promise<string> {
  const envelope: FieldEnvelope = { v: FIELD_ENVELOPE_VERSION, subject: binding.subject, field: binding.field, request: binding.request, value };
  const plaintext = Buffer.from(JSON.stringify(envelope), 'utf8');
  return (await encryptMessage(materials, context, plaintext)).toString('base64');
}

/**
 * Decrypts a ciphertext made by {@link encryptField} and returns the value, after checking that it was made
 * for exactly this `context` and `binding`.
 * @throws FieldDecryptionError when it is not such a ciphertext (final).
 * @throws KeyUnavailableError when KMS failed or refused (transient).
 */
export async function decryptField(
  materials: NodeMaterialsManager | KeyringNode,
  context: FieldEncryptionContext,
  binding: FieldBinding,
  ciphertext: unknown,
): Promise<unknown> {
  if (typeof ciphertext !== 'string' || ciphertext.length === 0 || !BASE64.test(ciphertext)) {
    throw new FieldDecryptionError(binding.field, 'the value is not a base64 ciphertext');
  }
  let plaintext: Buffer;
  let messageContext: Record<string, string>;
  try {
    const out = await decrypt(materials, Buffer.from(ciphertext, 'base64'));
    plaintext = out.plaintext;
    messageContext = out.messageHeader.encryptionContext;
  } catch (e) {
    if (isTransientKeyError(e)) throw new KeyUnavailableError(`the field key could not unwrap the data key of ${binding.field}`, { cause: e });
    throw new FieldDecryptionError(binding.field, `not a ciphertext of this key (${firstLine(e)})`, { cause: e });
  }
  // The SDK authenticated the context the message carries; whether it is this record's is ours to check.
  if (!sameContext(messageContext, context)) {
    throw new FieldDecryptionError(binding.field, 'the ciphertext belongs to another business, location or resource type');
  }
  let envelope;
  try {
    envelope = v.parse(FieldEnvelopeSchema, JSON.parse(plaintext.toString('utf8')));
  } catch {
    throw new FieldDecryptionError(binding.field, 'the plaintext is not a field envelope');
  }
  if (envelope.subject !== binding.subject || envelope.field !== binding.field || !sameRequest(envelope, binding)) {
    throw new FieldDecryptionError(binding.field, 'the ciphertext belongs to another resource or field');
  }
  return envelope.value;
}

/** Version 2 always names its request; version 1 may name none, and one it names must match (FieldEnvelopeSchema). */
function sameRequest(envelope: FieldEnvelope, binding: FieldBinding): boolean {
  switch (fieldEnvelopeVersion(envelope)) {
    case FIELD_ENVELOPE_VERSION:
      return envelope.request === binding.request;
    case 1:
      return envelope.request === undefined || envelope.request === binding.request;
  }
}

function sameContext(actual: Record<string, string>, expected: Record<string, string>): boolean {
  const keys = Object.keys(actual);
  return keys.length === Object.keys(expected).length && keys.every((k) => Object.hasOwn(expected, k) && actual[k] === expected[k]);
}

/** The SDK's reason, short: its messages hold no plaintext, but the KMS keyring's can span whole stacks. */
function firstLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return (message.split('\n')[0] ?? '').trim().slice(0, 200);
}
