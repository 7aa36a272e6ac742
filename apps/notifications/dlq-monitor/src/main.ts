import { serviceName } from './instrumentation'; // first: see instrumentation.ts
import { loadConfigOrExit } from '@qls/config';
import { OPERATOR_BODY_LIMIT_BYTES, createJsonHttpApp } from '@qls/http-api';
import { runService } from '@qls/observability';
import { AppModule } from './app.module';
import { configSchema } from './config';

runService(serviceName, loadConfigOrExit(configSchema), (context) =>
  createJsonHttpApp(AppModule.register(context), { bodyLimitBytes: OPERATOR_BODY_LIMIT_BYTES }),
);
