import type { Pool } from 'pg';
import type { StoredPoint } from './stored-point';

export interface SeriesQuery {
  readonly serviceId: string;
  readonly name: string;
  /** Epoch ms, inclusive. */
  readonly from: number;
  /** Epoch ms, exclusive. */
  readonly to: number;
  readonly limit: number;
}

export interface SeriesPoint {
  readonly seriesKey: string;
  readonly labels: Record<string, string>;
  readonly timestamp: number;
  readonly value: number;
}

/**
 * The `metric_points` table (infra/migrations/0003_metric_points.sql).
 * One point per (series_key, ts), as Prometheus keeps: the first one written
 * stays, a later one is dropped (a retried `POST /metrics`, a redelivery or a
 * replay rewrite nothing) — the alerter and the dashboard keep the same one.
 */
export class MetricPointsStore {
  constructor(private readonly pool: Pool) {}

  /**
   * Writes the points in ONE statement — a multi-row insert from arrays
   * (`unnest`), which costs the same round trip and parse for 1 or 5,000
   * points and never hits the 65,535-parameter limit — with
   * `ON CONFLICT (series_key, ts) DO NOTHING`: a point whose series and
   * timestamp are stored already is dropped, and of points repeated within the
   * batch the first is written. Returns the number of points written (new
   * rows); the others were duplicates.
   *
   * @throws the driver's error; see {@link isDataError} for what it means
   */
  async write(points: readonly StoredPoint[]): Promise<number> {
    if (points.length === 0) return 0;
    const first = new Map<string, StoredPoint>();
    for (const point of points) {
      const key = `${point.seriesKey}\u0000${point.timestamp}`;
      if (!first.has(key)) first.set(key, point);
    }
    const rows = [...first.values()];
    const { rowCount } = await this.pool.query(
      `INSERT INTO metric_points (service_id, name, labels, series_key, ts, value)
       SELECT service_id, name, labels::jsonb, series_key, 'epoch'::timestamptz + ts_ms * interval '1 millisecond', value
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::float8[])
           AS p(service_id, name, labels, series_key, ts_ms, value)
       ON CONFLICT (series_key, ts) DO NOTHING`,
      [
        rows.map((p) => p.serviceId),
        rows.map((p) => p.name),
        rows.map((p) => JSON.stringify(p.labels)),
        rows.map((p) => p.seriesKey),
        rows.map((p) => p.timestamp),
        rows.map((p) => p.value),
      ],
    );
    return rowCount ?? 0;
  }

  /** Points of every series of `name` of `serviceId` in [from, to), oldest first, at most `limit`. */
  async series(query: SeriesQuery): Promise<SeriesPoint[]> {
    const { rows } = await this.pool.query<{ series_key: string; labels: Record<string, string>; ts_ms: string; value: number }>(
      `SELECT series_key, labels, (extract(epoch FROM ts) * 1000)::bigint AS ts_ms, value
         FROM metric_points
        WHERE service_id = $1 AND name = $2 AND ts >= $3 AND ts < $4
        ORDER BY ts, series_key
        LIMIT $5`,
      [query.serviceId, query.name, new Date(query.from).toISOString(), new Date(query.to).toISOString(), query.limit],
    );
    return rows.map((row) => ({ seriesKey: row.series_key, labels: row.labels, timestamp: Number(row.ts_ms), value: row.value }));
  }

  /** Creates the day partitions from `firstDay` (UTC) for `days` days where missing; returns how many it created. */
  async ensurePartitions(firstDay: Date, days: number): Promise<number> {
    const { rows } = await this.pool.query<{ created: number }>('SELECT ensure_metric_points_partitions($1::date, $2) AS created', [
      firstDay.toISOString().slice(0, 10),
      days,
    ]);
    return rows[0]?.created ?? 0;
  }

  /**
   * Retention: drops the day partitions of days before `firstKeptDay` (UTC)
   * and returns their names. A whole day goes at once (no DELETE, no bloat);
   * points that landed in the default partition are not touched. Plain DROP,
   * as DETACH … CONCURRENTLY is refused while a default partition exists: it
   * locks metric_points for the moment the catalog changes take. The DROP runs
   * in drop_metric_points_partitions_before (migration 0008, SECURITY DEFINER):
   * this app's role owns no table.
   */
  async dropPartitionsBefore(firstKeptDay: Date): Promise<string[]> {
    const { rows } = await this.pool.query<{ name: string }>('SELECT name FROM drop_metric_points_partitions_before($1::date) AS name', [
      firstKeptDay.toISOString().slice(0, 10),
    ]);
    return rows.map((r) => r.name);
  }
}

/**
 * Whether Postgres refused a statement because of the data in it: SQLSTATE
 * class 22 (data exception) or 23 (integrity constraint violation). Those
 * fail again with the same points; everything else — no connection (class
 * 08, or no SQLSTATE at all), serialization failure or deadlock (40), out of
 * resources (53), statement timeout or shutdown (57), lock timeout (55P03),
 * a missing table (42) — can succeed later and is retried.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23)[0-9A-Z]{3}$/.test(code);
}
