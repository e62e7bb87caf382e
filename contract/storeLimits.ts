/**
 * What the resources store (DynamoDB) can hold, in one place: the gateway refuses an operation beyond these
 * limits before its 202, and the consumer's own guard covers records written before they existed.
 */

/** DynamoDB's limit for one item: attribute names and values together. */
export const MAX_ITEM_BYTES = 400 * 1024;

/** How many recent requestIds a resource item keeps (consumer-stub/src/ResourceStore.ts `appliedWindow`). */
export const APPLIED_WINDOW = 100;

/** Longest ids the contract allows (contract/operation.ts): business and location 64, type 64, resource 128. */
const MAX_ID = { businessId: 64, locationId: 64, resourceType: 64, resourceId: 128 } as const;
const UUID_BYTES = 36;
/** DynamoDB's largest number (38 digits: 21 bytes) and an ISO timestamp. */
const NUMBER_BYTES = 21;
const TIMESTAMP_BYTES = 24;

/**
 * Bytes a resource item takes besides its `data` values, at the longest ids: the key, the applied window,
 * version, tombstone flag, times, the attribute names, the `data` map's own overhead and the `id` field a
 * create adds to `data`. A list of N elements costs 3 bytes plus 1 per element (DynamoDB's item size rules).
 */
export const RESOURCE_ITEM_OVERHEAD_BYTES =
  'pk'.length + MAX_ID.businessId + 1 + MAX_ID.locationId + 1 + MAX_ID.resourceType +
  'resourceId'.length + MAX_ID.resourceId +
  'applied'.length + 3 + APPLIED_WINDOW * (UUID_BYTES + 1) +
  'version'.length + NUMBER_BYTES +
  'deleted'.length + 1 +
  'updatedAt'.length + TIMESTAMP_BYTES +
  'expiresAt'.length + NUMBER_BYTES +
  'data'.length + 3 +
  'id'.length + MAX_ID.resourceId + 1;

/** The most a resource's `data` may take in DynamoDB's size rules ({@link dynamoSize}). */
export const MAX_DATA_BYTES = MAX_ITEM_BYTES - RESOURCE_ITEM_OVERHEAD_BYTES;

/** DynamoDB numbers: at most 38 significant digits, magnitude 1E-130 to below 1E+126 (or 0). */
export const MIN_NUMBER_MAGNITUDE = 1e-130;
/**
 * Integers beyond ±(2^53−1) were already rounded by JSON.parse, so the gateway refuses them (a stricter bound
 * than DynamoDB's 1E+126). A JavaScript number has at most 17 significant digits, within DynamoDB's 38.
 */
export const MAX_NUMBER_MAGNITUDE = Number.MAX_SAFE_INTEGER;

/** Why `n` cannot be stored as it was sent, or undefined when it can. */
export function numberProblem(n: number): string | undefined {
  const magnitude = Math.abs(n);
  if (!Number.isFinite(n) || magnitude > MAX_NUMBER_MAGNITUDE) return `numbers must lie within ±${MAX_NUMBER_MAGNITUDE}`;
  if (magnitude !== 0 && magnitude < MIN_NUMBER_MAGNITUDE) return 'numbers other than 0 must have a magnitude of at least 1E-130 (DynamoDB)';
  return undefined;
}

/** Significant digits of a number as it is marshalled (leading and trailing zeros trimmed). */
function significantDigits(n: number): number {
  let m = Math.abs(n);
  if (Number.isInteger(m)) {
    // Integers, the common case, without formatting them (a safe integer's digits are exact).
    if (m === 0) return 1;
    while (m % 10 === 0) m /= 10;
    let digits = 1;
    while (m >= 10) {
      m = Math.floor(m / 10);
      digits++;
    }
    return digits;
  }
  const [mantissa = ''] = m.toExponential().split('e');
  return Math.max(1, mantissa.replace('.', '').replace(/0+$/, '').length);
}

/**
 * The size DynamoDB counts for a JSON value: strings by their UTF-8 bytes, numbers 1 byte per two
 * significant digits plus 1, booleans and null 1, lists and maps 3 plus 1 per element plus the elements
 * (and a map's names). Undefined members are dropped, as the document client marshalls.
 */
export function dynamoSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return Math.min(NUMBER_BYTES, Math.ceil(significantDigits(value) / 2) + 1);
  if (value === null || typeof value !== 'object') return 1;
  let size = 3;
  if (Array.isArray(value)) {
    for (const e of value) size += 1 + dynamoSize(e);
    return size;
  }
  const map = value as Record<string, unknown>;
  for (const k in map) {
    const v = map[k];
    if (v !== undefined && Object.hasOwn(map, k)) size += Buffer.byteLength(k, 'utf8') + 1 + dynamoSize(v);
  }
  return size;
}
