import { getLocalCryptographicMaterialsCache, NodeCachingMaterialsManager, type KeyringNode } from '@aws-crypto/client-node';

/** How long and how often one data key may be reused, and how many are kept. */
export interface DataKeyCacheBounds {
  /** A data key is not used after this age (ms). */
  maxAgeMs: number;
  /** A data key encrypts at most this many messages (field values). */
  maxMessages: number;
  /** Data keys kept at once (least recently used go first): one per tenant scope in use. */
  capacity: number;
}

/**
 * Defaults: a data key lives 5 minutes and encrypts at most 10,000 field values, so a busy scope calls KMS about
 * once per 5 minutes instead of per request, and one leaked data key exposes at most 5 minutes or 10,000
 * values of one business, location and resource type. 1,000 scopes stay cached (a few hundred bytes each).
 */
export const DEFAULT_DATA_KEY_CACHE: DataKeyCacheBounds = { maxAgeMs: 5 * 60_000, maxMessages: 10_000, capacity: 1_000 };

/**
 * The SDK's caching materials manager over `keyring`. Entries are keyed by the encryption context (plus the
 * suite, and on decrypt the encrypted data key), so with the tenant scope as context each scope has its own
 * data key; on decrypt, messages made with one data key unwrap it once.
 */
export function cachingMaterialsManager(keyring: KeyringNode, bounds: DataKeyCacheBounds = DEFAULT_DATA_KEY_CACHE): NodeCachingMaterialsManager {
  return new NodeCachingMaterialsManager({
    backingMaterials: keyring,
    cache: getLocalCryptographicMaterialsCache(bounds.capacity),
    maxAge: bounds.maxAgeMs,
    maxMessagesEncrypted: bounds.maxMessages,
  });
}
