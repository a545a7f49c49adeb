/** Attribute values OpenTelemetry accepts. */
export type TelemetryAttributeValue = string | number | boolean;
export type TelemetryAttributes = Record<string, TelemetryAttributeValue>;

/**
 * OpenTelemetry tracing and metrics of one client or server. Both are on by default and cost nothing
 * measurable until the application installs `@opentelemetry/api` and registers an SDK.
 */
export interface TelemetryOptions {
  /** A span per request sent (client) or handled (server), W3C context in headers. Default `DEFAULT_TELEMETRY.tracing` (`true`). */
  tracing?: boolean;
  /** Duration histograms, in-flight gauges and `counters` as metrics. Default `DEFAULT_TELEMETRY.metrics` (`true`). */
  metrics?: boolean;
  /** Added to every span and metric point of this client or server. Default: none. */
  attributes?: TelemetryAttributes;
}

export const DEFAULT_TELEMETRY = Object.freeze({ tracing: true, metrics: true }) satisfies TelemetryOptions;
