import { RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface FieldEncryptionKeyProps {
  /**
   * What happens to the key when it leaves the stack. Retained by default: records on the stream and in the
   * on-failure path may still hold fields encrypted under it.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The KMS key of the AWS Encryption SDK keyring that encrypts sensitive fields before they reach the stream.
 * Producers may only generate data keys with it, consumers may only decrypt: whoever can read the stream
 * cannot read those fields without `kms:Decrypt` on this key.
 *
 * @example
 * const fieldKey = new FieldEncryptionKey(this, 'FieldKey');
 * fieldKey.grantEncrypt(gatewayTaskRole);
 * fieldKey.grantDecrypt(consumerFunction);
 */
export class FieldEncryptionKey extends Construct {
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: FieldEncryptionKeyProps = {}) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts sensitive fields of resource operations (AWS Encryption SDK KMS keyring)',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Lets the grantee encrypt: the SDK's KMS keyring (one generator key) encrypts with `GenerateDataKey` only. */
  public grantEncrypt(grantee: iam.IGrantable): iam.Grant {
    return this.key.grant(grantee, 'kms:GenerateDataKey');
  }

  /** Lets the grantee decrypt: the keyring unwraps each message's data key with `Decrypt`. */
  public grantDecrypt(grantee: iam.IGrantable): iam.Grant {
    return this.key.grant(grantee, 'kms:Decrypt');
  }
}
