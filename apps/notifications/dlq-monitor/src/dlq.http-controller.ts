import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  NotFoundException,
  NotImplementedException,
  Param,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { excerpt, z } from '@qls/config';
import { CurrentCaller, type Operator, OperatorAuditLog, answeringCodes, operatorAuth } from '@qls/http-api';
import type { DeadLetterMessage, DeadLetterMessageDetail, DeadLetterQueue, DeadLetterStatus, RedriveResult } from '@qls/sqs';
import { DlqStatusPoller } from './dlq-status.poller';
import { DEAD_LETTER_QUEUE } from './tokens';

const MAX_LIST = 100;

/**
 * What a redrive moves, said exactly: at most `maxMessages`, or everything
 * with `all: true` — one of the two. Strict: a misspelt field
 * (`max_messages`), `{}` or `[]` must fail, not redrive everything.
 */
export const redriveBody = z
  .strictObject({
    method: z.enum(['auto', 'move-task', 'receive-send-delete']).optional(),
    maxMessages: z.number().int().positive().optional(),
    all: z.literal(true).optional(),
  })
  .superRefine((body, ctx) => {
    if ((body.maxMessages === undefined) === (body.all === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: body.all === undefined ? [] : ['all'],
        message: 'expected exactly one of "maxMessages": n (move at most n) or "all": true (move every dead letter)',
      });
    }
  });

/** The ops console's API over the notifications DLQ. */
@Controller('dlq')
export class DlqHttpController {
  constructor(
    @Inject(DEAD_LETTER_QUEUE) private readonly dlq: DeadLetterQueue,
    @Inject(DlqStatusPoller) private readonly poller: DlqStatusPoller,
    @Inject(OperatorAuditLog) private readonly audit: OperatorAuditLog,
  ) {}

  /** Depth, oldest age, alert; also refreshes the gauges. */
  @Get()
  @UseGuards(operatorAuth('ops:read'))
  status(): Promise<DeadLetterStatus> {
    return atTheEdge(() => this.poller.refresh());
  }

  /** `?limit=` 1–100 (default 10): oldest first, bodies truncated; nothing is removed or held. */
  @Get('messages')
  @UseGuards(operatorAuth('ops:read'))
  async list(@Query('limit') limit: string | undefined): Promise<{ messages: DeadLetterMessage[] }> {
    const max = parseLimit(limit);
    return { messages: await atTheEdge(() => this.dlq.list(max)) };
  }

  @Get('messages/:id')
  @UseGuards(operatorAuth('ops:read'))
  async inspect(@Param('id') id: string): Promise<DeadLetterMessageDetail> {
    const message = await atTheEdge(() => this.dlq.inspect(id));
    if (message === undefined) throw new NotFoundException(`no message ${excerpt(id)} in ${this.dlq.name}`);
    return message;
  }

  /**
   * Body `{ "maxMessages": n }` or `{ "all": true }`, and optionally
   * `"method": "auto" | "move-task" | "receive-send-delete"`; answers
   * `{ moved, method }`. An audit line says who moved how many.
   */
  @Post('redrive')
  @UseGuards(operatorAuth('ops:write'))
  @HttpCode(200)
  async redrive(@CurrentCaller() operator: Operator, @Body() body: unknown): Promise<RedriveResult> {
    const parsed = redriveBody.safeParse(body);
    if (!parsed.success) throw new BadRequestException(parsed.error.issues.map(describeIssue).join('; '));
    const { all: _all, ...options } = parsed.data;
    const result = await this.audit.record(
      { operator, action: 'dlq.redrive', request: parsed.data },
      () => atTheEdge(() => this.dlq.redrive(options)),
      (answer) => answer.moved,
    );
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
      .join(', ')}: unknown field (expected maxMessages or all, and method)`;
  }
  return `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`;
}

/** HTTP status mapping of the adapter's error codes, here and nowhere else (any other retriable one is a 503). */
function atTheEdge<T>(work: () => Promise<T>): Promise<T> {
  return answeringCodes(
    {
      'SQS.REDRIVE_INVALID': HttpStatus.BAD_REQUEST,
      'SQS.MOVE_TASK_UNSUPPORTED': (error) => new NotImplementedException(`${error.message}; use method "receive-send-delete" or "auto"`),
      'SQS.REDRIVE_TIMEOUT': HttpStatus.GATEWAY_TIMEOUT,
    },
    work,
  );
}
