/** The message of an error, or the thrown value as text, for logs and wrapped errors. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
