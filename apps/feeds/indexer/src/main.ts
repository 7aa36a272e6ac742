import { serviceName } from './instrumentation'; // first: see instrumentation.ts
import { loadConfigOrExit } from '@qls/config';
import { createNestApp, runService } from '@qls/observability';
import { AppModule } from './app.module';
import { configSchema } from './config';

runService(serviceName, loadConfigOrExit(configSchema), (context) => createNestApp(AppModule.register(context)));
