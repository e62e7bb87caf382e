import { resourcesPartition } from '../../common/tables';
import type { ResourceKey } from './ResourceStore';
import { resourceKeyId } from './ResourceStore';
import type { Entry } from './types';

/** The writes of one resource between two lists of its partition key, in stream order. */
export interface Chain {
  key: ResourceKey;
  id: string;
  entries: Entry[];
  /** The resource has more writes in a later segment of this batch. */
  continuesLater: boolean;
}

/** The writes between two lists of a partition key (by resource), and the list that ends them, if any. */
export interface Segment {
  chains: Chain[];
  list?: Entry;
}

/** A partition key's operations: segments run one after another, their chains concurrently. */
export interface PartitionPlan {
  pk: string;
  segments: Segment[];
}

/**
 * Which operations of a batch commute. Per partition key (business, location, type: the scope of a list),
 * the operations split at each list into segments. Within a segment the writes of different resources
 * commute and run concurrently; the writes of one resource form a chain, applied in stream order. A list
 * runs after every write before it in its partition key and before every write after it. Different partition
 * keys never share a resource or a list, so they run independently.
 */
export function planBatch(entries: readonly Entry[]): PartitionPlan[] {
  const partitions = new Map<string, PartitionPlan>();
  const open = new Map<string, Map<string, Chain>>();
  const lastChain = new Map<string, Chain>();
  for (const entry of entries) {
    const { op } = entry;
    const pk = resourcesPartition(op.businessId, op.locationId, op.resourceType);
    let plan = partitions.get(pk);
    if (!plan) partitions.set(pk, (plan = { pk, segments: [{ chains: [] }] }));
    const segment = plan.segments.at(-1)!;
    if (op.operation === 'list') {
      segment.list = entry;
      plan.segments.push({ chains: [] });
      open.delete(pk);
      continue;
    }
    const key: ResourceKey = { businessId: op.businessId, locationId: op.locationId, resourceType: op.resourceType, resourceId: op.resourceId };
    const id = resourceKeyId(key);
    let chains = open.get(pk);
    if (!chains) open.set(pk, (chains = new Map()));
    let chain = chains.get(id);
    if (!chain) {
      chain = { key, id, entries: [], continuesLater: false };
      const earlier = lastChain.get(id);
      if (earlier) earlier.continuesLater = true;
      lastChain.set(id, chain);
      chains.set(id, chain);
      segment.chains.push(chain);
    }
    chain.entries.push(entry);
  }
  for (const plan of partitions.values()) {
    if (plan.segments.at(-1)!.chains.length === 0 && !plan.segments.at(-1)!.list) plan.segments.pop();
  }
  return [...partitions.values()];
}

/** The distinct resources a plan writes. */
export function resourcesOf(plans: readonly PartitionPlan[]): ResourceKey[] {
  const keys = new Map<string, ResourceKey>();
  for (const p of plans) for (const s of p.segments) for (const c of s.chains) keys.set(c.id, c.key);
  return [...keys.values()];
}
