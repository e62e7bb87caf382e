import { KmsKeyringNode, RawAesKeyringNode, RawAesWrappingSuiteIdentifier, type KeyringNode, type KMS } from '@aws-crypto/client-node';
import { readFileSync } from 'node:fs';

/** Key namespace and name of the raw AES keyring: written into each message's encrypted data key, matched on decrypt. */
export const LOCAL_KEY_NAMESPACE = 'resource-gateway';
export const LOCAL_KEY_NAME = 'field-encryption-key';
/** Length of the raw AES-256 key in the local key file. */
export const LOCAL_KEY_BYTES = 32;

export interface KmsKeyringOptions {
  /** A KMS client (tests pass a double); @default the SDK's client for the key's region, default credentials */
  kms?: Pick<KMS, 'generateDataKey' | 'decrypt'>;
}

/**
 * The AWS Encryption SDK keyring of a KMS key, by its key ARN (not an alias: decrypt matches the ARN KMS
 * writes into each message). Encrypting calls only `kms:GenerateDataKey` (one generator, no additional
 * keys, so no `kms:Encrypt`); decrypting calls only `kms:Decrypt`, and only on this key.
 */
export function kmsKeyring(keyArn: string, o: KmsKeyringOptions = {}): KeyringNode {
  return new KmsKeyringNode({ generatorKeyId: keyArn, ...(o.kms ? { clientProvider: () => o.kms as KMS } : {}) });
}

/**
 * The raw AES-256-GCM keyring of a local key file (exactly 32 random bytes), where no KMS exists. Throws at
 * construction if the file cannot be read or has another length.
 */
export function localKeyring(keyFile: string): KeyringNode {
  let key: Buffer;
  try {
    key = readFileSync(keyFile);
  } catch (cause) {
    throw new Error(`cannot read the field encryption key file ${keyFile}`, { cause });
  }
  if (key.byteLength !== LOCAL_KEY_BYTES) {
    throw new Error(`the field encryption key file ${keyFile} must hold exactly ${LOCAL_KEY_BYTES} bytes, not ${key.byteLength}`);
  }
  return new RawAesKeyringNode({
    keyNamespace: LOCAL_KEY_NAMESPACE,
    keyName: LOCAL_KEY_NAME,
    unencryptedMasterKey: new Uint8Array(key),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
}

/** Where a process' field encryption key is, as its configuration says (exactly one of the two). */
export interface FieldKeySource {
  kmsKeyArn?: string;
  localKeyFile?: string;
}

/** The keyring the configuration names: {@link kmsKeyring} in AWS, {@link localKeyring} locally. */
export function keyringFor(source: FieldKeySource): KeyringNode {
  if (source.kmsKeyArn && source.localKeyFile) throw new Error('field encryption: set only one of a KMS key ARN and a local key file');
  if (source.kmsKeyArn) return kmsKeyring(source.kmsKeyArn);
  if (source.localKeyFile) return localKeyring(source.localKeyFile);
  throw new Error('field encryption: no key configured (a KMS key ARN or a local key file)');
}
