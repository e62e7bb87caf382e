import { describe, expect, it } from 'vitest';
import { decodeOperation, encodeOperation, InvalidOperationError, partitionKey, type ResourceOperation } from './operation';

const create: ResourceOperation = {
  operation: 'create',
  businessId: 'business-123',
  locationId: 'location-456',
  resourceType: 'appointment',
  resourceId: 'appointment-1',
  data: { id: 'appointment-1', patientName: 'John Doe' },
  timestamp: '2024-01-01T09:00:00.000Z',
  requestId: '6f1c1f0e-8a5a-4a4f-9a57-0d6f4f1c2b3a',
};

describe('partitionKey', () => {
  it('joins business, location and resource type with dashes', () => {
    expect(partitionKey(create)).toBe('business-123-location-456-appointment');
  });
});

describe('decodeOperation', () => {
  it('round-trips an encoded operation', () => {
    expect(decodeOperation(encodeOperation(create))).toEqual(create);
  });

  it('rejects bytes that are not JSON without a requestId', () => {
    const err = (() => {
      try {
        decodeOperation(Buffer.from('not json'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidOperationError);
    expect((err as InvalidOperationError).requestId).toBeUndefined();
  });

  it('rejects an invalid operation and keeps its requestId', () => {
    const bad = Buffer.from(JSON.stringify({ ...create, operation: 'explode' }));
    expect(() => decodeOperation(bad)).toThrow(InvalidOperationError);
    try {
      decodeOperation(bad);
    } catch (e) {
      expect((e as InvalidOperationError).requestId).toBe(create.requestId);
    }
  });

  it.each([
    ['a create without data', { ...create, data: undefined }],
    ['a delete without resourceId', { ...create, operation: 'delete', resourceId: undefined }],
    ['a list without pagination', { ...create, operation: 'list' }],
    ['a business id with a colon', { ...create, businessId: 'a:b' }],
  ])('rejects %s', (_name, op) => {
    expect(() => decodeOperation(Buffer.from(JSON.stringify(op)))).toThrow(InvalidOperationError);
  });
});
