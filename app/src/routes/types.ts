import type { AuthVariables } from '../auth/authenticate';
import type { Scope } from '../auth/permissions';
import type { Logger } from '../logger';
import type { WriteBody } from './schemas';

/** Variables every request carries through the middleware. */
export interface GatewayEnv {
  Variables: AuthVariables & {
    /** The HTTP request's id: the caller's valid `X-Request-ID` or a generated one (http/correlationId.ts). */
    correlationId: string;
    /** A logger bound to this request's ids. */
    log: Logger;
    /** The authorized business, location and resource type of a resource route. */
    scope: Scope;
    /** The write's valid `Idempotency-Key`, if it sent one. */
    idempotencyKey?: string;
    /** The body, strictly decoded as UTF-8 (http/strictUtf8Body.ts). */
    bodyText: string;
    /** A write's validated body (http/jsonBody.ts). */
    body: WriteBody;
  };
}
