// drop-system: metrics
import { AlerterRewinder } from '@qls/metrics-alerting';
import type { RewinderPlugin } from './rewinders';

/**
 * The windowed alerter (group ALERTING_GROUP_ID) keeps its state and offsets
 * in Postgres: its replay goes back to a savepoint (AlerterRewinder).
 */
export const alerterRewinder: RewinderPlugin = (config, pool) => [config.ALERTING_GROUP_ID, new AlerterRewinder(pool)];
