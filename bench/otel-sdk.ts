// BENCH_OTEL=sdk: registers the OpenTelemetry SDK before a bench starts, to measure what tracing and
// metrics cost per request with an SDK on (spans batched to an exporter that drops them, metrics
// recorded into a reader nobody collects). Otherwise (BENCH_OTEL=none, or unset): no SDK, the
// package's telemetry stays inert.
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

class IdleReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const dropping: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => undefined,
};

/** Registers the SDK when BENCH_OTEL=sdk; returns the mode for the report's title. */
export function registerOtelSdkIfAsked(): 'sdk' | 'off' {
  if (process.env.BENCH_OTEL !== 'sdk') return 'off';
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropping)] }),
  );
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new IdleReader()] }));
  return 'sdk';
}
