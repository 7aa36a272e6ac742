import { SQSClient } from '@aws-sdk/client-sqs';
import { BackgroundModule } from '@qls/observability';
import { startModules } from '@qls/observability/testing';
import { suiteResources, uniqueName } from '@qls/testing';
import { SqsModule, queueDepth } from './index';

describe('SqsModule (real ElasticMQ)', () => {
  const suite = suiteResources({ each: true });

  async function start(...modules: Parameters<typeof startModules>) {
    const started = await startModules(...modules);
    suite.resources.onCleanup(() => started.close());
    return started;
  }

  it('is ready while the named queue exists, and not ready, naming sqs, when it does not', async () => {
    const { url } = await suite.resources.queue('sqs-module');
    const config = suite.resources.env;
    const ready = await start(SqsModule.forRoot({ config, readinessQueue: url.split('/').pop() as string }));
    const missing = await start(SqsModule.forRoot({ config, readinessQueue: uniqueName('no-such-queue') }));

    expect(await ready.readiness()).toEqual({ status: 'ready', failed: [], checks: { sqs: { status: 'up' } } });
    expect((await missing.readiness()).failed).toEqual(['sqs']);
  });

  it('destroys the client at shutdown only after the background tasks have stopped (they may still call SQS while stopping)', async () => {
    const { url } = await suite.resources.queue('sqs-module');
    const events: string[] = [];
    const { app, close } = await start(
      SqsModule.forRoot({ config: suite.resources.env }),
      BackgroundModule.run({
        inject: [SQSClient],
        useFactory: (sqs) => ({
          start: async () => void events.push(`started: ${(await queueDepth(sqs, url)).visible} visible`),
          stop: async () => void events.push(`stopped after its last call: ${(await queueDepth(sqs, url)).visible} visible`),
        }),
      }),
    );
    const sqs = app.get(SQSClient);
    const destroy = sqs.destroy.bind(sqs);
    jest.spyOn(sqs, 'destroy').mockImplementation(() => {
      events.push('client destroyed');
      destroy();
    });

    await close();

    expect(events).toEqual(['started: 0 visible', 'stopped after its last call: 0 visible', 'client destroyed']);
  });
});
