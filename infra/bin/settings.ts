import { maxBatchSizeFor } from '../../consumer-stub/src/eventSourceSettings';
import { EGRESS_MODES, type Egress } from '../lib/GatewayNetwork';
import type { GatewayStackProps } from '../lib/GatewayStack';
import type { SpoolVolume } from '../lib/GatewayService';

/** The context keys `cdk -c key=value` (or cdk.json's `context`) may set; see the README's Deploy section. */
export const SETTING_KEYS = [
  'shardCount',
  'retentionHours',
  'alarmEmail',
  'jwtIssuer',
  'jwtAudience',
  'jwtJwksUrl',
  'jwtAllowAnyAudience',
  'certificateArn',
  'desiredCount',
  'consumerBatchSize',
  'consumerParallelizationFactor',
  'consumerFanOut',
  'spoolVolume',
  'egress',
  'sensitiveFields',
  'metricsNamespace',
] as const;

export type SettingKey = (typeof SETTING_KEYS)[number];

/** A context value that cannot be used; the message names the key. */
export class SettingError extends Error {
  override readonly name = 'SettingError';
}

/** Typed readers of raw context values; unset or empty is undefined, anything else unusable throws naming the key. */
function contextReaders(get: (key: SettingKey) => unknown) {
  const raw = (key: SettingKey): unknown => {
    const value = get(key);
    return value === null || value === '' ? undefined : value;
  };
  return {
    str(key: SettingKey): string | undefined {
      const value = raw(key);
      if (value === undefined) return undefined;
      if (typeof value !== 'string') throw new SettingError(`context ${key} must be a string, got ${JSON.stringify(value)}`);
      return value.trim();
    },
    int(key: SettingKey, min: number, max: number): number | undefined {
      const value = raw(key);
      if (value === undefined) return undefined;
      const n = typeof value === 'number' ? value : Number(String(value).trim());
      if (!Number.isInteger(n) || n < min || n > max) {
        throw new SettingError(`context ${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
      }
      return n;
    },
    bool(key: SettingKey): boolean | undefined {
      const value = raw(key);
      if (value === undefined) return undefined;
      if (value === true || value === 'true') return true;
      if (value === false || value === 'false') return false;
      throw new SettingError(`context ${key} must be true or false, got ${JSON.stringify(value)}`);
    },
  };
}

/**
 * Turns raw context values (strings from `-c`, or JSON values from cdk.json) into the stack's settings.
 * Unset or empty keys take the stack's documented defaults.
 * @throws SettingError naming the first bad key.
 */
export function parseSettings(get: (key: SettingKey) => unknown): Omit<GatewayStackProps, keyof import('aws-cdk-lib').StackProps> {
  const { str, int, bool } = contextReaders(get);
  const shardRaw = get('shardCount');
  const shardCount =
    shardRaw === undefined || shardRaw === '' || shardRaw === 'on-demand' || shardRaw === 0 || shardRaw === '0'
      ? ('on-demand' as const)
      : int('shardCount', 1, 10_000);

  const spool = str('spoolVolume') ?? 'efs';
  if (spool !== 'ephemeral' && spool !== 'efs') {
    throw new SettingError(`context spoolVolume must be 'ephemeral' or 'efs', got ${JSON.stringify(spool)}`);
  }

  const egress = str('egress') ?? 'endpoints';
  if (!EGRESS_MODES.includes(egress as Egress)) {
    throw new SettingError(`context egress must be ${EGRESS_MODES.map((m) => `'${m}'`).join(' or ')}, got ${JSON.stringify(egress)}`);
  }

  const jwtJwksUrl = str('jwtJwksUrl');
  if (jwtJwksUrl && !/^https:\/\//.test(jwtJwksUrl)) {
    throw new SettingError(`context jwtJwksUrl must be an https URL, got ${JSON.stringify(jwtJwksUrl)}`);
  }
  const certificateArn = str('certificateArn');
  if (certificateArn && !/^arn:aws[a-z-]*:acm:/.test(certificateArn)) {
    throw new SettingError(`context certificateArn must be an ACM certificate ARN, got ${JSON.stringify(certificateArn)}`);
  }

  const fieldsRaw = get('sensitiveFields');
  const sensitiveFields = Array.isArray(fieldsRaw)
    ? fieldsRaw.map(String)
    : (str('sensitiveFields') ?? '').split(',').map((f) => f.trim()).filter(Boolean);

  return {
    shardCount,
    retentionHours: int('retentionHours', 24, 8760),
    alarmEmail: str('alarmEmail'),
    jwtIssuer: str('jwtIssuer'),
    jwtAudience: str('jwtAudience'),
    jwtJwksUrl,
    jwtAllowAnyAudience: bool('jwtAllowAnyAudience'),
    certificateArn,
    desiredCount: int('desiredCount', 1, 100),
    // Bounded by the largest batch whose worst case still fits in Lambda's 15-minute timeout.
    consumerBatchSize: int('consumerBatchSize', 1, maxBatchSizeFor()),
    consumerParallelizationFactor: int('consumerParallelizationFactor', 1, 10),
    consumerFanOut: bool('consumerFanOut'),
    spoolVolume: spool as SpoolVolume,
    egress: egress as Egress,
    sensitiveFields,
    metricsNamespace: str('metricsNamespace'),
  };
}
