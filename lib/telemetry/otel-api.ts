import type * as OtelApiModule from '@opentelemetry/api';

/** `@opentelemetry/api`, when the application installed it (an optional peer dependency). */
export type OtelApi = typeof OtelApiModule;

let loading: Promise<OtelApi | undefined> | undefined;
let loaded: OtelApi | undefined;
let noopTracerProvider: unknown;
let noopMeterClass: unknown;

/** Loads `@opentelemetry/api` once; resolves `undefined` when it is not installed. Never rejects. */
export function loadOtelApi(): Promise<OtelApi | undefined> {
  loading ??= import('@opentelemetry/api')
    .then((mod) => {
      // seen from ESM, the CommonJS build's named exports may sit under `default` only
      const api = (
        'ProxyTracerProvider' in mod ? mod : (mod as unknown as { default: OtelApi }).default
      ) as OtelApi;
      noopTracerProvider = new api.ProxyTracerProvider().getDelegate();
      noopMeterClass = api.createNoopMeter().constructor;
      return (loaded = api);
    })
    .catch(() => undefined);
  return loading;
}

/** The API once `loadOtelApi` resolved with it, else `undefined`. */
export function otelApi(): OtelApi | undefined {
  return loaded;
}

/**
 * Whether a tracer provider (an SDK) is registered: without one, the API's global provider is a proxy
 * whose delegate is the API's no-op provider, and spans would record nothing, so none are made.
 */
export function tracingRegistered(api: OtelApi): boolean {
  const provider = api.trace.getTracerProvider() as { getDelegate?: () => unknown };
  return typeof provider.getDelegate !== 'function' || provider.getDelegate() !== noopTracerProvider;
}

/** Whether a meter provider (an SDK) is registered: without one, meters are the API's no-op meter. */
export function metricsRegistered(meter: unknown): boolean {
  return (meter as object).constructor !== noopMeterClass;
}
