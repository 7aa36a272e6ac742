import { serviceName } from './instrumentation'; // first: see instrumentation.ts
import { loadConfigOrExit } from '@qls/config';
import { runService } from '@qls/observability';
import { configSchema } from './config';
import { createHttpApp } from './http-app';

runService(serviceName, loadConfigOrExit(configSchema), createHttpApp);
