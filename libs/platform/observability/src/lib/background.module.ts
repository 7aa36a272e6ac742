import {
  type DynamicModule,
  Inject,
  Injectable,
  type InjectionToken,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type Provider,
} from '@nestjs/common';
import type { Injected, Token } from './injection';

/**
 * Work a service does besides answering requests: a consumer, a relay, a
 * poller. {@link BackgroundModule} runs it with the app's lifecycle.
 */
export interface BackgroundTask {
  /** Once the app is up (connections made, before it listens). */
  start(): Promise<void> | void;
  /** On shutdown, first: stop taking new work and finish what is in flight. The connections are still open. */
  stop(): Promise<void> | void;
  /** After the HTTP server has closed, before the connections close: flush what the last requests left behind. */
  close?(): Promise<void> | void;
}

export interface BackgroundModuleOptions<D extends readonly Token[], T extends BackgroundTask | readonly BackgroundTask[]> {
  /** Also provide (and export) what the factory returns under this token, e.g. for a controller. */
  readonly provide?: InjectionToken;
  /** What the factory needs: the connection modules' clients (`Pool`, `Redis`, `SQSClient`, `KafkaPublisher`, …) or `providers`. */
  readonly inject?: D;
  /** Providers the task is built from that the app uses too (e.g. a controller): provided here and exported. */
  readonly providers?: readonly Provider[];
  /** The task, or several: started in order, stopped (and closed) in reverse. */
  useFactory(...deps: Injected<D>): T | Promise<T>;
}

/**
 * Tasks that start, stop and close at the same time rather than one after
 * another — e.g. consumers of independent groups, each of whose joins waits
 * for its own rebalance. Fails when any of them fails, once all have settled.
 */
export function concurrentTasks(tasks: readonly BackgroundTask[]): BackgroundTask {
  const all = async (step: (task: BackgroundTask) => Promise<void> | void) => {
    const failed = (await Promise.allSettled(tasks.map(async (task) => step(task)))).find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  };
  return { start: () => all((task) => task.start()), stop: () => all((task) => task.stop()), close: () => all((task) => task.close?.()) };
}

const TASKS = Symbol('BACKGROUND_TASKS');

/**
 * Starts the tasks on application bootstrap (after every connection module
 * is up); on shutdown stops them on module destroy — before the HTTP server
 * closes and long before the connections do (those close on application
 * shutdown, in global modules, which Nest tears down last) — and runs their
 * `close` after the HTTP server has closed.
 */
@Injectable()
class BackgroundRunner implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly tasks: readonly BackgroundTask[];

  constructor(@Inject(TASKS) tasks: BackgroundTask | readonly BackgroundTask[]) {
    this.tasks = Array.isArray(tasks) ? tasks : [tasks as BackgroundTask];
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const task of this.tasks) await task.start();
  }

  async onModuleDestroy(): Promise<void> {
    for (const task of [...this.tasks].reverse()) await task.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const task of [...this.tasks].reverse()) await task.close?.();
  }
}

/**
 * One way to run a background loop with the app's lifecycle:
 *
 * ```ts
 * BackgroundModule.run({
 *   provide: OUTBOX_RELAY,
 *   inject: [Pool, KafkaPublisher, SQSClient],
 *   useFactory: (pool, kafka, sqs) => new OutboxRelay({ pool, publishers: { kafka, sqs: new SqsPublisher(sqs) }, … }),
 * })
 * ```
 */
@Module({})
export class BackgroundModule {
  static run<const D extends readonly Token[], T extends BackgroundTask | readonly BackgroundTask[]>(
    options: BackgroundModuleOptions<D, T>,
  ): DynamicModule {
    const useFactory = options.useFactory as (...deps: unknown[]) => T | Promise<T>;
    const providers = options.providers ?? [];
    const tokenOf = (provider: Provider): InjectionToken => ('provide' in provider ? provider.provide : provider);
    return {
      module: BackgroundModule,
      providers: [
        ...providers,
        { provide: TASKS, inject: [...(options.inject ?? [])], useFactory },
        ...(options.provide === undefined ? [] : [{ provide: options.provide, useExisting: TASKS }]),
        BackgroundRunner,
      ],
      exports: [...providers.map(tokenOf), ...(options.provide === undefined ? [] : [options.provide])],
    };
  }
}
