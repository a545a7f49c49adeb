export {
  DEFAULT_TELEMETRY,
  type TelemetryOptions,
  type TelemetryAttributes,
  type TelemetryAttributeValue,
} from './telemetry-options.js';
export * from './semconv.js';
export { errorType } from './error-type.js';
