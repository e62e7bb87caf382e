/**
 * Where a shard's poller stands. A shard waits for its parents (one after a split, two after a merge),
 * then polls; a failed invocation makes it retry the failing record after a pause; a closed shard whose
 * records are all done is finished, and its children may start.
 *
 *   waitingForParents ──parentsFinished──▶ polling ──drained──▶ finished
 *                                           │  ▲
 *                                    failed │  │ succeeded | deadLettered
 *                                           ▼  │
 *                                          retrying ──failed──▶ retrying (attempts + 1, a longer pause)
 */
export type ShardPhase =
  | { kind: 'waitingForParents' }
  | { kind: 'polling' }
  | { kind: 'retrying'; sequenceNumber: string; attempts: number; notBefore: number }
  | { kind: 'finished' };

/** What happened to the shard; {@link nextPhase} says where that leads. */
export type ShardEvent =
  | { kind: 'parentsFinished' }
  | { kind: 'succeeded' }
  | { kind: 'failed'; sequenceNumber: string; attempts: number; notBefore: number }
  | { kind: 'deadLettered'; sequenceNumber: string }
  | { kind: 'drained' };

/** The one transition function of a shard's poller. */
export function nextPhase(phase: ShardPhase, event: ShardEvent): ShardPhase {
  if (phase.kind === 'finished') return phase;
  switch (event.kind) {
    case 'parentsFinished':
      return phase.kind === 'waitingForParents' ? { kind: 'polling' } : phase;
    case 'succeeded':
      return { kind: 'polling' };
    case 'failed':
      return { kind: 'retrying', sequenceNumber: event.sequenceNumber, attempts: event.attempts, notBefore: event.notBefore };
    case 'deadLettered':
      return phase.kind === 'retrying' && phase.sequenceNumber !== event.sequenceNumber ? phase : { kind: 'polling' };
    case 'drained':
      return { kind: 'finished' };
  }
}

/** Invocations that have failed on `sequenceNumber` so far, in this phase. */
export function failedAttempts(phase: ShardPhase, sequenceNumber: string): number {
  return phase.kind === 'retrying' && phase.sequenceNumber === sequenceNumber ? phase.attempts : 0;
}
