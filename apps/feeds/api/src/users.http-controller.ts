import { Body, Delete, Get, Inject, Param, Post, Put, Query, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { Pool } from 'pg';
import {
  type Caller,
  type FeedApiMetrics,
  type FeedOutboxOptions,
  type FollowView,
  type UserStats,
  type UserView,
  createUser,
  follow,
  getUser,
  unfollow,
  userStats,
} from '@qls/feed-service';
import { ApiController, CurrentCaller } from '@qls/http-api';
import { API_METRICS, OUTBOX_OPTIONS } from './tokens';

/** Users, the follow graph and post stats; see apps/feeds/api/README.md. */
@ApiController('users')
export class UsersHttpController {
  constructor(
    @Inject(Pool) private readonly pool: Pool,
    @Inject(OUTBOX_OPTIONS) private readonly outbox: FeedOutboxOptions,
    @Inject(API_METRICS) private readonly metrics: FeedApiMetrics,
  ) {}

  /** Creates the caller's user (id = token subject): 201, or 200 for a repeat with the same handle. */
  @Post()
  async create(
    @CurrentCaller() caller: Caller,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: ServerResponse,
  ): Promise<UserView> {
    const { user, created } = await createUser(this.pool, caller, body);
    response.statusCode = created ? 201 : 200;
    response.setHeader('Location', `/users/${encodeURIComponent(user.id)}`);
    this.metrics.requests.inc({ operation: 'create_user', outcome: created ? 'created' : 'replayed' });
    return user;
  }

  @Get(':id')
  async get(@Param('id') id: string): Promise<UserView> {
    const user = await getUser(this.pool, id);
    this.metrics.requests.inc({ operation: 'get_user', outcome: 'ok' });
    return user;
  }

  @Get(':id/stats')
  async stats(@Param('id') id: string, @Query() query: unknown): Promise<UserStats> {
    const stats = await userStats(this.pool, id, query);
    this.metrics.requests.inc({ operation: 'stats', outcome: 'ok' });
    return stats;
  }

  /** The caller (`:id`) follows `:followeeId`: 201, or 200 when already following. */
  @Put(':id/following/:followeeId')
  async follow(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @Param('followeeId') followeeId: string,
    @Res({ passthrough: true }) response: ServerResponse,
  ): Promise<FollowView> {
    const result = await follow(this.pool, caller, id, followeeId, this.outbox);
    response.statusCode = result.created ? 201 : 200;
    this.metrics.requests.inc({ operation: 'follow', outcome: result.created ? 'created' : 'replayed' });
    return result.follow;
  }

  /** The caller (`:id`) stops following `:followeeId`: 200 either way (idempotent). */
  @Delete(':id/following/:followeeId')
  async unfollow(@CurrentCaller() caller: Caller, @Param('id') id: string, @Param('followeeId') followeeId: string): Promise<FollowView> {
    const result = await unfollow(this.pool, caller, id, followeeId, this.outbox);
    this.metrics.requests.inc({ operation: 'unfollow', outcome: result.removed ? 'ok' : 'replayed' });
    return result.follow;
  }
}
