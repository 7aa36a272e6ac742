import { Kafka } from 'kafkajs';
import { BackgroundModule, createLogger } from '@qls/observability';
import { startModules } from '@qls/observability/testing';
import { suiteResources, uniqueName } from '@qls/testing';
import { KafkaModule, KafkaPublisher } from './index';

describe('KafkaModule (real Kafka)', () => {
  const suite = suiteResources({ each: true });
  const logger = createLogger({ service: 'kafka-module-test', level: 'silent' });

  async function start(...modules: Parameters<typeof startModules>) {
    const started = await startModules(...modules);
    suite.resources.onCleanup(() => started.close());
    return started;
  }

  it('is ready once the brokers answer and the topics exist, and not ready, naming the missing topic, before', async () => {
    const topic = await suite.resources.topic('kafka-module');
    const missing = uniqueName('no-such-topic');
    const { app, readiness } = await start(
      KafkaModule.forRoot({ config: suite.resources.env, service: 'kafka-module-test', logger, readinessTopics: [topic, missing] }),
    );

    const report = await readiness(10_000);
    expect(report.failed).toEqual(['kafka']);
    expect(report.checks['kafka']).toMatchObject({ status: 'down', error: `missing topic(s): ${missing}` });
    expect(app.get(Kafka)).toBeInstanceOf(Kafka);
  });

  it('closes the publisher at shutdown only after the background tasks have stopped (they may still publish while stopping)', async () => {
    const topic = await suite.resources.topic('kafka-module');
    const events: string[] = [];
    const { app, readiness, close } = await start(
      KafkaModule.forRoot({ config: suite.resources.env, service: 'kafka-module-test', logger, readinessTopics: [topic] }),
      BackgroundModule.run({
        inject: [KafkaPublisher],
        useFactory: (publisher) => ({
          start: () => void events.push('started'),
          stop: async () => {
            await publisher.publishRecords(topic, [{ key: 'k', value: 'the last record' }]);
            events.push('stopped after its last publish');
          },
        }),
      }),
    );
    expect((await readiness(10_000)).status).toBe('ready');
    const publisher = app.get(KafkaPublisher);

    await close();

    expect(events).toEqual(['started', 'stopped after its last publish']);
    const admin = await suite.resources.kafkaAdmin();
    expect((await admin.fetchTopicOffsets(topic)).map((p) => p.high)).toEqual(['1']);
    await expect(publisher.publishRecords(topic, [{ value: 'too late' }])).rejects.toMatchObject({ code: 'KAFKA.PUBLISHER_CLOSED' });
  });
});
