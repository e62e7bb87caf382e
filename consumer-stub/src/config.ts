import * as v from 'valibot';
import { ConfigError } from '../../common/ConfigError';
import { envInt, envKmsKeyArn, envNonEmpty, envUrl, parseEnv } from '../../common/env';
import { LOCAL_DEFAULTS } from '../../common/localDefaults';
import { DEFAULT_METRICS_NAMESPACE } from '../../common/metricNames';
import { DEFAULT_STATUS_RETENTION_SECONDS } from '../../contract/status';

export { ConfigError } from '../../common/ConfigError';

/** The consumer's configuration: the only place its environment is read. */
export interface ConsumerConfig {
  resourcesTableName: string;
  statusTableName: string;
  /** TTL of the outcome items the consumer writes. */
  statusRetentionSeconds: number;
  region: string;
  /** A local DynamoDB emulator; unset in AWS. */
  dynamoEndpoint?: string;
  metricsNamespace: string;
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** The field encryption key, when records may carry encrypted fields: one of the two. */
  fieldEncryption?: { kmsKeyArn?: string; localKeyFile?: string };
}

const EnvSchema = v.object({
  RESOURCES_TABLE_NAME: envNonEmpty,
  STATUS_TABLE_NAME: envNonEmpty,
  STATUS_RETENTION_DAYS: v.optional(envInt(1, 3650), String(DEFAULT_STATUS_RETENTION_SECONDS / 86400)),
  AWS_REGION: v.optional(envNonEmpty, LOCAL_DEFAULTS.region),
  DYNAMODB_ENDPOINT: v.optional(envUrl),
  POWERTOOLS_METRICS_NAMESPACE: v.optional(envNonEmpty, DEFAULT_METRICS_NAMESPACE),
  LOG_LEVEL: v.optional(
    v.pipe(v.string(), v.toUpperCase(), v.picklist(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'], 'must be debug, info, warn, error or silent')),
    'INFO',
  ),
  FIELD_ENCRYPTION_KEY_ARN: v.optional(envKmsKeyArn),
  FIELD_ENCRYPTION_KEY_FILE: v.optional(envNonEmpty),
});

/**
 * Reads and validates the consumer's environment, failing fast with the variable's name.
 *
 * RESOURCES_TABLE_NAME, STATUS_TABLE_NAME (required); STATUS_RETENTION_DAYS (DEFAULT_STATUS_RETENTION_SECONDS
 * in days); AWS_REGION (LOCAL_DEFAULTS.region); DYNAMODB_ENDPOINT (local only); POWERTOOLS_METRICS_NAMESPACE
 * (DEFAULT_METRICS_NAMESPACE);
 * LOG_LEVEL, or POWERTOOLS_LOG_LEVEL (info); FIELD_ENCRYPTION_KEY_ARN (the KMS key of encrypted fields, in AWS) or
 * FIELD_ENCRYPTION_KEY_FILE (a raw AES-256 key file, locally).
 */
export function readConfig(env: Record<string, string | undefined> = process.env): ConsumerConfig {
  const e = parseEnv(EnvSchema, { ...env, LOG_LEVEL: env.LOG_LEVEL || env.POWERTOOLS_LOG_LEVEL }, (m) => new ConfigError(`invalid consumer configuration: ${m}`));
  if (e.FIELD_ENCRYPTION_KEY_ARN && e.FIELD_ENCRYPTION_KEY_FILE) {
    throw new ConfigError('invalid consumer configuration: set only one of FIELD_ENCRYPTION_KEY_ARN and FIELD_ENCRYPTION_KEY_FILE');
  }
  return {
    resourcesTableName: e.RESOURCES_TABLE_NAME,
    statusTableName: e.STATUS_TABLE_NAME,
    statusRetentionSeconds: e.STATUS_RETENTION_DAYS * 86400,
    region: e.AWS_REGION,
    ...(e.DYNAMODB_ENDPOINT ? { dynamoEndpoint: e.DYNAMODB_ENDPOINT } : {}),
    metricsNamespace: e.POWERTOOLS_METRICS_NAMESPACE,
    logLevel: e.LOG_LEVEL,
    ...(e.FIELD_ENCRYPTION_KEY_ARN ? { fieldEncryption: { kmsKeyArn: e.FIELD_ENCRYPTION_KEY_ARN } } : {}),
    ...(e.FIELD_ENCRYPTION_KEY_FILE ? { fieldEncryption: { localKeyFile: e.FIELD_ENCRYPTION_KEY_FILE } } : {}),
  };
}
