import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type CryptoKey, SignJWT, exportSPKI, generateKeyPair } from 'jose';
import type { Pool } from 'pg';
import { loadConfig } from '@qls/config';
import { createLogger } from '@qls/observability';
import { migrate, readMigrations } from '@qls/provisioning';
import { TestResources, uniqueName } from '@qls/testing';
import { configSchema } from './config';
import { createHttpApp } from './http-app';

/**
 * Hostile input (docs/contracts.md, "Hostile input"): whatever Postgres or
 * `Date` would refuse is refused first, 400 naming the field — or 401 for a
 * token whose subject is no identity — never a 500.
 */
const migrations = join(__dirname, '../../../infra/migrations');
const issuer = 'https://auth.test';
const audience = 'feed-api';

/** A search cursor as the API encodes it: [rank, createdAt, postId], base64url JSON. */
function cursor(rank: string, createdAt: string, postId = '00000000-0000-4000-8000-000000000000'): string {
  return Buffer.from(JSON.stringify([rank, createdAt, postId]), 'utf8').toString('base64url');
}

describe('feed-api answers hostile input with 4xx (in process, real Postgres and Redis)', () => {
  let resources: TestResources;
  let pool: Pool;
  let app: NestExpressApplication;
  let baseUrl: string;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    resources = new TestResources();
    ({ pool } = await resources.postgres());
    await migrate(pool, readMigrations(migrations));
    const keys = await generateKeyPair('RS256', { extractable: true });
    privateKey = keys.privateKey;
    const config = loadConfig(configSchema, {
      DATABASE_URL: resources.env.DATABASE_URL,
      REDIS_URL: resources.env.REDIS_URL,
      AUTH_JWT_PUBLIC_KEYS: await exportSPKI(keys.publicKey),
      AUTH_JWT_ISSUER: issuer,
      AUTH_JWT_AUDIENCE: audience,
      RATE_LIMIT_BURST: '1000',
      POSTS_TOPIC: uniqueName('posts-hostile-test'),
    });
    app = await createHttpApp({
      config,
      service: uniqueName('feed-api'),
      logger: createLogger({ service: 'test', level: 'silent' }),
      pool,
      redisKeyPrefix: `${uniqueName('feed-api-hostile')}:`,
    });
    await app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    const registered = await fetch(`${baseUrl}/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token('reader')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ handle: 'reader' }),
    });
    if (registered.status !== 201) throw new Error(`registering the reader answered ${registered.status}`);
  });

  afterAll(async () => {
    await app?.close();
    await resources?.cleanup();
  });

  function token(sub: string): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject(sub)
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime('5m')
      .sign(privateKey);
  }

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
