import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

/** Options of {@link MetricsRegistry}. */
export interface MetricsRegistryOptions {
  /** Added as the `service` label to every series. */
  readonly service: string;
  /** Collect prom-client's process metrics (CPU, memory, event loop lag, GC, handles). @defaultValue true */
  readonly defaultMetrics?: boolean;
}

/** A metric's configuration without `registers`: the registry decides where it lives. */
export type MetricOptions<C> = Omit<C, 'registers'>;

type MetricClass = typeof Counter | typeof Gauge | typeof Histogram;

/**
 * The process's Prometheus registry: create one in the app's root module, serve
 * it with `MetricsModule`, and create every counter, gauge and histogram
 * through it, so all of a service's metrics are in one place and carry the
 * `service` label. It is its own registry, not prom-client's global one, so
 * tests and several registries in one process do not collide.
 *
 * Asking twice for the same name returns the metric registered first (the
 * label names of the second request are not checked); asking for a name
 * registered as another kind of metric throws.
 */
export class MetricsRegistry {
  /** The underlying prom-client registry, for integrations that need it. */
  readonly registry = new Registry();

  constructor(options: MetricsRegistryOptions) {
    this.registry.setDefaultLabels({ service: options.service });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  counter<L extends string = string>(options: MetricOptions<CounterConfiguration<L>>): Counter<L> {
    return this.getOrCreate(options.name, Counter, () => new Counter<L>({ ...options, registers: [this.registry] }));
  }

  gauge<L extends string = string>(options: MetricOptions<GaugeConfiguration<L>>): Gauge<L> {
    return this.getOrCreate(options.name, Gauge, () => new Gauge<L>({ ...options, registers: [this.registry] }));
  }

  histogram<L extends string = string>(options: MetricOptions<HistogramConfiguration<L>>): Histogram<L> {
    return this.getOrCreate(options.name, Histogram, () => new Histogram<L>({ ...options, registers: [this.registry] }));
  }

  /** `Content-Type` of {@link MetricsRegistry.scrape}'s text (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text exposition format. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  private getOrCreate<M>(name: string, kind: MetricClass, create: () => M): M {
    const existing = this.registry.getSingleMetric(name);
    if (existing === undefined) return create();
    if (!(existing instanceof kind)) {
      throw new Error(`metric ${name} is already registered as a ${existing.constructor.name}, not a ${kind.name}`);
    }
    return existing as M;
  }
}
