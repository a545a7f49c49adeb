// The telemetry units over the in-memory transport: inert without an SDK, on as soon as one is
// registered, and the checks that read the API's no-op providers.
import { Controller, Module } from '@nestjs/common';
import { Ctx, MessagePattern } from '@nestjs/microservices';
import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcConnectionError, type RpcContext, RpcRemoteError, RpcTimeoutError } from '../../../lib/index.js';
import { errorType } from '../../../lib/telemetry/error-type.js';
import { metricSuffix } from '../../../lib/telemetry/counter-export.js';
import { loadOtelApi, metricsRegistered, tracingRegistered } from '../../../lib/telemetry/otel-api.js';
import { MemoryBroker, MemoryRpcClient, startMemoryMicroservice } from '../../../lib/testing/index.js';

@Controller()
class SeenController {
  @MessagePattern('otel.seen')
  seen(@Ctx() ctx: RpcContext) {
    return {
      traceparent: ctx.getHeaders().traceparent ?? null,
      active: api.trace.getActiveSpan() !== undefined,
    };
  }
}
@Module({ controllers: [SeenController] })
class SeenModule {}

function registerSdk(exporter: InMemorySpanExporter): void {
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
}

afterEach(() => {
  api.trace.disable();
  api.metrics.disable();
  api.propagation.disable();
  api.context.disable();
});

describe('telemetry over the in-memory transport', () => {
  it('sends no trace context and runs handlers outside any span while no SDK is registered', async () => {
    const worker = await startMemoryMicroservice(SeenModule);
    try {
      const client = worker.client();
      await expect(firstValueFrom(client.send('otel.seen', {}))).resolves.toEqual({
        traceparent: null,
        active: false,
      });
    } finally {
      await worker.close();
    }
  });

  it('traces from the next request on once an SDK is registered after connect', async () => {
    const worker = await startMemoryMicroservice(SeenModule);
    try {
      const client = worker.client();
      await firstValueFrom(client.send('otel.seen', {}));
      const exporter = new InMemorySpanExporter();
      registerSdk(exporter);
      const seen = (await firstValueFrom(client.send('otel.seen', {}))) as {
        traceparent: string;
        active: boolean;
      };
      expect(seen.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(seen.active).toBe(true);
      await expect
        .poll(() =>
          exporter
            .getFinishedSpans()
            .map((s) => s.name)
            .sort(),
        )
        .toEqual(['process otel.seen', 'send otel.seen']);
      expect(exporter.getFinishedSpans()[0]!.attributes['messaging.system']).toBe('memory');
    } finally {
      await worker.close();
    }
  });

  it('makes no span for a client with tracing off, even with an SDK registered', async () => {
    const exporter = new InMemorySpanExporter();
    registerSdk(exporter);
    const worker = await startMemoryMicroservice(SeenModule, { telemetry: { tracing: false } });
    try {
      const client = worker.client({ telemetry: { tracing: false } });
      const seen = (await firstValueFrom(client.send('otel.seen', {}))) as { traceparent: unknown };
      expect(seen.traceparent).toBeNull();
      expect(exporter.getFinishedSpans()).toEqual([]);
    } finally {
      await worker.close();
    }
  });
});

describe('the no-op checks (they read what the API returns without an SDK: fails if that changes)', () => {
  it('tells a registered tracer provider from the no-op one', async () => {
    const loaded = (await loadOtelApi())!;
    expect(tracingRegistered(loaded)).toBe(false);
    api.trace.setGlobalTracerProvider(new BasicTracerProvider());
    expect(tracingRegistered(loaded)).toBe(true);
    api.trace.disable();
    expect(tracingRegistered(loaded)).toBe(false);
  });

  it('tells an SDK meter from the no-op meter', async () => {
    await loadOtelApi();
    expect(metricsRegistered(api.metrics.getMeter('x'))).toBe(false);
    api.metrics.setGlobalMeterProvider(new MeterProvider());
    expect(metricsRegistered(api.metrics.getMeter('x'))).toBe(true);
  });
});

describe('errorType', () => {
  it('names the remote error kind, timeouts, other package errors by code, else the class', () => {
    expect(errorType(new RpcRemoteError('p', 'no-handler', {}))).toBe('no-handler');
    expect(errorType(new RpcTimeoutError('p', 'id', 10, 11))).toBe('timeout');
    expect(errorType(new RpcConnectionError('gone'))).toBe('rpc_connection');
    expect(errorType(new TypeError('x'))).toBe('TypeError');
    expect(errorType('thrown')).toBe('_OTHER');
  });
});

describe('the reconnects counter', () => {
  it('counts each time a client starts reconnecting', () => {
    class Flaky extends MemoryRpcClient {
      lose(): void {
        this.emitStatus('reconnecting');
      }
    }
    const client = new Flaky({ broker: new MemoryBroker() });
    client.lose();
    client.lose();
    expect(client.counters.reconnects).toBe(2);
  });
});

describe('metricSuffix', () => {
  it('turns a counter name into a metric name suffix', () => {
    expect(metricSuffix('repliesDropped')).toBe('replies_dropped');
    expect(metricSuffix('reconnects')).toBe('reconnects');
  });
});
