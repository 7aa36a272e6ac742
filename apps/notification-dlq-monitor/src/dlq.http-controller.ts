import {
  BadRequestException,
  Body,
  Controller,
  Get,
  GatewayTimeoutException,
  HttpCode,
  Inject,
  NotFoundException,
  NotImplementedException,
  Param,
  Post,
  Query,
  ServiceUnavailableException,
} from '@nestjs/common';
import { excerpt, z } from '@qls/config';
import { AppError } from '@qls/messaging';
import type { DeadLetterMessage, DeadLetterMessageDetail, DeadLetterQueue, DeadLetterStatus, RedriveResult } from '@qls/sqs';
import { DlqStatusPoller } from './dlq-status.poller';
import { DEAD_LETTER_QUEUE } from './tokens';

const MAX_LIST = 100;

/**
 * Strict: an ops request with a misspelt field (`max_messages`) must fail,
 * not redrive everything.
 */
const redriveBody = z.strictObject({
  method: z.enum(['auto', 'move-task', 'receive-send-delete']).optional(),
  maxMessages: z.number().int().positive().optional(),
});

/** The ops console's API over the notifications DLQ. */
@Controller('dlq')
export class DlqHttpController {
  constructor(
    @Inject(DEAD_LETTER_QUEUE) private readonly dlq: DeadLetterQueue,
    @Inject(DlqStatusPoller) private readonly poller: DlqStatusPoller,
  ) {}

  /** Depth, oldest age, alert; also refreshes the gauges. */
  @Get()
  status(): Promise<DeadLetterStatus> {
    return atTheEdge(() => this.poller.refresh());
  }

  /** `?limit=` 1–100 (default 10): oldest first, bodies truncated; nothing is removed or held. */
  @Get('messages')
  async list(@Query('limit') limit: string | undefined): Promise<{ messages: DeadLetterMessage[] }> {
    const max = parseLimit(limit);
    return { messages: await atTheEdge(() => this.dlq.list(max)) };
  }

  @Get('messages/:id')
  async inspect(@Param('id') id: string): Promise<DeadLetterMessageDetail> {
    const message = await atTheEdge(() => this.dlq.inspect(id));
    if (message === undefined) throw new NotFoundException(`no message ${excerpt(id)} in ${this.dlq.name}`);
    return message;
  }

  /** Body `{ "method"?: "auto" | "move-task" | "receive-send-delete", "maxMessages"?: n }`; answers `{ moved, method }`. */
  @Post('redrive')
  @HttpCode(200)
  async redrive(@Body() body: unknown): Promise<RedriveResult> {
    const parsed = redriveBody.safeParse(body ?? {});
    if (!parsed.success) throw new BadRequestException(parsed.error.issues.map(describeIssue).join('; '));
    const result = await atTheEdge(() => this.dlq.redrive(parsed.data));
    await this.poller.refresh().catch(() => undefined); // the gauges follow at once; the poller retries otherwise
    return result;
  }
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 10;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) {
    throw new BadRequestException(`limit: expected an integer from 1 to ${MAX_LIST}, got "${excerpt(raw)}"`);
  }
  return limit;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  // Keys are caller input: echoed as short escaped excerpts only.
  if (issue.code === 'unrecognized_keys') {
    return `${issue.keys
      .slice(0, 5)
      .map((key) => excerpt(key))
      .join(', ')}: unknown field (expected method, maxMessages)`;
  }
  return `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`;
}

/** HTTP status mapping of the adapter's error codes, here and nowhere else. */
async function atTheEdge<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    switch (error.code) {
      case 'SQS.REDRIVE_INVALID':
        throw new BadRequestException(error.message);
      case 'SQS.MOVE_TASK_UNSUPPORTED':
        throw new NotImplementedException(`${error.message}; use method "receive-send-delete" or "auto"`);
      case 'SQS.REDRIVE_TIMEOUT':
        throw new GatewayTimeoutException(error.message);
      default:
        if (error.retriable) throw new ServiceUnavailableException(error.message);
        throw error;
    }
  }
}
