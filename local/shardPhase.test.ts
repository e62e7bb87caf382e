import { describe, expect, it } from 'vitest';
import { failedAttempts, nextPhase, type ShardEvent, type ShardPhase } from './shardPhase';

const polling: ShardPhase = { kind: 'polling' };
const retrying: ShardPhase = { kind: 'retrying', sequenceNumber: '7', attempts: 2, notBefore: 1000 };
const failed: ShardEvent = { kind: 'failed', sequenceNumber: '7', attempts: 3, notBefore: 3000 };

describe('nextPhase', () => {
  it.each<[string, ShardPhase, ShardEvent, ShardPhase]>([
    ['a shard whose parents finished starts polling', { kind: 'waitingForParents' }, { kind: 'parentsFinished' }, polling],
    ['a polling shard ignores parentsFinished', polling, { kind: 'parentsFinished' }, polling],
    ['a failure makes a polling shard retry', polling, failed, { kind: 'retrying', sequenceNumber: '7', attempts: 3, notBefore: 3000 }],
    ['another failure counts the attempt and moves the pause', retrying, failed, { kind: 'retrying', sequenceNumber: '7', attempts: 3, notBefore: 3000 }],
    ['a success ends the retries', retrying, { kind: 'succeeded' }, polling],
    ['dead-lettering the failing record ends the retries', retrying, { kind: 'deadLettered', sequenceNumber: '7' }, polling],
    ['dead-lettering an older record keeps the retries of the failing one', retrying, { kind: 'deadLettered', sequenceNumber: '5' }, retrying],
    ['a drained shard is finished', polling, { kind: 'drained' }, { kind: 'finished' }],
    ['a finished shard stays finished', { kind: 'finished' }, { kind: 'succeeded' }, { kind: 'finished' }],
  ])('%s', (_name, phase, event, next) => {
    expect(nextPhase(phase, event)).toEqual(next);
  });
});

describe('failedAttempts', () => {
  it('counts the attempts of the record being retried, and none of any other', () => {
    expect(failedAttempts(retrying, '7')).toBe(2);
    expect(failedAttempts(retrying, '8')).toBe(0);
    expect(failedAttempts(polling, '7')).toBe(0);
  });
});
