import type { ResourceOperation } from '../../contract/operation';
import { ConflictError, NotFoundError, OperationFailedError } from './errors';

/** A resource as clients see it: its data fields plus `id`. */
export type ResourceView = Record<string, unknown> & { id: string };

/** An item of the resources table. */
export interface ResourceItem {
  pk: string;
  resourceId: string;
  data: Record<string, unknown>;
  /** A tombstone keeps `applied` after a delete, so a late duplicate create cannot resurrect the resource. */
  deleted: boolean;
  /** The last `appliedWindow` requestIds applied to this item, oldest first. */
  applied: string[];
  /** Bumped by every write; the optimistic-concurrency guard of read-then-write. */
  version: number;
  updatedAt: string;
  /** Epoch seconds; set on tombstones only, for a TTL on the resources table. */
  expiresAt?: number;
}

/** What one operation of a fold came to. */
export type FoldDecision =
  | { kind: 'completed'; duplicate: boolean; result?: ResourceView }
  | { kind: 'failed'; error: OperationFailedError };

/** One write's worth of a resource's operations: the decisions for `ops[from..end)` and the item to write. */
export interface FoldStep {
  end: number;
  /** The item after these operations; absent when none of them changes it. */
  next?: ResourceItem;
  decisions: FoldDecision[];
  /** Index (into `ops`) of the operation whose change `next` carries, when a step carries exactly one. */
  lastWrite?: number;
}

export interface FoldOptions {
  pk: string;
  resourceId: string;
  /** RequestIds an item remembers; a step never takes more operations than this, so none of its own drops out. */
  appliedWindow: number;
  /**
   * Operations (changes and duplicates) one step may take: what is left of the window, or 1 to find which
   * operation a store refuses.
   */
  maxWrites: number;
  tombstoneSeconds: number;
  now: Date;
}

/**
 * Applies a resource's operations in stream order to its current item, in memory, as sequential application
 * would: a requestId already in `applied` is a duplicate and changes nothing; a business failure changes
 * nothing and ends the step. The caller writes `next` with one conditional write, so several consecutive operations on one
 * resource cost one write that still records every requestId.
 */
export function foldOperations(current: ResourceItem | undefined, ops: readonly ResourceOperation[], from: number, o: FoldOptions): FoldStep {
  let state = current;
  let writes = 0;
  let taken = 0;
  const most = Math.min(o.maxWrites, o.appliedWindow);
  let lastWrite: number | undefined;
  const decisions: FoldDecision[] = [];
  let i = from;
  while (i < ops.length) {
    const op = ops[i]!;
    i++;
    if (state?.applied.includes(op.requestId)) {
      decisions.push({ kind: 'completed', duplicate: true, ...(state.deleted ? {} : { result: view(state) }) });
      if (++taken >= most) break;
      continue;
    }
    let change: { data: Record<string, unknown>; deleted: boolean };
    try {
      change = decide(state, op, o.resourceId);
    } catch (e) {
      if (!(e instanceof OperationFailedError)) throw e;
      decisions.push({ kind: 'failed', error: e });
      // A step ends at a business failure: a later write of the resource may have to wait until its outcome is stored.
      break;
    }
    state = itemAfter(state, change, op.requestId, o);
    writes++;
    lastWrite = i - 1;
    decisions.push({ kind: 'completed', duplicate: false, ...(state.deleted ? {} : { result: view(state) }) });
    if (++taken >= most) break;
  }
  return { end: i, decisions, ...(writes > 0 ? { next: state } : {}), ...(writes === 1 ? { lastWrite } : {}) };
}

/** The change an operation makes to a resource, or its business failure. */
function decide(current: ResourceItem | undefined, op: ResourceOperation, resourceId: string): { data: Record<string, unknown>; deleted: boolean } {
  const live = current !== undefined && !current.deleted;
  switch (op.operation) {
    case 'create':
      if (live) throw new ConflictError(resourceId);
      return { data: op.data, deleted: false };
    case 'update':
      if (!live) throw new NotFoundError(resourceId);
      return { data: op.data, deleted: false };
    case 'patch':
      if (!live) throw new NotFoundError(resourceId);
      return { data: { ...current!.data, ...op.data }, deleted: false };
    case 'delete':
      if (!live) throw new NotFoundError(resourceId);
      return { data: {}, deleted: true };
    case 'list':
      throw new TypeError('a list is not a resource write');
  }
}

function itemAfter(
  current: ResourceItem | undefined,
  change: { data: Record<string, unknown>; deleted: boolean },
  requestId: string,
  o: FoldOptions,
): ResourceItem {
  return {
    pk: o.pk,
    resourceId: o.resourceId,
    data: change.data,
    deleted: change.deleted,
    applied: [...keepLast(current?.applied ?? [], o.appliedWindow - 1), requestId],
    version: (current?.version ?? 0) + 1,
    updatedAt: o.now.toISOString(),
    ...(change.deleted ? { expiresAt: Math.floor(o.now.getTime() / 1000) + o.tombstoneSeconds } : {}),
  };
}

/** A resource as clients see it. */
export function view(item: ResourceItem): ResourceView {
  return { ...item.data, id: item.resourceId };
}

/** The last `n` items (none for n <= 0; `slice(-0)` would keep them all). */
function keepLast<T>(items: readonly T[], n: number): T[] {
  return n > 0 ? items.slice(-n) : [];
}
