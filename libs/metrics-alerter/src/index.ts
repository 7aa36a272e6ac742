export { ALERT_TRANSITION_EVENT, toAlertEvent } from './lib/alert-event';
export { AlertNotifier } from './lib/alert.notifier';
export type { AlertNotifierOptions, NotifyOutcome } from './lib/alert.notifier';
export { createAlerterMetrics } from './lib/alerter.metrics';
export type { AlerterMetrics } from './lib/alerter.metrics';
export { AlerterRunner } from './lib/alerter.runner';
export type { AlerterRunnerOptions } from './lib/alerter.runner';
export { CheckpointStore, FencedError } from './lib/checkpoint.store';
export type { CheckpointEntry, ClaimedCheckpoint, RewindTarget } from './lib/checkpoint.store';
