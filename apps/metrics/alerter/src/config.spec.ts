import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configUnderTest, sampleEnv } from '@qls/testing';
import { configSchema } from './config';

describe('metrics-alerter config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alerter-config-'));
  const rules = join(dir, 'rules.json');
  writeFileSync(rules, JSON.stringify({ rules: [{ kind: 'absence', name: 'heartbeat', metric: 'heartbeat', timeoutMs: 30_000 }] }));
  const config = configUnderTest(configSchema, {
    ...sampleEnv.kafka,
    ...sampleEnv.postgres,
    ALERT_RULES_FILE: rules,
    ALERT_NOTIFIER_ENABLED: 'false',
  });

  it('reads the rules file at boot, with the watermark and checkpoint defaults', () => {
    expect(config.load()).toMatchObject({
      ALERT_RULES_FILE: [{ kind: 'absence', name: 'heartbeat', severity: 'warning' }],
      WINDOW_OUT_OF_ORDERNESS_MS: 2_000,
      WINDOW_ALLOWED_LATENESS_MS: 5_000,
      CHECKPOINT_INTERVAL_MS: 200,
      ALERTING_GROUP_ID: 'alerting',
      ALERTING_FROM_BEGINNING: true,
    });
    expect(config.load({ ALERTING_FROM_BEGINNING: 'false' }).ALERTING_FROM_BEGINNING).toBe(false);
  });

  it('names the rule and the field of a bad rules file, and a missing file', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        rules: [
          { kind: 'threshold', name: 'slow', metric: 'latency_ms', window: { sizeMs: 1_000 }, aggregation: 'p42', op: '>', threshold: 1 },
        ],
      }),
    );
    expect(() => config.load({ ALERT_RULES_FILE: bad })).toThrow(/ALERT_RULES_FILE: .*bad\.json: .*rule "slow".*aggregation/s);
    expect(() => config.load({ ALERT_RULES_FILE: join(dir, 'missing.json') })).toThrow(/ALERT_RULES_FILE: .*ENOENT/);
  });

  it('requires the notification API settings while the notifier is on', () => {
    expect(() => config.load({ ALERT_NOTIFIER_ENABLED: 'true' })).toThrow(
      /NOTIFICATION_API_URL: required while ALERT_NOTIFIER_ENABLED=true.*ALERT_NOTIFIER_SIGNING_KEY.*AUTH_JWT_ISSUER.*AUTH_JWT_AUDIENCE/s,
    );
  });
});
