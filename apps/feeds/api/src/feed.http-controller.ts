import { Get, Inject, Query } from '@nestjs/common';
import { Pool } from 'pg';
import {
  type Caller,
  type FeedApiLimits,
  type FeedApiMetrics,
  type FeedPage,
  type FeedReader,
  type SearchPage,
  searchPosts,
} from '@qls/feed-service';
import { ApiController, CurrentCaller } from '@qls/http-api';
import { API_LIMITS, API_METRICS, FEED_READER } from './tokens';

/** The caller's home feed and post search; see apps/feeds/api/README.md. */
@ApiController()
export class FeedHttpController {
  constructor(
    @Inject(Pool) private readonly pool: Pool,
    @Inject(FEED_READER) private readonly reader: FeedReader,
    @Inject(API_LIMITS) private readonly limits: FeedApiLimits,
    @Inject(API_METRICS) private readonly metrics: FeedApiMetrics,
  ) {}

  /** `GET /feed?limit=&cursor=`: the caller's own home feed (there is no route to read someone else's). */
  @Get('feed')
  async feed(@CurrentCaller() caller: Caller, @Query() query: unknown): Promise<FeedPage> {
    const page = await this.reader.read(caller, query);
    this.metrics.requests.inc({ operation: 'read_feed', outcome: page.regenerating ? 'regenerating' : 'ok' });
    return page;
  }

  /** `GET /search?q=&limit=&cursor=`. */
  @Get('search')
  async search(@Query() query: unknown): Promise<SearchPage> {
    const page = await searchPosts(this.pool, query, this.limits);
    this.metrics.requests.inc({ operation: 'search', outcome: 'ok' });
    return page;
  }
}
