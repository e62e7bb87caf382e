import { subjectOf } from './outcomeSubject';
import type { Outcome } from './StatusRecorder';
import type { Entry, EntryResult } from './types';

/** An entry's result once it reached its outcome. */
export type Decided = Exclude<EntryResult, { kind: 'held' }>;

/**
 * The outcome to record for a decided entry. A duplicate (one found in `applied`: the others are recorded
 * already) is written conditionally (`ifAbsent`): its first delivery may have timed out with its own outcome
 * write still in flight, and that one, the result as of its turn, must win in either order.
 */
export function outcomeOf(e: Entry, r: Decided): Outcome {
  const subject = subjectOf(e.op);
  if (r.kind === 'failed') return { subject, status: 'failed', error: r.error };
  return { subject, status: 'completed', ...(r.result === undefined ? {} : { result: r.result }), ...(r.duplicate ? { ifAbsent: true } : {}) };
}
