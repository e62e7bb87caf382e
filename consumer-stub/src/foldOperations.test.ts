import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ResourceOperation } from '../../contract/operation';
import { foldOperations, type FoldOptions } from './foldOperations';

const scope = { businessId: 'b', locationId: 'l', resourceType: 't', resourceId: 'r1', timestamp: '2026-01-01T00:00:00.000Z' };
const o: FoldOptions = { pk: 'b#l#t', resourceId: 'r1', appliedWindow: 100, maxWrites: Number.POSITIVE_INFINITY, tombstoneSeconds: 60, now: new Date('2026-01-01T00:00:00Z') };
const op = (operation: 'create' | 'update' | 'patch' | 'delete', data?: Record<string, unknown>): ResourceOperation =>
  ({ ...scope, requestId: randomUUID(), operation, ...(data ? { data } : {}) }) as ResourceOperation;

describe('foldOperations', () => {
  it('folds consecutive writes of a resource into one item that records every requestId, with each result as of its turn', () => {
    const ops = [op('create', { a: 1 }), op('patch', { b: 2 }), op('update', { c: 3 }), op('patch', { d: 4 })];
    const step = foldOperations(undefined, ops, 0, o);
    expect(step.end).toBe(4);
    expect(step.next).toMatchObject({ data: { c: 3, d: 4 }, deleted: false, version: 4, applied: ops.map((x) => x.requestId) });
    expect(step.decisions.map((d) => d.kind === 'completed' && d.result)).toEqual([
      { id: 'r1', a: 1 },
      { id: 'r1', a: 1, b: 2 },
      { id: 'r1', c: 3 },
      { id: 'r1', c: 3, d: 4 },
    ]);
    expect(step.lastWrite).toBeUndefined();
  });

  it('finds a requestId already applied as a duplicate that changes nothing', () => {
    const create = op('create', { a: 1 });
    const first = foldOperations(undefined, [create], 0, o);
    const again = foldOperations(first.next, [create, create], 0, o);
    expect(again.next).toBeUndefined();
    expect(again.decisions).toEqual([
      { kind: 'completed', duplicate: true, result: { id: 'r1', a: 1 } },
      { kind: 'completed', duplicate: true, result: { id: 'r1', a: 1 } },
    ]);
  });

  it('ends a step at a business failure, which changes nothing', () => {
    const ops = [op('create', { a: 1 }), op('create', { a: 2 }), op('delete')];
    const step = foldOperations(undefined, ops, 0, o);
    expect(step.end).toBe(2);
    expect(step.decisions[1]).toMatchObject({ kind: 'failed', error: { code: 'CONFLICT' } });
    expect(step.next?.data).toEqual({ a: 1 });
    expect(step.lastWrite).toBe(0);
    const rest = foldOperations(step.next, ops, step.end, o);
    expect(rest.next).toMatchObject({ deleted: true, version: 2, expiresAt: o.now.getTime() / 1000 + 60 });
  });

  it('carries at most maxWrites changes, and never more than the applied window', () => {
    const ops = [op('create', { a: 1 }), op('patch', { b: 2 }), op('patch', { c: 3 })];
    expect(foldOperations(undefined, ops, 0, { ...o, maxWrites: 1 })).toMatchObject({ end: 1, lastWrite: 0 });
    expect(foldOperations(undefined, ops, 0, { ...o, appliedWindow: 2 }).end).toBe(2);
  });

  it.each([
    ['patch', op('patch', { a: 1 })],
    ['update', op('update', { a: 1 })],
    ['delete', op('delete')],
  ])('a %s of a missing resource fails NOT_FOUND', (_n, write) => {
    expect(foldOperations(undefined, [write], 0, o).decisions).toMatchObject([{ kind: 'failed', error: { code: 'NOT_FOUND' } }]);
  });
});
