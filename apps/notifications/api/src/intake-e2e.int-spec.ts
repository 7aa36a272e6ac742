import { notificationsWithoutOutboxEvent } from '@qls/notification-intake';
import { migrate, readMigrations } from '@qls/provisioning';
import { suiteBuiltApi, uniqueName } from '@qls/testing';

/**
 * The intake as deployed (the built app, its own process), under the load
 * that broke it: 100 valid creates from 100 users, all at once, with poison
 * requests among them — data Postgres refuses, token subjects that are no
 * identity. Every valid one is accepted, every poison one refused alone, and
 * afterwards every notification row has its outbox event.
 */
describe('notification-api intake with poison among good traffic (built app)', () => {
  const built = suiteBuiltApi(
    'notification-api',
    { migrate, readMigrations },
    {
      issuer: 'test',
      audience: 'notification-api',
      env: { RATE_LIMIT_BURST: '100' },
    },
  );

  it('accepts 100 concurrent valid creates while refusing the poison ones alone, and leaves no row without its outbox event', async () => {
    const { api: started, pool } = built;
    const create = async (sub: string, body: Record<string, unknown>) => {
      const response = await fetch(`${started.url}/notifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await started.token(sub)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: sub, channel: 'push', template: 'welcome', ...body }),
      });
      return response.status;
    };
    const users = Array.from({ length: 100 }, () => uniqueName('user'));
    const poison = [
      () => create(users[0] as string, { data: { k: '\ud800' } }),
      () => create(users[1] as string, { data: { k: 'a\u0000' } }),
      () => create(`${uniqueName('user')}\ud800`, { data: {} }),
      () => create(`${uniqueName('user')}\u0000`, { data: {} }),
    ];

    const [valid, refused] = await Promise.all([
      Promise.all(users.map((user, i) => create(user, { data: { i } }))),
      Promise.all(poison.map((send) => send())),
    ]);

    expect(valid).toEqual(users.map(() => 202));
    expect(refused).toEqual([400, 400, 401, 401]);
    const { rows } = await pool.query<{ notifications: number; outbox: number }>(
      'SELECT (SELECT count(*)::int FROM notifications) AS notifications, (SELECT count(*)::int FROM outbox) AS outbox',
    );
    expect(rows[0]).toEqual({ notifications: 100, outbox: 100 });
    expect(await notificationsWithoutOutboxEvent(pool)).toEqual([]);
  }, 60_000);
});
