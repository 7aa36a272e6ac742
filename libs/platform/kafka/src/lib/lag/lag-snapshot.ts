/** A consumer group reading a topic: what the lag monitor watches. */
export interface LagTarget {
  readonly groupId: string;
  readonly topic: string;
}

/** What the broker says about one partition for one group, at one instant. */
export interface PartitionOffsets {
  readonly partition: number;
  /** The group's committed offset (the next record it will read), or null when it never committed one. */
  readonly committedOffset: number | null;
  /** Offset of the oldest record retention has kept (`low` of ListOffsets). */
  readonly logStartOffset: number;
  /** Offset the next produced record will get (the high watermark). */
  readonly logEndOffset: number;
  /**
   * Timestamp (ms) of the oldest record the group has not consumed: the record
   * at max(committed, log start), the log start without a commit. Null when
   * nothing is unconsumed or it could not be read.
   */
  readonly oldestUnconsumedTimestamp: number | null;
  /** A live member of the group owns the partition (or the group is rebalancing and membership is in flux). */
  readonly assigned: boolean;
}

/** The lag figures derived from {@link PartitionOffsets} (see {@link partitionLag}). */
export interface PartitionLag extends PartitionOffsets {
  /** Records between the committed offset — the log start without a commit — and the log end. */
  readonly lag: number | null;
  /** Records deleted by retention before the group read them (committed < log start). */
  readonly lostRecords: number;
  /** Age of the oldest unconsumed record (the one at the log start without a commit): 0 when caught up, null when unknown. */
  readonly timeLagSeconds: number | null;
  /** timeLag / retention: Kafka deletes a record once it is older than retention. Null when retention is unbounded or time lag unknown. */
  readonly retentionUsedRatio: number | null;
  /**
   * Seconds until retention may delete the oldest unconsumed record (retention −
   * time lag; the whole retention when caught up; 0 once records were lost).
   * The earliest moment: Kafka deletes whole segments, so it can be later.
   */
  readonly secondsToDataLoss: number | null;
}

/** One read of a group on a topic. */
export interface GroupLagSnapshot {
  readonly groupId: string;
  readonly topic: string;
  /** When it was read (ms since epoch). */
  readonly at: number;
  readonly group: {
    /** Empty, Stable, PreparingRebalance, CompletingRebalance, Dead (a group that does not exist). */
    readonly state: string;
    readonly members: number;
    readonly memberIds: readonly string[];
  };
  /** `retention.ms` of the topic; null when unbounded (-1) or the topic is compacted only. */
  readonly retentionMs: number | null;
  readonly partitions: readonly PartitionLag[];
}

/**
 * Derives lag, time lag and retention use from what the broker said.
 *
 * Time lag is the chapter's "most important metric": how old the oldest
 * unprocessed record is, not how many records are behind. Retention deletes by
 * record timestamp, so the same age measured against `retention.ms` says how
 * close the group is to losing data.
 */
export function partitionLag(offsets: PartitionOffsets, at: number, retentionMs: number | null): PartitionLag {
  const { committedOffset, logStartOffset, logEndOffset, oldestUnconsumedTimestamp } = offsets;
  const retentionSeconds = retentionMs === null ? null : retentionMs / 1_000;
  // No commit: the group vouches for nothing it read, so what it has to read starts at the log start.
  const committed = committedOffset ?? logStartOffset;
  const lag = Math.max(0, logEndOffset - committed);
  const lostRecords = Math.max(0, Math.min(logStartOffset, logEndOffset) - committed);
  let timeLagSeconds: number | null;
  if (lag === 0) timeLagSeconds = 0;
  else if (oldestUnconsumedTimestamp === null) timeLagSeconds = null;
  else timeLagSeconds = Math.max(0, (at - oldestUnconsumedTimestamp) / 1_000);

  const retentionUsedRatio = retentionSeconds === null || timeLagSeconds === null ? null : timeLagSeconds / retentionSeconds;
  let secondsToDataLoss: number | null;
  if (lostRecords > 0) secondsToDataLoss = 0;
  else if (retentionSeconds === null || timeLagSeconds === null) secondsToDataLoss = null;
  else secondsToDataLoss = Math.max(0, retentionSeconds - timeLagSeconds);
  return { ...offsets, lag, lostRecords, timeLagSeconds, retentionUsedRatio, secondsToDataLoss };
}
