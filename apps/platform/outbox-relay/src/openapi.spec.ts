import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApi } from './openapi';

describe('outbox-relay OpenAPI document', () => {
  it('is what docs/api/outbox-relay.json holds (run `npm run openapi` after changing a route or a schema)', () => {
    const checkedIn: unknown = JSON.parse(readFileSync(join(__dirname, '../../../../docs/api/outbox-relay.json'), 'utf8'));
    expect(checkedIn).toEqual(openApi);
  });
});
