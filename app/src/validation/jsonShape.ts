import { numberProblem } from '../../../contract/storeLimits';

/** Keys that reach an object's prototype when copied or merged naively. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Whether `key` is one of the prototype-polluting names refused anywhere in a request. */
export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

/** Deepest nesting of objects and arrays accepted in a body. */
export const MAX_JSON_DEPTH = 32;

/**
 * Finds what makes a parsed JSON value unsafe to pass on: a prototype-polluting key anywhere, nesting deeper
 * than {@link MAX_JSON_DEPTH}, or a number the store cannot hold (contract/storeLimits.ts). Returns a message,
 * or undefined when it is fine.
 */
export function findUnsafeJson(value: unknown, path = '', depth = 0): { field: string; message: string } | undefined {
  if (typeof value === 'number') {
    const problem = numberProblem(value);
    return problem ? { field: path || '(root)', message: problem } : undefined;
  }
  // An escaped lone surrogate (`"\ud800"`) passes the strict UTF-8 decoding of the body as ASCII, then becomes
  // U+FFFD on the way out: refuse it like invalid UTF-8.
  if (typeof value === 'string' && !value.isWellFormed()) return { field: path || '(root)', message: 'the string is not valid Unicode (a lone surrogate)' };
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= MAX_JSON_DEPTH) return { field: path || '(root)', message: `nesting deeper than ${MAX_JSON_DEPTH} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnsafeJson(value[i], `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const here = path ? `${path}.${key}` : key;
    if (FORBIDDEN_KEYS.has(key)) return { field: here, message: `key "${key}" is not allowed` };
    if (!key.isWellFormed()) return { field: here, message: 'the key is not valid Unicode (a lone surrogate)' };
    const found = findUnsafeJson((value as Record<string, unknown>)[key], here, depth + 1);
    if (found) return found;
  }
  return undefined;
}
