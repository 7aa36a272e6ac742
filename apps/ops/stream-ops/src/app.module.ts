import { apiErrorFilter, openApiController, operatorProviders } from '@qls/http-api';
import { KafkaModule } from '@qls/kafka';
import { type ServiceContext, serviceModule } from '@qls/observability';
import type { GroupStateRewinder } from '@qls/stream-replay';
import type { Config } from './config';
import { LagHttpController } from './lag.http-controller';
import { lagAndReplay } from './lag-and-replay';
import { ReplayHttpController } from './replay.http-controller';
import { openApi } from './openapi';

export interface AppModuleOptions extends ServiceContext<Config> {
  /** State rewinders by consumer group id (see rewinders.ts). */
  readonly rewinders?: ReadonlyMap<string, GroupStateRewinder>;
  /** Closes what the rewinders hold (a Postgres pool), after the HTTP server. */
  readonly closeRewinders?: () => Promise<void>;
}

/**
 * Stream operations for operators: consumer lag per monitored group (GET
 * /lag, polled in the background) and replays of a group from a point in
 * time (POST /groups/:group/replay), rewinding the group's state where it keeps some.
 */
export const AppModule = serviceModule(({ config, service, logger, rewinders, closeRewinders }: AppModuleOptions, registry) => ({
  imports: [KafkaModule.forRoot({ config, service, logger }), lagAndReplay(config, { registry, logger, rewinders, closeRewinders })],
  controllers: [LagHttpController, ReplayHttpController, openApiController(openApi)],
  providers: [apiErrorFilter({ logger, statusByCode: {} }), ...operatorProviders(config, logger)],
}));
