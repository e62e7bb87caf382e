import type { IncomingMessage } from 'node:http';
import * as v from 'valibot';
import { CORRELATION_HEADER } from '../http/correlationId';
import { CorrelationIdSchema } from '../routes/schemas';

const HEADER = CORRELATION_HEADER.toLowerCase();

/**
 * The request's correlation id, settled before the app sees the request: the client's `X-Request-ID` when it
 * is one the gateway keeps, a fresh UUID otherwise, written back into the request's headers (parsed and raw). The app's
 * request-id middleware then keeps it, so an answer the HTTP server writes itself (a refusal by the body
 * budget, a malformed body) names the same id as the app's log lines.
 */
export function settleCorrelationId(incoming: IncomingMessage): string {
  const raw = incoming.rawHeaders;
  const at: number[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === HEADER.length && raw[i]!.toLowerCase() === HEADER) at.push(i);
  // A repeated header is not one id (the app would read the values joined): it is replaced too.
  if (at.length === 1 && v.is(CorrelationIdSchema, raw[at[0]! + 1])) return raw[at[0]! + 1]!;
  const id = crypto.randomUUID();
  for (let j = at.length - 1; j >= 0; j--) raw.splice(at[j]!, 2);
  raw.push(CORRELATION_HEADER, id);
  // Node has already parsed `headers` from `rawHeaders`, and node-server reads that first.
  incoming.headers[HEADER] = id;
  return id;
}
