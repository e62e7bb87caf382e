import type { ResourceOperation } from '../../contract/operation';
import { dynamoSize, MAX_ITEM_BYTES } from '../../contract/storeLimits';
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
  /**
   * The step ended before a write that would push a requestId of `keep`, or of the step itself, out of
   * `applied`: their outcomes must be stored before the next step.
   */
  windowFull?: boolean;
}

export interface FoldOptions {
  pk: string;
  resourceId: string;
  /** RequestIds an item remembers. */
  appliedWindow: number;
  /** Operations (changes and duplicates) one step may take: 1 to find which operation a store refuses. */
  maxWrites: number;
  /**
   * RequestIds in `applied` whose outcome is not stored yet: a redelivery must find each of them there, so a
   * step never pushes one out (nor one of its own).
   */
  keep?: ReadonlySet<string>;
  tombstoneSeconds: number;
  now: Date;
}

/**
 * Applies a resource's operations in stream order to its current item, in memory, as sequential application
 * would: a requestId already in `applied` is a duplicate and changes nothing; a business failure changes
 * nothing and ends the step. The caller writes `next` with one conditional write, so several consecutive
 * operations on one resource cost one write that still records every requestId. A step ends before a write
 * whose item would exceed DynamoDB's 400 KB (such a write is taken alone, for the store to judge, as one write
 * per operation would be) and before a write that would push a requestId to keep out of `applied`.
 */
export function foldOperations(current: ResourceItem | undefined, ops: readonly ResourceOperation[], from: number, o: FoldOptions): FoldStep {
  let state = current;
  let writes = 0;
  let lastWrite: number | undefined;
  let windowFull = false;
  const decisions: FoldDecision[] = [];
  const pinned = new Set(o.keep);
  let i = from;
  for (; i < ops.length && i - from < o.maxWrites; i++) {
    const op = ops[i]!;
    if (state?.applied.includes(op.requestId)) {
      pinned.add(op.requestId);
      decisions.push({ kind: 'completed', duplicate: true, ...(state.deleted ? {} : { result: view(state) }) });
      continue;
    }
    let change: { data: Record<string, unknown>; deleted: boolean };
    try {
      change = decide(state, op, o.resourceId);
    } catch (e) {
      if (!(e instanceof OperationFailedError)) throw e;
      decisions.push({ kind: 'failed', error: e });
      // A step ends at a business failure: a later write of the resource may have to wait until its outcome is stored.
      i++;
      break;
    }
    if (pushesOut(state, pinned, o.appliedWindow)) {
      windowFull = true;
      break;
    }
    const next = itemAfter(state, change, op.requestId, o);
    const tooLarge = itemBytes(next) > MAX_ITEM_BYTES;
    if (tooLarge && i > from) break;
    state = next;
    writes++;
    lastWrite = i;
    pinned.add(op.requestId);
    decisions.push({ kind: 'completed', duplicate: false, ...(state.deleted ? {} : { result: view(state) }) });
    if (tooLarge) {
      i++;
      break;
    }
  }
  return { end: i, decisions, ...(writes > 0 ? { next: state } : {}), ...(writes === 1 ? { lastWrite } : {}), ...(windowFull ? { windowFull } : {}) };
}

/** Whether appending one requestId to `current.applied` would push out one of `pinned`. */
function pushesOut(current: ResourceItem | undefined, pinned: ReadonlySet<string>, window: number): boolean {
  const applied = current?.applied ?? [];
  const dropped = applied.length - Math.max(0, window - 1);
  for (let k = 0; k < dropped; k++) if (pinned.has(applied[k]!)) return true;
  return false;
}

/**
 * An item's size as DynamoDB counts it against its 400 KB: each attribute's name and value. Data nested too
 * deep to walk counts as too large: the marshaller cannot walk it either, and the store refuses it.
 */
function itemBytes(item: ResourceItem): number {
  let size = 0;
  try {
    for (const [name, value] of Object.entries(item)) if (value !== undefined) size += Buffer.byteLength(name, 'utf8') + dynamoSize(value);
  } catch (e) {
    if (e instanceof RangeError) return Number.POSITIVE_INFINITY;
    throw e;
  }
  return size;
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
