import { GatewayError, RetryLaterError } from '../errors';

/** The task holds as many request bodies as its budget allows; the client should retry shortly. */
export class GatewayBusyError extends RetryLaterError {
  override readonly name = 'GatewayBusyError';
  readonly code = 'GATEWAY_BUSY';
}

/**
 * The request could not be read as HTTP: a malformed request line, header, chunk or Host, or an upload the
 * client cut off. The client's fault, so a 400, never a 5xx.
 */
export class MalformedRequestError extends GatewayError {
  override readonly name = 'MalformedRequestError';
  // The code of every other refusal of what the client sent.
  readonly code = 'VALIDATION_ERROR';
  readonly status = 400;
}

/** The client took longer than the server's `requestTimeout` to send its request, or paused its body too long. */
export class RequestTimeoutError extends GatewayError {
  override readonly name = 'RequestTimeoutError';
  readonly code = 'REQUEST_TIMEOUT';
  readonly status = 408;
}

/** The request line and headers exceed Node's `maxHeaderSize`. */
export class HeadersTooLargeError extends GatewayError {
  override readonly name = 'HeadersTooLargeError';
  readonly code = 'HEADERS_TOO_LARGE';
  readonly status = 431;
}

/** The request's `Expect` asks for something other than `100-continue`, which is all the gateway meets. */
export class ExpectationFailedError extends GatewayError {
  override readonly name = 'ExpectationFailedError';
  readonly code = 'EXPECTATION_FAILED';
  readonly status = 417;
}
