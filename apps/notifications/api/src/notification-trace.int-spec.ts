import { randomBytes } from 'node:crypto';
import { migrate, readMigrations } from '@qls/provisioning';
import { suiteBuiltApi, uniqueName } from '@qls/testing';

/**
 * The first hop of a notification's trace, through the built app as deployed
 * (the HTTP server span comes from auto-instrumentation, which Jest's module
 * loader hides from in-process tests). Concurrent creates share one
 * transaction, yet each outbox row must carry the trace of its own request.
 */
describe('notification-api tracing (built app)', () => {
  const built = suiteBuiltApi('notification-api', { migrate, readMigrations }, { issuer: 'test', audience: 'notification-api' });

  it("stores each request's own trace context with its outbox row, also when requests share a batch", async () => {
    const { api: started, pool } = built;
    const { url } = started;
    const requests = await Promise.all(
      Array.from({ length: 32 }, async () => {
        const user = uniqueName('user');
        return { user, token: await started.token(user), traceId: randomBytes(16).toString('hex') };
      }),
    );

    const responses = await Promise.all(
      requests.map(({ user, token, traceId }) =>
        fetch(`${url}/notifications`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            traceparent: `00-${traceId}-${'a'.repeat(16)}-01`,
          },
          body: JSON.stringify({ userId: user, channel: 'push', template: 'traced', data: {} }),
        }),
      ),
    );

    expect(responses.map((response) => response.status)).toEqual(requests.map(() => 202));
    const { rows } = await pool.query<{ user_id: string; traceparent: string }>(
      `SELECT message_key AS user_id, headers->>'traceparent' AS traceparent FROM outbox WHERE event_type = 'NotificationRequested.v1'`,
    );
    const traceOf = new Map(rows.map((row) => [row.user_id, row.traceparent.split('-')[1]]));
    expect(requests.map(({ user }) => traceOf.get(user))).toEqual(requests.map(({ traceId }) => traceId));
    // They did share transactions: fewer batches than requests.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^notification_api_create_batch_size_sum(\{[^}]*\})? 32$/m);
    const batches = Number(/^notification_api_create_batch_size_count(?:\{[^}]*\})? (\d+)$/m.exec(metrics)?.[1]);
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan(32);
  }, 60_000);
});
