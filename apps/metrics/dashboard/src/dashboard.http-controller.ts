import { BadRequestException, Controller, Get, Inject, Query, UseGuards } from '@nestjs/common';
import { operatorAuth } from '@qls/http-api';
import {
  DashboardQueryError,
  type LiveSeriesView,
  type SeriesFilter,
  type SeriesStats,
  type ServiceSummary,
  parseDashboardQuery,
} from '@qls/metrics-views';
import { VIEW } from './tokens';

/**
 * The live view, over the last DASHBOARD_WINDOW_SECONDS of event time:
 *
 * - `GET /dashboard/series?serviceId=&name=` (both optional): every series in
 *   the window with its last value and timestamp, count, min, max, avg and
 *   rate (points/s), sorted by serviceId, name, then labels.
 * - `GET /dashboard/services`: every service with series in the window, with
 *   its series count and last seen (latest event time, epoch ms).
 *
 * Operators only (a token with ops:read). A bad parameter is a 400 `{ error: { code: "DASHBOARD.INVALID_QUERY", message, field } }` naming it.
 */
@Controller('dashboard')
@UseGuards(operatorAuth('ops:read'))
export class DashboardHttpController {
  constructor(@Inject(VIEW) private readonly view: LiveSeriesView) {}

  @Get('series')
  series(@Query() query: Record<string, unknown>): SeriesStats[] {
    return this.view.list(parse(query, ['serviceId', 'name']));
  }

  @Get('services')
  services(@Query() query: Record<string, unknown>): ServiceSummary[] {
    parse(query, []);
    return this.view.services();
  }
}

function parse(query: Record<string, unknown>, allowed: readonly ('serviceId' | 'name')[]): SeriesFilter {
  try {
    return parseDashboardQuery(query, allowed);
  } catch (error) {
    if (!(error instanceof DashboardQueryError)) throw error;
    throw new BadRequestException({ error: { code: error.code, message: error.message, field: error.field } });
  }
}
