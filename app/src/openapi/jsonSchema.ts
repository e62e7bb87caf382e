import { toJsonSchema, type ConversionConfig } from '@valibot/to-json-schema';
import type { OpenAPIV3_1 } from 'openapi-types';
import type * as v from 'valibot';
import { DataSchema } from '../../../contract/operation';

/**
 * How the gateway's valibot schemas become OpenAPI 3.1 (JSON Schema 2020-12) schemas. `input` describes what
 * a client sends (a query string before it is turned into a number); checks JSON Schema cannot express
 * (transforms, cross-field checks) are left out and stated in descriptions instead.
 */
export const CONVERSION: ConversionConfig = {
  target: 'draft-2020-12',
  typeMode: 'input',
  errorMode: 'ignore',
  overrideSchema: ({ valibotSchema }) =>
    // A custom check, opaque to the converter.
    valibotSchema === DataSchema
      ? { type: 'object', additionalProperties: true, description: "The resource's fields: any JSON object (at most 32 levels deep)." }
      : undefined,
};

/**
 * The JSON Schema of `schema` under {@link CONVERSION}, without `$schema` (the document's dialect applies).
 * `T` is the schema type of the position it goes to: openapi-types types parameters with OpenAPI 3.0's
 * schema object, the rest with 3.1's; the value is JSON Schema 2020-12, OpenAPI 3.1's dialect, for both.
 */
export function jsonSchemaOf<T = OpenAPIV3_1.SchemaObject>(schema: v.GenericSchema): T {
  const { $schema: _, ...rest } = toJsonSchema(schema, CONVERSION);
  return rest as T;
}
