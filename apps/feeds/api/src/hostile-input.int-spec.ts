import { loadConfig } from '@qls/config';
import { createLogger } from '@qls/observability';
import { migrate, readMigrations } from '@qls/provisioning';
import { type UserTokens, listenLocally, suiteSchema, uniqueName, userTokens } from '@qls/testing';
import { configSchema } from './config';
import { createHttpApp } from './http-app';

/**
 * Hostile input (docs/contracts.md, "Hostile input"): whatever Postgres or
 * `Date` would refuse is refused first, 400 naming the field — or 401 for a
 * token whose subject is no identity — never a 500.
 */

/** A search cursor as the API encodes it: [rank, createdAt, postId], base64url JSON. */
function cursor(rank: string, createdAt: string, postId = '00000000-0000-4000-8000-000000000000'): string {
  return Buffer.from(JSON.stringify([rank, createdAt, postId]), 'utf8').toString('base64url');
}

describe('feed-api answers hostile input with 4xx (in process, real Postgres and Redis)', () => {
  const db = suiteSchema({ migrate, readMigrations });
  let baseUrl: string;
  let users: UserTokens;
  const token = (sub: string) => users.token(sub);

  beforeAll(async () => {
    users = await userTokens('feed-api');
    const config = loadConfig(configSchema, {
      DATABASE_URL: db.resources.env.DATABASE_URL,
      REDIS_URL: db.resources.env.REDIS_URL,
      ...users.env,
      RATE_LIMIT_BURST: '1000',
      POSTS_TOPIC: uniqueName('posts-hostile-test'),
    });
    const app = await createHttpApp({
      config,
      service: uniqueName('feed-api'),
      logger: createLogger({ service: 'test', level: 'silent' }),
      pool: db.pool,
      redisKeyPrefix: `${uniqueName('feed-api-hostile')}:`,
    });
    db.resources.onCleanup(() => app.close());
    baseUrl = await listenLocally(app);
    const registered = await fetch(`${baseUrl}/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token('reader')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ handle: 'reader' }),
    });
    if (registered.status !== 201) throw new Error(`registering the reader answered ${registered.status}`);
  });

  it.each([
    ['a sub holding NUL on POST /posts', 'u-\u0000', 'POST', '/posts', { body: 'hello' }, 401, undefined],
    ['a sub holding NUL on GET /feed', 'u-\u0000', 'GET', '/feed', undefined, 401, undefined],
    ['a sub holding a lone surrogate on GET /feed', 'u-\ud800', 'GET', '/feed', undefined, 401, undefined],
    ['an empty sub on GET /feed', '', 'GET', '/feed', undefined, 401, undefined],
    ['a post body with a lone surrogate', 'reader', 'POST', '/posts', { body: 'a\ud800b' }, 400, 'body'],
    [
      'a cursor with month 13 and second 61',
      'reader',
      'GET',
      `/search?q=x&cursor=${cursor('0.1', '2026-13-45T25:61:61.000000Z')}`,
      undefined,
      400,
      'cursor',
    ],
    ['a cursor in year 0', 'reader', 'GET', `/search?q=x&cursor=${cursor('0.1', '0000-01-01T00:00:00.000000Z')}`, undefined, 400, 'cursor'],
    [
      'a cursor rank of 1e999',
      'reader',
      'GET',
      `/search?q=x&cursor=${cursor('1e999', '2026-01-01T00:00:00.000000Z')}`,
      undefined,
      400,
      'cursor',
    ],
    [
      'a cursor rank of 1e-999',
      'reader',
      'GET',
      `/search?q=x&cursor=${cursor('1e-999', '2026-01-01T00:00:00.000000Z')}`,
      undefined,
      400,
      'cursor',
    ],
    ['stats from before year 1', 'reader', 'GET', '/users/reader/stats?from=-271821-04-20T00:00:00Z', undefined, 400, 'from'],
    ['stats to in year 275760', 'reader', 'GET', '/users/reader/stats?to=%2B275760-09-13T00:00:00Z', undefined, 400, 'to'],
  ])('answers %s with a 4xx (and the field)', async (_what, sub, method, path, body, status, field) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${await token(sub)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

    const answer = (await response.json()) as { error?: { code: string; field?: string } };
    expect({ status: response.status, field: answer.error?.field }).toEqual({ status, field });
  });

  it('still answers a genuine cursor-shaped position with 200', async () => {
    const response = await fetch(`${baseUrl}/search?q=x&cursor=${cursor('0.0607927', '2026-11-27T10:00:00.123456Z')}`, {
      headers: { authorization: `Bearer ${await token('reader')}` },
    });
    expect(response.status).toBe(200);
  });
});
