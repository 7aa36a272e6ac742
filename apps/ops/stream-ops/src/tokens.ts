import type { LagMonitor } from '@qls/kafka';
import { typedToken } from '@qls/observability';
import type { ReplayService } from '@qls/stream-replay';

export const LAG_MONITOR = typedToken<LagMonitor>('LAG_MONITOR');
export const REPLAY_SERVICE = typedToken<ReplayService>('REPLAY_SERVICE');
