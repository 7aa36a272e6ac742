import { parseReplayRequest } from './replay-request';

const now = Date.UTC(2026, 2, 1, 12, 0, 0);
const problem = (body: unknown): string => {
  try {
    parseReplayRequest(body, now);
  } catch (error) {
    expect(error).toMatchObject({ code: 'REPLAY.INVALID_REQUEST' });
    return (error as Error).message;
  }
  throw new Error('expected the request to be rejected');
};

describe('parseReplayRequest', () => {
  it('reads minutesAgo, an ISO date-time with a zone, or epoch milliseconds; a dry run unless told otherwise', () => {
    expect(parseReplayRequest({ topic: 'metrics-raw', minutesAgo: 10 }, now)).toEqual({
      topic: 'metrics-raw',
      timestamp: now - 600_000,
      dryRun: true,
    });
    expect(parseReplayRequest({ topic: 'metrics-raw', timestamp: '2026-03-01T11:00:00Z', dryRun: false }, now)).toEqual({
      topic: 'metrics-raw',
      timestamp: now - 3_600_000,
      dryRun: false,
    });
    expect(parseReplayRequest({ topic: 't', timestamp: '2026-03-01T12:30:00+01:00' }, now).timestamp).toBe(now - 1_800_000);
    expect(parseReplayRequest({ topic: 't', timestamp: now - 5 }, now).timestamp).toBe(now - 5);
    expect(parseReplayRequest({ topic: 't', timestamp: String(now - 5) }, now).timestamp).toBe(now - 5);
    expect(parseReplayRequest({ topic: 't', minutesAgo: 0.5 }, now).timestamp).toBe(now - 30_000);
    expect(parseReplayRequest({ topic: 't', fromEarliest: true, dryRun: false }, now)).toEqual({
      topic: 't',
      timestamp: 'earliest',
      dryRun: false,
    });
  });

  it('names the field that is wrong', () => {
    expect(problem({ minutesAgo: 10 })).toBe('topic: expected a topic name');
    expect(problem({ topic: 'a b', minutesAgo: 10 })).toBe('topic: expected a Kafka topic name');
    expect(problem({ topic: 't' })).toBe('timestamp: give timestamp (ISO 8601 or epoch milliseconds), minutesAgo or fromEarliest');
    expect(problem({ topic: 't', minutesAgo: 5, timestamp: now })).toBe('minutesAgo: give either timestamp or minutesAgo, not both');
    expect(problem({ topic: 't', fromEarliest: true, minutesAgo: 5 })).toBe(
      'fromEarliest: give fromEarliest, timestamp or minutesAgo, only one',
    );
    expect(problem({ topic: 't', fromEarliest: true, timestamp: now })).toBe(
      'fromEarliest: give fromEarliest, timestamp or minutesAgo, only one',
    );
    expect(problem({ topic: 't', fromEarliest: false })).toBe('fromEarliest: expected true (or leave it out)');
    expect(problem({ topic: 't', minutesAgo: -5 })).toBe('minutesAgo: expected a positive number of minutes');
    expect(problem({ topic: 't', minutesAgo: '5' })).toBe('minutesAgo: expected a number of minutes');
    expect(problem({ topic: 't', minutesAgo: 5, dryRun: 'false' })).toBe('dryRun: expected true or false');
    expect(problem({ topic: 't', minutes_ago: 5 })).toBe(
      'minutes_ago: unknown field (expected topic, timestamp, minutesAgo, fromEarliest, dryRun)',
    );
    expect(problem(['t'])).toMatch(/^body: /);
  });

  it('refuses timestamps that are ambiguous, malformed or in the future', () => {
    expect(problem({ topic: 't', timestamp: '2026-03-01 11:00' })).toBe(
      'timestamp: expected an ISO 8601 date-time with a zone (2026-01-31T08:00:00Z) or epoch milliseconds, got "2026-03-01 11:00"',
    );
    expect(problem({ topic: 't', timestamp: '2026-03-01T11:00:00' })).toMatch(/^timestamp: expected an ISO 8601 date-time with a zone/);
    expect(problem({ topic: 't', timestamp: 1_772_366_400 })).toBe(
      'timestamp: expected epoch milliseconds; 1772366400 looks like seconds (or is before 2001)',
    );
    expect(problem({ topic: 't', timestamp: 1.5e12 + 0.5 })).toMatch(/^timestamp: expected whole epoch milliseconds/);
    expect(problem({ topic: 't', timestamp: now + 60_000 })).toBe('timestamp: 2026-03-01T12:01:00.000Z is in the future');
  });
});
