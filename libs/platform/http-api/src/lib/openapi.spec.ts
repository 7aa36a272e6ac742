import { z } from '@qls/config';
import { openApiDocument } from './openapi';

const body = z.strictObject({ name: z.string().min(1).max(10), tags: z.array(z.string()).max(3).default([]) });

const document = openApiDocument({
  title: 'things',
  version: '1',
  description: 'Things',
  operations: [
    {
      method: 'post',
      path: '/things',
      operationId: 'createThing',
      summary: 'Create a thing',
      body,
      responses: {
        201: {
          description: 'Created',
          body: z.strictObject({ id: z.string() }),
          links: { getThing: { operationId: 'getThing', parameters: { id: '$response.body#/id' } } },
        },
      },
      errors: [409],
    },
    {
      method: 'get',
      path: '/things/{id}',
      operationId: 'getThing',
      summary: 'A thing',
      bearer: false,
      params: { id: z.string().max(36) },
      query: z.strictObject({ limit: z.string().regex(/^\d+$/).default('10'), q: z.string() }),
      responses: { 200: { description: 'The thing' } },
    },
  ],
}) as { paths: Record<string, Record<string, Record<string, unknown>>>; components: Record<string, Record<string, unknown>> };

describe('openApiDocument', () => {
  const create = document.paths['/things']?.['post'];
  const get = document.paths['/things/{id}']?.['get'];

  it('describes a request body with the JSON Schema of the zod schema the route validates with, as input', () => {
    expect(create?.['requestBody']).toEqual({
      required: true,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: {
              name: { type: 'string', minLength: 1, maxLength: 10 },
              tags: { type: 'array', items: { type: 'string' }, maxItems: 3, default: [] },
            },
            required: ['name'],
            additionalProperties: false,
          },
        },
      },
    });
  });

  it('answers every error in the one shape, a bearer route 401 and 429 besides its own, and links an answer to the operations it feeds', () => {
    const responses = create?.['responses'] as Record<string, { content?: unknown }>;
    expect(Object.keys(responses)).toEqual(['201', '400', '401', '409', '413', '415', '429', '500', '503']);
    expect(responses['409']?.content).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/Error' } } });
    expect(document.components['schemas']?.['Error']).toMatchObject({
      required: ['error'],
      properties: { error: { required: ['code', 'message'] } },
    });
    expect(create?.['security']).toEqual([{ bearer: [] }]);
    expect(responses['201']).toMatchObject({ links: { getThing: { operationId: 'getThing', parameters: { id: '$response.body#/id' } } } });
    expect(document.components['securitySchemes']).toEqual({ bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } });
  });

  it('lists path and query parameters, a query parameter with a default as optional, and no security on an open route', () => {
    expect(get?.['parameters']).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string', maxLength: 36 } },
      { name: 'limit', in: 'query', required: false, schema: { type: 'string', pattern: '^\\d+$', default: '10' } },
      { name: 'q', in: 'query', required: true, schema: { type: 'string' } },
    ]);
    expect(get?.['security']).toEqual([]);
    expect(Object.keys(get?.['responses'] as object)).toEqual(['200', '400', '500', '503']);
  });
});
