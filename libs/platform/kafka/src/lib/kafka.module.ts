import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { kafkaSettings } from '@qls/config';
import { type Logger, ReadinessChecks } from '@qls/observability';
import { createKafka } from './kafka-client';
import { KafkaPublisher, type KafkaPublisherOptions } from './kafka.publisher';
import { kafkaTopicsReadiness } from './kafka.readiness';

export interface KafkaModuleOptions {
  /** `kafkaEnv` of libs/platform/config. */
  readonly config: { readonly KAFKA_BROKERS: string[]; readonly KAFKA_CLIENT_ID?: string | undefined };
  /** The client id when `KAFKA_CLIENT_ID` is unset. */
  readonly service: string;
  readonly logger: Logger;
  /** Options of the app's {@link KafkaPublisher} (e.g. `compression`). */
  readonly publisher?: Omit<KafkaPublisherOptions, 'logger'>;
  /** `/health/ready` waits until the brokers answer and these topics exist (provisioning has run). @defaultValue no check */
  readonly readinessTopics?: readonly string[];
}

const CLOSERS = Symbol('KAFKA_CLOSERS');

/** At application shutdown (after the HTTP server and the background tasks): the publisher sends what is queued and disconnects, then the readiness admin. */
@Injectable()
class KafkaCloser implements OnApplicationShutdown {
  constructor(@Inject(CLOSERS) private readonly closers: readonly (() => Promise<void>)[]) {}

  async onApplicationShutdown(): Promise<void> {
    for (const close of this.closers) await close();
  }
}

/**
 * The app's kafkajs client ({@link createKafka}, logging through the app's
 * logger) and its {@link KafkaPublisher}, both injected by class
 * (`@Inject(Kafka)`, `@Inject(KafkaPublisher)`; the producer connects on the
 * first publish), with a `kafka` readiness check when topics are named, closed
 * at application shutdown — global modules are torn down last.
 */
@Module({})
export class KafkaModule {
  static forRoot(options: KafkaModuleOptions): DynamicModule {
    const { config, service, logger, readinessTopics } = options;
    return {
      module: KafkaModule,
      global: true,
      providers: [
        { provide: Kafka, useFactory: () => createKafka(kafkaSettings(config, service), logger) },
        {
          provide: KafkaPublisher,
          inject: [Kafka],
          useFactory: (kafka: Kafka) => new KafkaPublisher(kafka, { ...options.publisher, logger }),
        },
        {
          provide: CLOSERS,
          inject: [Kafka, KafkaPublisher, ReadinessChecks],
          useFactory: (kafka: Kafka, publisher: KafkaPublisher, readiness: ReadinessChecks) => {
            const closers = [() => publisher.close()];
            if (readinessTopics !== undefined) {
              const topics = kafkaTopicsReadiness(kafka, readinessTopics);
              readiness.add(topics);
              closers.push(() => topics.close());
            }
            return closers;
          },
        },
        KafkaCloser,
      ],
      exports: [Kafka, KafkaPublisher],
    };
  }
}
