import { DATABASE_APPS, appDatabaseUrlVariable, appRolesFromEnv } from './database-roles';

describe('appRolesFromEnv', () => {
  it("reads each app's role and password from its DATABASE_URL_<APP>, decoded, and leaves out apps whose variable is unset", () => {
    expect(
      appRolesFromEnv({
        DATABASE_URL: 'postgres://qls:owner@db/qls',
        DATABASE_URL_NOTIFICATION_API: 'postgres://qls_notification_api:p%40ss%2Fword@db:5432/qls',
        DATABASE_URL_FEED_API: '',
      }),
    ).toEqual([{ app: 'notification-api', role: 'qls_notification_api', password: 'p@ss/word' }]);
  });

  it('refuses a URL without a role or a password', () => {
    expect(() => appRolesFromEnv({ DATABASE_URL_OUTBOX_RELAY: 'postgres://qls_outbox_relay@db/qls' })).toThrow(
      'DATABASE_URL_OUTBOX_RELAY must name a role and its password',
    );
  });

  it('names one variable per app with a database', () => {
    expect(DATABASE_APPS.map(appDatabaseUrlVariable)).toContain('DATABASE_URL_FEED_FANOUT_WORKER');
    expect(new Set(DATABASE_APPS.map(appDatabaseUrlVariable)).size).toBe(DATABASE_APPS.length);
  });
});
