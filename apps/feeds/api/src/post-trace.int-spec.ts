import { randomUUID } from 'node:crypto';
import { migrate, readMigrations } from '@qls/provisioning';
import { suiteBuiltApi, uniqueName } from '@qls/testing';

/**
 * The first hop of the feed's trace, through the built app as deployed (the
 * HTTP server span comes from auto-instrumentation, which Jest's module loader
 * hides from in-process tests): the PostCreated outbox row carries the trace of
 * the POST /posts request. From there the relay, the fan-out consumer, the SQS
 * task and the worker continue it (libs/platform/outbox and libs/feeds/distribution tests).
 */
describe('feed-api tracing (built app)', () => {
  const built = suiteBuiltApi('feed-api', { migrate, readMigrations }, { issuer: 'test', audience: 'feed-api' });

  it('stores the request’s trace context with the PostCreated outbox row', async () => {
    const { api: started, pool } = built;
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
