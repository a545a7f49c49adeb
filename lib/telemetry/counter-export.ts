import type { Attributes, BatchObservableCallback, Meter, Observable } from '@opentelemetry/api';

/** A gauge read at each collection: its metric name and how to read it. */
export interface Gauge {
  name: string;
  description: string;
  read: () => number;
}

/** Instruments made once per meter: an SDK warns when one is registered again. */
const made = new WeakMap<Meter, Map<string, Observable>>();

function instrument(meter: Meter, name: string, make: () => Observable): Observable {
  let byName = made.get(meter);
  if (!byName) made.set(meter, (byName = new Map()));
  let found = byName.get(name);
  if (!found) byName.set(name, (found = make()));
  return found;
}

/** `repliesDropped` → `replies_dropped`. */
export function metricSuffix(counter: string): string {
  return counter.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Exports a client's or server's existing counters (`counters`, read at each collection, never
 * counted twice) as observable counters, one metric per counter, and its in-flight gauges as
 * observable up-down counters. Returns what stops the export (at `close()`).
 */
export function exportCounters(
  meter: Meter,
  prefix: string,
  names: readonly string[],
  read: () => Readonly<Record<string, number>>,
  gauges: readonly Gauge[],
  attributes: Attributes,
): () => void {
  const counters = names.map((name) => ({
    name,
    observable: instrument(meter, prefix + metricSuffix(name), () =>
      meter.createObservableCounter(prefix + metricSuffix(name), {
        description: `client/server counter ${name}`,
      }),
    ),
  }));
  const levels = gauges.map((gauge) => ({
    gauge,
    observable: instrument(meter, gauge.name, () =>
      meter.createObservableUpDownCounter(gauge.name, { description: gauge.description }),
    ),
  }));
  const callback: BatchObservableCallback = (result) => {
    const values = read();
    for (const c of counters) result.observe(c.observable, values[c.name] ?? 0, attributes);
    for (const l of levels) result.observe(l.observable, l.gauge.read(), attributes);
  };
  const observables = [...counters.map((c) => c.observable), ...levels.map((l) => l.observable)];
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}
