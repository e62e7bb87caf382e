import { describe, expect, it } from 'vitest';
import { CONSUMER_SETTINGS, DEADLINE_MARGIN_MS, WORST_CASE_MS_PER_RECORD, maxBatchSizeFor, timeoutSecondsFor } from './eventSourceSettings';

describe('eventSourceSettings', () => {
  it('gives the deployed batch size a timeout in which a full batch at its worst case finishes', () => {
    const timeout = timeoutSecondsFor(CONSUMER_SETTINGS.batchSize);
    expect(timeout * 1000).toBeGreaterThanOrEqual(DEADLINE_MARGIN_MS + CONSUMER_SETTINGS.batchSize * WORST_CASE_MS_PER_RECORD);
    expect(timeout).toBeLessThanOrEqual(900);
  });

  it('caps the timeout at Lambda’s 15 minutes, and refuses batch sizes whose worst case would not fit', () => {
    expect(timeoutSecondsFor(10_000)).toBe(900);
    const max = maxBatchSizeFor();
    expect(timeoutSecondsFor(max)).toBeLessThanOrEqual(900);
    expect(timeoutSecondsFor(max + 1) * 1000 - DEADLINE_MARGIN_MS).toBeLessThan((max + 1) * WORST_CASE_MS_PER_RECORD);
  });

  it('leaves a batch of one record its worst case before the deadline margin', () => {
    expect(timeoutSecondsFor(1) * 1000 - DEADLINE_MARGIN_MS).toBeGreaterThanOrEqual(WORST_CASE_MS_PER_RECORD);
  });

  it('stays within what Lambda allows', () => {
    expect(CONSUMER_SETTINGS.batchSize).toBeGreaterThanOrEqual(1);
    expect(CONSUMER_SETTINGS.batchSize).toBeLessThanOrEqual(maxBatchSizeFor());
    expect(CONSUMER_SETTINGS.parallelizationFactor).toBeGreaterThanOrEqual(1);
    expect(CONSUMER_SETTINGS.parallelizationFactor).toBeLessThanOrEqual(10);
    expect(CONSUMER_SETTINGS.memoryMb).toBeGreaterThanOrEqual(128);
    expect(CONSUMER_SETTINGS.memoryMb).toBeLessThanOrEqual(10_240);
  });
});
