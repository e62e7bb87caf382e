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

  it('ends a step before a write that would push a requestId to keep out of applied, and says so', () => {
    const [a, b, c1, c2] = [op('create', { a: 1 }), op('patch', { b: 2 }), op('patch', { c: 1 }), op('patch', { c: 2 })];
    const first = foldOperations(undefined, [a, b], 0, { ...o, appliedWindow: 3 });
    // A redelivery: `a` is in applied behind `b`, whose outcome is stored; `a`'s is not.
    const step = foldOperations(first.next, [a, c1, c2], 0, { ...o, appliedWindow: 3 });
    expect(step).toMatchObject({ end: 2, windowFull: true, next: { applied: [a, b, c1].map((x) => x.requestId) } });
    expect(foldOperations(step.next, [a, c1, c2], 2, { ...o, appliedWindow: 3, keep: new Set([a.requestId]) })).toMatchObject({ end: 2, windowFull: true, decisions: [] });
    expect(foldOperations(step.next, [a, c1, c2], 2, { ...o, appliedWindow: 3 })).toMatchObject({ end: 3, next: { applied: [b, c1, c2].map((x) => x.requestId) } });
  });

  it('ends a step before a write whose item would pass 400 KB, and takes such a write alone', () => {
    const ops = [op('create', { a: 'x'.repeat(250_000) }), op('patch', { b: 'y'.repeat(250_000) }), op('update', { c: 1 })];
    const step = foldOperations(undefined, ops, 0, o);
    expect(step).toMatchObject({ end: 1, lastWrite: 0 });
    expect(foldOperations(step.next, ops, 1, o)).toMatchObject({ end: 2, lastWrite: 1 });
  });

  it.each([
    ['patch', op('patch', { a: 1 })],
    ['update', op('update', { a: 1 })],
    ['delete', op('delete')],
  ])('a %s of a missing resource fails NOT_FOUND', (_n, write) => {
    expect(foldOperations(undefined, [write], 0, o).decisions).toMatchObject([{ kind: 'failed', error: { code: 'NOT_FOUND' } }]);
  });
});
