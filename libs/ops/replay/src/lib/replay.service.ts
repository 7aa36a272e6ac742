import type { Kafka } from 'kafkajs';
import { type AdapterLogger, type GroupLagSnapshot, KafkaGroupAdmin, KafkaLagReader, type ResetPlan } from '@qls/kafka';
import { type AppError, PermanentError, RetriableError, errorCode, errorMessage, isRetriable } from '@qls/messaging';

/** Where a consumer must restart on a partition after its state was rewound. */
export interface RestartOffset {
  readonly partition: number;
  readonly offset: number | string;
}

/**
 * Rewinds a consumer group's own state (windows, aggregates, a checkpoint)
 * along with its Kafka offsets, for consumers whose state would otherwise
 * double-count the replayed records. Registered per group id.
 *
 * Contract, because {@link ReplayService.apply} calls `apply` *before* it
 * moves the Kafka offsets:
 * - `apply` is atomic (all partitions or none — one database transaction)
 *   and idempotent (running it again with the same arguments ends in the same
 *   state), so a failed replay can simply be run again;
 * - the rewound state carries its own position (the next offset per
 *   partition), and the consumer resumes from that position when Kafka's
 *   committed offset is ahead of it — as the windowed alerter does with its
 *   checkpoints. Then a crash between the state rewind and the offset reset
 *   leaves a consistent group: the consumer seeks back to its state.
 */
export interface GroupStateRewinder {
  /**
   * The dry run: a description of what `apply` would do (shown to the
   * operator as is). Throw when the state cannot be rewound that far (no
   * savepoint old enough): the replay is then blocked.
   */
  plan(groupId: string, topic: string, timestamp: number, kafkaPlan: ResetPlan): Promise<unknown>;
  /**
   * Rewinds the state. `statePlan` is what `plan` returned for the dry run
   * the operator saw. May return where each partition must restart (a
   * savepoint before the timestamp); the Kafka offsets are set to those
   * instead of the timestamp's, so that state and position agree.
   */
  apply(
    groupId: string,
    topic: string,
    timestamp: number,
    kafkaPlan: ResetPlan,
    statePlan: unknown,
  ): Promise<void | readonly RestartOffset[]>;
}

export interface ReplayPartitionPlan {
  readonly partition: number;
  /** The group's committed offset now; null when it has none on this partition. */
  readonly from: number | null;
  /** Where the group will resume. */
  readonly to: number;
  /** Records the group will read again (from − to); null without a committed offset. */
  readonly reRead: number | null;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly note?: string;
}

/** Where a replay starts: the first record at or after a time (ms since epoch), or the oldest retained record. */
export type ReplayStart = number | 'earliest';

export interface ReplayPlan {
  readonly groupId: string;
  readonly topic: string;
  /** Replay from the oldest record each partition still retains (then `timestamp` is 0)... */
  readonly fromEarliest: boolean;
  /** ...or from the first record at or after this time (ms since epoch)... */
  readonly timestamp: number;
  /** ...in ISO 8601. */
  readonly since: string;
  /** Live members when the plan was made; apply refuses while there are any. */
  readonly liveMembers: number;
  readonly partitions: readonly ReplayPartitionPlan[];
  readonly totalReRead: number;
  /** What makes `apply` refuse as things stand. */
  readonly blockers: readonly string[];
  /** The group's state rewinder's dry run, or why it cannot rewind; null when none is registered. */
  readonly state: { readonly plan: unknown } | { readonly error: string } | null;
}

export interface ReplayResult {
  readonly plan: ReplayPlan;
  /** The offsets the group's committed offsets were set to. */
  readonly applied: readonly { readonly partition: number; readonly offset: number }[];
  /** Whether a state rewinder ran before the offsets moved. */
  readonly stateRewound: boolean;
}

export interface ReplayServiceOptions {
  /** State rewinders by group id (more with {@link ReplayService.registerRewinder}). */
  readonly rewinders?: ReadonlyMap<string, GroupStateRewinder>;
  readonly logger?: AdapterLogger;
  /** @defaultValue Date.now */
  readonly now?: () => number;
}

/**
 * The chapter's replay scenario ("reset the alerting consumer offset to 24
 * hours ago; the consumer replays all metrics"), as a dry run first and then
 * for real:
 *
 * - {@link plan}: per partition, where the group is, where it would resume
 *   (the first offset at or after the timestamp) and how many records it will
 *   read again; what would block it. Nothing changes.
 * - {@link apply}: refused while the group has live members (their next
 *   commit would overwrite the new offsets); then the group's state rewinder,
 *   if any, then the Kafka offsets.
 *
 * A replay never skips records: a partition whose committed offset is already
 * before the timestamp (the group is that far behind) stays where it is.
 *
 * Order — state first, offsets last. If the state rewind fails nothing has
 * changed (it is atomic), and there is nothing to undo in Kafka. If the
 * process dies, or the offset reset fails, after the state was rewound, the
 * consumer still resumes consistently: the rewound state carries its position
 * and the consumer seeks back to it (see {@link GroupStateRewinder}); running
 * the replay again moves the offsets too. The other order has no such
 * outcome: offsets moved but state not rewound means a consumer re-reading
 * records into state that already counted them (or, if it trusts its
 * checkpoint, silently skipping the replay), and a state rewind that then
 * fails needs the old offsets put back.
 */
export class ReplayService {
  private readonly reader: KafkaLagReader;
  private readonly groupAdmin: KafkaGroupAdmin;
  private readonly rewinders: Map<string, GroupStateRewinder>;
  private readonly now: () => number;

  constructor(
    kafka: Kafka,
    private readonly options: ReplayServiceOptions = {},
  ) {
    this.reader = new KafkaLagReader(kafka, { timeLag: false });
    this.groupAdmin = new KafkaGroupAdmin(kafka);
    this.rewinders = new Map(options.rewinders ?? []);
    this.now = options.now ?? Date.now;
  }

  registerRewinder(groupId: string, rewinder: GroupStateRewinder): void {
    if (this.rewinders.has(groupId)) throw new Error(`a state rewinder for group ${groupId} is already registered`);
    this.rewinders.set(groupId, rewinder);
  }

  /**
   * The dry run, from a time or from `'earliest'` (each partition's log start
   * offset: everything retention has kept; a state rewinder then sees
   * timestamp 0). Throws `REPLAY.TOPIC_NOT_FOUND`, `REPLAY.GROUP_NOT_FOUND`
   * (no committed offset on the topic) or `REPLAY.INVALID_REQUEST`.
   */
  async plan(groupId: string, topic: string, start: ReplayStart): Promise<ReplayPlan> {
    const fromEarliest = start === 'earliest';
    const timestamp = fromEarliest ? 0 : start;
    if (!Number.isFinite(timestamp) || timestamp > this.now()) {
      throw new PermanentError('REPLAY.INVALID_REQUEST', `timestamp: ${timestamp} is not a time in the past`);
    }
    const snapshot = await this.read(groupId, topic);
    if (snapshot.partitions.every((p) => p.committedOffset === null)) {
      throw new PermanentError(
        'REPLAY.GROUP_NOT_FOUND',
        `consumer group ${groupId} has no committed offset on ${topic}: nothing to replay (is the group id right?)`,
        { context: { groupId, topic } },
      );
    }
    const targets = fromEarliest
      ? new Map(snapshot.partitions.map((p) => [p.partition, p.logStartOffset]))
      : new Map((await this.groupAdmin.planResetToTimestamp(groupId, topic, timestamp)).partitions.map((p) => [p.partition, Number(p.to)]));
    const partitions = snapshot.partitions.map((p): ReplayPartitionPlan => {
      const target = targets.get(p.partition) ?? p.logEndOffset;
      const from = p.committedOffset;
      const base = { partition: p.partition, from, logStartOffset: p.logStartOffset, logEndOffset: p.logEndOffset };
      if (from === null) return { ...base, to: target, reRead: null, note: 'no committed offset: the group will start here' };
      if (target > from) {
        return {
          ...base,
          to: from,
          reRead: 0,
          note: `already before the timestamp (${target - from} record(s) behind it): left where it is`,
        };
      }
      const truncated =
        !fromEarliest && target === p.logStartOffset && p.logStartOffset > 0
          ? `starts at the oldest retained record; retention deleted offsets below ${p.logStartOffset}, some possibly after the timestamp`
          : undefined;
      return { ...base, to: target, reRead: from - target, ...(truncated ? { note: truncated } : {}) };
    });

    const blockers: string[] = [];
    if (snapshot.group.members > 0) blockers.push(groupActiveMessage(groupId, snapshot.group.members));
    let state: ReplayPlan['state'] = null;
    const rewinder = this.rewinders.get(groupId);
    if (rewinder) {
      try {
        state = { plan: await rewinder.plan(groupId, topic, timestamp, resetPlanOf(groupId, topic, timestamp, partitions)) };
      } catch (error) {
        state = { error: errorMessage(error) };
        blockers.push(`the state of ${groupId} cannot be rewound: ${errorMessage(error)}`);
      }
    }
    return {
      groupId,
      topic,
      fromEarliest,
      timestamp,
      since: new Date(timestamp).toISOString(),
      liveMembers: snapshot.group.members,
      partitions,
      totalReRead: partitions.reduce((sum, p) => sum + (p.reRead ?? 0), 0),
      blockers,
      state,
    };
  }

  /**
   * Applies a plan from {@link plan}. Throws `REPLAY.GROUP_ACTIVE` (live
   * members, counted in the message), `REPLAY.BLOCKED` (the rewinder's dry run
   * failed), `REPLAY.STATE_REWIND_FAILED` (nothing changed) or
   * `REPLAY.OFFSETS_NOT_SET` (state rewound, offsets not moved: run it again).
   */
  async apply(plan: ReplayPlan): Promise<ReplayResult> {
    const { groupId, topic, timestamp } = plan;
    const { group } = await this.read(groupId, topic);
    if (group.members > 0) throw groupActive(groupId, group.members);
    if (plan.state !== null && 'error' in plan.state) {
      throw new PermanentError('REPLAY.BLOCKED', `the state of ${groupId} cannot be rewound: ${plan.state.error}`, {
        context: { groupId },
      });
    }
    const reset = resetPlanOf(groupId, topic, timestamp, plan.partitions);
    let offsets = plan.partitions.map((p) => ({ partition: p.partition, offset: p.to }));

    const rewinder = this.rewinders.get(groupId);
    let restart: void | readonly RestartOffset[] = undefined;
    if (rewinder) {
      try {
        const statePlan = plan.state !== null && 'plan' in plan.state ? plan.state.plan : undefined;
        restart = await rewinder.apply(groupId, topic, timestamp, reset, statePlan);
      } catch (error) {
        const message = `rewinding the state of ${groupId} failed, so its offsets were not moved: ${errorMessage(error)}`;
        const options = { cause: error, context: { groupId, topic } };
        throw isRetriable(error)
          ? new RetriableError('REPLAY.STATE_REWIND_FAILED', message, options)
          : new PermanentError('REPLAY.STATE_REWIND_FAILED', message, options);
      }
    }

    try {
      if (restart) offsets = withRestartOffsets(offsets, restart);
      const from = new Map(plan.partitions.map((p) => [p.partition, p.from === null ? null : String(p.from)]));
      await this.groupAdmin.applyReset({
        ...reset,
        partitions: offsets.map(({ partition, offset }) => ({ partition, from: from.get(partition) ?? null, to: String(offset) })),
      });
    } catch (error) {
      if (!rewinder && errorCode(error) === 'KAFKA.GROUP_ACTIVE')
        throw groupActive(groupId, Number((error as AppError).context['members'] ?? 1));
      const why = errorMessage(error);
      throw new RetriableError(
        'REPLAY.OFFSETS_NOT_SET',
        rewinder
          ? `the state of ${groupId} was rewound but its offsets were not moved (${why}); its consumers resume from the rewound state's ` +
            'position, and running the replay again (it is idempotent) moves the offsets too'
          : `the offsets of ${groupId} were not moved: ${why}`,
        { cause: error, context: { groupId, topic } },
      );
    }
    this.options.logger?.info(
      { groupId, topic, since: plan.since, offsets, totalReRead: plan.totalReRead, stateRewound: rewinder !== undefined },
      'replay applied: consumer group offsets reset',
    );
    return { plan, applied: offsets, stateRewound: rewinder !== undefined };
  }

  async close(): Promise<void> {
    await Promise.all([this.reader.close(), this.groupAdmin.close()]);
  }

  private async read(groupId: string, topic: string): Promise<GroupLagSnapshot> {
    try {
      return await this.reader.read(groupId, topic);
    } catch (error) {
      if (errorCode(error) === 'KAFKA.TOPIC_NOT_FOUND') {
        throw new PermanentError('REPLAY.TOPIC_NOT_FOUND', `topic ${topic} does not exist`, { cause: error, context: { topic } });
      }
      throw error;
    }
  }
}

function resetPlanOf(groupId: string, topic: string, timestamp: number, partitions: readonly ReplayPartitionPlan[]): ResetPlan {
  return {
    groupId,
    topic,
    timestamp,
    partitions: partitions.map((p) => ({ partition: p.partition, from: p.from === null ? null : String(p.from), to: String(p.to) })),
  };
}

function withRestartOffsets(
  offsets: readonly { partition: number; offset: number }[],
  restart: readonly RestartOffset[],
): { partition: number; offset: number }[] {
  const byPartition = new Map(restart.map((r) => [r.partition, Number(r.offset)]));
  return offsets.map(({ partition, offset }) => {
    const start = byPartition.get(partition);
    if (start === undefined) return { partition, offset };
    if (!Number.isSafeInteger(start) || start < 0)
      throw new Error(`the state rewinder returned offset ${String(start)} for partition ${partition}`);
    return { partition, offset: start };
  });
}

function groupActiveMessage(groupId: string, members: number): string {
  return `consumer group ${groupId} has ${members} live member(s); stop them first (their next commit would overwrite the replay's offsets)`;
}

function groupActive(groupId: string, members: number): PermanentError {
  return new PermanentError('REPLAY.GROUP_ACTIVE', groupActiveMessage(groupId, members), { context: { groupId, members } });
}
