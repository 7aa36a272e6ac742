import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApi } from './openapi';

describe('feed-api OpenAPI document', () => {
  it('is what docs/api/feed-api.json holds (run `npm run openapi` after changing a route or a schema)', () => {
    const checkedIn: unknown = JSON.parse(readFileSync(join(__dirname, '../../../../docs/api/feed-api.json'), 'utf8'));
    expect(checkedIn).toEqual(openApi);
  });
});
