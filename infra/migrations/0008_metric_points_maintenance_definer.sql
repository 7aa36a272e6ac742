-- Least-privilege roles (libs/provisioning database-roles.ts): metrics-storage
-- connects as a role that owns nothing and may not create tables, yet makes
-- and drops metric_points' day partitions. Both run as this migration's role
-- (the owner) through SECURITY DEFINER functions with a fixed search_path, and
-- only roles granted EXECUTE (provision grants metrics-storage's) may call them.

ALTER FUNCTION ensure_metric_points_partitions(date, integer) SECURITY DEFINER SET search_path FROM CURRENT;
REVOKE EXECUTE ON FUNCTION ensure_metric_points_partitions(date, integer) FROM PUBLIC;

-- Retention: drops the day partitions of days before first_kept_day (UTC) and
-- returns their names in order. The default partition is never touched.
CREATE FUNCTION drop_metric_points_partitions_before(first_kept_day date) RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  partition_name text;
BEGIN
  FOR partition_name IN
    SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = format('%I.metric_points', current_schema())::regclass
       AND c.relname ~ '^metric_points_[0-9]{8}$'
       AND c.relname < 'metric_points_' || to_char(first_kept_day, 'YYYYMMDD')
     ORDER BY 1
  LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I.%I', current_schema(), partition_name);
    RETURN NEXT partition_name;
  END LOOP;
END;
$$;
ALTER FUNCTION drop_metric_points_partitions_before(date) SET search_path FROM CURRENT;
REVOKE EXECUTE ON FUNCTION drop_metric_points_partitions_before(date) FROM PUBLIC;
