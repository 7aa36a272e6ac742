import { Redis } from 'ioredis';
import { BackgroundModule, createLogger } from '@qls/observability';
import { captureLogs, startModules } from '@qls/observability/testing';
import { freePort, suiteResources, uniqueName, waitFor } from '@qls/testing';
import { RedisModule, redisToken } from './index';

describe('RedisModule (real Redis)', () => {
  const suite = suiteResources({ each: true });
  const logs = captureLogs();
  const logger = createLogger({ service: 'redis-module-test', level: 'warn', destination: logs.destination });
  const config = () => ({ REDIS_URL: suite.resources.env.REDIS_URL });

  async function start(...modules: Parameters<typeof startModules>) {
    const started = await startModules(...modules);
    suite.resources.onCleanup(() => started.close());
    return started;
  }

  it('provides the default client by class and a named one by its token, each with its own options, and checks only those asked', async () => {
    const key = uniqueName('redis-module');
    const { app, readiness } = await start(
      RedisModule.forRoot({ config: config(), logger }),
      RedisModule.forRoot({ config: config(), logger, name: 'limiter', readiness: false, options: { keyPrefix: `${key}:` } }),
    );

    await app.get(redisToken('limiter')).set('k', 'limited', 'EX', 60);
    expect(await app.get(Redis).get(`${key}:k`)).toBe('limited');
    expect(app.get(Redis)).not.toBe(app.get(redisToken('limiter')));
    expect(await readiness()).toEqual({ status: 'ready', failed: [], checks: { redis: { status: 'up' } } });
    await app.get(Redis).del(`${key}:k`);
  });

  it('is not ready, naming redis, when the server is unreachable, and logs the connection errors instead of throwing them', async () => {
    const away = { REDIS_URL: `redis://127.0.0.1:${await freePort()}` };
    const { readiness } = await start(RedisModule.forRoot({ config: away, logger, name: 'away', options: { maxRetriesPerRequest: 0 } }));

    expect((await readiness(500)).failed).toEqual(['redis:away']);
    await waitFor(() => logs.lines().some((line) => line['msg'] === 'Redis connection failed' && line['client'] === 'away'));
  });

  it('quits the client at shutdown only after the background tasks have stopped (they may still use it while stopping)', async () => {
    const events: string[] = [];
    const { app, close } = await start(
      RedisModule.forRoot({ config: config(), logger }),
      BackgroundModule.run({
        inject: [Redis],
        useFactory: (redis) => ({
          start: async () => void events.push(`started: ${await redis.ping()}`),
          stop: async () => void events.push(`stopped after its last command: ${await redis.ping()}`),
        }),
      }),
    );
    const redis = app.get(Redis);
    const quit = redis.quit.bind(redis);
    jest.spyOn(redis, 'quit').mockImplementation(() => {
      events.push('client quit');
      return quit();
    });

    await close();

    expect(events).toEqual(['started: PONG', 'stopped after its last command: PONG', 'client quit']);
    await waitFor(() => redis.status === 'end');
  });
});
