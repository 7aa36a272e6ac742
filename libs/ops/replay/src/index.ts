export { parseReplayRequest, replayBody } from './lib/replay-request';
export type { ReplayRequest } from './lib/replay-request';
export { ReplayService } from './lib/replay.service';
export type {
  GroupStateRewinder,
  ReplayPartitionPlan,
  ReplayPlan,
  ReplayResult,
  ReplayServiceOptions,
  RestartOffset,
} from './lib/replay.service';
