import { createHash } from 'node:crypto';
import type { Scope } from '../auth/permissions';

/** JSON with every object's keys sorted, so two bodies that mean the same serialize the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** What makes two requests "the same" for an `Idempotency-Key`. */
export interface FingerprintInput {
  method: string;
  path: string;
  scope: Scope;
  /** The validated body; undefined for a request without one. */
  body?: unknown;
}

/** SHA-256 (hex) of the method, path, scope headers and canonical JSON of the body. */
export function requestFingerprint(r: FingerprintInput): string {
  // A JSON array keeps the parts apart whatever characters they contain.
  const parts = [r.method.toUpperCase(), r.path, r.scope.businessId, r.scope.locationId, r.scope.resourceType, canonicalJson(r.body ?? null)];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
