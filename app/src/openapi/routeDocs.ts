import { resolver, type DescribeRouteOptions } from 'hono-openapi';
import * as v from 'valibot';
import { FilterKeySchema, type OperationName } from '../../../contract/operation';
import { EncryptionUnavailableError } from '../crypto/errors';
import {
  ForbiddenError,
  IdempotencyKeyReusedError,
  InternalError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  StoreUnavailableError,
  StreamUnavailableError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  UriTooLongError,
  ValidationError,
} from '../errors';
import { IdempotencyKeyInUseError } from '../idempotency/errors';
import { MAX_WAIT_SECONDS } from '../status/StatusWaiter';
import {
  AcceptedListBodySchema,
  AcceptedWriteBodySchema,
  CollectionParamsSchema,
  ItemParamsSchema,
  LIST_LIMIT,
  LIST_PAGE,
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
  resourceId: "The resource's id (a create answers it as `data.id`); `.` and `..` are URL dot segments, which no client can send as one.",
  requestId: "The operation's `requestId`, from a 202 answer's body or `Location`.",
};

/** `page`, `limit` and the free-form filters of a list, from the list's query schema. */
function listQueryParameters(): Parameter[] {
  const query = jsonSchemaOf<{ additionalProperties: object }>(ListQuerySchema);
  const filters = { type: 'object', maxProperties: 20, propertyNames: jsonSchemaOf(FilterKeySchema), additionalProperties: query.additionalProperties };
  // Typed as the integers they are; the validator coerces the query string within the same bounds.
  const integer = (bounds: { minimum: number; maximum: number; default: number }) => ({ type: 'integer', ...bounds }) as ParameterSchema;
  return [
    { in: 'query', name: 'page', required: false, description: 'Page number.', schema: integer(LIST_PAGE) },
    { in: 'query', name: 'limit', required: false, description: 'Items per page.', schema: integer(LIST_LIMIT) },
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

/** The headers every answer carries. */
export const ALWAYS = { 'X-Request-ID': ref('headers', 'X-Request-ID') };

const accepted = (schema: v.GenericSchema, name: string): Responses[string] => ({
  description:
    'Accepted: the operation is on the stream (Kinesis acknowledged it, or the gateway\'s spool holds it durably). Follow ' +
    'it at `Location`. A repeat of a write with the same `Idempotency-Key` answers the first 202 again (same ' +
    '`requestId`, `Location` and body) and writes nothing.',
  headers: { Location: ref('headers', 'Location'), ...ALWAYS },
  content: { 'application/json': { schema: bodySchema(schema, name) } },
});

/** What a documented error answer is: its status, code and headers (a GatewayError, or one the HTTP server writes). */
export interface DocumentedError {
  status: number;
  code: string;
  headers: Record<string, string>;
}

/** An error the HTTP server answers before the app sees the request (app/src/admission/). */
const serverError = (status: number, code: string, headers: Record<string, string> = {}): DocumentedError => ({ status, code, headers });

const GATEWAY_BUSY = serverError(503, 'GATEWAY_BUSY', { 'Retry-After': '1' });
const BUSY_WHEN =
  'the task holds as many request bodies as its memory budget allows (answered by the HTTP server, before the body is ' +
  'read, to a request with a bearer token and a body); retry after `Retry-After` seconds';
const STORE_WHEN = 'the status table does not answer';
const STREAM_WHEN =
  '`STREAM_UNAVAILABLE`: the stream (and the spool) cannot take the operation; `ENCRYPTION_UNAVAILABLE`: the field ' +
  'encryption key (KMS) cannot be used';

/**
 * The error answers, as `components.responses`: the errors each one is, and when it happens. A status with
 * several codes lists them all; 503 has one response per set of codes a route can answer.
 */
export const ERROR_RESPONSES = {
  BadRequest: {
    errors: [new ValidationError('')],
    when:
      'a header, path parameter, query parameter or body is invalid (`details` names each bad field), a number the store ' +
      'cannot hold, a body on DELETE or a list, or a request the HTTP server could not parse.',
  },
  Unauthorized: { errors: [new UnauthorizedError('')], when: 'no bearer token, or one that is invalid or expired.' },
  Forbidden: { errors: [new ForbiddenError('')], when: "the token's permissions do not grant this operation on this business, location and resource type." },
  NotFound: { errors: [new NotFoundError('')], when: 'no such operation, or the caller has no permission on its scope; or no such route.' },
  MethodNotAllowed: {
    errors: [new MethodNotAllowedError('', ['GET'])],
    when: 'a documented path asked with a method it does not take (HEAD included); `Allow` lists those it takes.',
  },
  RequestTimeout: { errors: [serverError(408, 'REQUEST_TIMEOUT')], when: 'the client took too long to send its request (answered by the HTTP server).' },
  IdempotencyKeyInUse: {
    errors: [new IdempotencyKeyInUseError('')],
    when: 'the first request with this `Idempotency-Key` is still being accepted (waited for up to 3 s); retry after `Retry-After` to get its answer.',
  },
  PayloadTooLarge: {
    errors: [new PayloadTooLargeError('')],
    when:
      "the body or the operation's record exceeds Kinesis' 1 MiB record limit, or `data` exceeds what one resource item " +
      "holds (DynamoDB's 400 KB item limit less the item's own fields); the message names the limit.",
  },
  UriTooLong: { errors: [new UriTooLongError('')], when: 'the URL exceeds 8192 characters.' },
  UnsupportedMediaType: {
    errors: [new UnsupportedMediaTypeError('')],
    when: 'the body is not `application/json` (or `+json`), its charset is not UTF-8, or it has a `Content-Encoding` other than identity.',
  },
  IdempotencyKeyReused: {
    errors: [new IdempotencyKeyReusedError('')],
    when: 'this `Idempotency-Key` was used by the same caller in the last 24 hours with a different request (method, path, scope headers or body).',
  },
  HeadersTooLarge: { errors: [serverError(431, 'HEADERS_TOO_LARGE')], when: 'the request line and headers exceed 16 KiB (answered by the HTTP server).' },
  ExpectationFailed: {
    errors: [serverError(417, 'EXPECTATION_FAILED')],
    when: 'an `Expect` header other than `100-continue` (answered by the HTTP server; the connection closes).',
  },
  InternalError: { errors: [new InternalError('')], when: 'an unexpected failure; nothing about it is disclosed.' },
  GatewayBusy: { errors: [GATEWAY_BUSY], when: `${BUSY_WHEN}.` },
  StatusUnavailable: {
    errors: [new StoreUnavailableError(''), GATEWAY_BUSY],
    when: `retry after \`Retry-After\` seconds. \`STORE_UNAVAILABLE\`: ${STORE_WHEN}; \`GATEWAY_BUSY\`: ${BUSY_WHEN}.`,
  },
  ListUnavailable: {
    errors: [new StreamUnavailableError(''), new EncryptionUnavailableError(''), GATEWAY_BUSY],
    when: `retry after \`Retry-After\` seconds. ${STREAM_WHEN}; \`GATEWAY_BUSY\`: ${BUSY_WHEN}.`,
  },
  WriteUnavailable: {
    errors: [new StreamUnavailableError(''), new EncryptionUnavailableError(''), new StoreUnavailableError(''), GATEWAY_BUSY],
    when:
      `retry after \`Retry-After\` seconds (with the same \`Idempotency-Key\`, safely). ${STREAM_WHEN}; ` +
      `\`STORE_UNAVAILABLE\`: the idempotency table does not answer for the \`Idempotency-Key\`; \`GATEWAY_BUSY\`: ${BUSY_WHEN}.`,
  },
} satisfies Record<string, { errors: DocumentedError[]; when: string }>;
export type ErrorResponseName = keyof typeof ERROR_RESPONSES;

/** The status of a documented error response. */
export const statusOf = (name: ErrorResponseName) => ERROR_RESPONSES[name].errors[0]!.status;

const errors = (...names: ErrorResponseName[]): Responses => Object.fromEntries(names.map((n) => [String(statusOf(n)), ref('responses', n)]));

/**
 * What any route can answer: what the HTTP server refuses, the URL limit and an internal error. Each route adds
 * its own 503 (one of the `*Unavailable` responses, or `GatewayBusy`): the codes of a 503 differ by route.
 */
export const ANY_ROUTE: ErrorResponseName[] = ['BadRequest', 'RequestTimeout', 'UriTooLong', 'ExpectationFailed', 'HeadersTooLarge', 'InternalError'];

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
  const writeAccepted = accepted(AcceptedWriteBodySchema, 'AcceptedWriteBody');
  const common = ['Unauthorized', 'Forbidden', ...ANY_ROUTE] as const;
  const withBody = errors(...common, 'WriteUnavailable', 'IdempotencyKeyInUse', 'PayloadTooLarge', 'UnsupportedMediaType', 'IdempotencyKeyReused');
  const noBodyNote = 'It takes no body (one is refused with 400).';
  return {
    create: {
      operationId: 'createResource',
      tags: ['resources'],
      summary: 'Create a resource',
      description: `Puts a \`create\` operation on the stream; the new resource's id is \`data.id\`. ${permission('create')} ${WRITE_NOTE}`,
      parameters: [...collection, ...write],
      requestBody: body('The new resource: `data` holds its fields.'),
      responses: { 202: writeAccepted, ...withBody },
    },
    update: {
      operationId: 'updateResource',
      tags: ['resources'],
      summary: 'Replace a resource',
      description: `Puts an \`update\` operation on the stream: \`data\` replaces the resource's fields. ${permission('update')} ${WRITE_NOTE}`,
      parameters: [...item, ...write],
      requestBody: body("The resource's new fields."),
      responses: { 202: writeAccepted, ...withBody },
    },
    patch: {
      operationId: 'patchResource',
      tags: ['resources'],
      summary: 'Change some fields of a resource',
      description: `Puts a \`patch\` operation on the stream: \`data\`'s fields merge into the stored ones. ${permission('patch')} ${WRITE_NOTE}`,
      parameters: [...item, ...write],
      requestBody: body('The fields to change.'),
      responses: { 202: writeAccepted, ...withBody },
    },
    delete: {
      operationId: 'deleteResource',
      tags: ['resources'],
      summary: 'Delete a resource',
      description: `Puts a \`delete\` operation on the stream. ${noBodyNote} ${permission('delete')} ${WRITE_NOTE}`,
      parameters: [...item, ...write],
      responses: { 202: writeAccepted, ...errors(...common, 'WriteUnavailable', 'IdempotencyKeyInUse', 'IdempotencyKeyReused') },
    },
    list: {
      operationId: 'listResources',
      tags: ['resources'],
      summary: 'List resources',
      description:
        'Puts a `list` operation on the stream; its page is the `result` of its status. A list is a read, so it takes no ' +
        `\`Idempotency-Key\` (the header is ignored): a retry is harmless. ${noBodyNote} ${permission('list')}`,
      parameters: [...collection, ...listQueryParameters(), ...SCOPE_HEADERS, CORRELATION],
      responses: { 202: accepted(AcceptedListBodySchema, 'AcceptedListBody'), ...errors(...common, 'ListUnavailable') },
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
      '`processing` until the consumer applied the operation, then `completed` (with its `result`: the resource for ' +
      'create, update and patch, the page for list, none for delete) or `failed` (with its `error`). Requires any ' +
      "permission on the operation's business, location and resource type; to anyone else an existing operation is " +
      `404, as an unknown one. With \`Prefer: wait=N\` (N up to ${MAX_WAIT_SECONDS} seconds) a \`processing\` ` +
      'operation is waited for: the answer comes once it is completed or failed, or after N seconds with ' +
      '`processing`, and says `Preference-Applied: wait=N`. A gateway that already holds its most waiting requests, ' +
      'or is stopping, answers at once without `Preference-Applied`.',
    parameters: [...pathParameters(StatusParamsSchema, PATH_DESCRIPTIONS), ref('parameters', 'Prefer'), CORRELATION],
    responses: {
      200: {
        description: "The operation's status. A `processing` answer carries `Retry-After`: when to read it again.",
        headers: { ...ALWAYS, 'Retry-After': ref('headers', 'Retry-After-Processing'), 'Preference-Applied': ref('headers', 'Preference-Applied') },
        content: { 'application/json': { schema: bodySchema(StatusBodySchema, 'StatusBody') } },
      },
      ...errors('Unauthorized', 'NotFound', 'StatusUnavailable', ...ANY_ROUTE),
    },
  };
}
