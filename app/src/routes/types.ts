import type { AuthVariables } from '../auth/authenticate';
import type { Scope } from '../auth/permissions';
import type { Logger } from '../logger';

/** Variables every request carries through the middleware. */
export interface GatewayEnv {
  Variables: AuthVariables & {
    /** Correlation id: the caller's valid `X-Request-ID` or a generated one (Hono's requestId middleware). */
    requestId: string;
    /** A logger bound to this request's ids. */
    log: Logger;
    /** The authorized business, location and resource type of a resource route. */
    scope: Scope;
    /** The write's valid `Idempotency-Key`, if it sent one. */
    idempotencyKey?: string;
  };
}
