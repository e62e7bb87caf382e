import { CommitmentPolicy, type KeyringNode, type NodeAlgorithmSuite, type NodeEncryptionMaterial, type NodeMaterialsManager } from '@aws-crypto/client-node';
import type { FieldEncryptionContext } from '../../contract/encryptedField';
import { cachingMaterialsManager, type DataKeyCacheBounds } from './dataKeyCache';

/** How long and how often the materials one lookup returned are used before the next lookup. */
export interface MaterialsReuseBounds {
  /** Values encrypted with one lookup's materials at most. */
  maxUses: number;
  /** Ms after the lookup they are no longer used; then their copy of the data key is zeroed. */
  maxAgeMs: number;
}

/** 100 values or one second: the data key's own bounds (dataKeyCache.ts) still hold, see {@link MaterialsReuse.over}. */
export const DEFAULT_MATERIALS_REUSE: MaterialsReuseBounds = { maxUses: 100, maxAgeMs: 1000 };

interface Entry {
  materials: Promise<NodeEncryptionMaterial>;
  uses: number;
  until: number;
}

/**
 * Encryption materials per tenant scope, looked up in the caching materials manager once per `maxUses` values
 * or `maxAgeMs`, not per value. A lookup costs about a third of a small value's encryption (the cache key is a
 * SHA-512 of the encryption context, and every hit copies the data key into new materials); what a reuse
 * skips is only that: each message still gets its own message id, derived key and key commitment
 * (`getEncryptionInfo`). Materials are zeroed when they retire, an event-loop turn after they resolved, so every
 * value that holds them has finished with them.
 */
export class MaterialsReuse {
  readonly #byScope = new Map<string, Entry>();
  /** The caching materials manager beneath, its message bound divided by the reuse. */
  readonly manager: NodeMaterialsManager;
  /**
   * A caching materials manager with the whole bounds, for values longer than a frame: they go through the
   * SDK's `encrypt()`, one lookup each, so on `manager` they would use up a data key 100 times sooner.
   */
  readonly perMessage: NodeMaterialsManager;
  readonly #bounds: MaterialsReuseBounds;

  private constructor(manager: NodeMaterialsManager, perMessage: NodeMaterialsManager, bounds: MaterialsReuseBounds) {
    this.manager = manager;
    this.perMessage = perMessage;
    this.#bounds = bounds;
  }

  /**
   * Over a caching materials manager whose message bound is divided by `reuse.maxUses`, so that a data key
   * still encrypts at most `cache.maxMessages` values; it is used at most `reuse.maxAgeMs` past `cache.maxAgeMs`.
   */
  static over(keyring: KeyringNode, cache: DataKeyCacheBounds, reuse: MaterialsReuseBounds): MaterialsReuse {
    for (const [name, n] of [['reuse.maxUses', reuse.maxUses], ['reuse.maxAgeMs', reuse.maxAgeMs], ['cache.maxMessages', cache.maxMessages]] as const) {
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`MaterialsReuse: ${name} must be a positive integer, not ${n}`);
    }
    const maxUses = Math.min(reuse.maxUses, cache.maxMessages);
    const lookups = Math.max(1, Math.floor(cache.maxMessages / maxUses));
    return new MaterialsReuse(cachingMaterialsManager(keyring, { ...cache, maxMessages: lookups }), cachingMaterialsManager(keyring, cache), {
      ...reuse,
      maxUses,
    });
  }

  /** Materials for one message of `suite` under `context`. Use them before the next event-loop turn. */
  get(suite: NodeAlgorithmSuite, context: FieldEncryptionContext, plaintextLength: number, now = Date.now()): Promise<NodeEncryptionMaterial> {
    const key = `${suite.id}\u0000${JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
    let entry = this.#byScope.get(key);
    if (entry && (entry.uses >= this.#bounds.maxUses || now >= entry.until)) {
      this.#retire(entry);
      entry = undefined;
    }
    if (!entry) {
      const materials = this.manager.getEncryptionMaterials({
        suite,
        encryptionContext: context,
        plaintextLength,
        commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
      });
      const fresh: Entry = { materials, uses: 0, until: now + this.#bounds.maxAgeMs };
      entry = fresh;
      this.#byScope.set(key, fresh);
      // A failed lookup is not kept: the next value asks again.
      materials.catch(() => this.#byScope.get(key) === fresh && this.#byScope.delete(key));
      // A scope that goes quiet does not keep its data key in memory past maxAgeMs.
      setTimeout(() => {
        if (this.#byScope.get(key) !== fresh) return;
        this.#byScope.delete(key);
        this.#retire(fresh);
      }, this.#bounds.maxAgeMs).unref();
    }
    entry.uses++;
    return entry.materials;
  }

  /** Zeroes the entry's data key once every value that holds its materials has run (a turn after they resolve). */
  #retire(entry: Entry): void {
    entry.materials.then(
      (m) => setImmediate(() => m.zeroUnencryptedDataKey()),
      () => {},
    );
  }
}
