import type { KinesisStreamRecord } from 'aws-lambda';
import { applyBatch } from './applyBatch';
import type { Limiter } from './createLimiter';
import { decodeBatch, type PoisonEntry } from './decodeBatch';
import { decryptEntries, type DecryptFields } from './decryptEntries';
import { outcomeOf } from './outcomeOf';
import { salvageSubject } from './outcomeSubject';
import type { ResourceStore } from './ResourceStore';
import type { Outcome, StatusRecorder } from './StatusRecorder';
import type { Entry, EntryResult } from './types';

export interface ProcessBatchDeps {
  store: ResourceStore;
  status: StatusRecorder;
  decrypt: DecryptFields;
  limit: Limiter;
  /** True once the invocation must start nothing new (see {@link applyBatch}). @default never */
  outOfTime?: () => boolean;
}

/** What a batch came to: every entry's result, the poison, and the records to deliver again. */
export interface BatchOutcome {
  entries: Entry[];
  results: Map<Entry, EntryResult>;
  poison: PoisonEntry[];
  /** Indexes of the records reported in `batchItemFailures`. */
  heldRecords: Set<number>;
  /** The first transient error, for the log. */
  error?: unknown;
}

/**
 * One invocation's work, in bulk wherever the semantics allow:
 * 1. decode every record (aggregates split into their operations);
 * 2. one bulk read of the outcomes of the whole batch: recorded operations are duplicates, and a redelivered
 *    batch costs about one call per 100 operations;
 * 3. decrypt, then apply the rest ({@link applyBatch}): one bulk read of the resources, one conditional write
 *    per resource chain, chains concurrently;
 * 4. one bulk write of the outcomes not stored yet.
 * A record is held (delivered again) when any of its operations is held or its outcome could not be written.
 */
export async function processBatch(records: readonly KinesisStreamRecord[], deps: ProcessBatchDeps): Promise<BatchOutcome> {
  const { entries, poison } = decodeBatch(records);
  const results = new Map<Entry, EntryResult>();
  const poisonIds = poison.flatMap((p) => (p.error.requestId ? [p.error.requestId] : []));
  let known: Set<string>;
  try {
    known = await deps.status.recorded([...entries.map((e) => e.op.requestId), ...poisonIds], deps.limit);
  } catch (error) {
    for (const e of entries) results.set(e, { kind: 'held' });
    return { entries, results, poison, heldRecords: new Set(records.map((_, i) => i)), error };
  }
  const { fresh, copies } = splitFresh(entries, known, results);
  const decided = await decryptEntries(fresh, deps.decrypt, deps.limit);
  const toApply = fresh.filter((e) => decided.get(e)?.kind !== 'failed');
  for (const [e, r] of decided) if (r.kind === 'failed') results.set(e, r);
  for (const [e, r] of await applyBatch(toApply, decided, { ...deps, outOfTime: deps.outOfTime ?? (() => false) })) results.set(e, r);
  for (const [copy, original] of copies) results.set(copy, copyResult(results.get(original)!));
  const freshPoison = poison.filter((p) => p.error.requestId && !known.has(p.error.requestId));
  const written = await deps.status.recordAll([...entryOutcomes(entries, results), ...freshPoison.map(poisonOutcome)], deps.limit);
  const heldRecords = new Set<number>();
  let error = written.error;
  for (const e of entries) {
    const r = results.get(e)!;
    if (r.kind !== 'held' && !written.unwritten.has(e.op.requestId)) continue;
    heldRecords.add(e.record);
    if (r.kind === 'held') error ??= r.error;
  }
  for (const p of freshPoison) if (written.unwritten.has(p.error.requestId!)) heldRecords.add(p.record);
  return { entries, results, poison, heldRecords, ...(error === undefined ? {} : { error }) };
}

/**
 * The entries to apply: not recorded yet, and the first of their requestId in the batch. A later copy of a
 * requestId (the same operation delivered twice in a row) is a duplicate of the first.
 */
function splitFresh(entries: readonly Entry[], known: ReadonlySet<string>, results: Map<Entry, EntryResult>) {
  const fresh: Entry[] = [];
  const copies = new Map<Entry, Entry>();
  const first = new Map<string, Entry>();
  for (const e of entries) {
    const id = e.op.requestId;
    if (known.has(id)) results.set(e, { kind: 'completed', duplicate: true, recorded: true });
    else if (first.has(id)) copies.set(e, first.get(id)!);
    else {
      first.set(id, e);
      fresh.push(e);
    }
  }
  return { fresh, copies };
}

/**
 * A later copy of a requestId in the batch comes to what its original came to, and writes nothing of its own:
 * held with it, or its outcome again (a failure stays a failure, not a duplicate of something applied).
 */
function copyResult(original: EntryResult): EntryResult {
  if (original.kind === 'held') return { kind: 'held' };
  if (original.kind === 'failed') return { kind: 'failed', error: original.error, recorded: true };
  return { kind: 'completed', duplicate: true, recorded: true };
}

function entryOutcomes(entries: readonly Entry[], results: ReadonlyMap<Entry, EntryResult>): Outcome[] {
  const out: Outcome[] = [];
  for (const e of entries) {
    const r = results.get(e)!;
    if (r.kind !== 'held' && !r.recorded) out.push(outcomeOf(e, r));
  }
  return out;
}

function poisonOutcome(p: PoisonEntry): Outcome {
  return { subject: salvageSubject(p.bytes, p.error.requestId!, p.arrivedAt), status: 'failed', error: { code: p.error.code, message: p.message } };
}
