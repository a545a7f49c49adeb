// What keeps a Node process alive (timers, sockets), to tell what a test left behind.
import { createHook } from 'node:async_hooks';

/** How many active resources of each kind the process holds now (`process.getActiveResourcesInfo()`). */
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

const WATCHED = new Set(['Timeout', 'TCPWRAP', 'PIPEWRAP']);

/**
 * Records the timers and sockets created from now on, and tells which of them still keep the process
 * alive. Counts alone can hide a leak behind an unrelated timer that went away meanwhile; this tracks
 * each resource.
 */
export class ResourceWatch {
  private readonly alive = new Map<number, { type: string; resource: any }>();
  private recording = true;
  private readonly hook = createHook({
    init: (asyncId, type, _trigger, resource) => {
      if (this.recording && WATCHED.has(type)) this.alive.set(asyncId, { type, resource });
    },
    destroy: (asyncId) => {
      this.alive.delete(asyncId);
    },
  });

  constructor() {
    this.hook.enable();
  }

  /** Records nothing created from now on (the test's own waiting), but still sees what goes away. */
  stopRecording(): void {
    this.recording = false;
  }

  /** Resources created while recording that still keep the process alive. */
  leftOver(): string[] {
    const left: string[] = [];
    for (const { type, resource } of this.alive.values()) {
      if (type === 'Timeout' && (resource._destroyed || !resource.hasRef?.())) continue;
      left.push(type === 'Timeout' ? `Timeout (${resource._idleTimeout} ms)` : type);
    }
    return left;
  }

  stop(): void {
    this.hook.disable();
  }
}
