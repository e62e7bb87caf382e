import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { envBool, envInt, envKmsKeyArn, parseEnv } from './env';

const Schema = v.object({ N: v.optional(envInt(1, 10), '5'), B: v.optional(envBool, 'false'), K: v.optional(envKmsKeyArn) });
const fail = (m: string) => new Error(m);

describe('parseEnv', () => {
  it('treats empty values as unset, so defaults apply', () => {
    expect(parseEnv(Schema, { N: '', B: '' }, fail)).toEqual({ N: 5, B: false });
  });

  it('names every bad variable', () => {
    expect(() => parseEnv(Schema, { N: '11', B: 'maybe' }, fail)).toThrow(/N .*; B must be true or false/);
  });

  it('refuses a KMS alias where a key ARN is needed', () => {
    expect(() => parseEnv(Schema, { K: 'arn:aws:kms:eu-west-1:123456789012:alias/fields' }, fail)).toThrow(/K must be a KMS key ARN/);
    expect(parseEnv(Schema, { K: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' }, fail).K).toMatch(/:key\//);
  });
});
