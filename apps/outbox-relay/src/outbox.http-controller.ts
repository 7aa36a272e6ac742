import { BadRequestException, Body, Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import type { Pool } from 'pg';
import { bigintId, z } from '@qls/config';
import { listParked, retryParked, stats } from '@qls/outbox';
import { PG_POOL } from './tokens';

/** Operator endpoints: backlog, parked rows, and putting parked rows back in line. */
@Controller('outbox')
export class OutboxHttpController {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  @Get('stats')
  stats() {
    return stats(this.pool);
  }

  @Get('parked')
  parked() {
    return listParked(this.pool);
  }

  /** Body `{ "ids": ["12", "13"] }` retries those rows; an empty body retries every parked row. */
  @Post('parked/retry')
  @HttpCode(200)
  async retry(@Body() body: unknown) {
    const ids = parseIds(body);
    return { retried: await retryParked(this.pool, ids) };
  }
}

/** Row ids as Postgres's bigint holds them (1 to 2^63 − 1, as digit strings), a bounded list. */
const ids = z.array(bigintId).min(1).max(1_000);

function parseIds(body: unknown): string[] | undefined {
  if (body === undefined || body === null || (typeof body === 'object' && !('ids' in body))) return undefined;
  const parsed = ids.safeParse((body as { ids: unknown }).ids);
  if (!parsed.success) {
    throw new BadRequestException(`ids: expected 1 to 1000 outbox row ids, digit strings from 1 to 9223372036854775807`);
  }
  return parsed.data;
}
