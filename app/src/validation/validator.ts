import { vValidator } from '@hono/valibot-validator';
import type { ValidationTargets } from 'hono';
import type * as v from 'valibot';
import { ValidationError } from '../errors';
import { toFieldIssues } from './validate';

/**
 * `@hono/valibot-validator` with the gateway's error shape: a failure throws {@link ValidationError} with
 * one detail per bad field, which `app.onError` answers as 400.
 */
export function validator<S extends v.GenericSchema, T extends keyof ValidationTargets>(target: T, schema: S) {
  return vValidator(target, schema, (result) => {
    if (!result.success) throw new ValidationError('the request is invalid', toFieldIssues(target, result.issues));
  });
}
