import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { dynamoSize, MAX_DATA_BYTES, MAX_ITEM_BYTES, numberProblem, RESOURCE_ITEM_OVERHEAD_BYTES } from './storeLimits';

describe('dynamoSize', () => {
  it.each([
    ['a string by its UTF-8 bytes', 'é😀', 6],
    ['true', true, 1],
    ['null', null, 1],
    ['a 1-digit number', 7, 2],
    ['a 17-digit number', 1.2345678901234567, 10],
    ['trailing zeros trimmed', 1000, 2],
    ['a 16-digit negative integer', -1234567890123456, 9],
    ['a 3-digit integer', 120, 2],
    ['a fraction', 0.05, 2],
    ['an empty list', [], 3],
    ['a list: 3, plus 1 and the size per element', [1, 'ab'], 3 + 1 + 2 + 1 + 2],
    ['a map: 3, plus name, 1 and the size per member', { ab: 'xyz' }, 3 + 2 + 1 + 3],
    ['nested empty lists (more than their JSON)', [[], [], []], 3 + 3 * 4],
  ])('counts %s', (_name, value, size) => {
    expect(dynamoSize(value)).toBe(size);
  });

  it('drops undefined members, as the document client marshalls', () => {
    expect(dynamoSize({ a: undefined, b: 1 })).toBe(dynamoSize({ b: 1 }));
    expect(Object.keys(marshall({ a: undefined, b: 1 }, { removeUndefinedValues: true }))).toEqual(['b']);
  });
});

describe('store limits', () => {
  it('leaves for data what the item limit keeps after the item overhead', () => {
    expect(MAX_ITEM_BYTES).toBe(409_600);
    expect(RESOURCE_ITEM_OVERHEAD_BYTES).toBeGreaterThan(3_700);
    expect(MAX_DATA_BYTES).toBe(MAX_ITEM_BYTES - RESOURCE_ITEM_OVERHEAD_BYTES);
  });

  it.each([0, -0, 1e-130, -1e-130, 1.5, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER])('stores the number %d', (n) => {
    expect(numberProblem(n)).toBeUndefined();
  });

  it.each([
    [5e-324, '1E-130'],
    [-1e-131, '1E-130'],
    [Number.MAX_SAFE_INTEGER + 2, '±9007199254740991'],
    [1e300, '±9007199254740991'],
  ])('refuses the number %d, naming the limit %s', (n, limit) => {
    expect(numberProblem(n)).toContain(limit);
  });
});
