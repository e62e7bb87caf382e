import { describe, expect, it } from 'vitest';
import { aggregateOverhead, encodeAggregate, splitRecord } from './aggregate';
import { MAX_RECORD_BYTES, decodeOperation, encodeOperation, type ResourceOperation } from './operation';

const op = (n: number): ResourceOperation => ({
  operation: 'create',
  businessId: 'b1',
  locationId: 'l1',
  resourceType: 'appointment',
  resourceId: `r${n}`,
  data: { n, note: 'é' },
  timestamp: '2026-01-01T00:00:00.000Z',
  requestId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
});

describe('aggregate records', () => {
  it('split into their operations, in order, each decoding as the plain record it was', () => {
    const ops = [op(1), op(2), op(3)];
    const parts = splitRecord(encodeAggregate(ops.map(encodeOperation)));
    expect(parts.map((p) => decodeOperation(p))).toEqual(ops);
  });

  it('leave a plain record whole', () => {
    const bytes = encodeOperation(op(1));
    expect(splitRecord(bytes)).toEqual([bytes]);
  });

  it('leave a record that is not JSON whole, to be refused as poison', () => {
    const bytes = Buffer.from('{"aggregate":1,"operations":[{"x":', 'utf8');
    expect(splitRecord(bytes)).toEqual([bytes]);
  });

  it.each([['[]'], ['[1,2]'], ['{"a":1}'], ['[{"a":1},null]']])('leave an aggregate whose operations are %s whole', (ops) => {
    const bytes = Buffer.from(`{"aggregate":1,"operations":${ops}}`, 'utf8');
    expect(splitRecord(bytes)).toEqual([bytes]);
  });

  it('cost exactly the stated overhead over their operations', () => {
    const parts = [op(1), op(2)].map(encodeOperation);
    const sum = parts.reduce((n, p) => n + p.byteLength, 0);
    expect(encodeAggregate(parts).byteLength).toBe(sum + aggregateOverhead(2));
  });

  it('refuse to exceed the record limit', () => {
    const big = Buffer.from(JSON.stringify({ ...op(1), data: { s: 'x'.repeat(MAX_RECORD_BYTES / 2) } }), 'utf8');
    expect(() => encodeAggregate([big, big])).toThrow(RangeError);
  });
});
