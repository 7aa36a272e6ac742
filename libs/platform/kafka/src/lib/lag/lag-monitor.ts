import { errorMessage } from '@qls/messaging';
import type { AdapterLogger } from '../kafka-client';
import type { LagSource } from './lag-reader';
import type { LagMetrics } from './lag-metrics';
import {
  DEFAULT_LAG_RULES,
  type LagEvaluation,
  type LagRuleOptions,
  type LagWindow,
  emptyWindow,
  evaluateLag,
  recordSnapshot,
} from './lag-rules';
import type { GroupLagSnapshot, LagTarget } from './lag-snapshot';

export interface LagMonitorOptions {
  readonly targets: readonly LagTarget[];
  /** Time between polls; each poll adds one sample to every window. */
  readonly intervalMs: number;
  readonly rules?: Partial<LagRuleOptions>;
  /** Where the series go; none: evaluations only. */
  readonly metrics?: LagMetrics;
  readonly logger?: AdapterLogger;
}

const REBALANCING = new Set(['PreparingRebalance', 'CompletingRebalance']);

/**
 * Polls the lag of (group, topic) pairs, keeps a window of samples per pair,
 * evaluates it ({@link evaluateLag}) and exports the result. Never two polls
 * at once; a failed read keeps the previous evaluation (and its series) and
 * counts a failure.
 *
 * Rebalances: DescribeGroups has no generation id, so the monitor counts a
 * rebalance when the set of member ids changed between two polls or a poll
 * finds the group rebalancing after finding it stable — a lower bound (two
 * rebalances between polls count once). Consumers count their own exactly
 * with {@link countRebalances}.
 */
export class LagMonitor {
  private readonly rules: LagRuleOptions;
  private readonly windows = new Map<string, LagWindow>();
  private readonly evaluations = new Map<string, LagEvaluation>();
  private readonly groups = new Map<string, { memberIds: string; state: string }>();
  private readonly errors = new Map<string, { target: LagTarget; error: string }>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<readonly LagEvaluation[]> | undefined;
  private first: Promise<unknown> | undefined;

  constructor(
    private readonly source: LagSource,
    private readonly options: LagMonitorOptions,
  ) {
    this.rules = { ...DEFAULT_LAG_RULES, ...options.rules };
  }

  get targets(): readonly LagTarget[] {
    return this.options.targets;
  }

  /** Polls now and then every `intervalMs`. */
  start(): void {
    if (this.timer) return;
    this.first = this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Reads every target once and returns the new evaluations (a poll already running is awaited instead). */
  poll(): Promise<readonly LagEvaluation[]> {
    this.running ??= this.pollOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  /** The latest evaluation of every target that was read at least once, after the first poll finished. */
  async current(): Promise<LagEvaluation[]> {
    await this.first;
    return this.options.targets.flatMap((t) => this.evaluations.get(key(t)) ?? []);
  }

  /** Targets whose latest poll failed, with why (their evaluation, if any, is from an earlier poll). */
  failures(): { target: LagTarget; error: string }[] {
    return [...this.errors.values()];
  }

  private async tick(): Promise<void> {
    await this.poll().catch((error: unknown) => this.options.logger?.warn({ err: errorMessage(error) }, 'lag poll failed'));
  }

  private async pollOnce(): Promise<readonly LagEvaluation[]> {
    const { targets, metrics, logger } = this.options;
    let snapshots: readonly GroupLagSnapshot[];
    let failures: readonly { target: LagTarget; error: unknown }[];
    try {
      ({ snapshots, failures } = await this.source.readAll(targets));
    } catch (error) {
      for (const target of targets) {
        metrics?.recordFailure(target);
        this.errors.set(key(target), { target, error: errorMessage(error) });
      }
      throw error;
    }
    for (const { target, error } of failures) {
      metrics?.recordFailure(target);
      this.errors.set(key(target), { target, error: errorMessage(error) });
      logger?.warn({ groupId: target.groupId, topic: target.topic, err: errorMessage(error) }, 'could not read the lag of the group');
    }
    this.inferRebalances(snapshots);
    return snapshots.map((snapshot) => {
      const k = key(snapshot);
      this.errors.delete(k);
      const window = recordSnapshot(this.windows.get(k) ?? emptyWindow(), snapshot, this.rules.windowSize);
      this.windows.set(k, window);
      const evaluation = evaluateLag(window, this.rules);
      this.evaluations.set(k, evaluation);
      metrics?.record(evaluation);
      return evaluation;
    });
  }

  private inferRebalances(snapshots: readonly GroupLagSnapshot[]): void {
    const seen = new Set<string>();
    for (const { groupId, group } of snapshots) {
      if (seen.has(groupId)) continue;
      seen.add(groupId);
      const now = { memberIds: group.memberIds.join(','), state: group.state };
      const before = this.groups.get(groupId);
      this.groups.set(groupId, now);
      if (!before) continue;
      const wasRebalancing = REBALANCING.has(before.state);
      const startedRebalancing = REBALANCING.has(now.state) && !wasRebalancing;
      // A changed member set after a poll that saw the rebalance start is that same rebalance finishing.
      const membershipChanged = before.memberIds !== now.memberIds && !wasRebalancing;
      if (membershipChanged || startedRebalancing) this.options.metrics?.rebalances.inc({ group: groupId });
    }
  }
}

const key = (t: LagTarget) => `${t.groupId}\u0000${t.topic}`;

/**
 * `storage:metrics-raw,alerting:metrics-raw` → targets. Whitespace around
 * entries is ignored; the group id is everything before the last `:` (topic
 * names cannot contain one). Throws naming the bad entry.
 */
export function parseLagTargets(raw: string): LagTarget[] {
  const targets: LagTarget[] = [];
  for (const entry of raw.split(',').map((s) => s.trim())) {
    if (entry === '') continue;
    const at = entry.lastIndexOf(':');
    const groupId = entry.slice(0, at).trim();
    const topic = entry.slice(at + 1).trim();
    if (at < 0 || groupId === '' || !/^[a-zA-Z0-9._-]{1,249}$/.test(topic)) {
      throw new Error(`"${entry}" is not group:topic`);
    }
    if (targets.some((t) => t.groupId === groupId && t.topic === topic)) throw new Error(`"${entry}" is listed twice`);
    targets.push({ groupId, topic });
  }
  if (targets.length === 0) throw new Error('expected at least one group:topic');
  return targets;
}
