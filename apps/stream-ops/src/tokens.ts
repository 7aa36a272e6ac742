export const LAG_MONITOR = Symbol('LAG_MONITOR');
export const LAG_READER = Symbol('LAG_READER');
export const REPLAY_SERVICE = Symbol('REPLAY_SERVICE');
