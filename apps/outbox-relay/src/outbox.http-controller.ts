import { BadRequestException, Body, Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import type { Pool } from 'pg';
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

function parseIds(body: unknown): string[] | undefined {
  if (body === undefined || body === null || (typeof body === 'object' && !('ids' in body))) return undefined;
  const ids = (body as { ids: unknown }).ids;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string' && /^\d+$/.test(id))) {
    throw new BadRequestException('ids: expected an array of outbox row ids (digit strings)');
  }
  return ids as string[];
}
