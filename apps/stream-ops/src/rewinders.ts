import { Pool } from 'pg';
import type { AdapterLogger } from '@qls/kafka';
import { AlerterRewinder } from '@qls/metrics-alerter';
import type { GroupStateRewinder } from '@qls/stream-ops';

export interface StateRewinders {
  readonly rewinders: ReadonlyMap<string, GroupStateRewinder>;
  /** Ends the Postgres pool they use. */
  close(): Promise<void>;
}

/**
 * The state rewinders of consumer groups that keep state beside their offsets,
 * by group id: a replay of such a group rewinds its state first (see
 * ReplayService). The server and the replay CLI both take them from here, so
 * a replay rewinds the same way whichever runs it.
 *
 * The windowed alerter (group ALERTING_GROUP_ID) keeps its state and offsets
 * in Postgres: its replay goes back to a savepoint (AlerterRewinder).
 */
export function stateRewinders(
  config: { readonly DATABASE_URL: string; readonly ALERTING_GROUP_ID: string },
  logger?: AdapterLogger,
): StateRewinders {
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 2, connectionTimeoutMillis: 2_000 });
  pool.on('error', (error) => logger?.warn({ err: error.message }, 'idle Postgres connection failed'));
  const alerter = new AlerterRewinder(pool);
  return {
    rewinders: new Map<string, GroupStateRewinder>([[config.ALERTING_GROUP_ID, alerter]]),
    close: () => pool.end(),
  };
}
