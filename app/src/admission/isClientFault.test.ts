import { describe, expect, it } from 'vitest';
import { MalformedRequestError } from './errors';
import { isClientFault } from './isClientFault';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isClientFault', () => {
  it.each([
    ["Node's abort of a body cut off mid-upload", withCode('aborted', 'ECONNRESET')],
    ["node-server's read of a body whose connection closed", new Error('Client connection prematurely closed.')],
    ['a stream closed before its end', withCode('Premature close', 'ERR_STREAM_PREMATURE_CLOSE')],
    ['a body the HTTP server found malformed', new MalformedRequestError('bad chunk')],
    ['one of those as the cause of another error', new Error('body read failed', { cause: withCode('aborted', 'ECONNRESET') })],
  ])('is true for %s', (_name, err) => {
    expect(isClientFault(err)).toBe(true);
  });

  it.each([
    ["the SDK's socket hang up on a call of the gateway's", withCode('socket hang up', 'ECONNRESET')],
    ['a timeout of a call', Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['not an error', 'aborted'],
  ])('is false for %s', (_name, err) => {
    expect(isClientFault(err)).toBe(false);
  });
});
