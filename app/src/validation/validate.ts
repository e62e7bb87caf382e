import * as v from 'valibot';
import { ValidationError, type FieldIssue } from '../errors';

/** valibot issues as `error.details`, fields named `{where}.{path}`. */
export function toFieldIssues(where: string, issues: readonly v.BaseIssue<unknown>[]): FieldIssue[] {
  return issues.map((i) => {
    const path = v.getDotPath(i);
    const field = path ? `${where}.${path}` : where;
    const missing = i.kind === 'schema' && i.input === undefined;
    return { field, message: missing ? 'is required' : i.message };
  });
}

/** Parses `input` with `schema` or throws a {@link ValidationError} listing every bad field. */
export function parseOrThrow<S extends v.GenericSchema>(schema: S, input: unknown, where: string): v.InferOutput<S> {
  const r = v.safeParse(schema, input);
  if (r.success) return r.output;
  throw new ValidationError('the request is invalid', toFieldIssues(where, r.issues));
}
