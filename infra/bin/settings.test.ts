import { describe, expect, it } from 'vitest';
import { maxBatchSizeFor } from '../../consumer-stub/src/eventSourceSettings';
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
      jwtAllowAnyAudience: undefined,
      certificateArn: undefined,
      desiredCount: undefined,
      consumerBatchSize: undefined,
      consumerParallelizationFactor: undefined,
      consumerFanOut: undefined,
      spoolVolume: 'efs',
      egress: 'endpoints',
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

  it.each([
    ['true', true],
    [true, true],
    ['false', false],
  ])('reads the switches consumerFanOut and jwtAllowAnyAudience from %j', (raw, value) => {
    expect(from({ consumerFanOut: raw, jwtAllowAnyAudience: raw })).toMatchObject({ consumerFanOut: value, jwtAllowAnyAudience: value });
  });

  it.each(['endpoints', 'natPerZone'])('reads egress %s', (egress) => {
    expect(from({ egress }).egress).toBe(egress);
  });

  it('accepts the largest consumer batch whose worst case fits in the function timeout, and not one more', () => {
    expect(from({ consumerBatchSize: maxBatchSizeFor() }).consumerBatchSize).toBe(maxBatchSizeFor());
    expect(() => from({ consumerBatchSize: maxBatchSizeFor() + 1 })).toThrow(`consumerBatchSize must be an integer from 1 to ${maxBatchSizeFor()}`);
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
    [{ egress: 'nat' }, /egress must be 'endpoints' or 'natPerZone'/],
    [{ consumerFanOut: 'yes' }, /consumerFanOut must be true or false/],
  ])('refuses %j, naming the key', (context, message) => {
    expect(() => from(context)).toThrow(message);
  });
});
