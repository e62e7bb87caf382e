import { StoreRejectedError, WriteContentionError } from './errors';
import type { FoldDecision, ResourceItem } from './foldOperations';
import type { Limiter } from './createLimiter';
import { subjectOf } from './outcomeSubject';
import { planBatch, resourcesOf, type Chain, type PartitionPlan } from './planBatch';
import type { ResourceStore } from './ResourceStore';
import type { StatusRecorder } from './StatusRecorder';
import type { Entry, EntryResult } from './types';

export interface ApplyBatchDeps {
  store: ResourceStore;
  status: StatusRecorder;
  /** Bounds the DynamoDB calls in flight across the whole batch. */
  limit: Limiter;
}

/** Reads of a resource again after another writer changed it between our read and our conditional write. */
const MAX_REREADS = 3;

/**
 * Applies a batch's operations (those not already recorded) with effects as if applied one by one in stream
 * order (see {@link planBatch}): one bulk read of every resource the batch writes, then each resource's chain
 * folded into as few conditional writes as its semantics allow, chains and partition keys concurrently.
 *
 * A transient failure holds that operation, the rest of its chain, and everything of its partition key after
 * the next list (which must see it); everything else goes on. `preset` holds entries already decided to be
 * held (a transient decryption failure): they stop their chain the same way.
 */
export async function applyBatch(entries: readonly Entry[], preset: ReadonlyMap<Entry, EntryResult>, deps: ApplyBatchDeps): Promise<Map<Entry, EntryResult>> {
  const results = new Map(preset);
  const plans = planBatch(entries);
  let current: Map<string, ResourceItem>;
  try {
    current = await deps.limit(() => deps.store.readMany(resourcesOf(plans)));
  } catch (error) {
    for (const e of entries) if (!results.has(e)) results.set(e, { kind: 'held', error });
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

  /** A partition key's segments in order; after a failure, the rest of the key waits for the next delivery. */
  async partition(plan: PartitionPlan): Promise<void> {
    let broken = false;
    for (const segment of plan.segments) {
      if (broken) {
        for (const c of segment.chains) this.#hold(c.entries);
        if (segment.list) this.#hold([segment.list]);
        continue;
      }
      const ok = await Promise.all(segment.chains.map((c) => this.#chain(c)));
      broken = ok.includes(false);
      if (segment.list) broken = broken ? (this.#hold([segment.list]), true) : !(await this.#list(segment.list));
    }
  }

  /** One resource's writes in stream order. Returns false when a transient failure held part of it. */
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
      const room = store.appliedWindow - (this.#unstored.get(chain.id)?.length ?? 0);
      const step = store.fold(chain.key, state, ops, from, { maxWrites: Math.min(maxWrites, room) });
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
      state = step.next ?? state;
      if (state) this.#current.set(chain.id, state);
      this.#decide(entries.slice(from, step.end), step.decisions);
      if (!(await this.#keepInWindow(chain.id, entries.slice(from, step.end)))) return this.#fail(chain.entries, step.end);
      const later = step.end < chain.entries.length || chain.continuesLater;
      if (later && step.decisions.at(-1)!.kind === 'failed' && !(await this.#recordNow(entries[step.end - 1]!))) {
        return this.#fail(chain.entries, step.end - 1);
      }
      from = step.end;
    }
    return firstHeld < 0 || this.#fail(chain.entries, firstHeld);
  }

  /**
   * Stores the outcomes of a resource's entries before more writes could push their requestIds out of its
   * `applied` window: a redelivery must find each of them, in the outcomes or in the window.
   */
  async #keepInWindow(id: string, decided: readonly Entry[]): Promise<boolean> {
    const unstored = this.#unstored.get(id) ?? [];
    for (const e of decided) if (this.#results.get(e)?.kind === 'completed') unstored.push(e);
    this.#unstored.set(id, unstored);
    if (unstored.length < this.#deps.store.appliedWindow) return true;
    this.#unstored.set(id, []);
    const outcomes = unstored.map((e) => {
      const r = this.#results.get(e) as Extract<EntryResult, { kind: 'completed' }>;
      return { subject: subjectOf(e.op), status: 'completed' as const, ...(r.result === undefined ? {} : { result: r.result }) };
    });
    const { unwritten, error } = await this.#deps.limit(() => this.#deps.status.recordAll(outcomes));
    for (const e of unstored) this.#results.set(e, unwritten.has(e.op.requestId) ? { kind: 'held', error } : { ...(this.#results.get(e) as EntryResult), recorded: true } as EntryResult);
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
    entries.slice(from).forEach((e, i) => {
      if (this.#results.get(e)?.kind === 'held') return;
      this.#results.set(e, i === 0 && error !== undefined ? { kind: 'held', error } : { kind: 'held' });
    });
    return false;
  }

  #hold(entries: readonly Entry[]): void {
    for (const e of entries) if (this.#results.get(e)?.kind !== 'held') this.#results.set(e, { kind: 'held' });
  }
}
