import { describe, expect, it } from 'vitest';
import { parseSettings, type SettingKey } from './settings';

const from = (context: Partial<Record<SettingKey, unknown>>) => parseSettings((key) => context[key]);

describe('parseSettings', () => {
  it('leaves every setting to its default when the context is empty', () => {
    expect(from({})).toEqual({
      shardCount: 'on-demand',
      retentionHours: undefined,
      alarmEmail: undefined,
      jwtIssuer: undefined,
      jwtAudience: undefined,
      jwtJwksUrl: undefined,
      certificateArn: undefined,
      desiredCount: undefined,
      consumerBatchSize: undefined,
      consumerParallelizationFactor: undefined,
      spoolVolume: 'efs',
      sensitiveFields: [],
      metricsNamespace: undefined,
    });
  });

  it('reads numbers given as strings on the command line', () => {
    expect(from({ shardCount: '3', retentionHours: '48', desiredCount: '4', consumerBatchSize: '500' })).toMatchObject({
      shardCount: 3,
      retentionHours: 48,
      desiredCount: 4,
      consumerBatchSize: 500,
    });
  });

  it.each([0, '0', 'on-demand', ''])('reads shardCount %j as on-demand', (shardCount) => {
    expect(from({ shardCount }).shardCount).toBe('on-demand');
  });

  it('splits sensitiveFields on commas, from a string or a JSON array', () => {
    expect(from({ sensitiveFields: ' patientName, phone ,,email' }).sensitiveFields).toEqual(['patientName', 'phone', 'email']);
    expect(from({ sensitiveFields: ['patientName'] }).sensitiveFields).toEqual(['patientName']);
  });

  it.each([
    [{ shardCount: 'many' }, /shardCount must be an integer/],
    [{ retentionHours: 12 }, /retentionHours must be an integer from 24 to 8760/],
    [{ consumerParallelizationFactor: 11 }, /consumerParallelizationFactor must be an integer from 1 to 10/],
    [{ spoolVolume: 'nfs' }, /spoolVolume must be 'ephemeral' or 'efs'/],
    [{ jwtJwksUrl: 'http://issuer.example/jwks.json' }, /jwtJwksUrl must be an https URL/],
    [{ certificateArn: 'my-cert' }, /certificateArn must be an ACM certificate ARN/],
    [{ alarmEmail: 42 }, /alarmEmail must be a string/],
  ])('refuses %j, naming the key', (context, message) => {
    expect(() => from(context)).toThrow(message);
  });
});
