import { Body, Controller, HttpCode, HttpException, HttpStatus, Inject, Param, Post, UseGuards } from '@nestjs/common';
import { CurrentCaller, type Operator, OperatorAuditLog, answeringCodes, operatorAuth } from '@qls/http-api';
import type { AppError } from '@qls/messaging';
import { type ReplayPlan, type ReplayResult, type ReplayService, parseReplayRequest } from '@qls/stream-replay';
import { REPLAY_SERVICE } from './tokens';

type ReplayResponse = { dryRun: true; plan: ReplayPlan } | ({ dryRun: false } & ReplayResult);

/** Replays a consumer group from a point in time (the chapter's "Replay Scenario"). */
@Controller('groups')
export class ReplayHttpController {
  constructor(
    @Inject(REPLAY_SERVICE) private readonly replay: ReplayService,
    @Inject(OperatorAuditLog) private readonly audit: OperatorAuditLog,
  ) {}

  /**
   * Body `{ "topic": "metrics-raw", "timestamp": "2026-03-01T08:00:00Z" | 1772352000000 | "minutesAgo": 30 | "fromEarliest": true, "dryRun": true }`
   * (exactly one of timestamp, minutesAgo and fromEarliest; fromEarliest replays from the oldest retained record).
   * A dry run (the default) answers the plan; `"dryRun": false` applies it.
   * 409 while the group has live members; 400 naming the field. Needs ops:write,
   * dry run or not (a plan reads every partition's offsets from Kafka); each
   * request is an audit line counting the partitions moved (0 for a dry run).
   */
  @Post(':group/replay')
  @UseGuards(operatorAuth('ops:write'))
  @HttpCode(200)
  replayGroup(@CurrentCaller() operator: Operator, @Param('group') group: string, @Body() body: unknown): Promise<ReplayResponse> {
    return atTheEdge(async () => {
      const request = parseReplayRequest(body);
      return this.audit.record<ReplayResponse>(
        { operator, action: 'stream.replay', request: { group, ...request } },
        async () => {
          const plan = await this.replay.plan(group, request.topic, request.timestamp);
          if (request.dryRun) return { dryRun: true, plan };
          return { dryRun: false, ...(await this.replay.apply(plan)) };
        },
        (answer) => (answer.dryRun ? 0 : answer.applied.length),
      );
    });
  }
}

/** HTTP status mapping of the replay's error codes, here and nowhere else (any other retriable one is a 503). */
function atTheEdge<T>(work: () => Promise<T>): Promise<T> {
  const failed = (error: AppError) =>
    new HttpException(error.message, error.retriable ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.INTERNAL_SERVER_ERROR);
  return answeringCodes(
    {
      'REPLAY.INVALID_REQUEST': HttpStatus.BAD_REQUEST,
      'REPLAY.TOPIC_NOT_FOUND': HttpStatus.NOT_FOUND,
      'REPLAY.GROUP_NOT_FOUND': HttpStatus.NOT_FOUND,
      'REPLAY.GROUP_ACTIVE': HttpStatus.CONFLICT,
      'REPLAY.BLOCKED': HttpStatus.CONFLICT,
      'REPLAY.STATE_REWIND_FAILED': failed,
      'REPLAY.OFFSETS_NOT_SET': failed,
    },
    work,
  );
}
