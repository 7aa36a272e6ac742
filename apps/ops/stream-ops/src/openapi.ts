import { z } from '@qls/config';
import { openApiDocument } from '@qls/http-api';
import { replayBody } from '@qls/stream-replay';

const group = z.string();

/** stream-ops' operator API (docs/api/stream-ops.json, served at /openapi.json): operator tokens (ops:read, ops:write). */
export const openApi = openApiDocument({
  title: 'stream-ops',
  version: '1',
  description: 'Consumer lag of the monitored groups, and replaying a group from a point in time. Operator tokens (ops:read, ops:write).',
  operations: [
    {
      method: 'get',
      path: '/lag',
      operationId: 'lag',
      summary: 'The lag of every monitored group (ops:read)',
      responses: {
        200: {
          description: 'Lag per group and topic; unread lists the groups whose latest poll failed',
          body: z.strictObject({ groups: z.array(z.looseObject({})), unread: z.array(z.looseObject({})) }),
        },
      },
      errors: [403],
    },
    {
      method: 'get',
      path: '/lag/{group}',
      operationId: 'groupLag',
      summary: "One monitored group's lag (ops:read)",
      params: { group },
      responses: { 200: { description: 'Lag per topic', body: z.strictObject({ group: z.string(), topics: z.array(z.looseObject({})) }) } },
      errors: [403, 404],
    },
    {
      method: 'post',
      path: '/groups/{group}/replay',
      operationId: 'replayGroup',
      summary:
        'Plan (dry run, the default) or apply a replay of a group from a time, minutes ago or the earliest record (ops:write, audited)',
      params: { group },
      body: replayBody,
      responses: { 200: { description: 'The plan, or what was applied', body: z.looseObject({ dryRun: z.boolean() }) } },
      errors: [403, 404, 409],
    },
  ],
});
