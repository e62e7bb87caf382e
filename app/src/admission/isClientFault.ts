import { MalformedRequestError } from './errors';

/** What @hono/node-server rejects a body read with when the connection closed before the body ended. */
const PREMATURE_CLOSE_MESSAGE = 'Client connection prematurely closed.';

/**
 * Whether `err` is the client's fault in reading its request: an upload it cut off (Node's `aborted`), a
 * connection that closed before the body ended, or a body Node's parser refused (a bad chunk size, a
 * Transfer-Encoding other than chunked: the server turns those into {@link MalformedRequestError}). Such a
 * request is answered (where an answer can still be written), logged and counted as a 4xx; only the gateway's
 * own failures are 5xx. A socket error of the gateway's own calls (an AWS SDK `socket hang up`) is not one.
 */
export function isClientFault(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof MalformedRequestError) return true;
    const code = (e as { code?: unknown }).code;
    // Node's IncomingMessage: `connResetException('aborted')` when the socket closes mid-body.
    if (e.message === 'aborted' && code === 'ECONNRESET') return true;
    if (e.message === PREMATURE_CLOSE_MESSAGE) return true;
    if (code === 'ERR_STREAM_PREMATURE_CLOSE') return true;
  }
  return false;
}
