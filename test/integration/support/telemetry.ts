// OpenTelemetry tracing and metrics with the real SDK (in-memory exporter and metric reader), over a
// real broker: the checks every transport must pass.
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import {
  type Attributes,
  context,
  metrics,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { firstValueFrom, interval, lastValueFrom, map, take, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RpcClient, RpcRecordBuilder, type RpcServer, type RpcContext } from '../../../lib/index.js';
import type { TelemetryOptions } from '../../../lib/telemetry/index.js';
import { Gate } from './sync.js';

/** Metrics read on demand (`collect()`), as an exporter's reader would at its interval. */
class TestMetricReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

export interface TelemetryTransport {
  /** Pattern prefix unique to this run (Kafka: a topic-name prefix). */
  prefix: string;
  /** `messaging.system` expected. */
  system: string;
  server(): RpcServer;
  client(telemetry?: TelemetryOptions): RpcClient;
  /** Broker-specific attributes the server span must carry (name → expected value, or `expect.anything()`). */
  serverAttributes: Record<string, unknown>;
  /** Milliseconds for a first round trip (a Kafka client's first connect creates its reply topic). */
  upTimeout: number;
}

/**
 * `lateRepliesCounted`: whether the client counts a late reply in `repliesDropped` (not Kafka's: a reply
 * topic may be shared, and replies for other clients are skipped without being counted).
 */
export function telemetryConformance(
  name: string,
  transport: () => TelemetryTransport,
  { lateRepliesCounted = true } = {},
): void {
  describe(`${name}: OpenTelemetry traces and metrics`, () => {
    const exporter = new InMemorySpanExporter();
    const reader = new TestMetricReader();
    const gate = new Gate();
    const inner: { client?: RpcClient } = {};
    let t: TelemetryTransport;
    let app: INestMicroservice;
    let client: RpcClient;
    const clients: RpcClient[] = [];
    const p = (suffix: string) => `${t.prefix}.${suffix}`;

    const spans = () => exporter.getFinishedSpans();
    const spanNamed = (spanName: string) => spans().filter((s) => s.name === spanName);
    /** The spans of one trace, once `count` of them ended (a server span may end after the reply arrived). */
    const traceOf = async (traceId: string, count: number): Promise<ReadableSpan[]> => {
      await expect.poll(() => spans().filter((s) => s.spanContext().traceId === traceId).length).toBe(count);
      return spans().filter((s) => s.spanContext().traceId === traceId);
    };
    const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
    const inCaller = <T>(work: () => Promise<T>) =>
      trace.getTracer('test').startActiveSpan('caller', async (span) => {
        try {
          return {
            result: await work(),
            traceId: span.spanContext().traceId,
            spanId: span.spanContext().spanId,
          };
        } finally {
          span.end();
        }
      });

    beforeAll(async () => {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      propagation.setGlobalPropagator(
        new CompositePropagator({
          propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
        }),
      );
      trace.setGlobalTracerProvider(
        new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
      );
      metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
      t = transport();
      app = await NestFactory.createMicroservice(tracedModule(t.prefix, gate, inner), {
        strategy: t.server(),
        logger: false,
      });
      await app.listen();
      inner.client = t.client();
      clients.push(inner.client);
      client = t.client();
      clients.push(client);
      await Promise.all([client.connect(), inner.client.connect()]);
      // a first round trip: Kafka's reply topics and group assignment settle before the spans are looked at
      await firstValueFrom(client.send(p('echo'), 'warm-up').pipe());
      await firstValueFrom(inner.client.send(p('echo'), 'warm-up'));
    }, 120_000);
    afterEach(() => {
      gate.open();
      gate.reset();
      exporter.reset();
    });
    afterAll(async () => {
      gate.open();
      await Promise.all(clients.map((c) => c.close()));
      await app?.close();
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
    });

    it('makes one trace from the caller to the handler and back: a PRODUCER span, its CONSUMER child', async () => {
      const { result, traceId, spanId } = await inCaller(() =>
        firstValueFrom(client.send(p('echo'), { n: 1 })),
      );
      expect(result).toEqual({ n: 1 });
      const all = await traceOf(traceId, 3);
      const send = all.find((s) => s.name === `send ${p('echo')}`)!;
      const processed = all.find((s) => s.name === `process ${p('echo')}`)!;
      expect(send.kind).toBe(SpanKind.PRODUCER);
      expect(parentOf(send)).toBe(spanId);
      expect(processed.kind).toBe(SpanKind.CONSUMER);
      expect(parentOf(processed)).toBe(send.spanContext().spanId);
      expect(send.attributes).toMatchObject({
        'messaging.system': t.system,
        'messaging.destination.name': p('echo'),
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
      });
      const conversation = send.attributes['messaging.message.conversation_id'];
      expect(conversation).toEqual(expect.any(String));
      expect(processed.attributes).toMatchObject({
        'messaging.system': t.system,
        'messaging.destination.name': p('echo'),
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.message.conversation_id': conversation,
        ...t.serverAttributes,
      });
      expect(send.status.code).toBe(SpanStatusCode.UNSET);
      expect(processed.status.code).toBe(SpanStatusCode.UNSET);
    });

    it('marks both spans as errors with error.type when the handler throws', async () => {
      const { traceId } = await inCaller(() =>
        firstValueFrom(client.send(p('fail'), {})).catch((err: unknown) => err),
      );
      const all = await traceOf(traceId, 3);
      for (const spanName of [`send ${p('fail')}`, `process ${p('fail')}`]) {
        const s = all.find((x) => x.name === spanName)!;
        expect(s.status.code).toBe(SpanStatusCode.ERROR);
        expect(s.attributes['error.type']).toBe('exception');
      }
    });

    it('marks the client span with error.type timeout when no reply comes in time', async () => {
      const request = firstValueFrom(
        client.send(p('hang'), new RpcRecordBuilder({}).setTimeout(300).build()),
      ).catch((err: unknown) => err);
      await gate.entered;
      await request;
      const [s] = spanNamed(`send ${p('hang')}`);
      expect(s!.status.code).toBe(SpanStatusCode.ERROR);
      expect(s!.attributes['error.type']).toBe('timeout');
    });

    it("continues the trace through a handler's own send(): caller → relay → echo in one trace", async () => {
      const { result, traceId } = await inCaller(() => firstValueFrom(client.send(p('relay'), 'x')));
      expect(result).toBe('x');
      const all = await traceOf(traceId, 5);
      const sendRelay = all.find((s) => s.name === `send ${p('relay')}`)!;
      const processRelay = all.find((s) => s.name === `process ${p('relay')}`)!;
      const sendEcho = all.find((s) => s.name === `send ${p('echo')}`)!;
      const processEcho = all.find((s) => s.name === `process ${p('echo')}`)!;
      expect(parentOf(processRelay)).toBe(sendRelay.spanContext().spanId);
      expect(parentOf(sendEcho)).toBe(processRelay.spanContext().spanId);
      expect(parentOf(processEcho)).toBe(sendEcho.spanContext().spanId);
    });

    it("traces an emit(): a PRODUCER span ended once published, the event handler's CONSUMER span its child", async () => {
      const { traceId } = await inCaller(() =>
        lastValueFrom(client.emit(p('event'), { n: 1 }), { defaultValue: undefined }),
      );
      const all = await traceOf(traceId, 3);
      const send = all.find((s) => s.name === `send ${p('event')}`)!;
      const processed = all.find((s) => s.name === `process ${p('event')}`)!;
      expect(send.kind).toBe(SpanKind.PRODUCER);
      expect(processed.kind).toBe(SpanKind.CONSUMER);
      expect(parentOf(processed)).toBe(send.spanContext().spanId);
      expect(send.attributes['messaging.message.conversation_id']).toBeUndefined();
    });

    it('carries baggage to the handler', async () => {
      const bag = propagation.createBaggage({ tenant: { value: 'acme' } });
      const seen = await context.with(propagation.setBaggage(context.active(), bag), () =>
        firstValueFrom(client.send(p('baggage'), {})),
      );
      expect(seen).toBe('acme');
    });

    it('makes one span per stream, with an event per value, on both sides', async () => {
      const { result, traceId } = await inCaller(() =>
        lastValueFrom(client.send(p('count'), 3).pipe(toArray())),
      );
      expect(result).toEqual([0, 1, 2]);
      const all = await traceOf(traceId, 3);
      for (const spanName of [`send ${p('count')}`, `process ${p('count')}`]) {
        const s = all.find((x) => x.name === spanName)!;
        expect(s.events.map((e) => e.name)).toEqual([
          'rpc.stream.value',
          'rpc.stream.value',
          'rpc.stream.value',
        ]);
      }
    });

    it('adds the attributes of the telemetry option, and sends no trace context with tracing off', async () => {
      const tagged = t.client({ attributes: { 'app.team': 'billing' } });
      const silent = t.client({ tracing: false });
      clients.push(tagged, silent);
      await inCaller(() => firstValueFrom(tagged.send(p('echo'), 1)));
      expect(spanNamed(`send ${p('echo')}`)[0]!.attributes['app.team']).toBe('billing');
      exporter.reset();
      const { result } = await inCaller(() => firstValueFrom(silent.send(p('traceparent'), {})));
      expect(result).toBeNull();
      expect(spanNamed(`send ${p('traceparent')}`)).toHaveLength(0);
    });

    it('records duration histograms per destination and outcome, and requests in flight', async () => {
      await firstValueFrom(client.send(p('echo'), 1));
      await firstValueFrom(client.send(p('fail'), 1)).catch(() => undefined);
      const held = firstValueFrom(client.send(p('hang'), 1));
      await gate.entered;
      const during = await collect(reader);
      expect(
        gauge(during, 'rpc.client.requests.pending', { 'messaging.system': t.system }),
      ).toBeGreaterThanOrEqual(1);
      expect(gauge(during, 'rpc.server.requests.running', { 'messaging.system': t.system })).toBe(1);
      gate.open();
      await held;
      await expect
        .poll(async () =>
          gauge(await collect(reader), 'rpc.server.requests.running', { 'messaging.system': t.system }),
        )
        .toBe(0);
      const after = await collect(reader);
      const ok = histogramPoint(after, 'messaging.client.operation.duration', {
        'messaging.destination.name': p('echo'),
        'messaging.system': t.system,
      });
      expect(ok.count).toBeGreaterThanOrEqual(1);
      expect(ok.attributes['error.type']).toBeUndefined();
      const failed = histogramPoint(after, 'messaging.client.operation.duration', {
        'messaging.destination.name': p('fail'),
        'error.type': 'exception',
      });
      expect(failed.count).toBeGreaterThanOrEqual(1);
      const processed = histogramPoint(after, 'messaging.process.duration', {
        'messaging.destination.name': p('fail'),
        'error.type': 'exception',
      });
      expect(processed.count).toBeGreaterThanOrEqual(1);
      expect(gauge(after, 'rpc.server.requests_expired', { 'messaging.system': t.system })).toBe(0);
      expect(gauge(after, 'rpc.client.reconnects', { 'messaging.system': t.system })).toBe(0);
    });

    it.runIf(lateRepliesCounted)(
      "exports the client's counters: a late reply counts as dropped",
      async () => {
        const dropped = async () => gauge(await collect(reader), 'rpc.client.replies_dropped', {});
        const before = await dropped();
        const late = firstValueFrom(client.send(p('hang'), new RpcRecordBuilder({}).setTimeout(200).build()));
        await gate.entered;
        await expect(late).rejects.toMatchObject({ code: 'RPC_TIMEOUT' });
        gate.open();
        await expect.poll(dropped).toBe(before + 1);
      },
    );
  });
}

async function collect(reader: MetricReader): Promise<MetricData[]> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
}

function points(all: MetricData[], metricName: string, match: Attributes): DataPoint<unknown>[] {
  const metric = all.find((m) => m.descriptor.name === metricName);
  expect(metric, `metric ${metricName}`).toBeDefined();
  return (metric!.dataPoints as DataPoint<unknown>[]).filter((d) =>
    Object.entries(match).every(([k, v]) => d.attributes[k] === v),
  );
}

/** The sum over the matching points of an observable counter or gauge. */
function gauge(all: MetricData[], metricName: string, match: Attributes): number {
  return points(all, metricName, match).reduce((sum, d) => sum + (d.value as number), 0);
}

function histogramPoint(all: MetricData[], metricName: string, match: Attributes) {
  const [point] = points(all, metricName, match);
  expect(point, `${metricName} point ${JSON.stringify(match)}`).toBeDefined();
  return { count: (point!.value as Histogram).count, attributes: point!.attributes };
}

function tracedModule(prefix: string, gate: Gate, inner: { client?: RpcClient }) {
  @Controller()
  class TracedController {
    @MessagePattern(`${prefix}.echo`)
    echo(@Payload() data: unknown) {
      return data;
    }
    @MessagePattern(`${prefix}.fail`)
    fail(): never {
      throw new RpcException('no such account');
    }
    @MessagePattern(`${prefix}.hang`)
    async hang(): Promise<string> {
      await gate.pass();
      return 'late';
    }
    @MessagePattern(`${prefix}.relay`)
    relay(@Payload() data: unknown) {
      return inner.client!.send(`${prefix}.echo`, data);
    }
    @EventPattern(`${prefix}.event`)
    event(@Payload() _data: unknown): void {}
    @MessagePattern(`${prefix}.baggage`)
    baggage() {
      return propagation.getBaggage(context.active())?.getEntry('tenant')?.value ?? null;
    }
    @MessagePattern(`${prefix}.traceparent`)
    traceparent(@Ctx() ctx: RpcContext) {
      return ctx.getHeaders().traceparent ?? null;
    }
    @MessagePattern(`${prefix}.count`)
    count(@Payload() n: number) {
      return interval(1).pipe(
        take(n),
        map((i) => i),
      );
    }
  }
  @Module({ controllers: [TracedController] })
  class TracedModule {}
  return TracedModule;
}
