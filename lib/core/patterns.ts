import { RpcInvalidPatternError } from './errors.js';

/** Maps a non-string `@MessagePattern` / `send()` pattern (an object) to a broker destination. */
export type DestinationMapper = (pattern: Record<string, unknown>) => string;

/**
 * Turns a pattern into the destination it travels to. Strings are used as they are;
 * objects need a mapper, since the wire carries no Nest envelope to hold them.
 */
export function toDestination(pattern: unknown, mapper?: DestinationMapper): string {
  if (typeof pattern === 'string') {
    if (pattern.length === 0) throw new RpcInvalidPatternError('Pattern must not be an empty string');
    return pattern;
  }
  if (typeof pattern === 'object' && pattern !== null && !Array.isArray(pattern)) {
    if (!mapper) {
      throw new RpcInvalidPatternError(
        `Pattern ${safeJson(pattern)} is not a string. Use string patterns, or give the "destination" option a function that maps object patterns to destinations.`,
      );
    }
    const destination = mapper(pattern as Record<string, unknown>);
    if (typeof destination !== 'string' || destination.length === 0) {
      throw new RpcInvalidPatternError(
        `The "destination" option mapped ${safeJson(pattern)} to ${String(destination)}, not a destination name`,
      );
    }
    return destination;
  }
  throw new RpcInvalidPatternError(`Pattern ${safeJson(pattern)} is neither a string nor an object`);
}

/**
 * The server side: Nest stores handler patterns normalized to strings, objects as JSON.
 * Returns the original pattern for `toDestination`.
 */
export function parseHandlerKey(key: string): unknown {
  if (key.startsWith('{') && key.endsWith('}')) {
    try {
      return JSON.parse(key);
    } catch {
      return key;
    }
  }
  return key;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
