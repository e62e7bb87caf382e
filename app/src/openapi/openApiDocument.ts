import type { Env, Hono, Schema } from 'hono';
import { openAPIRouteHandler, resolver, type DescribeRouteOptions, type GenerateSpecOptions } from 'hono-openapi';
import type { OpenAPIV3_1 } from 'openapi-types';
import * as v from 'valibot';
import { CorrelationIdSchema, ErrorBodySchema, WriteHeadersSchema } from '../routes/schemas';
import { CONVERSION, jsonSchemaOf } from './jsonSchema';
import { ERROR_RESPONSES, ref, type ErrorResponseName, type ParameterSchema } from './routeDocs';

/** Version of the HTTP API the document describes. */
export const API_VERSION = '1.0.0';

const DESCRIPTION = `An authorizing gateway in front of Amazon Kinesis. Each resource route checks the caller's token and
permission, validates the request, puts one operation on the stream and answers \`202\` with its \`requestId\` once
Kinesis acknowledged it; \`GET /api/requests/{requestId}\` follows the operation until the consumer applied it.

**Authentication**: \`Authorization: Bearer <JWT>\` on every \`/api\` route (HS256 with a shared secret, or RS256/ES256
with a JWKS). The token's \`sub\` names the caller; its \`permissions\` claim lists what it may do.

**Permissions**: each entry is \`{businessId}:{locationId}:{resourceType}:{operation}\` with \`operation\` one of
\`create\`, \`update\`, \`patch\`, \`delete\`, \`list\`; any segment may be \`*\`. A resource route needs a permission
matching its \`X-Business-ID\`, \`X-Location-ID\`, \`X-Resource-Type\` and operation (else 403); the status route needs
any permission on the operation's business, location and resource type (else 404, as if it did not exist).
Example: \`business-123:*:appointment:*\` grants every operation on appointments in every location of business-123.

**Idempotent retries**: writes (POST, PUT, PATCH, DELETE) take an optional \`Idempotency-Key\`. The same key from the
same \`sub\` within 24 hours replays the first answer (same status, \`requestId\`, \`Location\` and body) without writing
a second record; the same key with a different request (method, path, scope headers or body) is 422.

**Correlation**: every answer carries \`X-Request-ID\`: the caller's, if it matches \`[A-Za-z0-9_-]{1,128}\`, else a
generated UUID. It is logged with every line about the request, by the gateway and the consumer.`;

/** An error body whose `error.code` is `code`. */
const errorBodyFor = (code: string) =>
  v.object({ ...ErrorBodySchema.entries, error: v.object({ ...ErrorBodySchema.entries.error.entries, code: v.literal(code) }) });

type ResponseComponents = NonNullable<NonNullable<GenerateSpecOptions['documentation']['components']>['responses']>;

function errorResponses(): ResponseComponents {
  const out: ResponseComponents = {};
  for (const [name, { error, when }] of Object.entries(ERROR_RESPONSES) as [ErrorResponseName, (typeof ERROR_RESPONSES)[ErrorResponseName]][]) {
    const headers: Record<string, { $ref: string }> = { 'X-Request-ID': ref('headers', 'X-Request-ID') };
    if ('Retry-After' in error.headers) headers['Retry-After'] = ref('headers', 'Retry-After');
    if ('WWW-Authenticate' in error.headers) headers['WWW-Authenticate'] = ref('headers', 'WWW-Authenticate');
    out[name] = {
      description: `\`${error.code}\`: ${when}`,
      headers,
      content: { 'application/json': { schema: resolver(errorBodyFor(error.code), { options: CONVERSION }) } },
    };
  }
  return out;
}

function headerParameters() {
  const h = WriteHeadersSchema.entries;
  const header = (name: string, schema: v.GenericSchema, required: boolean, description: string) => ({
    in: 'header' as const,
    name,
    required,
    description,
    schema: jsonSchemaOf<ParameterSchema>(schema),
  });
  return {
    BusinessId: header('X-Business-ID', h['x-business-id'], true, 'The business the operation touches.'),
    LocationId: header('X-Location-ID', h['x-location-id'], true, 'The location, within the business.'),
    ResourceType: header('X-Resource-Type', h['x-resource-type'], true, 'The kind of resource, e.g. `appointment`.'),
    IdempotencyKey: header(
      'Idempotency-Key',
      h['idempotency-key'].wrapped,
      false,
      'Makes a write safe to retry: 1-128 visible ASCII characters (else 400), e.g. a UUID the client generates per ' +
        'intended operation. The same key from the same caller within 24 hours replays the first answer (same status, ' +
        '`requestId`, `Location` and body) and writes nothing; with a different request it is 422 ' +
        '`IDEMPOTENCY_KEY_REUSED`; while the first is still in flight a repeat waits for it (up to 3 s, then 409 ' +
        '`IDEMPOTENCY_KEY_IN_USE`). A key whose first request failed (5xx) may be retried with the same request.',
    ),
    RequestId: header(
      'X-Request-ID',
      CorrelationIdSchema,
      false,
      'Correlation id: returned on the answer and logged with every line about the request. One that does not match is replaced by a generated UUID.',
    ),
  };
}

type Components = NonNullable<GenerateSpecOptions['documentation']['components']>;

const HEADERS: Components['headers'] = {
  'X-Request-ID': { description: "The request's correlation id: the caller's valid `X-Request-ID`, or a generated UUID.", schema: { type: 'string' } },
  Location: { description: "`/api/requests/{requestId}`: the operation's status.", schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
  'WWW-Authenticate': { description: '`Bearer`.', schema: { type: 'string' } },
};

const HealthBodySchema = v.object({ status: v.literal('ok') });
const ReadyBodySchema = v.looseObject({ ready: v.boolean(), status: v.picklist(['ready', 'not ready']), draining: v.optional(v.boolean()) });

/** `/health` and `/ready` (health.ts), documented here. */
function healthPaths() {
  const plain = (summary: string, description: string, operationId: string, responses: OpenAPIV3_1.ResponsesObject) => ({
    get: { operationId, tags: ['health'], summary, description, security: [], responses },
  });
  const json = (schema: v.GenericSchema, description: string): OpenAPIV3_1.ResponseObject => ({
    description,
    headers: { 'X-Request-ID': ref('headers', 'X-Request-ID') },
    content: { 'application/json': { schema: jsonSchemaOf(schema) } },
  });
  return {
    '/health': plain('Liveness', 'The process runs (the load balancer checks it). No authentication.', 'health', {
      200: json(HealthBodySchema, 'Alive.'),
    }),
    '/ready': plain('Readiness', 'The gateway can take operations now: the stream answers and it is not draining. No authentication.', 'ready', {
      200: json(ReadyBodySchema, 'Ready.'),
      503: json(ReadyBodySchema, 'Not ready (the stream does not answer, or the gateway is draining).'),
    }),
  };
}

/** How `GET /openapi.json` describes itself; app.ts hands it to `describeRoute`. */
export const OPENAPI_ROUTE_DOCS: DescribeRouteOptions = {
  operationId: 'openapi',
  tags: ['health'],
  summary: 'This document',
  description: 'The OpenAPI 3.1 document of the gateway. No authentication.',
  security: [],
  responses: { 200: { description: 'The document.', content: { 'application/json': { schema: { type: 'object' } } } } },
};

/** What hono-openapi adds to the routes' own descriptions: info, security scheme, shared components, health paths. */
export function openApiOptions(): Partial<GenerateSpecOptions> {
  return {
    // `/openapi.json` looks like a static file to hono-openapi, which would leave it out.
    excludeStaticFile: false,
    documentation: {
      info: { title: 'Kinesis resource gateway', version: API_VERSION, description: DESCRIPTION },
      tags: [
        { name: 'resources', description: 'Operations on resources, accepted onto the stream.' },
        { name: 'requests', description: 'The status of an accepted operation.' },
        { name: 'health', description: 'Unauthenticated probes and this document.' },
      ],
      security: [{ bearerAuth: [] }],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              'A JWT with `sub` (the caller) and `permissions` (an array of `{businessId}:{locationId}:{resourceType}:{operation}`, `*` matching any value of a segment).',
          },
        },
        parameters: headerParameters(),
        headers: HEADERS,
        responses: errorResponses(),
      },
      // hono-openapi types a path's operations as OpenAPI 3.0 and 3.1 objects at once, which no value satisfies.
      paths: healthPaths() as unknown as NonNullable<GenerateSpecOptions['documentation']['paths']>,
    },
  };
}

/** `GET /openapi.json`: the document of `app`, generated once from its routes' descriptions and schemas. */
export function openApiHandler<E extends Env, S extends Schema, P extends string>(app: Hono<E, S, P>) {
  return openAPIRouteHandler(app, openApiOptions());
}
