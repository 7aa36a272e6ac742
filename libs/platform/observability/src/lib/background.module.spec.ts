import { Controller, Get, Inject, Injectable, Module, type OnApplicationShutdown, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BackgroundModule, type BackgroundTask, concurrentTasks } from './background.module';
import { typedToken } from './injection';
import { HealthModule } from './health.module';

/** A stand-in for a connection module (PostgresModule, RedisModule, …): global, closed at application shutdown. */
class FakeConnection {
  constructor(readonly events: string[]) {}
}

@Injectable()
class FakeConnectionCloser implements OnApplicationShutdown {
  constructor(@Inject(FakeConnection) private readonly connection: FakeConnection) {}

  onApplicationShutdown(): void {
    this.connection.events.push('connection closed');
  }
}

function fakeConnectionModule(events: string[]) {
  @Module({})
  class FakeConnectionModule {}
  return {
    module: FakeConnectionModule,
    global: true,
    providers: [{ provide: FakeConnection, useValue: new FakeConnection(events) }, FakeConnectionCloser],
    exports: [FakeConnection],
  };
}

function task(name: string, events: string[], server?: () => INestApplication | undefined): BackgroundTask {
  const listening = () => (server?.()?.getHttpServer() as { listening: boolean } | undefined)?.listening;
  return {
    start: async () => {
      events.push(`${name} started`);
    },
    stop: async () => {
      events.push(`${name} stopped${server ? ` (server listening: ${String(listening())})` : ''}`);
    },
    close: async () => {
      events.push(`${name} closed${server ? ` (server listening: ${String(listening())})` : ''}`);
    },
  };
}

describe('BackgroundModule', () => {
  let app: INestApplication | undefined;
  afterEach(() => app?.close());

  it('starts its tasks in order once the app is up, stops and closes them in reverse, and only then do the connections close', async () => {
    const events: string[] = [];
    @Module({
      imports: [
        fakeConnectionModule(events),
        BackgroundModule.run({
          inject: [FakeConnection],
          useFactory: (connection) => [task('relay', connection.events), task('poller', connection.events)],
        }),
      ],
    })
    class AppModule {}

    const context = await NestFactory.createApplicationContext(AppModule, { logger: false });
    expect(events).toEqual(['relay started', 'poller started']);
    await context.close();

    expect(events).toEqual([
      'relay started',
      'poller started',
      'poller stopped',
      'relay stopped',
      'poller closed',
      'relay closed',
      'connection closed',
    ]);
  });

  it('stops a task while the HTTP server still answers, and closes it after the server has stopped listening', async () => {
    const events: string[] = [];
    @Module({
      imports: [
        HealthModule.forRoot({ checks: [] }),
        fakeConnectionModule(events),
        BackgroundModule.run({ inject: [FakeConnection], useFactory: (connection) => task('consumer', connection.events, () => app) }),
      ],
    })
    class AppModule {}

    app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    await app.close();
    app = undefined;

    expect(events).toEqual([
      'consumer started',
      'consumer stopped (server listening: true)',
      'consumer closed (server listening: false)',
      'connection closed',
    ]);
  });

  it('provides the task, and the providers it is built from, under their tokens, so a controller can use them', async () => {
    const RELAY = typedToken<{ batches: number } & BackgroundTask>('RELAY');
    const STORE = typedToken<{ name: string }>('STORE');
    @Controller('relay')
    class RelayHttpController {
      constructor(
        @Inject(RELAY) private readonly relay: { batches: number },
        @Inject(STORE) private readonly store: { name: string },
      ) {}

      @Get()
      stats() {
        return { batches: this.relay.batches, store: this.store.name };
      }
    }
    @Module({
      imports: [
        BackgroundModule.run({
          providers: [{ provide: STORE, useValue: { name: 'outbox' } }],
          provide: RELAY,
          inject: [STORE],
          useFactory: (store) => ({ batches: store.name.length, start: () => undefined, stop: () => undefined }),
        }),
      ],
      controllers: [RelayHttpController],
    })
    class AppModule {}

    app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    app.get(RELAY).batches += 1;

    const response = await fetch(`${await app.getUrl()}/relay`);
    expect(await response.json()).toEqual({ batches: 7, store: 'outbox' });
  });

  it('runs concurrent tasks together: each step waits for all of them, and a failure surfaces once the others have settled', async () => {
    const events: string[] = [];
    // Each step takes a turn of the event loop: run one after another, the second would begin after the first ended.
    const step =
      (name: string, [doing, done]: readonly [string, string], failure?: Error) =>
      async () => {
        events.push(`${name} ${doing}`);
        await new Promise((resolve) => setImmediate(resolve));
        events.push(`${name} ${done}`);
        if (failure) throw failure;
      };
    const failure = new Error('search group: broker refused');
    const group = (name: string, stopFailure?: Error): BackgroundTask => ({
      start: step(name, ['starting', 'started']),
      stop: step(name, ['stopping', 'stopped'], stopFailure),
    });
    const together = concurrentTasks([group('search', failure), group('analytics')]);

    await together.start();
    await expect(together.stop()).rejects.toBe(failure);

    expect(events).toEqual([
      'search starting',
      'analytics starting',
      'search started',
      'analytics started',
      'search stopping',
      'analytics stopping',
      'search stopped',
      'analytics stopped',
    ]);
    await expect(together.close?.()).resolves.toBeUndefined();
  });
});
