-- System 2: the windowed alerter's state, checkpointed with its offsets
-- (docs/adr/0008-alerter-checkpoints.md).
--
-- One row per (consumer group, topic, partition): the partition's alerter state
-- (open windows, watermark inputs, rule states) and the offset of the next
-- record to read, written in ONE transaction together with the alerts the state
-- change produced (outbox rows). So state, position and output never disagree:
-- a crash or a rebalance restores a state that matches its offset exactly.
CREATE TABLE alerter_checkpoints (
  group_id    text    NOT NULL,
  topic       text    NOT NULL,
  partition   integer NOT NULL,
  -- Fencing token: every (re)assignment claims epoch + 1; a checkpoint is only
  -- written by the holder of the current epoch, so a member from an older
  -- generation (paused, kicked out, still running) cannot overwrite a newer one.
  epoch       bigint  NOT NULL DEFAULT 0,
  -- Offset of the next record to process; NULL until the first checkpoint.
  next_offset bigint,
  state       jsonb,
  -- Largest event time in the state (ms), for replay and the ops console.
  max_event_time bigint,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition)
);

-- Savepoints: copies of a partition's checkpoint taken every few minutes and
-- kept for a while, so a replay to a timestamp can rewind the state to a point
-- consistent with the offsets it rewinds to (a checkpoint alone only knows "now").
CREATE TABLE alerter_savepoints (
  group_id       text        NOT NULL,
  topic          text        NOT NULL,
  partition      integer     NOT NULL,
  next_offset    bigint      NOT NULL,
  state          jsonb       NOT NULL,
  max_event_time bigint,
  taken_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition, next_offset)
);
CREATE INDEX alerter_savepoints_taken_idx ON alerter_savepoints (taken_at);
