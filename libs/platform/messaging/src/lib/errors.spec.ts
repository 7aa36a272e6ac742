import { backoffDelay } from './backoff';
import { AppError, PermanentError, RetriableError, errorCode, isRetriable } from './errors';

describe('isRetriable', () => {
  it('follows the flag of application errors', () => {
    expect(isRetriable(new RetriableError('SQS.THROTTLED', 'slow down'))).toBe(true);
    expect(isRetriable(new PermanentError('NOTIFICATION.BAD_TEMPLATE', 'no such template'))).toBe(false);
  });

  it('never retries programming errors', () => {
    expect(isRetriable(new TypeError('x is undefined'))).toBe(false);
    expect(isRetriable(new RangeError('bad length'))).toBe(false);
    expect(isRetriable(syntaxErrorFromJson())).toBe(false);
  });

  it('treats unknown failures as transient', () => {
    expect(isRetriable(new Error('ECONNRESET'))).toBe(true);
    expect(isRetriable('a string')).toBe(true);
  });

  it('keeps code, cause and context', () => {
    const cause = new Error('socket hang up');
    const error = new RetriableError('KAFKA.SEND_FAILED', 'send failed', { cause, context: { topic: 'posts' } });
    expect(error).toBeInstanceOf(AppError);
    expect(error.name).toBe('RetriableError');
    expect(error.cause).toBe(cause);
    expect(error.context).toEqual({ topic: 'posts' });
    expect(errorCode(error)).toBe('KAFKA.SEND_FAILED');
    expect(errorCode(new TypeError('t'))).toBe('TypeError');
  });
});

describe('backoffDelay', () => {
  const options = { initialMs: 100, maxMs: 1_000 };

  it('grows exponentially up to the cap', () => {
    const top = () => 1;
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, options, top))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('draws a jittered delay between zero and the ceiling', () => {
    expect(backoffDelay(3, options, () => 0)).toBe(0);
    expect(backoffDelay(3, options, () => 0.5)).toBe(200);
  });
});

function syntaxErrorFromJson(): unknown {
  try {
    JSON.parse('{');
  } catch (error) {
    return error;
  }
  throw new Error('JSON.parse accepted invalid input');
}
