import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { HeadersTooLargeError, MalformedRequestError, RequestTimeoutError } from '../admission/errors';
import { rawErrorAnswer } from '../admission/jsonErrorAnswer';
import type { GatewayError } from '../errors';

/** A request the app has, and its answer, not yet written. */
export interface Exchange {
  incoming: IncomingMessage;
  res: ServerResponse;
  correlationId: string;
}

export interface ClientErrorOptions {
  /** The latest request on `socket` whose answer is not written yet. */
  inFlight(socket: Duplex): Exchange | undefined;
  /**
   * Told of every answer written here, for the access log and the metrics; `appCounts` when the request is one
   * the app has too (it logs and counts that request itself).
   */
  onAnswer(e: GatewayError, correlationId: string, appCounts: boolean): void;
  /** How long a refused connection may keep sending before it is cut, ms. @default 2000 */
  lingerMs?: number;
}

/** What Node's parser refused, as the gateway's error. */
function errorFor(err: Error & { code?: string }): GatewayError {
  if (err.code === 'HPE_HEADER_OVERFLOW') return new HeadersTooLargeError('the request headers are too large');
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new RequestTimeoutError('the request took too long to arrive');
  return new MalformedRequestError('the request is malformed', undefined, { cause: err });
}

/**
 * Writes the answer and closes, reading (and dropping) what the client still sends for a while: closing with
 * unread bytes would reset the connection, and the client could lose the answer.
 */
export function answerAndClose(socket: Duplex, answer: string, lingerMs: number): void {
  socket.end(answer);
  socket.resume();
  const cut = setTimeout(() => socket.destroy(), lingerMs);
  cut.unref();
  // The server's sockets allow half-open connections: the client's end is the end.
  socket.once('end', () => socket.destroy());
  socket.once('close', () => clearTimeout(cut));
}

/**
 * Node's HTTP parser refuses some requests before or while the app reads them (headers over `maxHeaderSize`,
 * an invalid character in the request line or a header, a bad chunk size, a Transfer-Encoding other than
 * chunked, bytes after a request that are not one): it would answer with a bare status line, or with a 400
 * ahead of an answer still being written. This answers in the gateway's JSON error shape with X-Request-ID:
 * - nothing in flight on the connection: the refusal, with a fresh id;
 * - a request whose body was being read: that request is the malformed one, answered with its own id (the
 *   app's read then fails as the client's fault, a 4xx);
 * - a request read whole, then garbage: its answer is written first, then the refusal of what followed, so
 *   an operation accepted on the stream is never answered 400.
 */
export function answerClientErrorsAsJson(server: Server, o: ClientErrorOptions): void {
  const lingerMs = o.lingerMs ?? 2000;
  const refuse = (socket: Duplex, e: GatewayError, correlationId: string, appCounts = false) => {
    o.onAnswer(e, correlationId, appCounts);
    answerAndClose(socket, rawErrorAnswer(e, correlationId), lingerMs);
  };
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    const exchange = o.inFlight(socket);
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const e = errorFor(err);
    if (!exchange) return refuse(socket, e, crypto.randomUUID());
    if (!exchange.incoming.complete) return refuse(socket, e, exchange.correlationId, true);
    exchange.res.once('close', () => (socket.writable ? refuse(socket, e, crypto.randomUUID()) : socket.destroy()));
  });
}
