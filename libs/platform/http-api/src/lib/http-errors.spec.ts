import { BadRequestException, InternalServerErrorException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { PermanentError, RetriableError } from '@qls/messaging';
import { AuthenticationError } from './auth/jwt.verifier';
import { answeringCodes, toHttpError } from './http-errors';

/** An app's own errors, as an app's lib would define them. */
class ThingValidationError extends PermanentError {
  readonly field = 'name';

  constructor() {
    super('THING.VALIDATION_FAILED', 'name: expected a string');
  }
}

class ThingRateLimitedError extends RetriableError {
  constructor(readonly retryAfterSeconds: number) {
    super('THING.RATE_LIMITED', `rate limit exceeded: retry after ${retryAfterSeconds} s`);
  }
}

const statusByCode = { 'THING.VALIDATION_FAILED': 400, 'THING.NOT_FOUND': 404, 'THING.RATE_LIMITED': 429 };

describe('toHttpError', () => {
  it.each([
    [new ThingValidationError(), 400, 'name'],
    [new PermanentError('THING.NOT_FOUND', 'thing t-1 not found'), 404, undefined],
    [new ThingRateLimitedError(3), 429, undefined],
    [new AuthenticationError('token expired'), 401, undefined],
  ])("answers %p with the status of its code (the app's, or 401), its code, message and field", (error, status, field) => {
    const mapped = toHttpError(error, statusByCode);
    expect(mapped?.status).toBe(status);
    expect(mapped?.body).toEqual({ error: { code: error.code, message: error.message, ...(field ? { field } : {}) } });
  });

  it('tells a rate-limited caller when to retry, and an unauthenticated one why (RFC 6750)', () => {
    expect(toHttpError(new ThingRateLimitedError(7), statusByCode)?.headers).toEqual({ 'Retry-After': '7' });
    expect(toHttpError(new AuthenticationError('invalid token: unexpected "aud" claim value'), statusByCode)?.headers).toEqual({
      'WWW-Authenticate': `Bearer error="invalid_token", error_description="invalid token: unexpected 'aud' claim value"`,
    });
    expect(toHttpError(new AuthenticationError('missing bearer token', false), {})?.headers).toEqual({ 'WWW-Authenticate': 'Bearer' });
  });

  it("answers body-parser's size and syntax errors as 413 and 400", () => {
    const tooLarge = Object.assign(new Error('request entity too large'), {
      type: 'entity.too.large',
      status: 413,
      expose: true,
      limit: 2048,
    });
    expect(toHttpError(tooLarge, statusByCode)).toMatchObject({
      status: 413,
      body: { error: { code: 'REQUEST.TOO_LARGE', message: expect.stringContaining('2048') } },
    });
    const malformed = Object.assign(new Error('Unexpected token'), { type: 'entity.parse.failed', status: 400, expose: true });
    expect(toHttpError(malformed, statusByCode)).toMatchObject({
      status: 400,
      body: { error: { code: 'REQUEST.MALFORMED_JSON' } },
    });
  });

  it('hides the cause of unknown and server-side errors: 500, or 503 with Retry-After when retriable', () => {
    expect(toHttpError(new Error('connection to 10.0.0.5 refused'), statusByCode)).toEqual({
      status: 500,
      headers: {},
      body: { error: { code: 'INTERNAL', message: 'internal error' } },
    });
    expect(toHttpError(new RetriableError('DB.UNAVAILABLE', 'pool exhausted'), statusByCode)).toEqual({
      status: 503,
      headers: { 'Retry-After': '1' },
      body: { error: { code: 'DB.UNAVAILABLE', message: 'temporarily unavailable, retry' } },
    });
    expect(toHttpError(new PermanentError('SOMETHING.ELSE', 'secret detail'), statusByCode)?.body.error.message).toBe('internal error');
  });

  it.each([
    ['a pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['refused on every address', new AggregateError([Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })], 'connect')],
    ['Postgres shutting down (57P01)', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['too many connections (53300)', Object.assign(new Error('sorry, too many clients already'), { code: '53300' })],
    ['a serialization failure (40001)', Object.assign(new Error('could not serialize access'), { code: '40001' })],
    ['a lost connection', new Error('Connection terminated unexpectedly')],
  ])('answers a transient dependency failure — %s — with 503 and Retry-After, not 500', (_what, error) => {
    expect(toHttpError(error, statusByCode)).toEqual({
      status: 503,
      headers: { 'Retry-After': '1' },
      body: { error: { code: 'DEPENDENCY.UNAVAILABLE', message: 'temporarily unavailable, retry' } },
    });
  });

  it('still answers a database error a retry cannot fix with 500', () => {
    const unique = Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    expect(toHttpError(unique, statusByCode)?.status).toBe(500);
  });

  it("answers Nest's own HTTP exceptions in the one error shape, with a code for their status", () => {
    expect(toHttpError(new NotFoundException('Cannot GET /nowhere'), statusByCode)).toEqual({
      status: 404,
      headers: {},
      body: { error: { code: 'NOT_FOUND', message: 'no route GET /nowhere' } },
    });
    expect(toHttpError(new BadRequestException('limit: expected an integer from 1 to 100'), statusByCode)?.body).toEqual({
      error: { code: 'REQUEST.INVALID', message: 'limit: expected an integer from 1 to 100' },
    });
    expect(toHttpError(new BadRequestException("Failed to decode param '%FF'"), statusByCode)?.body.error.message).toBe(
      'a path parameter is not valid percent-encoding',
    );
    const shaped = { error: { code: 'SERIES.INVALID_QUERY', message: 'from: expected a date', field: 'from' } };
    expect(toHttpError(new BadRequestException(shaped), statusByCode)).toEqual({ status: 400, headers: {}, body: shaped });
    expect(toHttpError(new ServiceUnavailableException('the lag could not be read yet'), statusByCode)?.body.error.code).toBe(
      'DEPENDENCY.UNAVAILABLE',
    );
  });

  it('echoes an unknown route only as a short escaped excerpt of its path', () => {
    const path = `/${'x'.repeat(5_000)}<script>`;
    const message = toHttpError(new NotFoundException(`Cannot GET ${path}`), statusByCode)?.body.error.message ?? '';

    expect(message).toMatch(/^no route GET \/x+/);
    expect(message.length).toBeLessThan(100);
    expect(message).not.toContain('<script>');
  });

  it('keeps a readiness report as it is, and says nothing of a 500 HttpException', () => {
    expect(toHttpError(new ServiceUnavailableException({ status: 'unavailable' }), statusByCode)).toBeUndefined();
    expect(toHttpError(new InternalServerErrorException('offsets of group g could not be set: broker 3 down'), statusByCode)?.body).toEqual(
      {
        error: { code: 'INTERNAL', message: 'internal error' },
      },
    );
  });
});

describe('answeringCodes', () => {
  const answers = {
    'THING.NOT_FOUND': 404,
    'THING.UNSUPPORTED': () => new BadRequestException('use another method'),
  };
  const answerOf = async (error: unknown) =>
    toHttpError(await answeringCodes(answers, () => Promise.reject(error)).catch((e: unknown) => e), {});

  it("answers an error code with its status and the error's message, or with the exception built for it", async () => {
    const notFound = await answerOf(new PermanentError('THING.NOT_FOUND', 'thing t-1 not found'));
    expect(notFound?.status).toBe(404);
    expect(notFound?.body).toEqual({ error: { code: 'NOT_FOUND', message: 'thing t-1 not found' } });
    const unsupported = await answerOf(new PermanentError('THING.UNSUPPORTED', 'not here'));
    expect(unsupported?.status).toBe(400);
    expect(unsupported?.body.error.message).toBe('use another method');
  });

  it('answers any other retriable code with 503, and leaves every other error as it was', async () => {
    expect((await answerOf(new RetriableError('THING.DOWN', 'the store is down')))?.status).toBe(503);
    const permanent = new PermanentError('THING.BROKEN', 'broken');
    await expect(answeringCodes(answers, () => Promise.reject(permanent))).rejects.toBe(permanent);
    const plain = new Error('a bug');
    await expect(answeringCodes(answers, () => Promise.reject(plain))).rejects.toBe(plain);
    await expect(answeringCodes(answers, () => Promise.resolve(7))).resolves.toBe(7);
  });
});
