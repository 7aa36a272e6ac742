/**
 * Replays a consumer group from a point in time, as POST /groups/:group/replay does:
 *
 *   node dist/apps/stream-ops/replay-cli.js --group alerting --topic metrics-raw --minutes-ago 10 [--apply]
 *
 * Locally: ./dev npx tsx apps/ops/stream-ops/src/replay-cli.ts --group alerting --topic metrics-raw --minutes-ago 10
 * Reads KAFKA_BROKERS (and KAFKA_CLIENT_ID), DATABASE_URL and ALERTING_GROUP_ID (the group whose state rewinds too). Exit status: 0 done, 1 failed, 2 bad arguments, 3 refused.
 */
import { kafkaEnv, kafkaSettings, loadConfigOrExit, postgresEnv, z } from '@qls/config';
import { createKafka } from '@qls/kafka';
import { ReplayService } from '@qls/stream-replay';
import { EXIT, runReplayCommand } from './replay-command';
import { stateRewinders } from './rewinders';

const env = loadConfigOrExit(z.object({ ...kafkaEnv, ...postgresEnv, ALERTING_GROUP_ID: z.string().min(1).default('alerting') }));
const state = stateRewinders(env);

function createService(): ReplayService {
  return new ReplayService(createKafka(kafkaSettings(env, 'stream-ops-replay-cli')), { rewinders: state.rewinders });
}

runReplayCommand(process.argv.slice(2), createService, {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}).then(
  async (code) => {
    await state.close();
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(EXIT.failed);
  },
);
