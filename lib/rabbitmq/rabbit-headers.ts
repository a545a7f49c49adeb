import { type HeaderMap, headerMap } from '../core/wire.js';

/**
 * AMQP headers to a plain string map. Other clients send numbers, booleans, byte arrays or tables:
 * byte arrays become UTF-8 text, tables JSON, the rest `String(value)`; null values are left out.
 * Own properties only: amqplib decodes a header named `__proto__` holding a table into the prototype
 * of the object it returns, and its entries must not pass for headers.
 */
export function readHeaders(headers: Record<string, unknown> | undefined): HeaderMap {
  const map = headerMap();
  if (!headers) return map;
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (value === undefined || value === null) continue;
    map[key] = typeof value === 'string' ? value : headerText(value);
  }
  return map;
}

function headerText(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** AMQP short strings (correlation id, reply-to) as the text they carry. */
export function shortString(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}
