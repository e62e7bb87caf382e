import * as v from 'valibot';

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

const nonEmpty = v.pipe(v.string(), v.trim(), v.minLength(1, 'must not be empty'));

const EnvSchema = v.object({
  RESOURCES_TABLE_NAME: nonEmpty,
  STATUS_TABLE_NAME: nonEmpty,
  STATUS_RETENTION_DAYS: v.optional(
    v.pipe(v.string(), v.toNumber(), v.integer('must be a whole number of days'), v.minValue(1), v.maxValue(3650)),
    '7',
  ),
  AWS_REGION: v.optional(nonEmpty, 'us-east-1'),
  DYNAMODB_ENDPOINT: v.optional(v.pipe(v.string(), v.url('must be a URL'))),
  POWERTOOLS_METRICS_NAMESPACE: v.optional(nonEmpty, 'ResourceGateway'),
  LOG_LEVEL: v.optional(
    v.pipe(v.string(), v.toUpperCase(), v.picklist(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'], 'must be debug, info, warn, error or silent')),
    'INFO',
  ),
  FIELD_ENCRYPTION_KEY_ARN: v.optional(v.pipe(nonEmpty, v.regex(/^arn:aws[a-z-]*:kms:[^:]+:\d{12}:key\//, 'must be a KMS key ARN (not an alias)'))),
  FIELD_ENCRYPTION_KEY_FILE: v.optional(nonEmpty),
});

/** Thrown at cold start when the environment is wrong; names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'INVALID_CONFIG';
}

/**
 * Reads and validates the consumer's environment, failing fast with the variable's name.
 *
 * RESOURCES_TABLE_NAME, STATUS_TABLE_NAME (required); STATUS_RETENTION_DAYS (7); AWS_REGION (us-east-1);
 * DYNAMODB_ENDPOINT (local only); POWERTOOLS_METRICS_NAMESPACE (ResourceGateway);
 * LOG_LEVEL, or POWERTOOLS_LOG_LEVEL (info); FIELD_ENCRYPTION_KEY_ARN (the KMS key of encrypted fields, in AWS) or
 * FIELD_ENCRYPTION_KEY_FILE (a raw AES-256 key file, locally).
 */
export function readConfig(env: Record<string, string | undefined> = process.env): ConsumerConfig {
  // Empty strings count as unset, as in the gateway's configuration.
  const present = Object.fromEntries(Object.entries(env).filter(([k, val]) => !k.startsWith('FIELD_ENCRYPTION_') || (val !== undefined && val !== '')));
  const input = { ...present, LOG_LEVEL: env.LOG_LEVEL ?? env.POWERTOOLS_LOG_LEVEL };
  const parsed = v.safeParse(EnvSchema, input);
  if (!parsed.success) {
    const issues = parsed.issues.map((i) => `${v.getDotPath(i) ?? '(env)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid consumer configuration: ${issues}`);
  }
  const e = parsed.output;
  if (e.FIELD_ENCRYPTION_KEY_ARN && e.FIELD_ENCRYPTION_KEY_FILE) {
    throw new ConfigError('invalid consumer configuration: set only one of FIELD_ENCRYPTION_KEY_ARN and FIELD_ENCRYPTION_KEY_FILE');
  }
  return {
    resourcesTableName: e.RESOURCES_TABLE_NAME,
    statusTableName: e.STATUS_TABLE_NAME,
    statusRetentionSeconds: e.STATUS_RETENTION_DAYS * 24 * 3600,
    region: e.AWS_REGION,
    ...(e.DYNAMODB_ENDPOINT ? { dynamoEndpoint: e.DYNAMODB_ENDPOINT } : {}),
    metricsNamespace: e.POWERTOOLS_METRICS_NAMESPACE,
    logLevel: e.LOG_LEVEL,
    ...(e.FIELD_ENCRYPTION_KEY_ARN ? { fieldEncryption: { kmsKeyArn: e.FIELD_ENCRYPTION_KEY_ARN } } : {}),
    ...(e.FIELD_ENCRYPTION_KEY_FILE ? { fieldEncryption: { localKeyFile: e.FIELD_ENCRYPTION_KEY_FILE } } : {}),
  };
}
