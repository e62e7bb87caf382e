import { DeadlineReachedError, StoreRejectedError, WriteContentionError } from './errors';
import type { FoldDecision, FoldStep, ResourceItem } from './foldOperations';
import type { Limiter } from './createLimiter';
import { outcomeOf, type Decided } from './outcomeOf';
import { subjectOf } from './outcomeSubject';
import { planBatch, resourcesOf, type Chain, type PartitionPlan, type Segment } from './planBatch';
import type { ResourceStore } from './ResourceStore';
import type { StatusRecorder } from './StatusRecorder';
import type { Entry, EntryResult } from './types';

export interface ApplyBatchDeps {
  store: ResourceStore;
  status: StatusRecorder;
  /** Bounds the DynamoDB calls in flight across the whole batch. */
  limit: Limiter;
  /** True once the invocation must start nothing new (its deadline margin): what is not started is held. */
  outOfTime: () => boolean;
}

/**
 * Reads of a resource again, within one step, after another writer changed it between our read and our
 * conditional write.
 */
const MAX_REREADS = 3;

/**
 * Applies a batch's operations (those not already recorded) with effects as if applied one by one in stream
 * order (see {@link planBatch}): one bulk read of every resource the batch writes, then each resource's chain
 * folded into as few conditional writes as its semantics allow, chains and partition keys concurrently.
 *
 * A transient failure holds that operation, the rest of its chain, and everything of its partition key after
 * the next list (which must see it); everything else goes on. `preset` holds entries already decided to be
 * held (a transient decryption failure): they stop their chain the same way. Past the deadline
 * (`outOfTime`), no segment, chain step or list starts: they are held the same way.
 */
export async function applyBatch(entries: readonly Entry[], preset: ReadonlyMap<Entry, EntryResult>, deps: ApplyBatchDeps): Promise<Map<Entry, EntryResult>> {
  const results = new Map(preset);
  const plans = planBatch(entries);
  let current: Map<string, ResourceItem>;
  try {
    if (deps.outOfTime()) throw new DeadlineReachedError();
    current = await deps.store.readMany(resourcesOf(plans), deps.limit);
  } catch (error) {
    holdAll(results, entries, error);
    return results;
  }
  const run = new BatchRun(deps, current, results);
  await Promise.all(plans.map((p) => run.partition(p)));
  return results;
}

class BatchRun {
  readonly #deps: ApplyBatchDeps;
  readonly #current: Map<string, ResourceItem>;
  readonly #results: Map<Entry, EntryResult>;
  /** Per resource, the entries of this batch in its `applied` list whose outcome is not stored yet. */
  readonly #unstored = new Map<string, Entry[]>();

  constructor(deps: ApplyBatchDeps, current: Map<string, ResourceItem>, results: Map<Entry, EntryResult>) {
    this.#deps = deps;
    this.#current = current;
    this.#results = results;
  }

  /** A partition key's segments in order; after a failure or past the deadline, the rest of the key waits for the next delivery. */
  async partition(plan: PartitionPlan): Promise<void> {
    for (const [n, segment] of plan.segments.entries()) {
      if (this.#deps.outOfTime()) return this.#holdSegments(plan.segments.slice(n), new DeadlineReachedError());
      const ok = await Promise.all(segment.chains.map((c) => this.#chain(c)));
      const listed = ok.includes(false) ? false : !segment.list || (await this.#list(segment.list));
      if (!listed) return this.#holdSegments([...(segment.list ? [{ chains: [], list: segment.list }] : []), ...plan.segments.slice(n + 1)]);
    }
  }

  /** One resource's writes in stream order. Returns false when a transient failure (or the deadline) held part of it. */
  async #chain(chain: Chain): Promise<boolean> {
    const { store, limit } = this.#deps;
    const firstHeld = chain.entries.findIndex((e) => this.#results.get(e)?.kind === 'held');
    const entries = firstHeld < 0 ? chain.entries : chain.entries.slice(0, firstHeld);
    const ops = entries.map((e) => e.op);
    let state = this.#current.get(chain.id);
    let from = 0;
    let maxWrites = Number.POSITIVE_INFINITY;
    let rereads = 0;
    while (from < ops.length) {
      if (this.#deps.outOfTime()) return this.#fail(chain.entries, from, new DeadlineReachedError());
      const keep = new Set((this.#unstored.get(chain.id) ?? []).map((e) => e.op.requestId));
      const step = store.fold(chain.key, state, ops, from, { maxWrites, keep });
      let written: boolean;
      try {
        written = step.next ? await limit(() => store.put(step.next!, state?.version)) : true;
      } catch (e) {
        if (!(e instanceof StoreRejectedError)) return this.#fail(chain.entries, from, e);
        // Which operation the store refuses: one change per write from here, then that one fails alone.
        if (step.lastWrite === undefined || step.end !== step.lastWrite + 1) {
          maxWrites = 1;
          continue;
        }
        step.decisions[step.decisions.length - 1] = { kind: 'failed', error: e };
        delete step.next;
        written = true;
      }
      if (!written) {
        if (++rereads >= MAX_REREADS) return this.#fail(chain.entries, from, new WriteContentionError(chain.key.resourceId));
        try {
          state = await limit(() => store.read(chain.key));
        } catch (e) {
          return this.#fail(chain.entries, from, e);
        }
        continue;
      }
      rereads = 0;
      state = step.next ?? state;
      if (state) this.#current.set(chain.id, state);
      const held = await this.#settle(chain, entries.slice(from, step.end), step);
      if (held !== undefined) return this.#fail(chain.entries, from + held);
      from = step.end;
    }
    return firstHeld < 0 || this.#fail(chain.entries, firstHeld);
  }

  /**
   * Decides a written step's entries, and stores the outcomes a later write could change or push out of reach:
   * those of the resource's unstored entries when the step filled its `applied` window, and a business failure
   * that a later write of the resource follows. Returns the index (into `decided`) to hold from when one of
   * them could not be stored.
   */
  async #settle(chain: Chain, decided: readonly Entry[], step: FoldStep): Promise<number | undefined> {
    this.#decide(decided, step.decisions);
    const unstored = this.#unstored.get(chain.id) ?? [];
    for (const e of decided) if (this.#results.get(e)?.kind === 'completed') unstored.push(e);
    this.#unstored.set(chain.id, unstored);
    if (step.windowFull && !(await this.#storeUnstored(chain.id))) return decided.length;
    const last = decided.at(-1);
    const later = last !== chain.entries.at(-1) || chain.continuesLater;
    if (last && later && this.#results.get(last)?.kind === 'failed' && !(await this.#recordNow(last))) return decided.length - 1;
    return undefined;
  }

  /**
   * Stores the outcomes of a resource's unstored entries before more writes push their requestIds out of its
   * `applied` window: a redelivery must find each of them, in the outcomes or in the window. Duplicates found
   * in `applied` are written conditionally (see {@link outcomeOf}).
   */
  async #storeUnstored(id: string): Promise<boolean> {
    const unstored = this.#unstored.get(id) ?? [];
    this.#unstored.set(id, []);
    const outcomes = unstored.map((e) => outcomeOf(e, this.#results.get(e) as Decided));
    const { unwritten, error } = await this.#deps.status.recordAll(outcomes, this.#deps.limit);
    for (const e of unstored) this.#results.set(e, unwritten.has(e.op.requestId) ? { kind: 'held', error } : ({ ...this.#results.get(e), recorded: true } as EntryResult));
    return unwritten.size === 0;
  }

  /** Stores a failure's outcome before a later write of its resource can change what it would be on redelivery. */
  async #recordNow(entry: Entry): Promise<boolean> {
    const r = this.#results.get(entry) as Extract<EntryResult, { kind: 'failed' }>;
    try {
      await this.#deps.limit(() => this.#deps.status.failed(subjectOf(entry.op), r.error));
      this.#results.set(entry, { ...r, recorded: true });
      return true;
    } catch (error) {
      this.#results.set(entry, { kind: 'held', error });
      return false;
    }
  }

  /** A list sees every write before it in its key; its outcome is stored before any write after it runs. */
  async #list(entry: Entry): Promise<boolean> {
    if (this.#results.get(entry)?.kind === 'held') return false;
    const { op } = entry;
    if (op.operation !== 'list') throw new TypeError('not a list');
    if (this.#deps.outOfTime()) return this.#fail([entry], 0, new DeadlineReachedError());
    try {
      const page = await this.#deps.limit(() => this.#deps.store.list(op, op.filters ?? {}, op.pagination.page, op.pagination.limit));
      await this.#deps.limit(() => this.#deps.status.completed(subjectOf(op), page));
      this.#results.set(entry, { kind: 'completed', duplicate: false, result: page, recorded: true });
      return true;
    } catch (error) {
      this.#results.set(entry, { kind: 'held', error });
      return false;
    }
  }

  #decide(entries: readonly Entry[], decisions: readonly FoldDecision[]): void {
    decisions.forEach((d, i) => {
      this.#results.set(
        entries[i]!,
        d.kind === 'failed' ? { kind: 'failed', error: { code: d.error.code, message: d.error.message } } : { kind: 'completed', duplicate: d.duplicate, ...(d.result ? { result: d.result } : {}) },
      );
    });
  }

  /** Holds `entries[from..]` (those not held already), the first with the error. Returns false. */
  #fail(entries: readonly Entry[], from: number, error?: unknown): false {
    holdAll(this.#results, entries.slice(from), error);
    return false;
  }

  /** Holds every chain and list of these segments, the first entry held with the error. */
  #holdSegments(segments: readonly Segment[], error?: unknown): void {
    holdAll(this.#results, segments.flatMap((s) => [...s.chains.flatMap((c) => c.entries), ...(s.list ? [s.list] : [])]), error);
  }
}

/** Holds each entry not held already, the first of them with `error`. */
function holdAll(results: Map<Entry, EntryResult>, entries: readonly Entry[], error?: unknown): void {
  let first = true;
  for (const e of entries) {
    if (results.get(e)?.kind === 'held') continue;
    results.set(e, first && error !== undefined ? { kind: 'held', error } : { kind: 'held' });
    first = false;
  }
}
