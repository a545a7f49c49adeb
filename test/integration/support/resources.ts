// What keeps a Node process alive (timers, sockets, handles), to tell what a test left behind.

/** How many active resources of each kind the process holds now. */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/** The kinds of resource the process holds more of than in `before`, with how many more. */
export function resourcesAddedSince(before: Map<string, number>): string[] {
  const added: string[] = [];
  for (const [kind, n] of activeResources()) {
    const more = n - (before.get(kind) ?? 0);
    if (more > 0) added.push(`${kind} +${more}`);
  }
  return added;
}
