import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/ConfigError';
import { loadConfig } from './config';

const SECRET = 'x'.repeat(32);

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({ JWT_SECRET: SECRET });
    expect(c).toMatchObject({
      port: 3000,
      logLevel: 'info',
      kinesis: { streamName: 'resources-operations', shardCount: 1, createStream: false, batching: true, timeoutMs: 2000, lingerMs: 0, maxBatchRecords: 500 },
      status: { tableName: 'operation-status', retentionSeconds: 7 * 86400 },
      idempotency: { tableName: 'idempotency-keys' },
    });
    expect(c.kinesis.endpoint).toBeUndefined();
  });

  it('refuses to start with neither JWT_SECRET nor JWT_JWKS_URL', () => {
    expect(() => loadConfig({})).toThrow(/JWT_SECRET.*JWT_JWKS_URL/);
  });

  it.each([
    ['PORT', 'abc'],
    ['LOG_LEVEL', 'loud'],
    ['KINESIS_SHARD_COUNT', '0'],
    ['KINESIS_ENDPOINT', 'not a url'],
    ['KINESIS_CREATE_STREAM', 'maybe'],
    ['JWT_AUDIENCE', '   '],
    ['IDEMPOTENCY_TABLE_NAME', 'no spaces allowed'],
  ])('names %s when its value %j is bad', (name, value) => {
    expect(() => loadConfig({ JWT_SECRET: SECRET, [name]: value })).toThrow(new RegExp(name));
  });

  it('names JWT_SECRET when it is shorter than 32 bytes', () => {
    expect(() => loadConfig({ JWT_SECRET: 'short' })).toThrow(ConfigError);
    expect(() => loadConfig({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET/);
  });

  it('takes a JWKS URL with issuer and audience', () => {
    const c = loadConfig({ JWT_JWKS_URL: 'https://id.example/.well-known/jwks.json', JWT_ISSUER: 'https://id.example', JWT_AUDIENCE: 'api' });
    expect(c.auth.jwksUrl?.href).toBe('https://id.example/.well-known/jwks.json');
    expect(c.auth).toMatchObject({ issuer: 'https://id.example', audience: 'api' });
  });

  it('defaults the clock tolerance to 30 s and the body budget to a 2 GiB task\'s', () => {
    const c = loadConfig({ JWT_SECRET: SECRET });
    expect(c.auth.clockToleranceSeconds).toBe(30);
    expect(c.admission.bodyBudgetBytes).toBe(32 * 1024 * 1024);
  });

  it.each([
    ['JWT_CLOCK_TOLERANCE_SECONDS', '301'],
    ['GATEWAY_BODY_BUDGET_BYTES', String(1024 * 1024)],
  ])('names %s when its value %j is out of bounds', (name, value) => {
    expect(() => loadConfig({ JWT_SECRET: SECRET, [name]: value })).toThrow(new RegExp(name));
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ JWT_SECRET: SECRET, PORT: '', KINESIS_ENDPOINT: '' }).port).toBe(3000);
  });
});
