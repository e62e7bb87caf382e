import type { ResourceOperation } from '../../contract/operation';
import type { OperationError } from '../../contract/status';

/** One operation of a batch: a plain record carries one, an aggregate record several, in stream order. */
export interface Entry {
  /** Index of its Kinesis record in the event. */
  record: number;
  /** Replaced by its decrypted form before it is applied. */
  op: ResourceOperation;
}

/**
 * What became of an entry:
 * - `completed`: applied now, or `duplicate` (already applied by an earlier delivery), with its status result;
 * - `failed`: its final, business outcome (NOT_FOUND, CONFLICT, STORE_REJECTED, DECRYPTION_FAILED);
 * - `held`: not applied in this invocation (a transient failure, `error`, or behind one); its record is
 *   reported in `batchItemFailures` and delivered again.
 * `recorded` says its outcome item is already written (lists and failures that later writes depend on).
 */
export type EntryResult =
  | { kind: 'completed'; duplicate: boolean; result?: unknown; recorded?: boolean }
  | { kind: 'failed'; error: OperationError; recorded?: boolean }
  | { kind: 'held'; error?: unknown };
