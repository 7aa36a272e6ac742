import { BadRequestException, Controller, Get, Inject, Query, UseGuards } from '@nestjs/common';
import { operatorAuth } from '@qls/http-api';
import { MetricPointsStore, type SeriesPoint, SeriesQueryError, type SeriesQueryLimits, parseSeriesQuery } from '@qls/metrics-point-store';
import { SERIES_LIMITS } from './tokens';

export interface SeriesAnswer {
  readonly serviceId: string;
  readonly name: string;
  readonly from: string;
  readonly to: string;
  /** Oldest first (then by series). */
  readonly points: SeriesPoint[];
  /** More points matched than `limit`: ask again from the last timestamp. */
  readonly truncated: boolean;
}

/**
 * `GET /series?serviceId=&name=&from=&to=&limit=` for the ops console: the
 * stored points of every series of a metric in [from, to); operators only (a
 * token with ops:read). A bad parameter is
 * a 400 `{ error: { code: "SERIES.INVALID_QUERY", message, field } }` naming it.
 */
@Controller('series')
@UseGuards(operatorAuth('ops:read'))
export class SeriesHttpController {
  constructor(
    @Inject(MetricPointsStore) private readonly store: MetricPointsStore,
    @Inject(SERIES_LIMITS) private readonly limits: SeriesQueryLimits,
  ) {}

  @Get()
  async series(@Query() query: Record<string, unknown>): Promise<SeriesAnswer> {
    let parsed;
    try {
      parsed = parseSeriesQuery(query, this.limits);
    } catch (error) {
      if (!(error instanceof SeriesQueryError)) throw error;
      throw new BadRequestException({ error: { code: error.code, message: error.message, field: error.field } });
    }
    const points = await this.store.series({ ...parsed, limit: parsed.limit + 1 });
    return {
      serviceId: parsed.serviceId,
      name: parsed.name,
      from: new Date(parsed.from).toISOString(),
      to: new Date(parsed.to).toISOString(),
      points: points.slice(0, parsed.limit),
      truncated: points.length > parsed.limit,
    };
  }
}
