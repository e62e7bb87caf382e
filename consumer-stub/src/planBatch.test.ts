import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ResourceOperation } from '../../contract/operation';
import { planBatch, resourcesOf } from './planBatch';
import type { Entry } from './types';

const at = (businessId: string) => ({ businessId, locationId: 'l', resourceType: 't', timestamp: '2026-01-01T00:00:00.000Z' });
const write = (b: string, resourceId: string): ResourceOperation => ({ ...at(b), requestId: randomUUID(), operation: 'patch', resourceId, data: {} });
const list = (b: string): ResourceOperation => ({ ...at(b), requestId: randomUUID(), operation: 'list', pagination: { page: 1, limit: 10 } });

describe('planBatch', () => {
  it('splits each partition key at its lists, and groups the writes between them by resource, in stream order', () => {
    const ops = [write('a', 'x'), write('b', 'x'), write('a', 'y'), write('a', 'x'), list('a'), write('a', 'x'), list('a'), list('b')];
    const entries: Entry[] = ops.map((op, record) => ({ record, op }));
    const plans = planBatch(entries);
    const shape = plans.map((p) => ({
      pk: p.pk,
      segments: p.segments.map((s) => ({ chains: s.chains.map((c) => [c.key.resourceId, c.entries.map((e) => e.record), c.continuesLater]), list: s.list?.record })),
    }));
    expect(shape).toEqual([
      {
        pk: 'a#l#t',
        segments: [
          { chains: [['x', [0, 3], true], ['y', [2], false]], list: 4 },
          { chains: [['x', [5], false]], list: 6 },
        ],
      },
      { pk: 'b#l#t', segments: [{ chains: [['x', [1], false]], list: 7 }] },
    ]);
    expect(resourcesOf(plans).map((k) => `${k.businessId}/${k.resourceId}`)).toEqual(['a/x', 'a/y', 'b/x']);
  });
});
