/**
 * NATS-style subject matching, written once for the NATS adapter (reply loops through wildcard
 * subscriptions) and the in-memory transport (its routing): tokens split on `.`, `*` is exactly one
 * token, a last `>` one or more trailing tokens, as nats-server matches them.
 */
export function subjectMatches(subscription: string, subject: string): boolean {
  const want = subscription.split('.');
  const got = subject.split('.');
  for (let i = 0; i < want.length; i++) {
    const token = want[i]!;
    if (token === '>') return i === want.length - 1 && got.length > i;
    if (i >= got.length || (token !== '*' && token !== got[i])) return false;
  }
  return want.length === got.length;
}

/** Whether a subscription subject holds wildcards: `*` (one token) or a last `>` (one or more). */
export function hasWildcard(subject: string): boolean {
  return subject.split('.').some((token) => token === '*' || token === '>');
}
