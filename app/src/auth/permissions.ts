import { OPERATIONS, type OperationName } from '../../../contract/operation';

/** What a request touches: the business, location and resource type. */
export interface Scope {
  businessId: string;
  locationId: string;
  resourceType: string;
}

/** A parsed permission `{businessId}:{locationId}:{resourceType}:{operation}`; `*` matches any value of a segment. */
export type Permission = readonly [businessId: string, locationId: string, resourceType: string, operation: string];

const WILDCARD = '*';

/** Parses the `permissions` claim; entries that are not four non-empty segments with a known operation are dropped. */
export function parsePermissions(claim: unknown): Permission[] {
  if (!Array.isArray(claim)) return [];
  const out: Permission[] = [];
  for (const entry of claim) {
    if (typeof entry !== 'string') continue;
    const parts = entry.split(':');
    if (parts.length !== 4 || parts.some((p) => p.length === 0)) continue;
    const [b, l, t, op] = parts as [string, string, string, string];
    if (op !== WILDCARD && !(OPERATIONS as readonly string[]).includes(op)) continue;
    out.push([b, l, t, op]);
  }
  return out;
}

// A wildcard matches any value, never a missing one (an outcome salvaged without its scope is visible to nobody).
const matches = (pattern: string, value: string | undefined) => typeof value === 'string' && (pattern === WILDCARD || pattern === value);

function inScope(p: Permission, s: Scope): boolean {
  return matches(p[0], s.businessId) && matches(p[1], s.locationId) && matches(p[2], s.resourceType);
}

/** True when some permission grants `operation` on `scope`. */
export function isAllowed(permissions: readonly Permission[], scope: Scope, operation: OperationName): boolean {
  return permissions.some((p) => inScope(p, scope) && matches(p[3], operation));
}

/** True when some permission grants any operation on `scope` (enough to see an operation's status). */
export function hasAnyPermission(permissions: readonly Permission[], scope: Scope): boolean {
  return permissions.some((p) => inScope(p, scope));
}
