import { request as httpRequest } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { generateKeyPair } from 'jose';
import { Pool } from 'pg';
import { loadConfig } from '@qls/config';
import { createLogger } from '@qls/observability';
import { migrate, readMigrations } from '@qls/provisioning';
import { notificationsWithoutOutboxEvent } from '@qls/notification-intake';
import { type UserTokenOptions, type UserTokens, listenLocally, suiteSchema, uniqueName, userTokens, waitFor } from '@qls/testing';
import { type Config, configSchema } from './config';
import { createHttpApp } from './http-app';

/**
 * The app in this process on port 0, against the local Postgres (a schema of
 * its own, passed in as the db.pool) and Redis, with a key pair made here: the
 * tests sign their own tokens.
 */
const BODY_LIMIT = 2048;
const BURST = 5;

describe('notification-api (in process, real Postgres and Redis)', () => {
  const db = suiteSchema({ migrate, readMigrations });
  let baseUrl: string;
  let users: UserTokens;
  let user: string;
  let config: Config;

  beforeAll(async () => {
    users = await userTokens('notification-api');
    config = loadConfig(configSchema, {
      DATABASE_URL: db.resources.env.DATABASE_URL,
      REDIS_URL: db.resources.env.REDIS_URL,
      ...users.env,
      HTTP_BODY_LIMIT_BYTES: String(BODY_LIMIT),
      RATE_LIMIT_PER_SECOND: '0.2',
      RATE_LIMIT_BURST: String(BURST),
      NOTIFICATIONS_QUEUE: 'notifications-api-test',
    });
    const app = await createHttpApp({
      config,
      service: uniqueName('notification-api'),
      logger: createLogger({ service: 'test', level: 'silent' }),
      pool: db.pool,
    });
    db.resources.onCleanup(() => app.close());
    baseUrl = await listenLocally(app);
  });

  beforeEach(() => {
    // Each test is its own user: its own rate-limit bucket and its own notifications.
    user = uniqueName('user');
  });

  const token = (sub = user, expiresAt: string | number = '5m', key?: UserTokenOptions['key']) =>
    users.token(sub, key === undefined ? { expiresAt } : { expiresAt, key });

  async function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${baseUrl}/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token()}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  async function get(path: string, sub = user): Promise<Response> {
    return fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${await token(sub)}` } });
  }

  const valid = () => ({ userId: user, channel: 'push', template: 'order-shipped', data: { orderId: 'o-1' } });

  async function errorOf(response: Response): Promise<{ code: string; message: string; field?: string }> {
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    return ((await response.json()) as { error: { code: string; message: string; field?: string } }).error;
  }

  async function countRows(userId: string): Promise<{ notifications: number; outbox: number }> {
    const { rows } = await db.pool.query<{ notifications: number; outbox: number }>(
      `SELECT (SELECT count(*)::int FROM notifications WHERE user_id = $1) AS notifications,
              (SELECT count(*)::int FROM outbox WHERE message_key = $1) AS outbox`,
      [userId],
    );
    return rows[0] ?? { notifications: -1, outbox: -1 };
  }

  it('accepts a notification with 202, its status URL in the body and Location, and queues it through the outbox', async () => {
    const response = await post(valid());

    expect(response.status).toBe(202);
    const body = (await response.json()) as { id: string; status: string; statusUrl: string };
    expect(body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'queued', statusUrl: `/notifications/${body.id}` });
    expect(response.headers.get('location')).toBe(body.statusUrl);
    const outbox = await db.pool.query('SELECT destination, payload FROM outbox WHERE aggregate_id = $1', [body.id]);
    expect(outbox.rows).toEqual([
      { destination: 'sqs:notifications-api-test', payload: expect.objectContaining({ notificationId: body.id, userId: user }) },
    ]);

    const status = await get(body.statusUrl);
    expect(status.status).toBe(200);
    expect(await status.json()).toEqual({
      id: body.id,
      status: 'queued',
      channel: 'push',
      attempts: 0,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      sentAt: null,
      lastError: null,
    });
  });

  it('answers a repeat with the same Idempotency-Key with 200 and the first id, writing nothing', async () => {
    const first = await post(valid(), { 'idempotency-key': 'shipped-o-1' });
    const repeat = await post(valid(), { 'idempotency-key': 'shipped-o-1' });

    expect([first.status, repeat.status]).toEqual([202, 200]);
    const [a, b] = [(await first.json()) as { id: string }, (await repeat.json()) as { id: string }];
    expect(b.id).toBe(a.id);
    expect(repeat.headers.get('location')).toBe(`/notifications/${a.id}`);
    expect([first.headers.get('idempotent-replayed'), repeat.headers.get('idempotent-replayed')]).toEqual([null, 'true']);
    expect(await countRows(user)).toEqual({ notifications: 1, outbox: 1 });
  });

  it('answers the same Idempotency-Key with a different body with 409', async () => {
    await post(valid(), { 'idempotency-key': 'k-1' });
    const conflict = await post({ ...valid(), template: 'order-cancelled' }, { 'idempotency-key': 'k-1' });

    expect(conflict.status).toBe(409);
    expect(await errorOf(conflict)).toMatchObject({ code: 'NOTIFICATION.IDEMPOTENCY_CONFLICT', field: 'Idempotency-Key' });
  });

  it.each([
    ['a bad channel', { channel: 'pigeon' }, 'channel'],
    ['a missing userId', { userId: undefined }, 'userId'],
    ['an unknown field', { priority: 'high' }, 'priority'],
  ])('answers %s with 400 naming the field', async (_what, change, field) => {
    const response = await post({ ...valid(), ...change });

    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({
      code: 'NOTIFICATION.VALIDATION_FAILED',
      field,
      message: expect.stringContaining(field),
    });
    expect(await countRows(user)).toEqual({ notifications: 0, outbox: 0 });
  });

  it('answers malformed JSON with 400', async () => {
    const response = await post('{"userId": ');

    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: 'REQUEST.MALFORMED_JSON' });
  });

  it('answers a userId other than the token subject with 403', async () => {
    const response = await post({ ...valid(), userId: uniqueName('someone-else') });

    expect(response.status).toBe(403);
    expect(await errorOf(response)).toMatchObject({ code: 'NOTIFICATION.USER_MISMATCH', field: 'userId' });
  });

  it('answers a body over HTTP_BODY_LIMIT_BYTES with 413', async () => {
    const response = await post({ ...valid(), data: { text: 'x'.repeat(BODY_LIMIT) } });

    expect(response.status).toBe(413);
    expect(await errorOf(response)).toMatchObject({ code: 'REQUEST.TOO_LARGE', message: expect.stringContaining(String(BODY_LIMIT)) });
  });

  it('answers 401 with the reason without a token, with a bad one and with an expired one', async () => {
    const missing = await fetch(`${baseUrl}/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(await errorOf(missing)).toEqual({ code: 'AUTH.UNAUTHENTICATED', message: 'missing bearer token' });

    const stranger = await generateKeyPair('ES256');
    const forged = await post(valid(), { authorization: `Bearer ${await token(user, '5m', stranger.privateKey)}` });
    expect(forged.status).toBe(401);
    expect((await errorOf(forged)).message).toBe('invalid token: signature verification failed');
    expect(forged.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token", error_description="invalid token: /);

    const expired = await post(valid(), { authorization: `Bearer ${await token(user, Math.floor(Date.now() / 1000) - 60)}` });
    expect(expired.status).toBe(401);
    expect((await errorOf(expired)).message).toBe('token expired');

    const notBearer = await post(valid(), { authorization: 'Basic dXNlcjpwYXNz' });
    expect(notBearer.status).toBe(401);
    expect(await countRows(user)).toEqual({ notifications: 0, outbox: 0 });
  });

  it("answers 404 for another user's notification, exactly as for one that does not exist", async () => {
    const { statusUrl } = (await (await post(valid())).json()) as { statusUrl: string };

    const theirs = await get(statusUrl, uniqueName('other-user'));
    const missing = await get(`/notifications/${crypto.randomUUID()}`);

    expect([theirs.status, missing.status]).toEqual([404, 404]);
    expect((await errorOf(theirs)).code).toBe('NOTIFICATION.NOT_FOUND');
    expect((await errorOf(missing)).code).toBe('NOTIFICATION.NOT_FOUND');
  });

  it('answers 429 with Retry-After once the user has spent the burst, while other users go on', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < BURST; i++) statuses.push((await get(`/notifications/${crypto.randomUUID()}`)).status);
    const limited = await get(`/notifications/${crypto.randomUUID()}`);

    expect(statuses).toEqual(Array(BURST).fill(404));
    expect(limited.status).toBe(429);
    // One token every 5 s at 0.2/s.
    expect(limited.headers.get('retry-after')).toBe('5');
    expect(await errorOf(limited)).toMatchObject({ code: 'NOTIFICATION.RATE_LIMITED' });
    expect((await get(`/notifications/${crypto.randomUUID()}`, uniqueName('another-user'))).status).toBe(404);
  });

  it('counts requests by outcome and created notifications in /metrics, and reports ready', async () => {
    await post(valid());
    await post({ ...valid(), channel: 'fax' });

    const metrics = await waitFor(
      async () => {
        const text = await (await fetch(`${baseUrl}/metrics`)).text();
        return /notifications_created_total\{[^}]*channel="push"[^}]*\} [1-9]/.test(text) && text;
      },
      { description: 'the created counter' },
    );
    expect(metrics).toMatch(/notification_api_requests_total\{[^}]*operation="create",outcome="created"[^}]*\} [1-9]/);
    expect(metrics).toMatch(
      /notification_api_requests_total\{[^}]*operation="create",outcome="NOTIFICATION.VALIDATION_FAILED"[^}]*\} [1-9]/,
    );
    const ready = await fetch(`${baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { postgres: { status: 'up' }, 'notifications-schema': { status: 'up' } },
    });
  });

  /** `depth` nested objects `{"a":{"a":…}}`, built without recursion. */
  function nested(depth: number): Record<string, unknown> {
    let value: Record<string, unknown> = {};
    for (let i = 0; i < depth; i++) value = { a: value };
    return value;
  }

  it.each([
    ['a lone surrogate', 'u-\ud800'],
    ['a lone low surrogate', 'u-\udfff'],
    ['NUL', 'u-\u0000'],
    ['nothing (empty)', ''],
    ['10,000 characters', 'u'.repeat(10_000)],
  ])('answers 401 to a validly signed token whose sub holds %s, on every route, and writes nothing', async (_what, sub) => {
    const authorization = `Bearer ${await token(sub)}`;

    const created = await post({ ...valid(), userId: sub.slice(0, 100) }, { authorization });
    const read = await fetch(`${baseUrl}/notifications/${crypto.randomUUID()}`, { headers: { authorization } });

    expect([created.status, read.status]).toEqual([401, 401]);
    expect((await errorOf(created)).message).toMatch(/^invalid token: "sub" claim /);
    expect((await errorOf(read)).code).toBe('AUTH.UNAUTHENTICATED');
    expect(await db.pool.query('SELECT user_id FROM notifications WHERE user_id NOT LIKE $1', ['user-%'])).toMatchObject({ rows: [] });
    expect(await notificationsWithoutOutboxEvent(db.pool)).toEqual([]);
  });

  it.each([
    ['a lone surrogate in data', { data: { k: '\ud800' } }, 'data.k'],
    ['NUL in data', { data: { k: ['a\u0000'] } }, 'data.k.0'],
    ['data nested 300 levels deep', { data: nested(300) }, 'data'],
    ['a lone surrogate in userId', { userId: 'u\ud800' }, 'userId'],
  ])('answers %s with 400 naming the field, and its neighbours in the same batch with 202', async (_what, change, field) => {
    const [bad, ...good] = await Promise.all([post({ ...valid(), ...change }), post(valid()), post(valid()), post(valid())]);

    expect([bad?.status, ...good.map((r) => r.status)]).toEqual([400, 202, 202, 202]);
    expect(await errorOf(bad as Response)).toMatchObject({ code: 'NOTIFICATION.VALIDATION_FAILED', field });
    expect(await countRows(user)).toEqual({ notifications: 3, outbox: 3 });
  });

  /** A request with raw header lines: a header named twice is sent as two lines. */
  async function rawRequest(
    path: string,
    headers: Record<string, string | string[]>,
    body?: string,
  ): Promise<{ status: number; body: string }> {
    const url = new URL(path, baseUrl);
    return new Promise((resolve, reject) => {
      const req = httpRequest(url, { method: body === undefined ? 'GET' : 'POST' }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      for (const [name, value] of Object.entries(headers)) req.setHeader(name, value);
      req.end(body);
    });
  }

  it('answers two Authorization headers, or two Idempotency-Key headers, with 400 naming the header, and writes nothing', async () => {
    const mine = `Bearer ${await token()}`;
    const other = `Bearer ${await token(uniqueName('other'))}`;
    const json = { 'content-type': 'application/json' };

    const twoTokens = await rawRequest(`/notifications/${crypto.randomUUID()}`, { authorization: [mine, other] });
    const twoKeys = await rawRequest(
      '/notifications',
      { ...json, authorization: mine, 'idempotency-key': ['k1', 'k2'] },
      JSON.stringify(valid()),
    );

    expect([twoTokens.status, twoKeys.status]).toEqual([400, 400]);
    expect(JSON.parse(twoTokens.body)).toMatchObject({ error: { code: 'REQUEST.DUPLICATE_HEADER', field: 'Authorization' } });
    expect(JSON.parse(twoKeys.body)).toMatchObject({ error: { code: 'REQUEST.DUPLICATE_HEADER', field: 'Idempotency-Key' } });
    expect(await countRows(user)).toEqual({ notifications: 0, outbox: 0 });
  });

  it('echoes at most a short, escaped excerpt of a hostile field name or key', async () => {
    const name = `x${'\u202e<script>'.repeat(100)}`;
    const response = await fetch(`${baseUrl}/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token()}` },
      body: JSON.stringify({ ...valid(), [name]: 1 }),
    });
    const text = await response.text();

    expect(response.status).toBe(400);
    expect(text.length).toBeLessThan(400);
    expect(text).not.toContain('<script>');
    expect(text).not.toContain('\u202e');
  });

  it('echoes at most a short, escaped excerpt of a 5,000-character id it did not find', async () => {
    const response = await get(`/notifications/${'%3Cb%3E'.repeat(1_000)}`);
    const { message } = await errorOf(response);

    expect(response.status).toBe(404);
    expect(message.length).toBeLessThan(300);
    expect(message).not.toContain('<b>');
  });

  describe('when Postgres is out of reach', () => {
    /** The app again, on a db.pool that cannot get a connection. */
    async function appOn(unreachable: Pool): Promise<{ url: string; close: () => Promise<void> }> {
      const other = await createHttpApp({
        config,
        service: uniqueName('notification-api'),
        logger: createLogger({ service: 'test', level: 'silent' }),
        pool: unreachable,
      });
      return {
        url: await listenLocally(other),
        close: async () => {
          await other.close();
          await unreachable.end();
        },
      };
    }

    async function bothRoutes(url: string): Promise<Response[]> {
      const authorization = `Bearer ${await token()}`;
      return Promise.all([
        fetch(`${url}/notifications`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization },
          body: JSON.stringify(valid()),
        }),
        fetch(`${url}/notifications/${crypto.randomUUID()}`, { headers: { authorization } }),
      ]);
    }

    it('answers 503 with Retry-After when nothing listens on its port (connection refused)', async () => {
      const closed = await new Promise<number>((resolve) => {
        const server = createServer().listen(0, '127.0.0.1', () => {
          const { port } = server.address() as AddressInfo;
          server.close(() => resolve(port));
        });
      });
      const dead = new URL(db.resources.env.DATABASE_URL);
      dead.hostname = '127.0.0.1';
      dead.port = String(closed);
      const api = await appOn(new Pool({ connectionString: dead.toString(), connectionTimeoutMillis: 1_000 }));
      try {
        const answers = await bothRoutes(api.url);

        expect(answers.map((r) => r.status)).toEqual([503, 503]);
        for (const answer of answers) {
          expect(answer.headers.get('retry-after')).toBe('1');
          expect(await errorOf(answer)).toEqual({ code: 'DEPENDENCY.UNAVAILABLE', message: 'temporarily unavailable, retry' });
        }
      } finally {
        await api.close();
      }
    });

    it('answers 503 with Retry-After when every pooled connection is held past the connect timeout', async () => {
      const tiny = new Pool({ connectionString: db.resources.env.DATABASE_URL, max: 1, connectionTimeoutMillis: 200 });
      const held = await tiny.connect();
      const api = await appOn(tiny);
      try {
        const answers = await bothRoutes(api.url);

        expect(answers.map((r) => r.status)).toEqual([503, 503]);
        expect(answers.map((r) => r.headers.get('retry-after'))).toEqual(['1', '1']);
      } finally {
        held.release();
        await api.close();
      }
    });
  });
});
