import { serviceName } from './instrumentation'; // first: see instrumentation.ts
import { loadConfigOrExit } from '@qls/config';
import { OPERATOR_BODY_LIMIT_BYTES, createJsonHttpApp } from '@qls/http-api';
import { runService } from '@qls/observability';
import { AppModule } from './app.module';
import { configSchema } from './config';
import { stateRewinders } from './rewinders';

runService(serviceName, loadConfigOrExit(configSchema), (context) => {
  const { rewinders, close } = stateRewinders(context.config, context.logger);
  return createJsonHttpApp(AppModule.register({ ...context, rewinders, closeRewinders: close }), {
    bodyLimitBytes: OPERATOR_BODY_LIMIT_BYTES,
  });
});
