import type { Env, Hono, Schema } from 'hono';
import { openAPIRouteHandler, resolver, type DescribeRouteOptions, type GenerateSpecOptions } from 'hono-openapi';
import type { OpenAPIV3_1 } from 'openapi-types';
import * as v from 'valibot';
import { LOCAL_DEFAULTS } from '../../../common/localDefaults';
import { CORRELATION_ID_PATTERN, ErrorBodySchema, WriteHeadersSchema } from '../routes/schemas';
import { MAX_WAIT_SECONDS } from '../status/StatusWaiter';
import { CONVERSION, jsonSchemaOf } from './jsonSchema';
import { ALWAYS, ANY_ROUTE, ERROR_RESPONSES, ref, statusOf, type ErrorResponseName, type ParameterSchema } from './routeDocs';

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

**Waiting for the outcome**: \`GET /api/requests/{requestId}\` with \`Prefer: wait=N\` (RFC 7240, N up to 20 s)
answers once the operation completed or failed, or after N seconds with \`processing\`; a \`processing\` answer says in
\`Retry-After\` when to read again.

**Methods**: a documented path asked with a method it does not take (HEAD included) answers \`405\` with \`Allow\`
(the \`MethodNotAllowed\` response).

**Correlation**: every answer carries \`X-Request-ID\`: the caller's, if it matches \`[A-Za-z0-9_-]{1,128}\`, else a
generated UUID (a request's value is never refused). It is logged with every line about the request, by the gateway
and the consumer. The HTTP server's own answers (\`400\` for a request it cannot parse, \`408\`, \`417\`, \`431\`, \`503
GATEWAY_BUSY\`) carry it too, except where the connection cannot be answered at all (a client that is gone).`;

/** An error body whose `error.code` is one of `codes`. */
const errorBodyFor = (codes: string[]) =>
  v.object({
    ...ErrorBodySchema.entries,
    error: v.object({ ...ErrorBodySchema.entries.error.entries, code: codes.length === 1 ? v.literal(codes[0]!) : v.picklist(codes) }),
  });

type ResponseComponents = NonNullable<NonNullable<GenerateSpecOptions['documentation']['components']>['responses']>;

function errorResponses(): ResponseComponents {
  const out: ResponseComponents = {};
  for (const [name, { errors, when }] of Object.entries(ERROR_RESPONSES) as [ErrorResponseName, (typeof ERROR_RESPONSES)[ErrorResponseName]][]) {
    const headers: Record<string, { $ref: string }> = { 'X-Request-ID': ref('headers', 'X-Request-ID') };
    for (const h of new Set(errors.flatMap((e) => Object.keys(e.headers)))) headers[h] = ref('headers', h);
    const codes = errors.map((e) => e.code);
    out[name] = {
      description: `${codes.map((c) => `\`${c}\``).join(', ')}: ${when}`,
      headers,
      content: { 'application/json': { schema: resolver(errorBodyFor(codes), { options: CONVERSION }) } },
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
    // Any string: one outside the kept alphabet is replaced, not refused, so the schema must not refuse it either.
    RequestId: {
      in: 'header' as const,
      name: 'X-Request-ID',
      required: false,
      description:
        'Correlation id: returned on the answer and logged with every line about the request. Kept when it matches ' +
        `\`${CORRELATION_ID_PATTERN}\`; any other value is replaced by a generated UUID (never refused).`,
      schema: { type: 'string' } as ParameterSchema,
    },
    Prefer: {
      in: 'header' as const,
      name: 'Prefer',
      required: false,
      description: `RFC 7240 preferences; \`wait=N\` (seconds, at most ${MAX_WAIT_SECONDS}; more is shortened) waits for the outcome. Others are ignored.`,
      schema: { type: 'string', examples: ['wait=10'] } as ParameterSchema,
    },
  };
}

type Components = NonNullable<GenerateSpecOptions['documentation']['components']>;

const HEADERS: Components['headers'] = {
  'X-Request-ID': {
    description: "The request's correlation id: the caller's `X-Request-ID` if kept, else a generated UUID.",
    required: true,
    schema: { type: 'string', pattern: CORRELATION_ID_PATTERN },
  },
  Location: { description: "`/api/requests/{requestId}`: the operation's status.", required: true, schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before retrying.', required: true, schema: { type: 'integer', minimum: 0 } },
  'WWW-Authenticate': { description: '`Bearer`.', required: true, schema: { type: 'string' } },
  Allow: { description: 'The methods the path takes, e.g. `GET, POST`.', required: true, schema: { type: 'string' } },
  'Preference-Applied': {
    description: '`wait=N` when the gateway waited (up to N seconds) for the outcome.',
    required: false,
    schema: { type: 'string', pattern: '^wait=\\d+$' },
  },
  'Retry-After-Processing': {
    description: 'On a `processing` status: seconds to wait before reading it again.',
    required: false,
    schema: { type: 'integer', minimum: 0 },
  },
};

const HealthBodySchema = v.object({ status: v.literal('ok') });
const ReadyBodySchema = v.looseObject({ ready: v.boolean(), status: v.picklist(['ready', 'not ready']), draining: v.optional(v.boolean()) });

/** The errors any route can answer, as response `$ref`s: those of {@link ANY_ROUTE}, and the 503 of a route without dependencies. */
const anyRouteErrors = (): Record<string, { $ref: string }> =>
  Object.fromEntries([...ANY_ROUTE, 'GatewayBusy' as const].map((n) => [String(statusOf(n)), ref('responses', n)]));

/** `/ready`'s 503: not ready, or the HTTP server's `GATEWAY_BUSY`. */
function notReady(): OpenAPIV3_1.ResponseObject {
  return {
    description:
      'Not ready (the stream does not answer, or the gateway is draining): the readiness body. Or `GATEWAY_BUSY`, the ' +
      "error body with `Retry-After`: the task holds as many request bodies as its memory budget allows (see `GatewayBusy`).",
    headers: {
      ...ALWAYS,
      'Retry-After': { description: 'On `GATEWAY_BUSY`: seconds to wait before retrying.', required: false, schema: { type: 'integer', minimum: 0 } },
    },
    content: { 'application/json': { schema: { anyOf: [jsonSchemaOf(ReadyBodySchema), jsonSchemaOf(errorBodyFor(['GATEWAY_BUSY']))] } } },
  };
}

/** `/health` and `/ready` (health.ts), documented here. */
function healthPaths() {
  const plain = (summary: string, description: string, operationId: string, responses: OpenAPIV3_1.ResponsesObject) => ({
    get: { operationId, tags: ['health'], summary, description, security: [], responses },
  });
  const json = (schema: v.GenericSchema, description: string): OpenAPIV3_1.ResponseObject => ({
    description,
    headers: ALWAYS,
    content: { 'application/json': { schema: jsonSchemaOf(schema) } },
  });
  return {
    '/health': plain('Liveness', 'The process runs (the load balancer checks it). No authentication.', 'health', {
      200: json(HealthBodySchema, 'Alive.'),
      ...anyRouteErrors(),
    }),
    '/ready': plain('Readiness', 'The gateway can take operations now: the stream answers and it is not draining. No authentication.', 'ready', {
      200: json(ReadyBodySchema, 'Ready.'),
      ...anyRouteErrors(),
      503: notReady(),
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
  responses: {
    200: { description: 'The document.', headers: ALWAYS, content: { 'application/json': { schema: { type: 'object' } } } },
    ...anyRouteErrors(),
  },
};

/**
 * Where the API is served: the local stack, and a deployed gateway behind its load balancer (the stack's
 * `GatewayUrl` output). The paths are absolute from the host's root.
 */
const SERVERS: OpenAPIV3_1.ServerObject[] = [
  {
    url: 'http://localhost:{port}',
    description: 'The local stack (`npm start`).',
    variables: { port: { default: String(LOCAL_DEFAULTS.gatewayPort) } },
  },
  {
    url: '{scheme}://{host}',
    description: "A deployed gateway: the stack's load balancer.",
    variables: { scheme: { default: 'https', enum: ['https', 'http'] }, host: { default: 'gateway.example.com' } },
  },
];

/** What hono-openapi adds to the routes' own descriptions: info, security scheme, shared components, health paths. */
export function openApiOptions(): Partial<GenerateSpecOptions> {
  return {
    // `/openapi.json` looks like a static file to hono-openapi, which would leave it out.
    excludeStaticFile: false,
    documentation: {
      info: { title: 'Kinesis resource gateway', version: API_VERSION, description: DESCRIPTION },
      servers: SERVERS,
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
