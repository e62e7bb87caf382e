import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Node's HTTP parser refuses some requests before the app sees them (headers over `maxHeaderSize`, invalid
 * characters in the request line or a header): it would answer with a bare status line. This answers them
 * in the gateway's JSON error shape instead, and closes the connection.
 */
export function answerClientErrorsAsJson(server: Server): void {
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    if (!socket.writable || (err.code === 'ECONNRESET')) {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
    const body = JSON.stringify({
      success: false,
      error: tooLarge
        ? { code: 'HEADERS_TOO_LARGE', message: 'the request headers are too large' }
        : { code: 'VALIDATION_ERROR', message: 'the request is malformed' },
    });
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
}
