/**
 * Whether a subscription subject (`*` = exactly one token, `>` = one or more trailing tokens) receives
 * what is published to `subject`, as nats-server matches them.
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
