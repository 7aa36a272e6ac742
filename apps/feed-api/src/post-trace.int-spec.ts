import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { migrate, readMigrations } from '@qls/provisioning';
import { TestResources, freePort, startBuiltApp, uniqueName, waitFor } from '@qls/testing';

/**
 * The first hop of the feed's trace, through the built app as deployed (the
 * HTTP server span comes from auto-instrumentation, which Jest's module loader
 * hides from in-process tests): the PostCreated outbox row carries the trace of
 * the POST /posts request. From there the relay, the fan-out consumer, the SQS
 * task and the worker continue it (libs/outbox and libs/feed-fanout tests).
 */
describe('feed-api tracing (built app)', () => {
  const resources = new TestResources();
  let api: ChildProcess | undefined;
  afterAll(async () => {
    api?.kill();
    await resources.cleanup();
  });

  it('stores the request’s trace context with the PostCreated outbox row', async () => {
    const { pool, schema } = await resources.postgres();
    await migrate(pool, readMigrations(join(__dirname, '../../../infra/migrations')));
    const keys = await generateKeyPair('ES256', { extractable: true });
    const port = await freePort();
    const databaseUrl = new URL(resources.env.DATABASE_URL);
    databaseUrl.searchParams.set('options', `-c search_path=${schema}`);
    api = startBuiltApp('feed-api', {
      HTTP_PORT: String(port),
      DATABASE_URL: databaseUrl.toString(),
      AUTH_JWT_PUBLIC_KEYS: await exportSPKI(keys.publicKey),
      AUTH_JWT_ISSUER: 'test',
      AUTH_JWT_AUDIENCE: 'feed-api',
    });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${url}/health/ready`).catch(() => undefined))?.status === 200, {
      timeoutMs: 30_000,
      description: 'feed-api ready',
    });
    const author = uniqueName('author');
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject(author)
      .setIssuer('test')
      .setAudience('feed-api')
      .setExpirationTime('5m')
      .sign(keys.privateKey);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const user = await fetch(`${url}/users`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ handle: author.replaceAll('-', '_').slice(0, 30) }),
    });
    expect(user.status).toBe(201);

    const traceId = randomUUID().replaceAll('-', '');
    const post = await fetch(`${url}/posts`, {
      method: 'POST',
      headers: { ...headers, traceparent: `00-${traceId}-${'a'.repeat(16)}-01` },
      body: JSON.stringify({ body: 'traced' }),
    });
    expect(post.status).toBe(201);

    const { rows } = await pool.query<{ traceparent: string }>(
      `SELECT headers->>'traceparent' AS traceparent FROM outbox WHERE event_type = 'PostCreated.v1' AND message_key = $1`,
      [author],
    );
    expect(rows.map((row) => row.traceparent.split('-')[1])).toEqual([traceId]);
  }, 60_000);
});
