import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { migrate, readMigrations } from '@qls/provisioning';
import { TestResources, startBuiltApi, uniqueName } from '@qls/testing';

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
    const started = await startBuiltApi('feed-api', {
      databaseUrl: resources.env.DATABASE_URL,
      schema,
      issuer: 'test',
      audience: 'feed-api',
    });
    api = started.process;
    const { url } = started;
    const author = uniqueName('author');
    const token = await started.token(author);
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
