/**
 * What an invariant checker answers, in the categories of Jepsen's queue
 * checkers: each broken promise is a {@link Violation} naming the invariant,
 * the record and what the records say; what is allowed but worth knowing
 * (redundant provider calls, records routed aside) is counted, not violated.
 *
 * Each system's checker (notifications, metrics, feeds, outbox) builds one
 * report from the system's own records and the workload's log of what was
 * acknowledged; tests and the failure lab assert and print them alike.
 */

/** One broken promise. */
export interface Violation {
  /** The invariant broken, e.g. `lost`, `duplicated`, `not settled`. */
  readonly invariant: string;
  /** The record it concerns (a notification id, `topic/partition/offset`, a user's feed). */
  readonly id: string;
  /** What the records say, precisely enough to find the cause. */
  readonly detail: string;
}

export interface InvariantReport {
  readonly system: string;
  /** The invariants checked, each named as its violations would be. */
  readonly invariants: readonly string[];
  /** How many records (acknowledged requests, rows, events) were checked. */
  readonly checked: number;
  /** Outcomes counted, not judged: `sent`, `dead-lettered`, `redundant provider calls`, … */
  readonly counts: Readonly<Record<string, number>>;
  readonly violations: readonly Violation[];
}

/** Collects the violations and counts of one system's check. */
export class InvariantCheck {
  private readonly violations: Violation[] = [];
  private readonly counts: Record<string, number> = {};
  private checked = 0;

  constructor(
    private readonly system: string,
    private readonly invariants: readonly string[],
  ) {}

  /** One more record looked at. */
  record(): void {
    this.checked += 1;
  }

  violated(invariant: string, id: string, detail: string): void {
    if (!this.invariants.includes(invariant)) throw new Error(`${this.system}: no invariant named "${invariant}"`);
    this.violations.push({ invariant, id, detail });
  }

  count(outcome: string, by = 1): void {
    this.counts[outcome] = (this.counts[outcome] ?? 0) + by;
  }

  report(): InvariantReport {
    return {
      system: this.system,
      invariants: [...this.invariants],
      checked: this.checked,
      counts: { ...this.counts },
      violations: [...this.violations],
    };
  }
}

export const holds = (report: InvariantReport): boolean => report.violations.length === 0;

/**
 * A few lines for a person: per system whether its invariants held, the
 * counts, and per broken invariant how many and the first `examples` records.
 */
export function describeReports(reports: readonly InvariantReport[], examples = 5): string {
  return reports
    .map((report) => {
      const counts = Object.entries(report.counts)
        .map(([outcome, n]) => `${outcome} ${n}`)
        .join(', ');
      const head = `${report.system}: ${report.checked} checked, ${holds(report) ? 'every invariant holds' : `${report.violations.length} violation(s)`}${counts ? ` (${counts})` : ''}`;
      const byInvariant = new Map<string, Violation[]>();
      for (const violation of report.violations)
        byInvariant.set(violation.invariant, [...(byInvariant.get(violation.invariant) ?? []), violation]);
      const lines = [...byInvariant].flatMap(([invariant, violations]) => [
        `  ${invariant}: ${violations.length}`,
        ...violations.slice(0, examples).map((v) => `    ${v.id}: ${v.detail}`),
        ...(violations.length > examples ? [`    … and ${violations.length - examples} more`] : []),
      ]);
      return [head, ...lines].join('\n');
    })
    .join('\n');
}

/** Throws, with {@link describeReports}' text, when any report has a violation. */
export function assertInvariants(...reports: InvariantReport[]): void {
  if (reports.some((report) => !holds(report))) throw new Error(`invariants violated:\n${describeReports(reports)}`);
}
