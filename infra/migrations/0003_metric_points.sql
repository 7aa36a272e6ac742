-- System 2: the metrics time series, written by the `storage` consumer group
-- of metrics-raw (apps/metrics-storage) and read by GET /series.
--
-- Idempotent writes: a point is identified by its series and its event time,
-- UNIQUE (series_key, ts). The consumer writes with
--   INSERT ... ON CONFLICT (series_key, ts) DO UPDATE SET value = EXCLUDED.value
-- so a redelivered or replayed record never adds a row, and the last write of a
-- point wins (records of one service stay in order on their partition).
--
-- Partitioned by day (declarative RANGE on ts), because time-series data is
-- written near "now", read by time range, and expired by age: a query for a
-- range touches only its days' partitions (pruning, also with parameters), each
-- day's indexes stay small enough to be cached while it is written, and
-- retention becomes DROP TABLE of a whole day instead of a DELETE that bloats.
-- Partitions are made ahead of time by ensure_metric_points_partitions(), which
-- the storage app calls at boot and every hour. The DEFAULT partition takes
-- whatever has no day partition (points far in the past or future, or before
-- the first partitions exist), so an insert never fails for want of one.
-- Alternatives not taken: one plain table (simplest, but retention by DELETE
-- and ever-growing indexes), TimescaleDB (an extension the local Postgres and
-- managed offerings may not have).

CREATE TABLE metric_points (
  service_id  text NOT NULL,
  name        text NOT NULL,
  labels      jsonb NOT NULL DEFAULT '{}',
  -- seriesKey() of libs/metrics-contracts: service|name|sorted labels.
  series_key  text NOT NULL,
  -- Event time (the point's timestamp), not arrival time.
  ts          timestamptz NOT NULL,
  value       double precision NOT NULL,
  -- When this value was (last) written: tells a replay's rewrite from the first write.
  written_at  timestamptz NOT NULL DEFAULT now(),
  -- Includes the partition key, as a unique constraint on a partitioned table must.
  CONSTRAINT metric_points_series_ts_key UNIQUE (series_key, ts)
) PARTITION BY RANGE (ts);

-- GET /series?serviceId=&name=&from=&to= : every series of a metric in a time range.
-- (One series by key and range uses the unique index.)
CREATE INDEX metric_points_service_name_ts_idx ON metric_points (service_id, name, ts);

CREATE TABLE metric_points_default PARTITION OF metric_points DEFAULT;

-- Creates the day partitions metric_points_YYYYMMDD (UTC days) for `days` days
-- from `first_day`, skipping those that exist; returns how many it created.
-- A day whose points already landed in the default partition is skipped (with
-- a notice): creating it would fail, and those points stay readable there.
-- Concurrent callers (several storage replicas) queue on an advisory lock.
CREATE FUNCTION ensure_metric_points_partitions(first_day date, days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  day date;
  partition_name text;
  created integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('ensure_metric_points_partitions'));
  FOR i IN 0 .. days - 1 LOOP
    day := first_day + i;
    partition_name := 'metric_points_' || to_char(day, 'YYYYMMDD');
    CONTINUE WHEN to_regclass(partition_name) IS NOT NULL;
    BEGIN
      EXECUTE format(
        'CREATE TABLE %I PARTITION OF metric_points FOR VALUES FROM (%L) TO (%L)',
        partition_name,
        (day::timestamp AT TIME ZONE 'UTC'),
        ((day + 1)::timestamp AT TIME ZONE 'UTC')
      );
      created := created + 1;
    EXCEPTION WHEN check_violation THEN
      RAISE NOTICE 'metric_points: % not created, the default partition holds points of that day', partition_name;
    END;
  END LOOP;
  RETURN created;
END;
$$;
