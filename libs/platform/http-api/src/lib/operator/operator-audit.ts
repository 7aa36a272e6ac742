import type { Logger } from '@qls/observability';
import type { Operator } from './operator';

/** One operator action: who, what, on what, and how many things it touched. */
export interface OperatorActionRecord {
  readonly operator: Operator;
  /** e.g. `outbox.retry`, `dlq.redrive`, `stream.replay` */
  readonly action: string;
  /** What the request asked for, as parsed (ids, `all`, a limit, a group and a point in time). */
  readonly request: Record<string, unknown>;
}

/**
 * The audit log of operator actions: one info line per action, with
 * `audit: true`, the operator (`sub` of the token), the action, what was asked
 * and how many things it touched — or that it failed, and why. Controllers run
 * each mutating action through {@link OperatorAuditLog.record}.
 */
export class OperatorAuditLog {
  constructor(private readonly logger: Pick<Logger, 'info' | 'warn'>) {}

  /** Runs `work`, then logs the action with the count `countOf` reads from its result (or the failure), and answers the result. */
  async record<T>(entry: OperatorActionRecord, work: () => Promise<T>, countOf: (result: T) => number): Promise<T> {
    const line = { audit: true, operator: entry.operator.operatorId, action: entry.action, request: entry.request };
    let result: T;
    try {
      result = await work();
    } catch (error) {
      this.logger.warn({ ...line, outcome: 'failed', err: error }, `operator action ${entry.action} failed`);
      throw error;
    }
    this.logger.info({ ...line, outcome: 'done', count: countOf(result) }, `operator action ${entry.action}`);
    return result;
  }
}
