import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { type HeaderMap, Headers, headerMap } from '../core/wire.js';

/** nats.js headers to a map without prototype (first value of each key): `__proto__` is a header like any other. */
export function readHeaders(hdrs: MsgHdrs | undefined): HeaderMap {
  const map = headerMap();
  if (!hdrs) return map;
  for (const [key, values] of hdrs) if (values.length > 0) map[key] = values[0]!;
  return map;
}

/** A plain map plus content type (and correlation id when given) to nats.js headers. */
export function writeHeaders(map: HeaderMap, contentType: string, correlationId?: string): MsgHdrs {
  const hdrs = natsHeaders();
  for (const key in map) hdrs.set(key, map[key]!);
  hdrs.set(Headers.contentType, contentType);
  if (correlationId !== undefined) hdrs.set(Headers.correlationId, correlationId);
  return hdrs;
}

/** Headers without a content type, as Nest's built-in client sends them (none: `undefined`). */
export function writeEnvelopeHeaders(map: HeaderMap): MsgHdrs | undefined {
  const hdrs = natsHeaders();
  let any = false;
  for (const key in map) {
    hdrs.set(key, map[key]!);
    any = true;
  }
  return any ? hdrs : undefined;
}
