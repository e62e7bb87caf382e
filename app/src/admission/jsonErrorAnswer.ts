import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { GatewayError } from '../errors';
import { CORRELATION_HEADER } from '../http/correlationId';

/** The gateway's error body, the same shape `app.onError` answers with. */
export function errorBody(e: GatewayError): string {
  return JSON.stringify({ success: false, error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } });
}

/** The headers of an answer the HTTP server writes before or instead of the app. */
function errorHeaders(e: GatewayError, correlationId?: string): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    ...(correlationId ? { [CORRELATION_HEADER]: correlationId } : {}),
    'X-Content-Type-Options': 'nosniff',
    ...e.headers,
  };
}

/**
 * `e` as a whole HTTP/1.1 answer for a raw socket, for when Node's parser has given up on the connection:
 * the connection closes after it.
 */
export function rawErrorAnswer(e: GatewayError, correlationId: string): string {
  const body = errorBody(e);
  const head = Object.entries({ ...errorHeaders(e, correlationId), 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}\r\n${head}\r\n${body}`;
}

/**
 * Answers `e` on a response the app never saw. Node then reads and drops the body the request still sends
 * (never holding it), and the connection stays usable: closing with unread bytes would reset it, and the
 * client could lose the answer.
 */
export function writeErrorAnswer(res: ServerResponse, e: GatewayError, correlationId: string): void {
  const body = errorBody(e);
  res.writeHead(e.status, { ...errorHeaders(e, correlationId), 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/**
 * `e` as a fetch Response, for @hono/node-server's error handler (a request it could not turn into a fetch
 * Request). Its X-Request-ID is the one already set on the Node response.
 */
export function errorResponse(e: GatewayError): Response {
  return new Response(errorBody(e), { status: e.status, headers: errorHeaders(e) });
}
