import * as v from 'valibot';

/**
 * Reading configuration from the environment, the same way at every edge that does (the gateway's config, the
 * consumer's, the local consumer process): empty values count as unset, as in most `.env` tooling, and a bad
 * value is reported with its variable's name.
 */

export const envNonEmpty = v.pipe(v.string(), v.trim(), v.minLength(1, 'must not be empty'));

export const envInt = (min: number, max: number) =>
  v.pipe(v.string(), v.trim(), v.regex(/^\d+$/, 'must be an integer'), v.transform(Number), v.minValue(min), v.maxValue(max));

export const envBool = v.pipe(
  v.string(),
  v.trim(),
  v.toLowerCase(),
  v.picklist(['true', 'false', '1', '0', 'on', 'off', 'yes', 'no'], 'must be true or false'),
  v.transform((s) => ['true', '1', 'on', 'yes'].includes(s)),
);

export const envUrl = v.pipe(v.string(), v.trim(), v.url('must be a URL'));

/** A KMS key ARN: the consumer's keyring decrypts by key ARN, so an alias is refused on both sides. */
export const envKmsKeyArn = v.pipe(envNonEmpty, v.regex(/^arn:aws[a-z-]*:kms:[^:]+:\d{12}:key\//, 'must be a KMS key ARN (not an alias)'));

/**
 * Parses the set (non-empty) variables of `env` with `schema`.
 * @throws Error from `fail(message)`, the message naming every bad variable.
 */
export function parseEnv<S extends v.GenericSchema>(
  schema: S,
  env: Record<string, string | undefined>,
  fail: (message: string) => Error,
): v.InferOutput<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, val]) => val !== undefined && val !== ''));
  const r = v.safeParse(schema, present);
  if (r.success) return r.output;
  throw fail(r.issues.map((i) => `${v.getDotPath(i) ?? '(environment)'} ${i.message}`).join('; '));
}
