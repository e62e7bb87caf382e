import type { IncomingMessage, Server, ServerResponse } from 'node:http';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Keeps an emulator serving when one of its requests fails mid-body. kinesalite and dynalite answer a
 * request stream's `error` event with `throw`, so one upload its client cut off (`Error: aborted`, as when an
 * SDK call times out mid-upload) or one malformed chunked body ends the whole process. This runs the
 * emulator's request listeners, then replaces the throwing `error` listener they attached with one that
 * reports the failure and drops the request: its connection is gone or unusable, and nothing was answered.
 * Node emits a request's `error` only while a listener exists, so a request the emulator has answered (it
 * removes its listeners then) needs none.
 */
export function guardRequestStreams(server: Server, onRequestError: (error: Error, req: IncomingMessage) => void): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    for (const listener of listeners) listener.call(server, req, res);
    req.removeAllListeners('error');
    req.on('error', (e: Error) => {
      onRequestError(e, req);
      res.destroy();
    });
    res.on('error', (e: Error) => onRequestError(e, req));
  });
}
