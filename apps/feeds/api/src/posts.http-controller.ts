import { Body, Delete, Get, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { Pool } from 'pg';
import {
  type Caller,
  type FeedApiLimits,
  type FeedApiMetrics,
  type FeedOutboxOptions,
  type PostView,
  createPost,
  deletePost,
  getPost,
} from '@qls/feed-service';
import { ApiController, CurrentCaller } from '@qls/http-api';
import { API_LIMITS, API_METRICS, OUTBOX_OPTIONS } from './tokens';

/** Posts; see apps/feeds/api/README.md. */
@ApiController('posts')
export class PostsHttpController {
  constructor(
    @Inject(Pool) private readonly pool: Pool,
    @Inject(OUTBOX_OPTIONS) private readonly outbox: FeedOutboxOptions,
    @Inject(API_LIMITS) private readonly limits: FeedApiLimits,
    @Inject(API_METRICS) private readonly metrics: FeedApiMetrics,
  ) {}

  /** 201 with the post (and `Location`); 200 with the first one for a retry with the same `postId`. */
  @Post()
  async create(
    @CurrentCaller() caller: Caller,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: ServerResponse,
  ): Promise<PostView> {
    const { post, created } = await createPost(this.pool, caller, body, this.outbox, this.limits);
    response.statusCode = created ? 201 : 200;
    response.setHeader('Location', `/posts/${post.id}`);
    this.metrics.requests.inc({ operation: 'create_post', outcome: created ? 'created' : 'replayed' });
    return post;
  }

  @Get(':id')
  async get(@Param('id') id: string): Promise<PostView> {
    const post = await getPost(this.pool, id);
    this.metrics.requests.inc({ operation: 'get_post', outcome: 'ok' });
    return post;
  }

  /** 204; deleting a deleted post is a no-op (still 204). */
  @Delete(':id')
  @HttpCode(204)
  async delete(@CurrentCaller() caller: Caller, @Param('id') id: string): Promise<void> {
    const { deleted } = await deletePost(this.pool, caller, id, this.outbox);
    this.metrics.requests.inc({ operation: 'delete_post', outcome: deleted ? 'ok' : 'replayed' });
  }
}
