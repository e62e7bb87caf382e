import type { ResourceOperation } from '../../contract/operation';
import type { ResourceStore } from './ResourceStore';

/** What applying a record did, and the result its status carries. */
export interface ApplyOutcome {
  /** The requestId had already been applied; nothing changed. */
  duplicate: boolean;
  /** The resource (`{...data, id}`) for create/update/patch, `{items, page, limit}` for list, none for delete. */
  result?: unknown;
}

/**
 * Applies one operation to the store, at most once per requestId. Business failures throw an
 * `OperationFailedError` (NOT_FOUND, CONFLICT, ...); anything else thrown is transient.
 */
export async function applyOperation(op: ResourceOperation, store: ResourceStore): Promise<ApplyOutcome> {
  switch (op.operation) {
    case 'create': {
      const w = await store.create(op, op.data, op.requestId);
      return { duplicate: w.duplicate, result: w.resource };
    }
    case 'update': {
      const w = await store.replace(op, op.data, op.requestId);
      return { duplicate: w.duplicate, result: w.resource };
    }
    case 'patch': {
      const w = await store.patch(op, op.data, op.requestId);
      return { duplicate: w.duplicate, result: w.resource };
    }
    case 'delete': {
      const w = await store.delete(op, op.requestId);
      return { duplicate: w.duplicate };
    }
    case 'list': {
      // A read changes nothing, so running it again is harmless; the status table dedupes its outcome.
      const page = await store.list(op, op.filters ?? {}, op.pagination.page, op.pagination.limit);
      return { duplicate: false, result: page };
    }
  }
}
