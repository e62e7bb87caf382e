import { resolver, type DescribeRouteOptions } from 'hono-openapi';
import * as v from 'valibot';
import { FilterKeySchema, type OperationName } from '../../../contract/operation';
import {
  ForbiddenError,
  IdempotencyKeyReusedError,
  InternalError,
  NotFoundError,
  PayloadTooLargeError,
  StreamUnavailableError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
  type GatewayError,
} from '../errors';
import { IdempotencyKeyInUseError } from '../idempotency/errors';
import {
  AcceptedBodySchema,
  CollectionParamsSchema,
  ItemParamsSchema,
  ListQuerySchema,
  StatusBodySchema,
  StatusParamsSchema,
  WriteBodySchema,
} from '../routes/schemas';
import { CONVERSION, jsonSchemaOf } from './jsonSchema';

type Parameter = NonNullable<DescribeRouteOptions['parameters']>[number];
/** The schema type openapi-types gives a parameter. */
export type ParameterSchema = NonNullable<Exclude<Parameter, { $ref: string }>['schema']>;
type Responses = NonNullable<DescribeRouteOptions['responses']>;

/** A `$ref` to a component of the document (see openApiDocument.ts). */
export const ref = (kind: 'parameters' | 'responses' | 'headers' | 'schemas', name: string) => ({ $ref: `#/components/${kind}/${name}` });

/** A response body schema, converted by hono-openapi and kept once under `components.schemas.{name}`. */
export const bodySchema = (schema: v.GenericSchema, name: string) => resolver(v.pipe(schema, v.metadata({ ref: name })), { options: CONVERSION });

/** Path parameters from a route's params schema, one per entry. */
function pathParameters(schema: v.ObjectSchema<v.ObjectEntries, undefined>, descriptions: Record<string, string>): Parameter[] {
  return Object.entries(schema.entries).map(([name, entry]) => ({
    in: 'path' as const,
    name,
    required: true,
    description: descriptions[name],
    schema: jsonSchemaOf<ParameterSchema>(entry),
  }));
}

const PATH_DESCRIPTIONS = {
  bl: '`{X-Business-ID}-{X-Location-ID}`: must equal the two headers joined by a hyphen.',
  resourceId: "The resource's id (a create answers it as `data.id`).",
  requestId: "The operation's `requestId`, from a 202 answer's body or `Location`.",
};

/** `page`, `limit` and the free-form filters of a list, from the list's query schema. */
function listQueryParameters(): Parameter[] {
  const query = jsonSchemaOf<{ properties: Record<string, ParameterSchema>; additionalProperties: object }>(ListQuerySchema);
  const filters = { type: 'object', maxProperties: 20, propertyNames: jsonSchemaOf(FilterKeySchema), additionalProperties: query.additionalProperties };
  return [
    { in: 'query', name: 'page', required: false, description: 'Page number, an integer from 1 to 1000000. Default 1.', schema: query.properties.page! },
    { in: 'query', name: 'limit', required: false, description: 'Items per page, an integer from 1 to 100. Default 20.', schema: query.properties.limit! },
    {
      in: 'query',
      name: 'filters',
      required: false,
      style: 'form',
      explode: true,
      description:
        'Every other query parameter is a filter `name=value` on the resource fields (at most 20, each once; names 1-64 of ' +
        '`A-Z a-z 0-9 _ . -`, values at most 256 characters). Example: `?service=consultation&status=confirmed`.',
      schema: filters as ParameterSchema,
    },
  ];
}

const SCOPE_HEADERS = [ref('parameters', 'BusinessId'), ref('parameters', 'LocationId'), ref('parameters', 'ResourceType')];
const CORRELATION = ref('parameters', 'RequestId');

const accepted: Responses[string] = {
  description:
    'Accepted: the operation is on the stream (Kinesis acknowledged it). Follow it at `Location`. A repeat of a write with ' +
    'the same `Idempotency-Key` answers the first 202 again (same `requestId`, `Location` and body) and writes nothing.',
  headers: { Location: ref('headers', 'Location'), 'X-Request-ID': ref('headers', 'X-Request-ID') },
  content: { 'application/json': { schema: bodySchema(AcceptedBodySchema, 'AcceptedBody') } },
};

/** The error answers, as `components.responses`: the gateway error each one is, and when it happens. */
export const ERROR_RESPONSES = {
  BadRequest: { error: new ValidationError(''), when: 'a header, path parameter, query parameter or body is invalid; `details` names each bad field.' },
  Unauthorized: { error: new UnauthorizedError(''), when: 'no bearer token, or one that is invalid or expired.' },
  Forbidden: { error: new ForbiddenError(''), when: "the token's permissions do not grant this operation on this business, location and resource type." },
  NotFound: { error: new NotFoundError(''), when: 'no such operation, or the caller has no permission on its scope.' },
  IdempotencyKeyInUse: {
    error: new IdempotencyKeyInUseError(''),
    when: 'the first request with this `Idempotency-Key` is still being accepted (waited for up to 3 s); retry after `Retry-After` to get its answer.',
  },
  PayloadTooLarge: { error: new PayloadTooLargeError(''), when: "the body, or the operation's record, exceeds Kinesis' 1 MiB record limit." },
  UnsupportedMediaType: { error: new UnsupportedMediaTypeError(''), when: 'the body is not `application/json`.' },
  IdempotencyKeyReused: {
    error: new IdempotencyKeyReusedError(''),
    when: 'this `Idempotency-Key` was used by the same caller in the last 24 hours with a different request (method, path, scope headers or body).',
  },
  InternalError: { error: new InternalError(''), when: 'an unexpected failure; nothing about it is disclosed.' },
  StreamUnavailable: {
    error: new StreamUnavailableError(''),
    when: 'the stream (or the idempotency store) cannot take the operation now; retry after `Retry-After` seconds (with the same `Idempotency-Key`, safely).',
  },
} satisfies Record<string, { error: GatewayError; when: string }>;
export type ErrorResponseName = keyof typeof ERROR_RESPONSES;

const errors = (...names: ErrorResponseName[]): Responses =>
  Object.fromEntries(names.map((n) => [String(ERROR_RESPONSES[n].error.status), ref('responses', n)]));

const WRITE_NOTE =
  'Send an `Idempotency-Key` to retry safely: the same key from the same caller within 24 hours replays the first answer ' +
  'and writes no second record; with a different request it is 422.';

const permission = (op: OperationName) =>
  `Requires the permission \`{X-Business-ID}:{X-Location-ID}:{X-Resource-Type}:${op}\` in the token (any segment may be \`*\`).`;

/** The OpenAPI description of each resource route; resources.ts hands them to `describeRoute`. */
export function resourceRouteDocs(): Record<OperationName, DescribeRouteOptions> {
  const body = (what: string) => ({
    required: true,
    description: what,
    content: { 'application/json': { schema: bodySchema(WriteBodySchema, 'WriteBody') } },
  });
  const collection = pathParameters(CollectionParamsSchema, PATH_DESCRIPTIONS);
  const item = pathParameters(ItemParamsSchema, PATH_DESCRIPTIONS);
  const write = [...SCOPE_HEADERS, ref('parameters', 'IdempotencyKey'), CORRELATION];
  const withBody = errors('BadRequest', 'Unauthorized', 'Forbidden', 'IdempotencyKeyInUse', 'PayloadTooLarge', 'UnsupportedMediaType', 'IdempotencyKeyReused', 'InternalError', 'StreamUnavailable');
  return {
    create: {
      operationId: 'createResource',
      tags: ['resources'],
      summary: 'Create a resource',
      description: `Puts a \`create\` operation on the stream; the new resource's id is \`data.id\`. ${permission('create')} ${WRITE_NOTE}`,
      parameters: [...collection, ...write],
      requestBody: body('The new resource: `data` holds its fields.'),
      responses: { 202: accepted, ...withBody },
    },
    update: {
      operationId: 'updateResource',
      tags: ['resources'],
      summary: 'Replace a resource',
      description: `Puts an \`update\` operation on the stream: \`data\` replaces the resource's fields. ${permission('update')} ${WRITE_NOTE}`,
      parameters: [...item, ...write],
      requestBody: body("The resource's new fields."),
      responses: { 202: accepted, ...withBody },
    },
    patch: {
      operationId: 'patchResource',
      tags: ['resources'],
      summary: 'Change some fields of a resource',
      description: `Puts a \`patch\` operation on the stream: \`data\`'s fields merge into the stored ones. ${permission('patch')} ${WRITE_NOTE}`,
      parameters: [...item, ...write],
      requestBody: body('The fields to change.'),
      responses: { 202: accepted, ...withBody },
    },
    delete: {
      operationId: 'deleteResource',
      tags: ['resources'],
      summary: 'Delete a resource',
      description: `Puts a \`delete\` operation on the stream. ${permission('delete')} ${WRITE_NOTE}`,
      parameters: [...item, ...write],
      responses: {
        202: accepted,
        ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'IdempotencyKeyInUse', 'IdempotencyKeyReused', 'InternalError', 'StreamUnavailable'),
      },
    },
    list: {
      operationId: 'listResources',
      tags: ['resources'],
      summary: 'List resources',
      description:
        'Puts a `list` operation on the stream; its page is the `result` of its status. A list is a read, so it takes no ' +
        `\`Idempotency-Key\` (the header is ignored): a retry is harmless. ${permission('list')}`,
      parameters: [...collection, ...listQueryParameters(), ...SCOPE_HEADERS, CORRELATION],
      responses: { 202: accepted, ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'InternalError', 'StreamUnavailable') },
    },
  };
}

/** The OpenAPI description of `GET /api/requests/{requestId}`. */
export function statusRouteDocs(): DescribeRouteOptions {
  return {
    operationId: 'getRequestStatus',
    tags: ['requests'],
    summary: "An operation's status",
    description:
      '`processing` until the consumer applied the operation, then `completed` (with its `result`) or `failed` (with its ' +
      "`error`). Requires any permission on the operation's business, location and resource type; to anyone else an " +
      'existing operation is 404, as an unknown one.',
    parameters: [...pathParameters(StatusParamsSchema, PATH_DESCRIPTIONS), CORRELATION],
    responses: {
      200: {
        description: "The operation's status.",
        headers: { 'X-Request-ID': ref('headers', 'X-Request-ID') },
        content: { 'application/json': { schema: bodySchema(StatusBodySchema, 'StatusBody') } },
      },
      ...errors('BadRequest', 'Unauthorized', 'NotFound', 'InternalError'),
    },
  };
}
