import type { Attributes, Meter, Span } from '@opentelemetry/api';
import { performance } from 'node:perf_hooks';
import { SERVER_COUNTERS } from '../core/counters.js';
import type { InboundMessage } from '../core/wire.js';
import { exportCounters } from './counter-export.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_BODY_SIZE,
  ATTR_MESSAGING_CLIENT_ID,
  ATTR_MESSAGING_CONVERSATION_ID,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_TEMPLATE,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  EVENT_STREAM_VALUE,
  METRIC_PROCESS_DURATION,
  METRIC_SERVER_COUNTER_PREFIX,
  METRIC_SERVER_QUEUED,
  METRIC_SERVER_RUNNING,
  OPERATION_PROCESS,
} from './semconv.js';
import { TelemetryBase } from './telemetry-base.js';
import type { TelemetryAttributes, TelemetryOptions } from './telemetry-options.js';

/** One message's span and clock while its handler runs and replies. */
interface ProcessTrace {
  readonly startedAt: number;
  span?: Span;
  errorType?: string;
  /** Stream values sent so far. */
  values: number;
}

/** What the server's metrics read: its handlers running and waiting, and its counters. */
export interface ServerGauges {
  readonly serverId: string;
  running(): number;
  queued(): number;
  counters(): Readonly<Record<string, number>>;
}

/**
 * A server's telemetry: a CONSUMER span `process {pattern}` per handled message, child of the context
 * its headers carry and active while the handler runs (so the handler's own requests continue the
 * trace), and the `messaging.process.duration` histogram. Broker specifics (partition, offset, key,
 * routing key, group) come from the adapter as attributes.
 */
export class ServerTelemetry extends TelemetryBase {
  private readonly traces = new WeakMap<InboundMessage, ProcessTrace>();

  constructor(
    options: TelemetryOptions | undefined,
    system: () => string,
    private readonly gauges: ServerGauges,
  ) {
    super(options, system);
  }

  /** Runs `work` (the handler and its replies) inside the message's span; `work` as is when nothing records. */
  process<T>(
    message: InboundMessage,
    broker: () => TelemetryAttributes | undefined,
    work: () => Promise<T>,
  ): Promise<T> {
    const api = this.tracing();
    if (!api && !this.duration) return work();
    const trace: ProcessTrace = { startedAt: performance.now(), values: 0 };
    this.traces.set(message, trace);
    let run = work;
    if (api) {
      const parent = api.propagation.extract(api.context.active(), message.headers);
      const attributes: Attributes = {
        [ATTR_MESSAGING_SYSTEM]: this.system(),
        [ATTR_MESSAGING_DESTINATION_NAME]: message.destination,
        [ATTR_MESSAGING_OPERATION_TYPE]: OPERATION_PROCESS,
        [ATTR_MESSAGING_OPERATION_NAME]: OPERATION_PROCESS,
        [ATTR_MESSAGING_BODY_SIZE]: message.body.length,
        [ATTR_MESSAGING_CLIENT_ID]: this.gauges.serverId,
        ...broker(),
        ...this.extra,
      };
      if (message.pattern !== message.destination)
        attributes[ATTR_MESSAGING_DESTINATION_TEMPLATE] = message.pattern;
      if (message.correlationId !== undefined)
        attributes[ATTR_MESSAGING_CONVERSATION_ID] = message.correlationId;
      const span = this.tracer!.startSpan(
        `${OPERATION_PROCESS} ${message.pattern}`,
        { kind: api.SpanKind.CONSUMER, attributes },
        parent,
      );
      trace.span = span;
      const active = api.trace.setSpan(parent, span);
      run = () => api.context.with(active, work);
    }
    return run().finally(() => this.end(message, trace));
  }

  /** The message failed: an error reply of `kind`, a failed event handler, or a rejected message. Keeps the first. */
  failed(message: InboundMessage, kind: string): void {
    const trace = this.traces.get(message);
    if (trace && trace.errorType === undefined) trace.errorType = kind;
  }

  /** A reply value went out: an event per value of a stream (a single final value is no stream). */
  streamValue(message: InboundMessage, final: boolean): void {
    const trace = this.traces.get(message);
    if (!trace?.span || (final && trace.values === 0)) return;
    trace.values++;
    trace.span.addEvent(EVENT_STREAM_VALUE);
  }

  /** Starts the metrics at listen. */
  start(): void {
    this.startMetrics(METRIC_PROCESS_DURATION, 'Duration of handling a message, replies included');
  }

  private end(message: InboundMessage, trace: ProcessTrace): void {
    this.traces.delete(message);
    const type = trace.errorType;
    const span = trace.span;
    if (span) {
      if (type !== undefined) {
        span.setAttribute(ATTR_ERROR_TYPE, type);
        span.setStatus({ code: 2, message: type }); // SpanStatusCode.ERROR
      }
      span.end();
    }
    if (this.duration) {
      const attributes: Attributes = {
        [ATTR_MESSAGING_SYSTEM]: this.system(),
        [ATTR_MESSAGING_DESTINATION_NAME]: message.pattern,
        [ATTR_MESSAGING_OPERATION_NAME]: OPERATION_PROCESS,
        ...this.extra,
      };
      if (type !== undefined) attributes[ATTR_ERROR_TYPE] = type;
      this.duration.record((performance.now() - trace.startedAt) / 1_000, attributes);
    }
  }

  protected exportGauges(meter: Meter): () => void {
    return exportCounters(
      meter,
      METRIC_SERVER_COUNTER_PREFIX,
      SERVER_COUNTERS,
      () => this.gauges.counters(),
      [
        { name: METRIC_SERVER_RUNNING, description: 'Handlers running', read: () => this.gauges.running() },
        {
          name: METRIC_SERVER_QUEUED,
          description: 'Requests waiting for a handler slot',
          read: () => this.gauges.queued(),
        },
      ],
      {
        [ATTR_MESSAGING_SYSTEM]: this.system(),
        [ATTR_MESSAGING_CLIENT_ID]: this.gauges.serverId,
        ...this.extra,
      },
    );
  }
}
