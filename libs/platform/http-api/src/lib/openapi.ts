import { Controller, Get, type Type } from '@nestjs/common';
import { z } from '@qls/config';

/**
 * An API's OpenAPI 3.1 document, built from the same zod schemas its routes
 * validate with (ADR 0010): a request body, path parameters or a query string
 * described here is the schema the route parses with, converted by zod's
 * `z.toJSONSchema` (as input: what a caller sends). Refinements JSON Schema
 * cannot say (well-formed Unicode, JSON depth) stay in the code; the document
 * says the shape, the types, the lengths, the ranges and the patterns.
 */

/** One operation: `GET /notifications/{id}` and what it takes and answers. */
export interface ApiOperation {
  readonly method: 'get' | 'post' | 'put' | 'delete';
  /** OpenAPI style: `/notifications/{id}`. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  /** A bearer token is required (the default); false for an open route. */
  readonly bearer?: boolean;
  /** Path parameters by name: each a string schema. */
  readonly params?: Readonly<Record<string, z.ZodType>>;
  /** The query string: an object of parameters, each given once. */
  readonly query?: z.ZodObject;
  /** A JSON request body. */
  readonly body?: z.ZodType;
  /** Request headers the route reads (e.g. `Idempotency-Key`), each optional. */
  readonly headers?: Readonly<Record<string, z.ZodType>>;
  /** Success answers by status: a description, when there is a body its schema, and links to the operations it feeds. */
  readonly responses: Readonly<Record<number, ApiResponse>>;
  /** Error statuses this route answers, beyond those every route may (see {@link openApiDocument}). */
  readonly errors?: readonly number[];
}

export interface ApiResponse {
  readonly description: string;
  readonly body?: z.ZodType;
  /**
   * OpenAPI links (stateful testing, clients): an operation this answer feeds
   * and its parameters as runtime expressions, e.g. `getNotification` with
   * `{ id: '$response.body#/id' }` — create → get.
   */
  readonly links?: Readonly<Record<string, { readonly operationId: string; readonly parameters: Readonly<Record<string, string>> }>>;
}

export interface ApiDescription {
  readonly title: string;
  readonly version: string;
  readonly description: string;
  readonly operations: readonly ApiOperation[];
}

/** The one error shape (docs/contracts.md, "API contracts"), as a schema. */
export const errorBodySchema = z.strictObject({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }),
});

const errorDescriptions: Readonly<Record<number, string>> = {
  400: 'A request that is not valid: the field is named',
  401: 'No valid bearer token',
  403: 'The token does not allow this',
  404: 'Not found',
  409: 'Conflicts with the current state',
  413: 'The body is larger than the limit',
  415: 'The body is not JSON',
  429: 'Over the rate limit: retry after Retry-After seconds',
  500: 'Internal error',
  501: 'Not implemented by this deployment',
  503: 'A dependency is unavailable: retry after Retry-After seconds',
  504: 'The operation timed out',
};

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType): JsonSchema {
  const converted = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete converted['$schema'];
  return converted;
}

function errorResponse(status: number) {
  return {
    description: errorDescriptions[status] ?? `HTTP ${status}`,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
}

function operationObject(operation: ApiOperation): JsonSchema {
  const bearer = operation.bearer ?? true;
  const parameters = [
    ...Object.entries(operation.params ?? {}).map(([name, schema]) => ({ name, in: 'path', required: true, schema: jsonSchema(schema) })),
    ...Object.entries(operation.query?.shape ?? {}).map(([name, schema]) => ({
      name,
      in: 'query',
      required: !(schema as z.ZodType).safeParse(undefined).success,
      schema: jsonSchema(schema as z.ZodType),
    })),
    ...Object.entries(operation.headers ?? {}).map(([name, schema]) => ({
      name,
      in: 'header',
      required: false,
      schema: jsonSchema(schema),
    })),
  ];
  // Every route may answer 400 (malformed JSON, a bad path parameter), 500 and 503; a bearer route 401 and 429.
  const errors = new Set([
    400,
    500,
    503,
    ...(bearer ? [401, 429] : []),
    ...(operation.body ? [413, 415] : []),
    ...(operation.errors ?? []),
  ]);
  const responses: Record<string, unknown> = {};
  for (const [status, { description, body, links }] of Object.entries(operation.responses)) {
    responses[status] = {
      description,
      ...(body === undefined ? {} : { content: { 'application/json': { schema: jsonSchema(body) } } }),
      ...(links === undefined ? {} : { links }),
    };
  }
  for (const status of [...errors].sort((a, b) => a - b)) responses[String(status)] = errorResponse(status);
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(operation.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(operation.body) } } } } : {}),
    responses,
    security: bearer ? [{ bearer: [] }] : [],
  };
}

/** The OpenAPI 3.1 document of an API: its operations, the error shape, bearer security. */
export function openApiDocument(api: ApiDescription): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of api.operations) {
    paths[operation.path] = { ...paths[operation.path], [operation.method]: operationObject(operation) };
  }
  return {
    openapi: '3.1.0',
    info: { title: api.title, version: api.version, description: api.description },
    paths,
    components: {
      schemas: { Error: jsonSchema(errorBodySchema) },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}

/** A controller answering `GET /openapi.json` with `document` (open: the contract is public). */
export function openApiController(document: Record<string, unknown>): Type {
  @Controller()
  class OpenApiController {
    @Get('openapi.json')
    document(): Record<string, unknown> {
      return document;
    }
  }
  return OpenApiController;
}
