import { createMiddleware } from 'hono/factory';
import { MethodNotAllowedError } from '../errors';

interface PathMethods {
  pattern: RegExp;
  allow: string[];
}

/** Hono's `/a/:b` as a pattern matching one segment per parameter. */
const patternOf = (path: string) => new RegExp(`^${path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:\w+/g, '[^/]+')}$`);

/** What this reads of a Hono app: its routes. */
interface Routes {
  readonly routes: readonly { method: string; path: string }[];
}

/** The methods each path of `app` serves, from its routes (middleware, registered for ALL, left out). */
function pathMethods(app: Routes): PathMethods[] {
  const byPath = new Map<string, Set<string>>();
  for (const r of app.routes) {
    if (r.method === 'ALL' || r.path.includes('*')) continue;
    byPath.set(r.path, (byPath.get(r.path) ?? new Set()).add(r.method));
  }
  return [...byPath].map(([path, methods]) => ({ pattern: patternOf(path), allow: [...methods].sort() }));
}

/**
 * Answers 405 with `Allow` for a path the app serves asked with a method it does not serve there, HEAD
 * included (Hono would run the GET handler for it: on the collection, a list put on the stream). Reads the
 * routes at the first request, when every router is mounted.
 */
export function allowedMethods(app: Routes) {
  let table: PathMethods[] | undefined;
  return createMiddleware(async (c, next) => {
    table ??= pathMethods(app);
    const known = table.find((p) => p.pattern.test(c.req.path));
    if (known && !known.allow.includes(c.req.method)) {
      throw new MethodNotAllowedError(`${c.req.method} is not allowed here; allowed: ${known.allow.join(', ')}`, known.allow);
    }
    await next();
  });
}
