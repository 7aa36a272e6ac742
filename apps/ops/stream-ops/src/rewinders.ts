import { Pool } from 'pg';
import type { AdapterLogger } from '@qls/kafka';
import type { GroupStateRewinder } from '@qls/stream-replay';
import { alerterRewinder } from './alerter-rewinder'; // drop-system: metrics

/** What the state rewinders read: the database their state lives in, and each rewinder's own settings. */
export interface RewinderConfig {
  readonly DATABASE_URL: string;
  readonly ALERTING_GROUP_ID: string;
}

/** One system's rewinder: the consumer group whose state it rewinds, on the shared pool. */
export type RewinderPlugin = (config: RewinderConfig, pool: Pool) => readonly [groupId: string, rewinder: GroupStateRewinder];

/**
 * The systems whose consumer groups keep state beside their offsets, one line
 * each. A fork that drops a system drops its line (tools/drop-system.ts does).
 */
const plugins: readonly RewinderPlugin[] = [
  alerterRewinder, // drop-system: metrics
];

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
 */
export function stateRewinders(config: RewinderConfig, logger?: AdapterLogger): StateRewinders {
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 2, connectionTimeoutMillis: 2_000 });
  pool.on('error', (error) => logger?.warn({ err: error.message }, 'idle Postgres connection failed'));
  return {
    rewinders: new Map<string, GroupStateRewinder>(plugins.map((plugin) => plugin(config, pool))),
    close: () => pool.end(),
  };
}
