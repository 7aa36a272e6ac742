import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApi } from './openapi';

describe('notification-dlq-monitor OpenAPI document', () => {
  it('is what docs/api/notification-dlq-monitor.json holds (run `npm run openapi` after changing a route or a schema)', () => {
    const checkedIn: unknown = JSON.parse(readFileSync(join(__dirname, '../../../../docs/api/notification-dlq-monitor.json'), 'utf8'));
    expect(checkedIn).toEqual(openApi);
  });
});
