import type { Attributes, Histogram, Meter, Tracer } from '@opentelemetry/api';
import { type OtelApi, loadOtelApi, metricsRegistered, otelApi, tracingRegistered } from './otel-api.js';
import { DURATION_BUCKETS, INSTRUMENTATION_NAME } from './semconv.js';
import { DEFAULT_TELEMETRY, type TelemetryOptions } from './telemetry-options.js';

/** What client and server telemetry share: the options, the loaded API, the tracer, the meter. */
export abstract class TelemetryBase {
  protected readonly tracingOn: boolean;
  protected readonly metricsOn: boolean;
  protected readonly extra: Attributes | undefined;
  protected tracer?: Tracer;
  protected meter?: Meter;
  protected duration?: Histogram;
  private stopExport?: () => void;

  constructor(
    options: TelemetryOptions | undefined,
    /** `messaging.system`, from the adapter. */
    protected readonly system: () => string,
  ) {
    this.tracingOn = options?.tracing ?? DEFAULT_TELEMETRY.tracing;
    this.metricsOn = options?.metrics ?? DEFAULT_TELEMETRY.metrics;
    this.extra = options?.attributes;
  }

  /** Loads the API when telemetry is on. Resolves at once when both are off. */
  async load(): Promise<void> {
    if (this.tracingOn || this.metricsOn) await loadOtelApi();
  }

  /** The API, when tracing is on and an SDK's tracer provider is registered (checked per call: it may come later). */
  protected tracing(): OtelApi | undefined {
    if (!this.tracingOn) return undefined;
    const api = otelApi();
    if (!api || !tracingRegistered(api)) return undefined;
    this.tracer ??= api.trace.getTracer(INSTRUMENTATION_NAME);
    return api;
  }

  /**
   * Starts the metrics of this client or server (at connect or listen), when metrics are on and a
   * meter provider is registered by then: the duration histogram, and `exportGauges`.
   */
  startMetrics(histogram: string, description: string): void {
    const api = otelApi();
    if (!this.metricsOn || !api || this.stopExport) return;
    const meter = api.metrics.getMeter(INSTRUMENTATION_NAME);
    if (!metricsRegistered(meter)) return;
    this.meter = meter;
    this.duration ??= meter.createHistogram(histogram, {
      unit: 's',
      description,
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.stopExport = this.exportGauges(meter);
  }

  /** Stops the observable instruments' callbacks (at close). */
  stopMetrics(): void {
    this.stopExport?.();
    this.stopExport = undefined;
  }

  protected abstract exportGauges(meter: Meter): () => void;
}
