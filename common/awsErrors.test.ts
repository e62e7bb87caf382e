import { describe, expect, it } from 'vitest';
import {
  isAccessDenied,
  isConditionalCheckFailed,
  isExpiredIterator,
  isInvalidArgument,
  isResourceNotFound,
  isRetryableAwsError,
  isRetryableRecordCode,
  isUnusableAwsResource,
  isValidationError,
} from './awsErrors';

const named = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(name), { name, ...extra });

describe('isRetryableAwsError', () => {
  it.each([
    'ProvisionedThroughputExceededException',
    'LimitExceededException',
    'KMSThrottlingException',
    'InternalFailure',
    'InternalFailureException',
    'ServiceUnavailable',
    'ServiceUnavailableException',
    'ThrottlingException',
    'RequestLimitExceeded',
    'TimeoutError',
    'RequestTimeout',
    'RequestTimeoutException',
  ])('retries %s', (name) => {
    expect(isRetryableAwsError(named(name))).toBe(true);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH'])('retries the network error %s', (code) => {
    expect(isRetryableAwsError(Object.assign(new Error('socket'), { code }))).toBe(true);
  });

  it('retries any 5xx answer and what the SDK marks retryable', () => {
    expect(isRetryableAwsError(named('SomethingNew', { $metadata: { httpStatusCode: 503 } }))).toBe(true);
    expect(isRetryableAwsError(named('SomethingNew', { $retryable: { throttling: false } }))).toBe(true);
  });

  it.each([
    ['a validation error', named('ValidationException', { $metadata: { httpStatusCode: 400 } })],
    ['a missing resource', named('ResourceNotFoundException', { $metadata: { httpStatusCode: 400 } })],
    ['an access denial', named('AccessDeniedException', { $metadata: { httpStatusCode: 400 } })],
    ['a KMS key problem', named('KMSAccessDeniedException')],
    ['an unknown network code', Object.assign(new Error('x'), { code: 'EACCES' })],
    ['something not an Error', { name: 'ThrottlingException' }],
    ['undefined', undefined],
  ])('does not retry %s', (_what, e) => {
    expect(isRetryableAwsError(e)).toBe(false);
  });
});

describe('named answers', () => {
  it('tells a failed condition, a validation error and a missing resource by name only', () => {
    expect([isConditionalCheckFailed(named('ConditionalCheckFailedException')), isConditionalCheckFailed(named('ValidationException'))]).toEqual([true, false]);
    expect([isValidationError(named('ValidationException')), isValidationError(named('ConditionalCheckFailedException'))]).toEqual([true, false]);
    expect([isResourceNotFound(named('ResourceNotFoundException')), isResourceNotFound(named('ResourceInUseException'))]).toEqual([true, false]);
  });

  it('is false for nothing at all and for a plain object that only looks like an error', () => {
    expect([isConditionalCheckFailed(undefined), isValidationError(undefined), isResourceNotFound(undefined)]).toEqual([false, false, false]);
    expect(isResourceNotFound({ name: 'ResourceNotFoundException' })).toBe(false);
  });
});

describe('isAccessDenied', () => {
  it.each(['AccessDeniedException', 'UnrecognizedClientException'])('takes %s for refused credentials', (name) => {
    expect(isAccessDenied(named(name, { $metadata: { httpStatusCode: 400 } }))).toBe(true);
  });

  it.each([
    ['a missing resource', named('ResourceNotFoundException')],
    ['a KMS key denial', named('KMSAccessDeniedException')],
    ['an expired token', named('ExpiredTokenException')],
    ['a network error', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })],
    ['undefined', undefined],
  ])('does not take %s for one', (_what, e) => {
    expect(isAccessDenied(e)).toBe(false);
  });
});

describe('Kinesis iterator answers', () => {
  it('tells an expired iterator by name only', () => {
    expect([isExpiredIterator(named('ExpiredIteratorException')), isExpiredIterator(named('InvalidArgumentException')), isExpiredIterator(undefined)]).toEqual([
      true,
      false,
      false,
    ]);
  });

  it('tells a refused argument by name only', () => {
    expect([isInvalidArgument(named('InvalidArgumentException')), isInvalidArgument(named('ExpiredIteratorException')), isInvalidArgument(undefined)]).toEqual([
      true,
      false,
      false,
    ]);
  });
});

describe('isUnusableAwsResource', () => {
  it.each(['ResourceNotFoundException', 'AccessDeniedException', 'UnrecognizedClientException'])('takes %s for a resource that cannot be used', (name) => {
    expect(isUnusableAwsResource(named(name, { $metadata: { httpStatusCode: 400 } }))).toBe(true);
  });

  it.each([
    ['a transient failure', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['a failed condition', named('ConditionalCheckFailedException')],
    ['a validation error', named('ValidationException')],
    ['a plain object', { name: 'ResourceNotFoundException' }],
  ])('does not take %s for one', (_what, e) => {
    expect(isUnusableAwsResource(e)).toBe(false);
  });
});

describe('isRetryableRecordCode', () => {
  it.each(['ProvisionedThroughputExceededException', 'InternalFailure', 'KMSThrottlingException'])('sends a record refused with %s again', (code) => {
    expect(isRetryableRecordCode(code)).toBe(true);
  });

  it.each(['KMSAccessDeniedException', 'KMSNotFoundException', 'KMSDisabledException', 'ValidationException', ''])('does not send a record refused with %j again', (code) => {
    expect(isRetryableRecordCode(code)).toBe(false);
  });
});
