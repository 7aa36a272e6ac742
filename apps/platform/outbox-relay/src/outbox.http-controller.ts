import { BadRequestException, Body, Controller, Get, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { Pool } from 'pg';
import { bigintId, z } from '@qls/config';
import { CurrentCaller, type Operator, OperatorAuditLog, operatorAuth } from '@qls/http-api';
import { listParked, retryParked, stats } from '@qls/outbox';

/** Operator endpoints: backlog, parked rows, and putting parked rows back in line. */
@Controller('outbox')
export class OutboxHttpController {
  constructor(
    @Inject(Pool) private readonly pool: Pool,
    @Inject(OperatorAuditLog) private readonly audit: OperatorAuditLog,
  ) {}

  @Get('stats')
  @UseGuards(operatorAuth('ops:read'))
  stats() {
    return stats(this.pool);
  }

  @Get('parked')
  @UseGuards(operatorAuth('ops:read'))
  parked() {
    return listParked(this.pool);
  }

  /** Body `{ "ids": ["12", "13"] }` retries those rows, `{ "all": true }` every parked row; anything else is a 400. */
  @Post('parked/retry')
  @UseGuards(operatorAuth('ops:write'))
  @HttpCode(200)
  async retry(@CurrentCaller() operator: Operator, @Body() body: unknown) {
    const request = parseRetry(body);
    const retried = await this.audit.record(
      { operator, action: 'outbox.retry', request },
      () => retryParked(this.pool, 'ids' in request ? request.ids : undefined),
      (count) => count,
    );
    return { retried };
  }
}

/**
 * What a retry touches, said exactly: row ids as Postgres's bigint holds them
 * (1 to 2^63 − 1, as digit strings, at most 1,000), or `all: true`. An empty
 * body, `[]`, `{}`, a misspelt field or both at once retry nothing.
 */
export const retryRequest = z.union([
  z.strictObject({ ids: z.array(bigintId).min(1).max(1_000) }),
  z.strictObject({ all: z.literal(true) }),
]);

function parseRetry(body: unknown): { ids: string[] } | { all: true } {
  const parsed = retryRequest.safeParse(body);
  if (parsed.success) return parsed.data;
  const named = typeof body === 'object' && body !== null && !Array.isArray(body) && 'ids' in body && Object.keys(body).length === 1;
  throw new BadRequestException(
    named
      ? 'ids: expected 1 to 1000 outbox row ids, digit strings from 1 to 9223372036854775807'
      : 'body: expected exactly one of { "ids": [...] } (1 to 1000 outbox row ids) or { "all": true }',
  );
}
