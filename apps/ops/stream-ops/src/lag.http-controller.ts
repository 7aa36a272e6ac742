import { Controller, Get, Inject, NotFoundException, Param, ServiceUnavailableException, UseGuards } from '@nestjs/common';
import { operatorAuth } from '@qls/http-api';
import type { LagEvaluation, LagMonitor } from '@qls/kafka';
import { LAG_MONITOR } from './tokens';

/** What GET /lag answers per monitored group and topic (times in ISO 8601, durations in seconds). */
export interface LagView {
  readonly group: string;
  readonly topic: string;
  readonly observedAt: string;
  readonly status: LagEvaluation['status'];
  readonly groupState: string;
  readonly members: number;
  readonly totalLag: number;
  readonly maxTimeLagSeconds: number | null;
  readonly retention: {
    readonly retentionMs: number | null;
    readonly maxUsedRatio: number | null;
    readonly minSecondsToDataLoss: number | null;
    readonly critical: boolean;
  };
  readonly hotPartition: LagEvaluation['hotPartition'];
  readonly findings: LagEvaluation['findings'];
  readonly window: LagEvaluation['window'];
  readonly partitions: readonly {
    readonly partition: number;
    readonly status: string;
    readonly reason: string;
    readonly committedOffset: number | null;
    readonly logStartOffset: number;
    readonly logEndOffset: number;
    readonly lag: number | null;
    readonly lostRecords: number;
    readonly timeLagSeconds: number | null;
    readonly oldestUnconsumedAt: string | null;
    readonly retentionUsedRatio: number | null;
    readonly secondsToDataLoss: number | null;
    /** Null when unknown or when lag is not shrinking (see the rates). */
    readonly catchUpSeconds: number | null;
    readonly consumeRate: number | null;
    readonly produceRate: number | null;
    readonly owned: boolean;
  }[];
}

/** The lag of the monitored groups (LAG_GROUPS), as of the monitor's latest poll. */
@Controller('lag')
@UseGuards(operatorAuth('ops:read'))
export class LagHttpController {
  constructor(@Inject(LAG_MONITOR) private readonly monitor: LagMonitor) {}

  /** Every monitored group; `unread` lists those whose latest poll failed (their entry, if any, is older). */
  @Get()
  async all(): Promise<{ groups: LagView[]; unread: { group: string; topic: string; error: string }[] }> {
    const groups = (await this.read()).map(view);
    const unread = this.monitor.failures().map(({ target, error }) => ({ group: target.groupId, topic: target.topic, error }));
    return { groups, unread };
  }

  @Get(':group')
  async group(@Param('group') group: string): Promise<{ group: string; topics: LagView[] }> {
    if (!this.monitor.targets.some((t) => t.groupId === group)) {
      const monitored = [...new Set(this.monitor.targets.map((t) => t.groupId))].join(', ');
      throw new NotFoundException(`consumer group ${group} is not monitored (LAG_GROUPS has ${monitored})`);
    }
    const topics = (await this.read()).filter((e) => e.groupId === group);
    if (topics.length === 0) throw new ServiceUnavailableException(`the lag of ${group} could not be read yet`);
    return { group, topics: topics.map(view) };
  }

  private async read(): Promise<LagEvaluation[]> {
    const evaluations = await this.monitor.current();
    if (evaluations.length === 0) {
      const why = this.monitor.failures()[0]?.error;
      throw new ServiceUnavailableException(`no lag could be read yet${why ? `: ${why}` : ''}`);
    }
    return evaluations;
  }
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const finite = (n: number | null) => (n === null || !Number.isFinite(n) ? null : n);

function view(e: LagEvaluation): LagView {
  return {
    group: e.groupId,
    topic: e.topic,
    observedAt: new Date(e.at).toISOString(),
    status: e.status,
    groupState: e.group.state,
    members: e.group.members,
    totalLag: e.totalLag,
    maxTimeLagSeconds: e.maxTimeLagSeconds,
    retention: {
      retentionMs: e.retentionMs,
      maxUsedRatio: e.maxRetentionUsedRatio,
      minSecondsToDataLoss: e.minSecondsToDataLoss,
      critical: e.retentionCritical,
    },
    hotPartition: e.hotPartition,
    findings: e.findings,
    window: e.window,
    partitions: e.partitions.map((p) => ({
      partition: p.partition,
      status: p.status,
      reason: p.reason,
      committedOffset: p.committedOffset,
      logStartOffset: p.logStartOffset,
      logEndOffset: p.logEndOffset,
      lag: p.lag,
      lostRecords: p.lostRecords,
      timeLagSeconds: p.timeLagSeconds,
      oldestUnconsumedAt: iso(p.oldestUnconsumedTimestamp),
      retentionUsedRatio: p.retentionUsedRatio,
      secondsToDataLoss: p.secondsToDataLoss,
      catchUpSeconds: finite(p.catchUpSeconds),
      consumeRate: p.consumeRate,
      produceRate: p.produceRate,
      owned: p.assigned,
    })),
  };
}
