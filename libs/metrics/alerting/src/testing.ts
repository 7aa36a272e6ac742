// Scenarios for tests and benchmarks of the alerter: import from '@qls/metrics-alerting/testing' in specs and benches only.
export {
  checkpointedRecords,
  committedAlerts,
  produceScenario,
  random,
  scenario,
  scenarioOptions,
  scenarioRules,
} from './testing/scenario';
export type { ScenarioOptions } from './testing/scenario';
