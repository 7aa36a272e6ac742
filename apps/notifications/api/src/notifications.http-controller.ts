import { Body, Get, Inject, Param, Post, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { Pool } from 'pg';
import { ApiController, CurrentCaller, SingleHeader } from '@qls/http-api';
import { type Caller, type NotificationIntake, type NotificationView, getNotification } from '@qls/notification-intake';
import type { ApiMetrics } from './api.metrics';
import { API_METRICS, INTAKE } from './tokens';

export interface AcceptedNotification {
  readonly id: string;
  readonly status: NotificationView['status'];
  /** Poll it for the status: `/notifications/<id>`. */
  readonly statusUrl: string;
}

/** `POST /notifications` and `GET /notifications/:id`; see docs/notification-api.md. */
@ApiController('notifications')
export class NotificationsHttpController {
  constructor(
    @Inject(Pool) private readonly pool: Pool,
    @Inject(INTAKE) private readonly intake: NotificationIntake,
    @Inject(API_METRICS) private readonly metrics: ApiMetrics,
  ) {}

  /** 202 Accepted with the status URL (also in `Location`); 200 with the first result for a repeat. */
  @Post()
  async create(
    @CurrentCaller() caller: Caller,
    @Body() body: unknown,
    @SingleHeader('Idempotency-Key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) response: ServerResponse,
  ): Promise<AcceptedNotification> {
    const { notification, created } = await this.intake.create(caller, { body, idempotencyKey });
    const statusUrl = `/notifications/${notification.id}`;
    response.statusCode = created ? 202 : 200;
    response.setHeader('Location', statusUrl);
    // Stripe's header: this answer is the stored result of an earlier request.
    if (!created) response.setHeader('Idempotent-Replayed', 'true');
    this.metrics.requests.inc({ operation: 'create', outcome: created ? 'created' : 'replayed' });
    if (created) this.metrics.created.inc({ channel: notification.channel });
    return { id: notification.id, status: notification.status, statusUrl };
  }

  @Get(':id')
  async get(@CurrentCaller() caller: Caller, @Param('id') id: string): Promise<NotificationView> {
    const notification = await getNotification(this.pool, caller, id);
    this.metrics.requests.inc({ operation: 'get', outcome: 'found' });
    return notification;
  }
}
