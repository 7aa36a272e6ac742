import { type ArgumentsHost, NotFoundException } from '@nestjs/common';
import { PermanentError } from '@qls/messaging';
import type { Logger } from '@qls/observability';
import { ApiExceptionFilter, type FailedRequest } from './api-exception.filter';
import { AuthenticationError } from './auth/jwt.verifier';

function answerTo(exception: unknown, headersSent = false) {
  const logger = { error: jest.fn(), warn: jest.fn(), debug: jest.fn() };
  const failed: FailedRequest[] = [];
  const filter = new ApiExceptionFilter({
    logger: logger as unknown as Logger,
    statusByCode: { 'THING.NOT_FOUND': 404 },
    onError: (request) => failed.push(request),
  });
  const request = { method: 'POST', url: '/', originalUrl: '/things?x=1', headers: {}, body: { name: 'a' } };
  const response = { statusCode: 200, headersSent, setHeader: jest.fn(), end: jest.fn(), destroy: jest.fn() };
  const http = { getRequest: () => request, getResponse: () => response };
  filter.catch(exception, { switchToHttp: () => http } as unknown as ArgumentsHost);
  const answer = {
    status: response.statusCode,
    headers: Object.fromEntries(response.setHeader.mock.calls),
    body: response.end.mock.calls.map(([text]) => JSON.parse(text)).at(0),
    destroyed: response.destroy.mock.calls.length > 0,
  };
  return { answer, failed, logger };
}

describe('ApiExceptionFilter', () => {
  it('answers with the mapped status, headers and JSON body, hands the failed request to onError and logs a refusal at debug', () => {
    const error = new AuthenticationError('missing bearer token', false);
    const { answer, failed, logger } = answerTo(error);
    expect(answer).toEqual({
      status: 401,
      headers: { 'WWW-Authenticate': 'Bearer', 'Content-Type': 'application/json; charset=utf-8' },
      body: { error: { code: 'AUTH.UNAUTHENTICATED', message: 'missing bearer token' } },
      destroyed: false,
    });
    expect(failed).toEqual([
      { method: 'POST', url: '/things?x=1', body: { name: 'a' }, exception: error, outcome: 'AUTH.UNAUTHENTICATED' },
    ]);
    expect(logger.debug).toHaveBeenCalledTimes(1);
    expect(logger.error).not.toHaveBeenCalled();
  });

  it("answers Nest's own exceptions (an unknown route) in the one error shape, with the code as the outcome", () => {
    const { answer, failed } = answerTo(new NotFoundException('Cannot POST /things'));
    expect(answer).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'no route POST /things' } } });
    expect(failed[0]?.outcome).toBe('NOT_FOUND');
  });

  it('logs a server-side failure with its cause, and drops the connection when the answer had already begun', () => {
    const error = new PermanentError('SOMETHING.BROKEN', 'secret detail');
    const { answer, logger } = answerTo(error, true);
    expect(logger.error).toHaveBeenCalledWith({ err: error, url: '/things?x=1' }, 'request failed');
    expect(answer).toMatchObject({ destroyed: true, body: undefined });
  });

  it('logs a transient dependency failure (503) at warn and a client error (4xx) at debug, never at error', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const unavailable = answerTo(refused);
    expect(unavailable.answer).toMatchObject({ status: 503, headers: { 'Retry-After': '1' } });
    expect(unavailable.logger.warn).toHaveBeenCalledTimes(1);
    expect(unavailable.logger.error).not.toHaveBeenCalled();

    const refusal = answerTo(new AuthenticationError('token expired'));
    expect(refusal.answer.status).toBe(401);
    expect(refusal.logger.debug).toHaveBeenCalledTimes(1);
    expect(refusal.logger.error).not.toHaveBeenCalled();
  });
});
