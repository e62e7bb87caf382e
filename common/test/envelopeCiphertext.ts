import { buildClient, CommitmentPolicy, type KeyringNode } from '@aws-crypto/client-node';
import type { FieldEncryptionContext } from '../../contract/encryptedField';
import { FIELD_SUITE } from '../fieldEncryption/fieldCipher';

const { encrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

/**
 * A field ciphertext of any plaintext object, made by the SDK's own `encrypt()` in the field format: for
 * envelopes `encryptField` does not write (version 1, or a malformed version 2).
 */
export async function envelopeCiphertext(keyring: KeyringNode, context: FieldEncryptionContext, envelope: Record<string, unknown>): Promise<string> {
  const plaintext = Buffer.from(JSON.stringify(envelope), 'utf8');
  return (await encrypt(keyring, plaintext, { encryptionContext: context, suiteId: FIELD_SUITE })).result.toString('base64');
}
