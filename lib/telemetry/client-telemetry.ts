import type { Attributes, Meter, Span } from '@opentelemetry/api';
import { performance } from 'node:perf_hooks';
import { CLIENT_COUNTERS } from '../core/counters.js';
import type { HeaderMap } from '../core/wire.js';
import { errorType } from './error-type.js';
import { exportCounters } from './counter-export.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_BODY_SIZE,
  ATTR_MESSAGING_CLIENT_ID,
  ATTR_MESSAGING_CONVERSATION_ID,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  EVENT_STREAM_VALUE,
  METRIC_CLIENT_COUNTER_PREFIX,
  METRIC_CLIENT_OPERATION_DURATION,
  METRIC_CLIENT_PENDING,
  OPERATION_SEND,
} from './semconv.js';
import { TelemetryBase } from './telemetry-base.js';
import type { TelemetryOptions } from './telemetry-options.js';

/** One request's span and clock, from publish to its last reply. */
export interface SendTrace {
  readonly destination: string;
  readonly startedAt: number;
  /** An OpenTelemetry `Span`; typed loosely so that the public types need no `@opentelemetry/api`. */
  span?: unknown;
}

/** What the client's metrics read: its pending requests and counters. */
export interface ClientGauges {
  readonly clientId: string;
  pending(): number;
  counters(): Readonly<Record<string, number>>;
}

/**
 * A client's telemetry: a PRODUCER span `send {destination}` per request, from publish to the last
 * reply (its context travels in the request's headers), and the `messaging.client.operation.duration`
 * histogram. The core calls it; adapters only name their `messaging.system`.
 */
export class ClientTelemetry extends TelemetryBase {
  constructor(
    options: TelemetryOptions | undefined,
    system: () => string,
    private readonly gauges: ClientGauges,
  ) {
    super(options, system);
  }

  /**
   * At publish: starts the span and writes its context into `headers`; `undefined` when nothing records.
   * A request's span ends with its last reply, an event's (no `correlationId`) once it is published.
   */
  begin(
    destination: string,
    correlationId: string | undefined,
    headers: HeaderMap,
    bodySize: number,
  ): SendTrace | undefined {
    const api = this.tracing();
    if (!api && !this.duration) return undefined;
    const trace: SendTrace = { destination, startedAt: performance.now() };
    if (api) {
      const attributes: Attributes = {
        [ATTR_MESSAGING_SYSTEM]: this.system(),
        [ATTR_MESSAGING_DESTINATION_NAME]: destination,
        [ATTR_MESSAGING_OPERATION_TYPE]: OPERATION_SEND,
        [ATTR_MESSAGING_OPERATION_NAME]: OPERATION_SEND,
        [ATTR_MESSAGING_BODY_SIZE]: bodySize,
        [ATTR_MESSAGING_CLIENT_ID]: this.gauges.clientId,
        ...this.extra,
      };
      if (correlationId !== undefined) attributes[ATTR_MESSAGING_CONVERSATION_ID] = correlationId;
      const span = this.tracer!.startSpan(`${OPERATION_SEND} ${destination}`, {
        kind: api.SpanKind.PRODUCER,
        attributes,
      });
      api.propagation.inject(api.trace.setSpan(api.context.active(), span), headers);
      trace.span = span;
    }
    return trace;
  }

  /** A value of a streamed reply arrived. */
  streamValue(trace: SendTrace): void {
    (trace.span as Span | undefined)?.addEvent(EVENT_STREAM_VALUE);
  }

  /** The request settled: failed with `error`, or answered (or left by its caller) without one. */
  end(trace: SendTrace, error?: unknown): void {
    const type = error === undefined ? undefined : errorType(error);
    const span = trace.span as Span | undefined;
    if (span) {
      if (type !== undefined) {
        span.setAttribute(ATTR_ERROR_TYPE, type);
        span.setStatus({ code: 2, message: error instanceof Error ? error.message : type }); // SpanStatusCode.ERROR
      }
      span.end();
    }
    if (this.duration) {
      const attributes: Attributes = {
        [ATTR_MESSAGING_SYSTEM]: this.system(),
        [ATTR_MESSAGING_DESTINATION_NAME]: trace.destination,
        [ATTR_MESSAGING_OPERATION_NAME]: OPERATION_SEND,
        ...this.extra,
      };
      if (type !== undefined) attributes[ATTR_ERROR_TYPE] = type;
      this.duration.record((performance.now() - trace.startedAt) / 1_000, attributes);
    }
  }

  /** Starts the metrics at connect. */
  start(): void {
    this.startMetrics(
      METRIC_CLIENT_OPERATION_DURATION,
      'Duration of a request, from publish to its last reply',
    );
  }

  protected exportGauges(meter: Meter): () => void {
    return exportCounters(
      meter,
      METRIC_CLIENT_COUNTER_PREFIX,
      CLIENT_COUNTERS,
      () => this.gauges.counters(),
      [
        {
          name: METRIC_CLIENT_PENDING,
          description: 'Requests waiting for a reply',
          read: () => this.gauges.pending(),
        },
      ],
      {
        [ATTR_MESSAGING_SYSTEM]: this.system(),
        [ATTR_MESSAGING_CLIENT_ID]: this.gauges.clientId,
        ...this.extra,
      },
    );
  }
}
