import { createMiddleware } from 'hono/factory';
import { dynamoSize, MAX_DATA_BYTES } from '../../../contract/storeLimits';
import { PayloadTooLargeError, ValidationError } from '../errors';
import type { GatewayEnv } from '../routes/types';
import { findUnsafeJson } from '../validation/jsonShape';

/**
 * Refuses a write's `data` the store could not apply, so a 202 is given only to what can be: unsafe shapes
 * and numbers DynamoDB cannot hold (400, naming the field), and data beyond the resource item's size limit
 * (413, naming it); see contract/storeLimits.ts.
 */
export function storableData() {
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const { data } = c.get('body');
    const unsafe = findUnsafeJson(data);
    if (unsafe) throw new ValidationError('the request is invalid', [{ field: `json.data.${unsafe.field}`, message: unsafe.message }]);
    const size = dynamoSize(data);
    if (size > MAX_DATA_BYTES) {
      throw new PayloadTooLargeError(`data takes ${size} bytes in the store; a resource's data takes at most ${MAX_DATA_BYTES} (DynamoDB's 400 KB item limit less the item's own fields)`);
    }
    await next();
  });
}
