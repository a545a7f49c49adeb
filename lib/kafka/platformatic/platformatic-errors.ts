/**
 * Kafka protocol error names (`apiId`, e.g. `UNKNOWN_TOPIC_OR_PARTITION`) anywhere in an error from
 * `@platformatic/kafka`: its retried operations and multi-broker requests nest them in `errors`.
 */
export function errorIds(error: unknown, out: string[] = [], depth = 0): string[] {
  if (!error || typeof error !== 'object' || depth > 6) return out;
  const e = error as { apiId?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.apiId === 'string') out.push(e.apiId);
  if (Array.isArray(e.errors)) for (const inner of e.errors) errorIds(inner, out, depth + 1);
  errorIds(e.cause, out, depth + 1);
  return out;
}

/**
 * A topic the cluster does not have. The library's metadata lookup reports it as a `UserError`
 * "Unknown topic <name>." without the protocol error (checked against @platformatic/kafka 2.12.1;
 * guarded by test/integration/kafka/platformatic-driver.spec.ts).
 */
export function isUnknownTopic(error: unknown): boolean {
  const ids = errorIds(error);
  if (ids.includes('UNKNOWN_TOPIC_OR_PARTITION') || ids.includes('UNKNOWN_TOPIC_ID')) return true;
  return messages(error).some((m) => /^Unknown topic /.test(m));
}

function messages(error: unknown, out: string[] = [], depth = 0): string[] {
  if (!error || typeof error !== 'object' || depth > 6) return out;
  const e = error as { message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.message === 'string') out.push(e.message);
  if (Array.isArray(e.errors)) for (const inner of e.errors) messages(inner, out, depth + 1);
  messages(e.cause, out, depth + 1);
  return out;
}

/** The broker's own errors inside an error: where in the request (`path`) and why (its message, else the protocol's). */
export function protocolFailures(
  error: unknown,
  out: Array<{ path?: string; reason: string }> = [],
  depth = 0,
): Array<{ path?: string; reason: string }> {
  if (!error || typeof error !== 'object' || depth > 6) return out;
  const e = error as { apiId?: unknown; path?: unknown; serverErrorMessage?: unknown; message?: unknown };
  if (typeof e.apiId === 'string') {
    const reason =
      typeof e.serverErrorMessage === 'string' && e.serverErrorMessage ? e.serverErrorMessage : e.message;
    out.push({ ...(typeof e.path === 'string' ? { path: e.path } : {}), reason: String(reason) });
  }
  const nested = error as { errors?: unknown; cause?: unknown };
  if (Array.isArray(nested.errors))
    for (const inner of nested.errors) protocolFailures(inner, out, depth + 1);
  protocolFailures(nested.cause, out, depth + 1);
  return out;
}
