import { KmsKeyringNode, RawAesKeyringNode } from '@aws-crypto/client-node';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyringFor, localKeyring } from './keyrings';

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const dir = mkdtempSync(join(tmpdir(), 'keyrings-'));

describe('keyrings', () => {
  it('a local key file must hold exactly 32 bytes', () => {
    const short = join(dir, 'short.key');
    writeFileSync(short, randomBytes(16));
    expect(() => localKeyring(short)).toThrow('must hold exactly 32 bytes, not 16');
    expect(() => localKeyring(join(dir, 'missing.key'))).toThrow('cannot read the field encryption key file');
  });

  it('keyringFor picks KMS for a key ARN and the raw AES keyring for a key file', () => {
    const file = join(dir, 'ok.key');
    writeFileSync(file, randomBytes(32));
    expect(keyringFor({ kmsKeyArn: KEY_ARN })).toBeInstanceOf(KmsKeyringNode);
    expect(keyringFor({ localKeyFile: file })).toBeInstanceOf(RawAesKeyringNode);
  });

  it('keyringFor refuses both keys or none', () => {
    expect(() => keyringFor({ kmsKeyArn: KEY_ARN, localKeyFile: '/x' })).toThrow('only one');
    expect(() => keyringFor({})).toThrow('no key configured');
  });
});
