import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/ConfigError';
import { LOCAL_DEFAULTS } from '../../common/localDefaults';
import { DEFAULT_METRICS_NAMESPACE } from '../../common/metricNames';
import { DEFAULT_STATUS_RETENTION_SECONDS } from '../../contract/status';
import { readConfig } from './config';

const required = { RESOURCES_TABLE_NAME: 'resources', STATUS_TABLE_NAME: 'status' };

describe('readConfig', () => {
  it('applies the defaults', () => {
    expect(readConfig(required)).toEqual({
      resourcesTableName: 'resources',
      statusTableName: 'status',
      statusRetentionSeconds: DEFAULT_STATUS_RETENTION_SECONDS,
      region: LOCAL_DEFAULTS.region,
      metricsNamespace: DEFAULT_METRICS_NAMESPACE,
      logLevel: 'INFO',
    });
  });

  it('reads every variable', () => {
    expect(
      readConfig({
        ...required,
        STATUS_RETENTION_DAYS: '2',
        AWS_REGION: 'eu-west-1',
        DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
        POWERTOOLS_METRICS_NAMESPACE: 'Ns',
        POWERTOOLS_LOG_LEVEL: 'debug',
      }),
    ).toMatchObject({ statusRetentionSeconds: 2 * 24 * 3600, region: 'eu-west-1', dynamoEndpoint: 'http://127.0.0.1:8000', metricsNamespace: 'Ns', logLevel: 'DEBUG' });
  });

  it('reads the field encryption key: a KMS key ARN or a local key file', () => {
    const arn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(readConfig({ ...required, FIELD_ENCRYPTION_KEY_ARN: arn }).fieldEncryption).toEqual({ kmsKeyArn: arn });
    expect(readConfig({ ...required, FIELD_ENCRYPTION_KEY_FILE: '/data/field.key' }).fieldEncryption).toEqual({ localKeyFile: '/data/field.key' });
    expect(readConfig({ ...required, FIELD_ENCRYPTION_KEY_ARN: '', FIELD_ENCRYPTION_KEY_FILE: '' }).fieldEncryption).toBeUndefined();
    expect(() => readConfig({ ...required, FIELD_ENCRYPTION_KEY_ARN: arn, FIELD_ENCRYPTION_KEY_FILE: '/k' })).toThrow('set only one');
  });

  it.each([
    ['FIELD_ENCRYPTION_KEY_ARN', { ...required, FIELD_ENCRYPTION_KEY_ARN: 'arn:aws:kms:eu-west-1:123456789012:alias/field' }],
    ['RESOURCES_TABLE_NAME', { STATUS_TABLE_NAME: 's' }],
    ['STATUS_TABLE_NAME', { RESOURCES_TABLE_NAME: 'r' }],
    ['STATUS_RETENTION_DAYS', { ...required, STATUS_RETENTION_DAYS: 'week' }],
    ['DYNAMODB_ENDPOINT', { ...required, DYNAMODB_ENDPOINT: 'not a url' }],
    ['LOG_LEVEL', { ...required, LOG_LEVEL: 'loud' }],
  ])('fails fast naming %s when it is wrong', (name, env) => {
    expect(() => readConfig(env)).toThrow(ConfigError);
    expect(() => readConfig(env)).toThrow(name);
  });
});
