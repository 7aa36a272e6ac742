import { DashboardQueryError, parseDashboardQuery } from './dashboard.query';

function errorOf(query: Record<string, unknown>, allowed: readonly ('serviceId' | 'name')[] = ['serviceId', 'name']) {
  try {
    parseDashboardQuery(query, allowed);
  } catch (error) {
    if (error instanceof DashboardQueryError) return { code: error.code, field: error.field, message: error.message };
    throw error;
  }
  throw new Error('expected a DashboardQueryError');
}

describe('parseDashboardQuery', () => {
  it('takes optional serviceId and name filters; an empty one is not given', () => {
    expect(parseDashboardQuery({}, ['serviceId', 'name'])).toEqual({});
    expect(parseDashboardQuery({ serviceId: 'checkout', name: 'latency_ms' }, ['serviceId', 'name'])).toEqual({
      serviceId: 'checkout',
      name: 'latency_ms',
    });
    expect(parseDashboardQuery({ serviceId: '', name: 'up' }, ['serviceId', 'name'])).toEqual({ name: 'up' });
  });

  it('names the malformed, repeated or unknown parameter', () => {
    expect(errorOf({ serviceId: 'check out' })).toEqual({
      code: 'DASHBOARD.INVALID_QUERY',
      field: 'serviceId',
      message: 'serviceId: serviceId is [a-zA-Z0-9._-]',
    });
    expect(errorOf({ name: '9lives' }).field).toBe('name');
    expect(errorOf({ name: ['a', 'b'] })).toMatchObject({ field: 'name', message: 'name: expected a single value' });
    expect(errorOf({ service: 'checkout' })).toMatchObject({
      field: 'service',
      message: 'service: unknown parameter (expected serviceId, name)',
    });
    expect(errorOf({ serviceId: 'checkout' }, [])).toMatchObject({
      field: 'serviceId',
      message: 'serviceId: unknown parameter (none is taken)',
    });
  });
});
