import * as v from 'valibot';
import { ConfigError } from '../../common/ConfigError';
import { envBool, envInt, envKmsKeyArn, envNonEmpty, envUrl, parseEnv } from '../../common/env';
import { LOCAL_DEFAULTS } from '../../common/localDefaults';
import { DEFAULT_METRICS_NAMESPACE } from '../../common/metricNames';
import { DEFAULT_SPOOL_DRAIN_MS } from '../../common/shutdownBudget';
import { MAX_RECORD_BYTES } from '../../contract/operation';
import { DEFAULT_STATUS_RETENTION_SECONDS } from '../../contract/status';
import { DEFAULT_MAX_WAITING } from './status/StatusWaiter';
import { DEFAULT_BODY_BUDGET_BYTES } from './admission/BodyBudget';
import { DEFAULT_CLOCK_TOLERANCE_SECONDS } from './auth/verifyToken';
import { LOG_LEVELS, type LogLevel } from './logger';

/** Everything the gateway is configured with; built once from the environment by {@link loadConfig}. */
export interface Config {
  port: number;
  logLevel: LogLevel;
  region: string;
  /** CloudWatch namespace of the embedded-format metrics. */
  metricsNamespace: string;
  kinesis: {
    streamName: string;
    shardCount: number;
    endpoint?: string;
    /** Create the stream on start-up if it is missing (local use only). */
    createStream: boolean;
    /** Group commit into PutRecords; off sends one awaited PutRecord per request (the benchmark's reference). */
    batching: boolean;
    timeoutMs: number;
    maxBatchRecords: number;
    maxBatchBytes: number;
    maxInFlight: number;
    lingerMs: number;
    retry: RetryConfig;
  };
  status: {
    tableName: string;
    endpoint?: string;
    retentionSeconds: number;
    /** Status reads waiting on `Prefer: wait` per task at most; past it a read answers at once. */
    maxWaiting: number;
  };
  idempotency: {
    /** The table of `Idempotency-Key` records (common/tables.ts `IDEMPOTENCY_TABLE_KEY`). */
    tableName: string;
  };
  spool: {
    /** Directory of the durable spool used when Kinesis cannot take records. */
    dir: string;
    /** Spooled bytes at most (held on disk and in memory); beyond, writes answer 503. */
    maxBytes: number;
    /** How long SIGTERM waits for the spool to drain; shorter than the ECS stop timeout. */
    drainMs: number;
    /** `dir` is shared by several tasks (EFS): each spools in a subdirectory and adopts those of dead tasks. */
    shared: boolean;
  };
  fieldEncryption: {
    /** Top-level `data` fields encrypted before the record reaches the stream; empty: off. */
    sensitiveFields: string[];
    /** KMS key (ARN) of the AWS Encryption SDK keyring, in AWS. */
    kmsKeyArn?: string;
    /** Raw AES-256 key file (32 bytes), where no KMS exists (the local stack creates it). */
    localKeyFile?: string;
  };
  auth: {
    /** HS256 secret (UTF-8 bytes), or */
    secret?: Uint8Array;
    /** a JWKS URL for RS256/ES256. */
    jwksUrl?: URL;
    issuer?: string;
    audience?: string;
    /** Verified tokens kept (never past their `exp`). 0 disables the cache. */
    tokenCacheSize: number;
    /** Clock skew allowed between the token issuer and this task, for `nbf`, `iat` and `exp`, seconds. */
    clockToleranceSeconds: number;
  };
  admission: {
    /**
     * Request body bytes the task holds at once (bodies being read, and their records until answered); a
     * request beyond it is refused with 503 before its body is read. Set from the task's memory in infra.
     */
    bodyBudgetBytes: number;
  };
}

export interface RetryConfig {
  baseMs: number;
  capMs: number;
  maxAttempts: number;
  deadlineMs: number;
}

const envTableName = v.pipe(v.string(), v.regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'must be a DynamoDB table name'));

const EnvSchema = v.object({
  PORT: v.optional(envInt(0, 65535), String(LOCAL_DEFAULTS.gatewayPort)),
  LOG_LEVEL: v.optional(v.pipe(v.string(), v.trim(), v.toLowerCase(), v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`)), 'info'),
  AWS_REGION: v.optional(envNonEmpty, LOCAL_DEFAULTS.region),
  METRICS_NAMESPACE: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9._/#:-]{1,255}$/, 'must be a CloudWatch namespace')), DEFAULT_METRICS_NAMESPACE),
  KINESIS_STREAM_NAME: v.optional(v.pipe(v.string(), v.regex(/^[a-zA-Z0-9_.-]{1,128}$/, 'must be a Kinesis stream name')), LOCAL_DEFAULTS.streamName),
  KINESIS_SHARD_COUNT: v.optional(envInt(1, 500), String(LOCAL_DEFAULTS.shardCount)),
  KINESIS_ENDPOINT: v.optional(envUrl),
  KINESIS_CREATE_STREAM: v.optional(envBool, 'false'),
  KINESIS_BATCHING: v.optional(envBool, 'true'),
  KINESIS_TIMEOUT_MS: v.optional(envInt(100, 60_000), '2000'),
  KINESIS_MAX_BATCH_RECORDS: v.optional(envInt(1, 500), '500'),
  KINESIS_MAX_BATCH_BYTES: v.optional(envInt(1024 * 1024 + 256, 5 * 1024 * 1024), String(5 * 1024 * 1024)),
  KINESIS_MAX_IN_FLIGHT: v.optional(envInt(1, 64), '2'),
  KINESIS_LINGER_MS: v.optional(envInt(0, 1000), '0'),
  KINESIS_RETRY_BASE_MS: v.optional(envInt(1, 10_000), '50'),
  KINESIS_RETRY_CAP_MS: v.optional(envInt(1, 60_000), '1000'),
  KINESIS_RETRY_MAX_ATTEMPTS: v.optional(envInt(1, 100), '6'),
  KINESIS_RETRY_DEADLINE_MS: v.optional(envInt(1, 120_000), '2500'),
  DYNAMODB_ENDPOINT: v.optional(envUrl),
  STATUS_TABLE_NAME: v.optional(envTableName, LOCAL_DEFAULTS.statusTableName),
  IDEMPOTENCY_TABLE_NAME: v.optional(envTableName, LOCAL_DEFAULTS.idempotencyTableName),
  STATUS_RETENTION_DAYS: v.optional(envInt(1, 3650), String(DEFAULT_STATUS_RETENTION_SECONDS / 86400)),
  STATUS_WAIT_MAX_WAITING: v.optional(envInt(0, 100_000), String(DEFAULT_MAX_WAITING)),
  DATA_DIR: v.optional(envNonEmpty, LOCAL_DEFAULTS.dataDir),
  SPOOL_DIR: v.optional(envNonEmpty),
  SPOOL_MAX_BYTES: v.optional(envInt(1024 * 1024, 8 * 1024 * 1024 * 1024), String(256 * 1024 * 1024)),
  SPOOL_DRAIN_MS: v.optional(envInt(0, 600_000), String(DEFAULT_SPOOL_DRAIN_MS)),
  SPOOL_SHARED: v.optional(envBool, 'false'),
  SENSITIVE_FIELDS: v.optional(
    v.pipe(
      v.string(),
      v.transform((s) => s.split(',').map((f) => f.trim()).filter((f) => f.length > 0)),
      v.check((fs) => fs.every((f) => /^[A-Za-z0-9_.:-]{1,128}$/.test(f) && !['id', '__proto__', 'constructor', 'prototype'].includes(f)), 'must be comma-separated field names (not id)'),
    ),
    '',
  ),
  FIELD_ENCRYPTION_KEY_ARN: v.optional(envKmsKeyArn),
  FIELD_ENCRYPTION_KEY_FILE: v.optional(envNonEmpty),
  JWT_SECRET: v.optional(v.pipe(v.string(), v.check((s) => Buffer.byteLength(s, 'utf8') >= 32, 'must be at least 32 bytes'))),
  JWT_JWKS_URL: v.optional(v.pipe(envUrl, v.check((s) => /^https?:/.test(s), 'must be an http(s) URL'))),
  JWT_ISSUER: v.optional(envNonEmpty),
  JWT_AUDIENCE: v.optional(envNonEmpty),
  JWT_CACHE_SIZE: v.optional(envInt(0, 1_000_000), '10000'),
  JWT_CLOCK_TOLERANCE_SECONDS: v.optional(envInt(0, 300), String(DEFAULT_CLOCK_TOLERANCE_SECONDS)),
  // At least two bodies of the largest size, or nothing large could ever be admitted beside another.
  GATEWAY_BODY_BUDGET_BYTES: v.optional(envInt(2 * MAX_RECORD_BYTES, 64 * 1024 ** 3), String(DEFAULT_BODY_BUDGET_BYTES)),
});

type Env = v.InferOutput<typeof EnvSchema>;

/**
 * Reads and validates the gateway's environment. The only reader of `process.env` in the gateway.
 * @throws ConfigError naming the first bad variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const e = parseEnv(EnvSchema, env, (m) => new ConfigError(`invalid configuration: ${m}`));
  checkCombinations(e);
  return {
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    region: e.AWS_REGION,
    metricsNamespace: e.METRICS_NAMESPACE,
    kinesis: kinesisConfig(e),
    status: statusConfig(e),
    idempotency: { tableName: e.IDEMPOTENCY_TABLE_NAME },
    spool: spoolConfig(e),
    fieldEncryption: fieldEncryptionConfig(e),
    auth: authConfig(e),
    admission: { bodyBudgetBytes: e.GATEWAY_BODY_BUDGET_BYTES },
  };
}

/** The rules between variables that each variable's own schema cannot state. */
function checkCombinations(e: Env): void {
  if (!e.JWT_SECRET && !e.JWT_JWKS_URL) {
    throw new ConfigError('invalid configuration: set JWT_SECRET (HS256) or JWT_JWKS_URL (RS256/ES256)');
  }
  if (e.SENSITIVE_FIELDS.length > 0 && !e.FIELD_ENCRYPTION_KEY_ARN && !e.FIELD_ENCRYPTION_KEY_FILE) {
    throw new ConfigError('invalid configuration: SENSITIVE_FIELDS needs FIELD_ENCRYPTION_KEY_ARN (KMS) or FIELD_ENCRYPTION_KEY_FILE (local)');
  }
  if (e.JWT_SECRET && e.JWT_JWKS_URL) {
    throw new ConfigError('invalid configuration: set only one of JWT_SECRET and JWT_JWKS_URL');
  }
}

function kinesisConfig(e: Env): Config['kinesis'] {
  return {
    streamName: e.KINESIS_STREAM_NAME,
    shardCount: e.KINESIS_SHARD_COUNT,
    endpoint: e.KINESIS_ENDPOINT,
    createStream: e.KINESIS_CREATE_STREAM,
    batching: e.KINESIS_BATCHING,
    timeoutMs: e.KINESIS_TIMEOUT_MS,
    maxBatchRecords: e.KINESIS_MAX_BATCH_RECORDS,
    maxBatchBytes: e.KINESIS_MAX_BATCH_BYTES,
    maxInFlight: e.KINESIS_MAX_IN_FLIGHT,
    lingerMs: e.KINESIS_LINGER_MS,
    retry: {
      baseMs: e.KINESIS_RETRY_BASE_MS,
      capMs: e.KINESIS_RETRY_CAP_MS,
      maxAttempts: e.KINESIS_RETRY_MAX_ATTEMPTS,
      deadlineMs: e.KINESIS_RETRY_DEADLINE_MS,
    },
  };
}

function statusConfig(e: Env): Config['status'] {
  return {
    tableName: e.STATUS_TABLE_NAME,
    endpoint: e.DYNAMODB_ENDPOINT,
    retentionSeconds: e.STATUS_RETENTION_DAYS * 86400,
    maxWaiting: e.STATUS_WAIT_MAX_WAITING,
  };
}

function spoolConfig(e: Env): Config['spool'] {
  return {
    dir: e.SPOOL_DIR ?? `${e.DATA_DIR}/spool`,
    maxBytes: e.SPOOL_MAX_BYTES,
    drainMs: e.SPOOL_DRAIN_MS,
    shared: e.SPOOL_SHARED,
  };
}

function fieldEncryptionConfig(e: Env): Config['fieldEncryption'] {
  return {
    sensitiveFields: e.SENSITIVE_FIELDS,
    kmsKeyArn: e.FIELD_ENCRYPTION_KEY_ARN,
    localKeyFile: e.FIELD_ENCRYPTION_KEY_FILE,
  };
}

function authConfig(e: Env): Config['auth'] {
  return {
    secret: e.JWT_SECRET ? new TextEncoder().encode(e.JWT_SECRET) : undefined,
    jwksUrl: e.JWT_JWKS_URL ? new URL(e.JWT_JWKS_URL) : undefined,
    issuer: e.JWT_ISSUER,
    audience: e.JWT_AUDIENCE,
    tokenCacheSize: e.JWT_CACHE_SIZE,
    clockToleranceSeconds: e.JWT_CLOCK_TOLERANCE_SECONDS,
  };
}
